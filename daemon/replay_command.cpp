// `edgesense replay FILE...`: the pipeline over capture files, as fast as it
// can go (or paced with --speed), then a summary. The exit status says
// whether every file could be read.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include "capture/packet_source.h"
#include "commands.h"
#include "config/config.h"
#include "inference/pool.h"
#include "inference/reloader.h"
#include "output/csv.h"
#include "output/eve.h"
#include "output/eve_output.h"
#include "output/json_writer.h"
#include "output/line_sink.h"
#include "output/record_thread.h"
#include "pipeline/rx_loop.h"

namespace edgesense::daemon {
namespace {

/// Records between the capture thread and the EVE/CSV writer thread (about
/// 1 KiB each).
constexpr std::size_t kWriterQueue = 4096;

/// Hands each record to several sinks in turn.
class FanoutSink final : public features::RecordSink {
 public:
  void add(features::RecordSink* s) { sinks_.push_back(s); }
  void onRecord(const features::FlowRecord& r) override {
    for (features::RecordSink* s : sinks_) s->onRecord(r);
  }

 private:
  std::vector<features::RecordSink*> sinks_;
};

/// Waits for SIGHUP on a thread of its own ("signals") and runs `on_hup`;
/// every other thread has SIGHUP blocked (set up before they start).
class SignalThread {
 public:
  explicit SignalThread(std::function<void()> on_hup) : on_hup_(std::move(on_hup)) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "signals");
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGHUP);
      sigaddset(&set, SIGUSR2);  // our own wake-up, to stop
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0 || sig == SIGUSR2) return;
        on_hup_();
      }
    });
  }
  ~SignalThread() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  std::function<void()> on_hup_;
  std::thread thread_;
};

std::FILE* openOutput(const std::string& path, const char* what) {
  if (path == "-") return stdout;
  std::FILE* fp = std::fopen(path.c_str(), "w");
  if (fp == nullptr) {
    throw std::runtime_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  return fp;
}

decode::TimeUs micros(double seconds) {
  return static_cast<decode::TimeUs>(seconds * 1e6);
}

void writeSummary(std::string& out, const ReplayOptions& opts, const pipeline::RxLoop& rx,
                  const capture::SourceStats& src, const std::vector<std::string>& warnings,
                  const inference::InferencePool* pool, const output::EveOutput* scored,
                  double wall_seconds) {
  output::JsonWriter j(out);
  const pipeline::RxStats& s = rx.stats();
  const flow::FlowTableStats& f = rx.flowStats();
  j.beginObject();
  j.field("edgesense_version", EDGESENSE_VERSION);
  j.key("files").beginArray();
  for (const std::string& file : opts.files) j.value(file);
  j.endArray();
  j.field("packets", s.packets);
  j.field("bytes", s.bytes);
  j.field("packets_decoded", s.decoded());
  j.key("decode_errors").beginObject();
  for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i) {
    const auto e = static_cast<decode::DecodeError>(i);
    if (decode::isMalformed(e)) j.field(decode::decodeErrorName(e), s.decode_errors[i]);
  }
  j.endObject();
  j.key("packets_skipped").beginObject();
  for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i) {
    const auto e = static_cast<decode::DecodeError>(i);
    if (!decode::isMalformed(e)) j.field(decode::decodeErrorName(e), s.decode_errors[i]);
  }
  j.endObject();
  j.key("fragments").beginObject();
  j.field("attributed", f.fragments_attributed);
  j.field("unattributed", f.fragments_unattributed);
  j.field("slots_overwritten", f.fragment_slots_overwritten);
  j.endObject();
  j.key("flows").beginObject();
  j.field("created", f.created);
  j.key("ended").beginObject();
  for (std::size_t i = 0; i < flow::kEndReasonCount; ++i) {
    const auto r = static_cast<flow::EndReason>(i);
    if (r != flow::EndReason::kActiveTimeout) j.field(flow::endReasonName(r), f.ended[i]);
  }
  j.endObject();
  j.field("interim_snapshots", f.ended[static_cast<std::size_t>(flow::EndReason::kActiveTimeout)]);
  j.field("peak_active", f.peak_active);
  j.field("rst_out_of_window", f.rst_out_of_window);
  // Flows whose initiator is not their first packet's sender (the direction rule).
  j.key("direction_flipped").beginObject();
  j.field("syn_ack", f.direction_from_syn_ack);
  j.field("port", f.direction_from_port);
  j.endObject();
  j.key("evicted_by_kind").beginObject();
  j.field("half_open", f.evicted_half_open);
  j.field("one_packet", f.evicted_one_packet);
  j.field("closing", f.evicted_closing);
  j.field("established", f.evicted_established);
  j.endObject();
  // Emergency mode (flows.emergency_*): entered when the table was full.
  j.key("emergency").beginObject();
  j.field("active", f.emergency);
  j.field("entries", f.emergency_entries);
  j.field("seconds", static_cast<double>(f.emergency_us) / 1e6);
  j.endObject();
  j.endObject();
  // Packet times the flow clock did not believe (flows.max_clock_jump).
  j.key("clock").beginObject();
  j.field("jumps_ahead", f.clock_jumps_ahead);
  j.field("jumps_behind", f.clock_jumps_behind);
  j.field("steps_back", f.clock_steps_back);
  j.field("last_jump_seconds", static_cast<double>(f.last_clock_jump_us) / 1e6);
  j.endObject();
  j.key("hosts").beginObject();
  j.field("tracked", rx.hostStats().entries);
  j.field("evicted", rx.hostStats().evicted);
  j.endObject();
  j.key("memory").beginObject();
  j.field("bytes_per_flow", static_cast<std::uint64_t>(pipeline::RxLoop::bytesPerFlow()));
  j.field("bytes_per_host", static_cast<std::uint64_t>(features::HostTable::bytesPerHost()));
  j.field("flow_capacity", rx.flowCapacity());
  j.field("flow_table_bytes", f.table_bytes);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  j.field("peak_rss_bytes", static_cast<std::uint64_t>(usage.ru_maxrss) * 1024);
  j.endObject();
  if (pool != nullptr && scored != nullptr) {
    const inference::PoolStats& p = pool->stats();
    const output::EveOutputStats& o = scored->stats();
    const auto batches = p.batches.load();
    j.key("inference").beginObject();
    j.field("workers", static_cast<std::uint64_t>(pool->workers()));
    j.field("submitted", p.submitted.load());
    j.field("dropped", p.dropped.load());
    j.field("in_flight_dropped", p.in_flight_dropped.load());
    j.field("scored", p.scored.load());
    j.field("batches", batches);
    j.field("mean_batch_size",
            batches ? static_cast<double>(p.scored.load()) / static_cast<double>(batches) : 0.0);
    j.endObject();
    const inference::ShadowStats& sh = pool->shadowStats();
    if (sh.compared[0] + sh.compared[1] + sh.compared[2] > 0) {
      static constexpr const char* kHeads[3] = {"reel", "attack", "anomaly"};
      j.key("shadow").beginObject();
      for (int h = 0; h < 3; ++h) {
        if (sh.compared[h].load() == 0) continue;
        j.key(kHeads[h]).beginObject();
        j.field("compared", sh.compared[h].load());
        j.field("agreed", sh.agreed[h].load());
        j.endObject();
      }
      j.endObject();
    }
    j.key("alerts").beginObject();
    j.field("alerting_snapshots", o.alerting.load());
    j.field("written", o.alerts.load());
    j.field("suppressed", o.suppressed.load());
    j.field("follow_ups", o.follow_ups.load());
    j.field("explained", o.explanations.load());
    j.endObject();
    j.key("verdicts").beginObject();
    for (const auto& [name, count] : scored->verdictCounts()) j.field(name, count);
    j.endObject();
  }
  j.field("truncated_files", src.truncated_files);
  j.key("warnings").beginArray();
  for (const std::string& w : warnings) j.value(w);
  j.endArray();
  j.field("wall_seconds", wall_seconds);
  j.field("packets_per_second",
          wall_seconds > 0 ? static_cast<double>(s.packets) / wall_seconds : 0.0);
  j.endObject();
  out += '\n';
}

void printTextSummary(const pipeline::RxLoop& rx, double wall_seconds) {
  const pipeline::RxStats& s = rx.stats();
  const flow::FlowTableStats& f = rx.flowStats();
  std::fprintf(
      stderr,
      "edgesense replay: %llu packets, %llu bytes, %llu flows (%llu evicted), "
      "%llu decode errors, %.3f s, %.0f packets/s\n",
      static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.bytes),
      static_cast<unsigned long long>(f.endedTotal()),
      static_cast<unsigned long long>(f.ended[static_cast<std::size_t>(flow::EndReason::kEvicted)]),
      static_cast<unsigned long long>(s.errors(true)), wall_seconds,
      wall_seconds > 0 ? static_cast<double>(s.packets) / wall_seconds : 0.0);
  if (f.clock_jumps_ahead + f.clock_jumps_behind + f.clock_steps_back > 0) {
    std::fprintf(stderr,
                 "edgesense replay: packet clock: %llu frames stamped too far ahead and %llu too "
                 "far behind were accounted at the flow clock (the last %+.0f s off); %llu "
                 "steps back in time ended the open flows\n",
                 static_cast<unsigned long long>(f.clock_jumps_ahead),
                 static_cast<unsigned long long>(f.clock_jumps_behind),
                 static_cast<double>(f.last_clock_jump_us) / 1e6,
                 static_cast<unsigned long long>(f.clock_steps_back));
  }
  if (f.emergency_entries > 0) {
    std::fprintf(stderr,
                 "edgesense replay: the flow table (%u flows, %llu bytes) was full: %llu entries "
                 "into emergency mode, %.1f s in it; evicted %llu half-open, %llu one-packet, "
                 "%llu closing, %llu established\n",
                 rx.flowCapacity(), static_cast<unsigned long long>(f.table_bytes),
                 static_cast<unsigned long long>(f.emergency_entries),
                 static_cast<double>(f.emergency_us) / 1e6,
                 static_cast<unsigned long long>(f.evicted_half_open),
                 static_cast<unsigned long long>(f.evicted_one_packet),
                 static_cast<unsigned long long>(f.evicted_closing),
                 static_cast<unsigned long long>(f.evicted_established));
  }
  if (f.rst_out_of_window > 0) {
    std::fprintf(stderr, "edgesense replay: %llu TCP resets outside the window were ignored\n",
                 static_cast<unsigned long long>(f.rst_out_of_window));
  }
  if (f.direction_from_syn_ack + f.direction_from_port > 0) {
    std::fprintf(stderr,
                 "edgesense replay: %llu TCP flows first seen after their SYN were turned round: "
                 "%llu from the SYN-ACK, %llu from the ports\n",
                 static_cast<unsigned long long>(f.direction_from_syn_ack + f.direction_from_port),
                 static_cast<unsigned long long>(f.direction_from_syn_ack),
                 static_cast<unsigned long long>(f.direction_from_port));
  }
}

}  // namespace

void addReplayCommand(CLI::App& app, ReplayOptions& opts) {
  CLI::App* cmd =
      app.add_subcommand("replay", "Run the pipeline over pcap/pcapng files, then print a summary");
  cmd->add_option("files", opts.files, "Capture files, read in order")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--eve", opts.eve, "Write EVE JSON flow records to FILE (- for stdout)");
  cmd->add_option("--csv", opts.csv,
                  "Write one CSV row per feature snapshot to FILE (- for stdout)");
  cmd->add_option("--summary", opts.summary, "Write the JSON summary to FILE (- for stdout)");
  cmd->add_option("--idle-timeout", opts.idle_timeout,
                  "Seconds without packets that end a flow (default 120)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--active-timeout", opts.active_timeout,
                  "Seconds between interim snapshots of a long flow; 0 disables (default 30)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-flows", opts.max_flows, "Flow table capacity (default 131072)")
      ->check(CLI::Range(1u, 1u << 28));
  cmd->add_option("--speed", opts.speed,
                  "Pace the replay: 1 = real time, 2 = twice as fast; 0 = as fast as possible")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-models", opts.no_models, "Extract features only; score nothing");
  cmd->add_option("-c,--config", opts.config,
                  "YAML config (flows, inference, alerts sections); options given here win")
      ->check(CLI::ExistingFile);
  cmd->add_option(
      "--models", opts.models_dir,
      "Models directory: reel/, attack/, anomaly/ bundles (default: the shipped models)");
  cmd->add_option("--workers", opts.workers, "Inference worker threads (default 2)")
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--batch-size", opts.batch_size, "Records scored per batch, at most (default 64)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  cmd->add_flag("--watch-models", opts.watch_models,
                "Reload the models when their directory changes (SIGHUP reloads too)");
  cmd->add_option("--alert-window", opts.alert_window,
                  "Seconds over which alerts of one address and class are aggregated (default 60)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-features-in-eve", opts.no_features_in_eve,
                "Leave the feature vector out of EVE records");
}

int runReplay(const ReplayOptions& opts) {
  // Block SIGHUP (and our SIGUSR2) before any thread starts, so only the
  // signal thread receives them.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);

  // The config file, then the command line over it.
  config::Config file_cfg;
  if (!opts.config.empty()) {
    const config::LoadResult loaded = config::load(opts.config);
    for (const config::Problem& p : loaded.problems)
      std::fprintf(stderr, "%s\n", config::format(p).c_str());
    if (!loaded.ok()) return 1;
    file_cfg = loaded.config;
  }
  const bool have_cfg = !opts.config.empty();
  const std::string models_dir = opts.models_dir.value_or(have_cfg ? file_cfg.inference.models_dir
                                                                   : EDGESENSE_DEFAULT_MODELS_DIR);
  const unsigned workers = opts.workers.value_or(have_cfg ? file_cfg.inference.workers : 2);
  const std::size_t batch_size =
      opts.batch_size.value_or(have_cfg ? file_cfg.inference.batch_size : 64);
  const double alert_window =
      opts.alert_window.value_or(have_cfg ? file_cfg.alerts.aggregation_window : 60);

  pipeline::RxConfig cfg;
  if (have_cfg) {
    cfg.flows = file_cfg.toFlowConfig();
    cfg.features = file_cfg.toFeatureParams();
    cfg.hosts = file_cfg.toHostTableConfig();
  }
  if (opts.idle_timeout) {
    const decode::TimeUs t = micros(*opts.idle_timeout);
    cfg.flows.idle_timeout_us = cfg.flows.udp_idle_timeout_us = cfg.flows.icmp_idle_timeout_us = t;
    cfg.flows.tcp_half_open_timeout_us = t;
  }
  if (opts.active_timeout) cfg.flows.active_timeout_us = micros(*opts.active_timeout);
  if (opts.max_flows) cfg.flows.max_flows = *opts.max_flows;
  cfg.speed = opts.speed;

  std::unique_ptr<capture::PacketSource> source;
  std::unique_ptr<output::LineSink> eve_lines;
  std::unique_ptr<output::CsvSink> csv;
  std::FILE* summary_fp = nullptr;
  try {
    source = capture::openFiles(opts.files);
    if (opts.eve == "-") {
      eve_lines = output::openStdoutSink();
    } else if (!opts.eve.empty()) {
      eve_lines = output::openFileSink(opts.eve, output::FileMode::kTruncate);
    }
    if (!opts.csv.empty())
      csv = std::make_unique<output::CsvSink>(openOutput(opts.csv, "CSV output"));
    if (!opts.summary.empty()) summary_fp = openOutput(opts.summary, "summary");
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  // Scoring: the capture thread hands records to the inference pool, whose
  // output thread writes EVE; without models, the capture thread writes it.
  std::shared_ptr<inference::ModelSet> models;
  inference::ModelRegistry registry;
  std::unique_ptr<output::EveOutput> scored_out;
  std::unique_ptr<inference::InferencePool> pool;
  // Shadow bundles named in the config (inference.shadow.*) win over
  // models_dir/shadow/HEAD/, whichever directory --models names.
  const inference::ModelSource model_source{.dir = models_dir,
                                            .shadow_reel = file_cfg.inference.shadow.reel,
                                            .shadow_attack = file_cfg.inference.shadow.attack,
                                            .shadow_anomaly = file_cfg.inference.shadow.anomaly};
  if (!opts.no_models) {
    try {
      models = inference::loadModelSet(model_source);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
    for (const inference::ShadowOverride& o : inference::shadowOverrides(model_source)) {
      spdlog::info("inference.shadow.{}: shadow bundle {} is used, not {}", model::taskName(o.head),
                   o.named.string(), o.ignored.string());
    }
    registry.publish(models);
    std::vector<std::unique_ptr<output::LineSink>> lines;
    if (eve_lines) lines.push_back(std::move(eve_lines));
    scored_out = std::make_unique<output::EveOutput>(
        std::move(lines),
        output::EveOutputOptions{!have_cfg || file_cfg.alerts.flow_records,
                                 !opts.no_features_in_eve, micros(alert_window),
                                 file_cfg.alerts.max_windows, file_cfg.alerts.max_alerted_flows});
    inference::PoolConfig pc = have_cfg ? file_cfg.toPoolConfig() : inference::PoolConfig{};
    pc.workers = workers;
    pc.batch_size = batch_size;
    pc.block_when_full = true;  // a replay loses nothing and gives the same output every time
    pool = std::make_unique<inference::InferencePool>(pc, registry, *scored_out);
  }

  std::unique_ptr<output::EveFlowSink> eve;
  if (eve_lines)
    eve = std::make_unique<output::EveFlowSink>(std::move(eve_lines),
                                                output::EveOptions{!opts.no_features_in_eve});
  // EVE flow lines (without models) and CSV rows are formatted and written
  // on a thread of their own, beside capture; a replay waits for room in its
  // queue rather than lose a record.
  FanoutSink writers;
  if (eve) writers.add(eve.get());
  if (csv) writers.add(csv.get());
  std::unique_ptr<output::RecordThread> writer;
  if (eve || csv)
    writer =
        std::make_unique<output::RecordThread>(writers, kWriterQueue, /*block_when_full=*/true);
  FanoutSink sinks;
  if (pool) sinks.add(pool.get());
  if (writer) sinks.add(writer.get());
  // Models can be replaced while a (paced) replay runs: on SIGHUP, or when
  // the directory changes with --watch-models.
  std::unique_ptr<inference::ModelReloader> reloader;
  std::unique_ptr<SignalThread> signals;
  if (pool) {
    reloader = std::make_unique<inference::ModelReloader>(
        model_source, registry, [](const std::string& error, const inference::ModelSet* set) {
          if (!error.empty()) {
            spdlog::error("models not reloaded, the old ones keep serving: {}", error);
          } else {
            spdlog::info("models reloaded (generation {})", set->generation);
          }
        });
    if (opts.watch_models) reloader->watch(std::chrono::seconds(1));
    signals = std::make_unique<SignalThread>([&reloader, &scored_out] {
      reloader->reload();
      scored_out->requestReopen();
    });
  }

  auto rx = std::make_unique<pipeline::RxLoop>(cfg, *source, sinks);
  const auto t0 = std::chrono::steady_clock::now();
  rx->run(std::stop_token{});
  signals.reset();
  if (reloader) reloader->stop();
  if (pool) {
    pool->drain();
    scored_out->finish();
  }
  if (writer) writer->finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const std::vector<std::string> warnings = source->takeWarnings();
  for (const std::string& w : warnings) spdlog::warn("{}", w);
  bool ok = true;
  if (scored_out && scored_out->stats().write_errors.load() > 0) {
    spdlog::error("EVE output {}: {} writes failed", opts.eve,
                  scored_out->stats().write_errors.load());
    ok = false;
  }
  if (eve && !eve->flush()) {
    spdlog::error("EVE output {}: write failed", opts.eve);
    ok = false;
  }
  if (csv && !csv->flush()) {
    spdlog::error("CSV output {}: write failed", opts.csv);
    ok = false;
  }
  if (summary_fp != nullptr) {
    std::string text;
    writeSummary(text, opts, *rx, source->stats(), warnings, pool.get(), scored_out.get(), wall);
    std::fwrite(text.data(), 1, text.size(), summary_fp);
    if (std::fflush(summary_fp) != 0) ok = false;
    if (summary_fp != stdout) std::fclose(summary_fp);
  }
  printTextSummary(*rx, wall);
  return ok ? 0 : 1;
}

}  // namespace edgesense::daemon
