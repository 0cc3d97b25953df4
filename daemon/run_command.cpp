// `edgesense run -c FILE`: the live daemon. Builds the pipeline of
// docs/design.md (capture threads -> inference pool -> output thread), drops
// privileges once the capture handles are open, and serves until SIGTERM.

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "capture/packet_source.h"
#include "commands.h"
#include "config/config.h"
#include "flow/keyed_hash.h"
#include "inference/pool.h"
#include "inference/reloader.h"
#include "logging.h"
#include "metrics/metrics.h"
#include "output/eve_output.h"
#include "output/line_sink.h"
#include "pipeline/rx_loop.h"
#include "privileges.h"
#include "service.h"

namespace edgesense::daemon {
namespace {

/// A LineSink whose buffered lines reach the file within one watchdog tick:
/// the output thread writes, the watchdog thread flushes what is pending.
/// The lock is per EVE line on the output thread, never on the capture path.
class FlushingSink final : public output::LineSink {
 public:
  explicit FlushingSink(std::unique_ptr<output::LineSink> inner) : inner_(std::move(inner)) {}
  bool write(std::string_view line) override {
    std::lock_guard lock(mutex_);
    dirty_ = true;
    return inner_->write(line);
  }
  bool flush() override {
    std::lock_guard lock(mutex_);
    dirty_ = false;
    return count(inner_->flush());
  }
  /// Watchdog thread. True if nothing was pending or the flush worked.
  bool flushPending() {
    std::lock_guard lock(mutex_);
    if (!dirty_) return true;
    dirty_ = false;
    return count(inner_->flush());
  }
  /// Flushes that failed (stdio may drop what it could not write, so a
  /// later flush can succeed with lines lost); any thread.
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  void requestReopen() noexcept override { inner_->requestReopen(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  bool count(bool ok) {
    if (!ok) failures_.fetch_add(1, std::memory_order_relaxed);
    return ok;
  }

  std::mutex mutex_;
  std::unique_ptr<output::LineSink> inner_;
  bool dirty_ = false;
  std::atomic<std::uint64_t> failures_{0};
};

/// The pool takes records from one producer; several capture threads line
/// up behind a short lock, taken once per flow record, not per packet.
class SharedSubmit final : public features::RecordSink {
 public:
  explicit SharedSubmit(features::RecordSink& next) : next_(next) {}
  void onRecord(const features::FlowRecord& r) override {
    std::lock_guard lock(mutex_);
    next_.onRecord(r);
  }

 private:
  std::mutex mutex_;
  features::RecordSink& next_;
};

/// One capture thread: its handle, its loop (and flow table), its thread.
struct Capture {
  std::string interface;
  unsigned index = 0;  // within the interface
  std::unique_ptr<capture::PacketSource> source;
  std::unique_ptr<pipeline::RxLoop> loop;
  std::jthread thread;
  std::atomic<bool> done{false};
};

decode::TimeUs micros(double seconds) {
  return static_cast<decode::TimeUs>(seconds * 1e6);
}

std::unique_ptr<output::LineSink> openSink(const config::AlertSink& s) {
  switch (s.kind) {
    case config::AlertSink::Kind::kFile:
      return output::openFileSink(s.target, output::FileMode::kAppend);
    case config::AlertSink::Kind::kStdout:
      return output::openStdoutSink();
    case config::AlertSink::Kind::kSyslog:
      return output::openSyslogSink(s.target);
  }
  return nullptr;
}

/// A fanout group id per interface, distinct within this process and
/// unlikely to meet another process's (ids are per network namespace).
int fanoutGroup(std::size_t interface_index) {
  return static_cast<int>((static_cast<unsigned>(getpid()) + interface_index) & 0xffffu);
}

}  // namespace

void addRunCommand(CLI::App& app, RunOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "run", "The daemon: live capture, scoring, alerts and metrics until SIGTERM");
  cmd->add_option("-c,--config", opts.config, "YAML config file")->capture_default_str();
}

int runDaemon(const RunOptions& opts) {
  // Every thread started from here on inherits this mask: the signals are
  // taken by sigtimedwait() on the main thread only.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const config::LoadResult loaded = config::load(opts.config);
  for (const config::Problem& p : loaded.problems) spdlog::error("{}", config::format(p));
  if (!loaded.ok()) return 1;
  const config::Config& cfg = loaded.config;
  setupLogging(cfg.logging);

  // Start-up: each failure is one message naming what failed, and exit 1.
  // Shadow bundles named in the config win over models_dir/shadow/HEAD/.
  const inference::ModelSource model_source{.dir = cfg.inference.models_dir,
                                            .shadow_reel = cfg.inference.shadow.reel,
                                            .shadow_attack = cfg.inference.shadow.attack,
                                            .shadow_anomaly = cfg.inference.shadow.anomaly};
  std::vector<std::unique_ptr<Capture>> captures;
  std::unique_ptr<PidFile> pid_file;
  std::shared_ptr<inference::ModelSet> models;
  std::vector<FlushingSink*> files;
  std::vector<std::unique_ptr<output::LineSink>> lines;
  try {
    const RunAs run_as = resolveRunAs(cfg.run);
    for (std::size_t i = 0; i < cfg.capture.interfaces.size(); ++i) {
      const std::string& name = cfg.capture.interfaces[i];
      for (int t = 0; t < cfg.capture.threads; ++t) {
        capture::LiveOptions lo = cfg.toLiveOptions(name);
        if (cfg.capture.threads > 1) lo.fanout_group = fanoutGroup(i);
        auto c = std::make_unique<Capture>();
        c->interface = name;
        c->index = static_cast<unsigned>(t);
        c->source = capture::openLive(lo);
        captures.push_back(std::move(c));
      }
    }
    pid_file = std::make_unique<PidFile>(cfg.run.pid_file);
    dropPrivileges(run_as);
    // Models and outputs are opened as the service user, as SIGHUP will
    // reopen them: what works now works then.
    models = inference::loadModelSet(model_source);
    for (const config::AlertSink& s : cfg.alerts.sinks) {
      auto sink = std::make_unique<FlushingSink>(openSink(s));
      files.push_back(sink.get());
      lines.push_back(std::move(sink));
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  // Scoring and output. Declared in reverse order of teardown: the metrics
  // endpoint stops first (it reads the others), the pool (drained by then)
  // last.
  inference::ModelRegistry registry;
  registry.publish(models);
  output::EveOutput out(
      std::move(lines),
      output::EveOutputOptions{cfg.alerts.flow_records, true, micros(cfg.alerts.aggregation_window),
                               cfg.alerts.max_windows, cfg.alerts.max_alerted_flows});
  for (const inference::ShadowOverride& o : inference::shadowOverrides(model_source)) {
    spdlog::info("inference.shadow.{}: shadow bundle {} is used, not {}", model::taskName(o.head),
                 o.named.string(), o.ignored.string());
  }
  inference::ModelReloader reloader(
      model_source, registry, [](const std::string& error, const inference::ModelSet* set) {
        if (!error.empty()) {
          spdlog::error("models not reloaded, the old ones keep serving: {}", error);
        } else {
          spdlog::info("models reloaded (generation {})", set->generation);
        }
      });
  // The table hash key: a fresh one per process unless a seed is set, so
  // nobody outside can learn which packets would collide in the tables.
  flow::HashKey hash_key = cfg.hashKey();
  if (cfg.flows.hash_seed == 0) {
    const std::optional<flow::HashKey> drawn = flow::HashKey::random();
    if (!drawn) {
      spdlog::error("flows.hash_seed: no random key from getrandom(): {}", std::strerror(errno));
      return 1;
    }
    hash_key = *drawn;
  }
  std::optional<inference::InferencePool> pool;
  std::optional<SharedSubmit> shared;
  std::optional<Watchdog> watchdog;
  std::unique_ptr<metrics::Metrics> exporter;

  // Metrics: what exists now; the pool, capture and health join below.
  metrics::Sources sources;
  sources.output = &out.stats();
  sources.reloads = &reloader.stats();
  sources.models = &registry;
  try {
    exporter = std::make_unique<metrics::Metrics>(cfg.metrics, sources);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  inference::PoolConfig pool_cfg = cfg.toPoolConfig();
  pool_cfg.block_when_full = false;  // live capture never waits for inference
  pool_cfg.on_batch = [m = exporter.get()](std::size_t rows, double seconds) {
    m->observeBatch(rows, seconds);
  };
  pool.emplace(pool_cfg, registry, exporter->wrap(out));
  // The pool takes records from one producer at a time.
  shared.emplace(*pool);
  features::RecordSink& submit =
      captures.size() > 1 ? static_cast<features::RecordSink&>(*shared) : *pool;

  // Capture threads, each with its own flow table.
  pipeline::RxConfig rx_cfg;
  rx_cfg.flows = cfg.toFlowConfig();
  rx_cfg.features = cfg.toFeatureParams();
  rx_cfg.hosts = cfg.toHostTableConfig();
  rx_cfg.flows.hash_key = rx_cfg.hosts.hash_key = hash_key;
  // A quiet read moves the flow tables to the wall clock, kept a little
  // behind it: a packet stamped just before the read gave up may not have
  // been handed over yet (a busy machine, a kernel block not yet retired),
  // and must not find its flow already ended. Records still come out well
  // within a second of the idle timeout.
  constexpr decode::TimeUs kTickLagUs = 100'000;
  rx_cfg.wall_clock = [] { return pipeline::realtimeMicros() - kTickLagUs; };
  for (auto& c : captures) c->loop = std::make_unique<pipeline::RxLoop>(rx_cfg, *c->source, submit);

  // Totals over every capture thread, as last published.
  auto totals = [&captures] {
    pipeline::RxSnapshot sum;
    for (const auto& c : captures) {
      const pipeline::RxSnapshot s = c->loop->published();
      sum.rx.packets += s.rx.packets;
      sum.rx.bytes += s.rx.bytes;
      sum.flows.created += s.flows.created;
      sum.flows.active += s.flows.active;
      sum.source.kernel_dropped += s.source.kernel_dropped;
    }
    return sum;
  };
  std::string where;
  for (const std::string& name : cfg.capture.interfaces)
    where += (where.empty() ? "" : ", ") + name;
  inference::InferencePool& scoring = *pool;
  Watchdog::Probes probes;
  probes.heartbeats = [&captures] {
    std::vector<std::uint64_t> beats;
    for (const auto& c : captures) beats.push_back(c->loop->heartbeat());
    return beats;
  };
  probes.output_progress = [&scoring] { return scoring.stats().emitted.load(); };
  probes.output_backlog = [&scoring] {
    const inference::PoolStats& s = scoring.stats();
    return s.submitted.load() - s.emitted.load();
  };
  probes.status = [&, where] {
    const pipeline::RxSnapshot t = totals();
    return fmt::format("capturing on {}: {} packets, {} flows ({} active), {} alerts, {} dropped",
                       where, t.rx.packets, t.flows.created, t.flows.active,
                       out.stats().alerts.load() + out.stats().follow_ups.load(),
                       t.source.kernel_dropped + scoring.stats().dropped.load() +
                           scoring.stats().in_flight_dropped.load());
  };
  // Drops are counted, and said: rate-limited, so a storm is a few lines.
  probes.housekeeping = [&files, &totals, &scoring, &out, kernel_drops = std::uint64_t{0},
                         queue_drops = std::uint64_t{0}, in_flight_drops = std::uint64_t{0},
                         write_errors = std::uint64_t{0}]() mutable {
    for (FlushingSink* f : files) {
      if (!f->flushPending())
        spdlog::error("EVE output {}: flush failed: {}", f->describe(), std::strerror(errno));
    }
    const std::uint64_t kernel = totals().source.kernel_dropped;
    if (kernel > kernel_drops)
      spdlog::warn("the kernel dropped {} packets ({} so far): capture cannot keep up",
                   kernel - kernel_drops, kernel);
    kernel_drops = kernel;
    const std::uint64_t queue = scoring.stats().dropped.load();
    if (queue > queue_drops)
      spdlog::warn("inference queue full: {} flow records dropped ({} so far)", queue - queue_drops,
                   queue);
    queue_drops = queue;
    const std::uint64_t in_flight = scoring.stats().in_flight_dropped.load();
    if (in_flight > in_flight_drops)
      spdlog::warn("inference.max_in_flight reached: {} flow records dropped ({} so far)",
                   in_flight - in_flight_drops, in_flight);
    in_flight_drops = in_flight;
    const std::uint64_t writes = out.stats().write_errors.load();
    if (writes > write_errors)
      spdlog::error("EVE output: {} writes failed ({} so far)", writes - write_errors, writes);
    write_errors = writes;
    reportSuppressedLogs();
  };
  Watchdog::Timing timing;
  timing.tick = std::chrono::milliseconds(100);  // also how late an EVE line reaches its file
  timing.stall_after =
      std::max(std::chrono::milliseconds(5000),
               std::chrono::milliseconds(std::llround(cfg.capture.read_timeout * 1e4)));
  watchdog.emplace(std::move(probes), timing);

  // The rest of the metrics, read at scrape time from what the stages publish.
  sources.capture = [&captures] {
    std::vector<metrics::CaptureSample> samples;
    for (const auto& c : captures) {
      const pipeline::RxSnapshot s = c->loop->published();
      metrics::CaptureSample m;
      m.interface = c->interface;
      m.thread = c->index;
      m.packets = s.rx.packets;
      m.bytes = s.rx.bytes;
      m.kernel_drops = s.source.kernel_dropped;
      m.interface_drops = s.source.if_dropped;
      m.decode_errors = s.rx.decode_errors;
      m.flows = s.flows;
      m.hosts = s.hosts;
      samples.push_back(std::move(m));
    }
    return samples;
  };
  sources.pool = &scoring.stats();
  sources.queue_depth = [&scoring] { return scoring.queueDepth(); };
  sources.healthy = [dog = &*watchdog] { return dog->healthy(); };
  exporter->setSources(std::move(sources));
  if (exporter->port() != 0)
    spdlog::info("metrics on http://{}{}", cfg.metrics.listen, cfg.metrics.path);

  // Capture starts last: everything downstream is in place.
  for (std::size_t i = 0; i < captures.size(); ++i) {
    Capture& c = *captures[i];
    c.thread = std::jthread([&c, i](std::stop_token stop) {
      const std::string name = "rx-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      c.loop->run(stop);
      c.done.store(true, std::memory_order_release);
    });
  }

  spdlog::info(
      "capturing on {} ({} capture thread{}), models {} (generation {}), running as uid {}", where,
      captures.size(), captures.size() == 1 ? "" : "s", cfg.inference.models_dir,
      models->generation, getuid());

  // The main thread waits for signals, and notices a capture thread that
  // ended on its own (an interface that went away).
  int status = 0;
  for (;;) {
    const timespec wait{0, 200'000'000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &wait);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading models from {} and reopening output files",
                   cfg.inference.models_dir);
      reloader.reload();
      out.requestReopen();
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    bool failed = false;
    for (const auto& c : captures) {
      if (c->done.load(std::memory_order_acquire)) failed = true;
    }
    if (failed) {
      status = 1;
      break;
    }
  }

  // Stop in pipeline order: capture (every flow ends, reason shutdown),
  // then scoring, then output.
  // The watchdog goes first: capture threads that have stopped on purpose
  // are not stalled ones. out.finish() does its last flush.
  notifySystemd("STOPPING=1");
  watchdog->stop();
  for (auto& c : captures) {
    c->thread.request_stop();
    c->source->breakLoop();
  }
  for (auto& c : captures) {
    c->thread.join();
    if (!c->loop->error().empty()) spdlog::error("capture stopped: {}", c->loop->error());
  }
  reloader.stop();
  scoring.drain();
  out.finish();
  const pipeline::RxSnapshot t = totals();
  spdlog::info("stopped: {} packets, {} flows, {} flow records, {} alerts", t.rx.packets,
               t.flows.created, out.stats().flow_records.load(),
               out.stats().alerts.load() + out.stats().follow_ups.load());
  if (out.stats().write_errors.load() > 0) {
    spdlog::error("EVE output: {} writes failed", out.stats().write_errors.load());
    status = 1;
  }
  for (const FlushingSink* f : files) {
    if (f->failures() > 0) {
      spdlog::error("EVE output {}: {} flushes failed, records were lost", f->describe(),
                    f->failures());
      status = 1;
    }
  }
  // How the fanout spread the work: one line per capture thread.
  if (captures.size() > 1) {
    for (std::size_t i = 0; i < captures.size(); ++i) {
      const pipeline::RxSnapshot s = captures[i]->loop->published();
      spdlog::info("rx-{} ({} thread {}): {} packets, {} flows", i, captures[i]->interface,
                   captures[i]->index, s.rx.packets, s.flows.created);
    }
  }
  reportSuppressedLogs(true);
  return status;
}

}  // namespace edgesense::daemon
