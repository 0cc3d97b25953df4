// Metrics: beside the pipeline, not in it. The HTTP server's threads read
// the capture, inference and output counters at scrape time (Sources); the
// sink from wrap() sits between the inference output thread and the EVE
// output, counting per flow; workers report each batch through observeBatch.

#include "metrics/metrics.h"

#include <civetweb.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "metrics/drift.h"

namespace edgesense::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

const MetricDef& def(std::string_view name) {
  const MetricDef* d = findMetric(name);
  if (d == nullptr) throw std::logic_error("metric not in the table: " + std::string(name));
  return *d;
}

prometheus::MetricType promType(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

/// Builds the families of one scrape, each from its table row.
class PageBuilder {
 public:
  MetricFamily& family(std::string_view name) {
    const auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    const MetricDef& d = def(name);
    MetricFamily f;
    f.name = std::string(d.name);
    f.help = std::string(d.help);
    f.type = promType(d.type);
    index_.emplace(d.name, families_.size());
    families_.push_back(std::move(f));
    return families_.back();
  }
  void add(std::string_view name, double value,
           std::vector<prometheus::ClientMetric::Label> labels = {}) {
    MetricFamily& f = family(name);
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == prometheus::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> take() { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string_view, std::size_t> index_;
};

double u(std::uint64_t v) {
  return static_cast<double>(v);
}

/// The process_* families, from /proc/self.
void addProcess(PageBuilder& page) {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  const std::size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(text.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; in >> s;) f.push_back(s);
    // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
    // /proc/self/stat is the kernel's; its fields are numbers.
    if (f.size() > 21 && std::all_of(f.begin() + 11, f.begin() + 22, [](const std::string& x) {
          return !x.empty() && x.find_first_not_of("0123456789") == std::string::npos;
        })) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
      page.add("process_cpu_seconds_total", (std::stod(f[11]) + std::stod(f[12])) / tick);
      double boot = 0;
      std::ifstream kstat("/proc/stat");
      for (std::string key; kstat >> key;) {
        if (key == "btime") {
          kstat >> boot;
          break;
        }
      }
      page.add("process_start_time_seconds", boot + std::stod(f[19]) / tick);
      page.add("process_virtual_memory_bytes", std::stod(f[20]));
      page.add("process_resident_memory_bytes", std::stod(f[21]) * page_size);
    }
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) page.add("process_open_fds", static_cast<double>(fds));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) page.add("process_max_fds", u(lim.rlim_cur));
}

/// The heads of a model set, with the names used in labels.
struct Head {
  std::string_view name;
  std::shared_ptr<const model::Bundle> inference::ModelSet::*live;
};
constexpr std::array<Head, 3> kHeads{{{"reel", &inference::ModelSet::reel},
                                      {"attack", &inference::ModelSet::attack},
                                      {"anomaly", &inference::ModelSet::anomaly}}};

/// The scrape-time families: everything Sources can tell.
class SourceCollector final : public prometheus::Collectable {
 public:
  explicit SourceCollector(Sources s) : src_(std::move(s)) {}

  /// Called on the HTTP threads; one scrape at a time, so Sources need not
  /// be reentrant.
  std::vector<MetricFamily> Collect() const override {
    std::lock_guard lock(mutex_);
    PageBuilder page;
    if (src_.capture) addCapture(page, src_.capture());
    if (src_.pool != nullptr) {
      const inference::PoolStats& p = *src_.pool;
      page.add("edgesense_inference_queue_drops_total",
               u(p.dropped.load(std::memory_order_relaxed)));
      page.add("edgesense_inference_in_flight_drops_total",
               u(p.in_flight_dropped.load(std::memory_order_relaxed)));
      page.add("edgesense_inference_records_submitted_total",
               u(p.submitted.load(std::memory_order_relaxed)));
      page.add("edgesense_inference_records_scored_total",
               u(p.scored.load(std::memory_order_relaxed)));
    }
    if (src_.queue_depth) page.add("edgesense_inference_queue_depth", u(src_.queue_depth()));
    if (src_.output != nullptr) {
      const output::EveOutputStats& o = *src_.output;
      page.add("edgesense_alerts_written_total", u(o.alerts.load(std::memory_order_relaxed)));
      page.add("edgesense_alerts_suppressed_total",
               u(o.suppressed.load(std::memory_order_relaxed)));
      page.add("edgesense_alerts_follow_ups_total",
               u(o.follow_ups.load(std::memory_order_relaxed)));
      page.add("edgesense_alerts_windows_evicted_total",
               u(o.windows_evicted.load(std::memory_order_relaxed)));
      page.add("edgesense_alerts_alerted_flows_evicted_total",
               u(o.alerted_flows_evicted.load(std::memory_order_relaxed)));
      page.add("edgesense_alerts_explained_total",
               u(o.explanations.load(std::memory_order_relaxed)));
      page.add("edgesense_output_flow_records_total",
               u(o.flow_records.load(std::memory_order_relaxed)));
      page.add("edgesense_output_write_errors_total",
               u(o.write_errors.load(std::memory_order_relaxed)));
    }
    if (src_.models != nullptr) {
      if (const auto set = src_.models->current()) {
        for (const Head& h : kHeads) {
          if (const auto& b = (*set).*h.live) {
            page.add(
                "edgesense_model_info", 1,
                {{"head", std::string(h.name)}, {"name", b->name()}, {"version", b->version()}});
          }
        }
        page.add("edgesense_model_generation", u(set->generation));
      }
    }
    if (src_.reloads != nullptr) {
      page.add("edgesense_model_reloads_total",
               u(src_.reloads->succeeded.load(std::memory_order_relaxed)), {{"result", "success"}});
      page.add("edgesense_model_reloads_total",
               u(src_.reloads->failed.load(std::memory_order_relaxed)), {{"result", "failure"}});
    }
    page.add("edgesense_build_info", 1, {{"version", EDGESENSE_VERSION}});
    page.add("edgesense_pipeline_healthy", healthyLocked() ? 1 : 0);
    addProcess(page);
    return page.take();
  }

  bool healthy() const {
    std::lock_guard lock(mutex_);
    return healthyLocked();
  }
  std::shared_ptr<const inference::ModelSet> models() const {
    std::lock_guard lock(mutex_);
    return src_.models != nullptr ? src_.models->current() : nullptr;
  }
  void set(Sources s) {
    std::lock_guard lock(mutex_);
    src_ = std::move(s);
  }

 private:
  static void addCapture(PageBuilder& page, const std::vector<CaptureSample>& samples) {
    // Sum each interface's threads; std::map keeps the page's order stable.
    std::map<std::string, CaptureSample> by_if;
    std::map<std::string, std::uint64_t> emergency;  // tables in emergency mode
    for (const CaptureSample& s : samples) {
      CaptureSample& t = by_if[s.interface];
      t.packets += s.packets;
      t.bytes += s.bytes;
      t.kernel_drops += s.kernel_drops;
      t.interface_drops += s.interface_drops;
      for (std::size_t i = 0; i < decode::kDecodeErrorCount; ++i)
        t.decode_errors[i] += s.decode_errors[i];
      t.flows.created += s.flows.created;
      for (std::size_t i = 0; i < flow::kEndReasonCount; ++i) t.flows.ended[i] += s.flows.ended[i];
      t.flows.fragments_attributed += s.flows.fragments_attributed;
      t.flows.fragments_unattributed += s.flows.fragments_unattributed;
      t.flows.fragment_slots_overwritten += s.flows.fragment_slots_overwritten;
      t.flows.clock_jumps_ahead += s.flows.clock_jumps_ahead;
      t.flows.clock_jumps_behind += s.flows.clock_jumps_behind;
      t.flows.clock_steps_back += s.flows.clock_steps_back;
      t.flows.rst_out_of_window += s.flows.rst_out_of_window;
      t.flows.direction_from_syn_ack += s.flows.direction_from_syn_ack;
      t.flows.direction_from_port += s.flows.direction_from_port;
      t.flows.evicted_half_open += s.flows.evicted_half_open;
      t.flows.evicted_one_packet += s.flows.evicted_one_packet;
      t.flows.evicted_closing += s.flows.evicted_closing;
      t.flows.evicted_established += s.flows.evicted_established;
      t.flows.active += s.flows.active;
      t.flows.emergency_entries += s.flows.emergency_entries;
      t.flows.emergency_us += s.flows.emergency_us;
      t.flows.table_bytes += s.flows.table_bytes;
      emergency[s.interface] += s.flows.emergency ? 1 : 0;
      t.hosts.entries += s.hosts.entries;
      t.hosts.evicted += s.hosts.evicted;
    }
    for (const auto& [name, t] : by_if) {
      const prometheus::ClientMetric::Label itf{"interface", name};
      page.add("edgesense_capture_packets_total", u(t.packets), {itf});
      page.add("edgesense_capture_bytes_total", u(t.bytes), {itf});
      page.add("edgesense_capture_kernel_drops_total", u(t.kernel_drops), {itf});
      page.add("edgesense_capture_interface_drops_total", u(t.interface_drops), {itf});
      for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i) {
        const auto reason = decode::decodeErrorName(static_cast<decode::DecodeError>(i));
        page.add("edgesense_decode_errors_total", u(t.decode_errors[i]),
                 {itf, {"reason", std::string(reason)}});
      }
      page.add("edgesense_flow_active", t.flows.active, {itf});
      page.add("edgesense_flow_created_total", u(t.flows.created), {itf});
      for (std::size_t i = 0; i < flow::kEndReasonCount; ++i) {
        const auto r = static_cast<flow::EndReason>(i);
        if (r == flow::EndReason::kActiveTimeout) continue;  // a snapshot, not an end
        page.add("edgesense_flow_ended_total", u(t.flows.ended[i]),
                 {itf, {"reason", std::string(flow::endReasonName(r))}});
      }
      page.add("edgesense_flow_snapshots_total",
               u(t.flows.ended[static_cast<std::size_t>(flow::EndReason::kActiveTimeout)]), {itf});
      page.add("edgesense_flow_fragments_total", u(t.flows.fragments_attributed),
               {itf, {"result", "attributed"}});
      page.add("edgesense_flow_fragments_total", u(t.flows.fragments_unattributed),
               {itf, {"result", "unattributed"}});
      page.add("edgesense_flow_fragment_slots_overwritten_total",
               u(t.flows.fragment_slots_overwritten), {itf});
      page.add("edgesense_flow_evictions_total", u(t.flows.evicted_half_open),
               {itf, {"kind", "half_open"}});
      page.add("edgesense_flow_evictions_total", u(t.flows.evicted_one_packet),
               {itf, {"kind", "one_packet"}});
      page.add("edgesense_flow_evictions_total", u(t.flows.evicted_closing),
               {itf, {"kind", "closing"}});
      page.add("edgesense_flow_evictions_total", u(t.flows.evicted_established),
               {itf, {"kind", "established"}});
      page.add("edgesense_flow_emergency", u(emergency[name]), {itf});
      page.add("edgesense_flow_emergency_entries_total", u(t.flows.emergency_entries), {itf});
      page.add("edgesense_flow_emergency_seconds_total",
               static_cast<double>(t.flows.emergency_us) / 1e6, {itf});
      page.add("edgesense_flow_table_bytes", u(t.flows.table_bytes), {itf});
      page.add("edgesense_flow_clock_jumps_total", u(t.flows.clock_jumps_ahead),
               {itf, {"direction", "ahead"}});
      page.add("edgesense_flow_clock_jumps_total", u(t.flows.clock_jumps_behind),
               {itf, {"direction", "behind"}});
      page.add("edgesense_flow_clock_steps_back_total", u(t.flows.clock_steps_back), {itf});
      page.add("edgesense_flow_tcp_rst_out_of_window_total", u(t.flows.rst_out_of_window), {itf});
      page.add("edgesense_flow_direction_flipped_total", u(t.flows.direction_from_syn_ack),
               {itf, {"reason", "syn_ack"}});
      page.add("edgesense_flow_direction_flipped_total", u(t.flows.direction_from_port),
               {itf, {"reason", "port"}});
      page.add("edgesense_host_table_entries", t.hosts.entries, {itf});
      page.add("edgesense_host_table_evictions_total", u(t.hosts.evicted), {itf});
    }
  }

  bool healthyLocked() const { return !src_.healthy || src_.healthy(); }

  mutable std::mutex mutex_;
  Sources src_;
};

/// The per-flow instruments' sink; runs on the inference output thread.
class FlowSink final : public inference::ScoredSink {
 public:
  FlowSink(inference::ScoredSink& next, prometheus::Family<prometheus::Counter>& verdicts,
           prometheus::Family<prometheus::Counter>& alerts, prometheus::Counter& reel_flows,
           prometheus::Counter& reel_bytes, prometheus::Family<prometheus::Gauge>& drift)
      : next_(next),
        verdicts_(verdicts),
        alerts_(alerts),
        reel_flows_(reel_flows),
        reel_bytes_(reel_bytes),
        drift_family_(drift) {}

  void onScored(inference::ScoredRecord&& s) override {
    if (s.models) count(s);
    next_.onScored(std::move(s));
  }

 private:
  /// One head's counters and drift state for the bundle now serving it.
  struct HeadState {
    std::shared_ptr<const model::Bundle> bundle;  // holds it while we point into it
    std::vector<prometheus::Counter*> verdicts;   // by class (anomaly: [0] anomaly, [1] normal)
    std::vector<prometheus::Counter*> alerts;     // by class; null if it never alerts
    std::vector<std::size_t> columns;             // watched model columns
    std::vector<DriftBins> bins;
    std::vector<std::vector<std::uint64_t>> counts;
    std::vector<prometheus::Labels> labels;  // of each watched column's gauge
    std::vector<prometheus::Gauge*> gauges;  // made at the first full window
    std::size_t rows = 0;
  };

  void count(const inference::ScoredRecord& s) {
    const inference::Verdict& v = s.verdict;
    const bool final = s.record.isFinal();
    // reel
    if (HeadState* h = head(0, s.models->reel); h != nullptr && v.reel_scored) {
      if (final) {
        h->verdicts[v.is_reel ? 1 : 0]->Increment();
        if (v.is_reel) {
          reel_flows_.Increment();
          reel_bytes_.Increment(u(s.record.bytes[0] + s.record.bytes[1]));
        }
      }
      observeDrift(*h, s.record.features);
    }
    // attack
    if (HeadState* h = head(1, s.models->attack); h != nullptr && v.attack_scored) {
      const std::size_t c = std::min<std::size_t>(v.attack_class, h->verdicts.size() - 1);
      if (final) h->verdicts[c]->Increment();
      if (v.attack_alert && h->alerts[c] != nullptr) h->alerts[c]->Increment();
      observeDrift(*h, s.record.features);
    }
    // anomaly
    if (HeadState* h = head(2, s.models->anomaly); h != nullptr && v.anomaly_scored) {
      if (final) h->verdicts[v.anomaly_alert ? 0 : 1]->Increment();
      if (v.anomaly_alert) h->alerts[0]->Increment();
      observeDrift(*h, s.record.features);
    }
  }

  /// The state of head `i` for `bundle`, rebuilt when the bundle changes
  /// (a reload): once per reload, not per flow.
  HeadState* head(std::size_t i, const std::shared_ptr<const model::Bundle>& bundle) {
    HeadState& h = heads_[i];
    if (h.bundle == bundle) return bundle ? &h : nullptr;
    // Another bundle, or none: the old one's drift no longer describes
    // what is served.
    for (prometheus::Gauge* g : h.gauges) {
      if (g != nullptr) drift_family_.Remove(g);
    }
    h = HeadState{};
    if (!bundle) return nullptr;
    h.bundle = bundle;
    const std::string name(kHeads[i].name);
    std::vector<std::string> classes = bundle->classes();
    if (bundle->task() == model::Task::kAnomaly) classes = {"anomaly", "normal"};
    for (std::size_t c = 0; c < classes.size(); ++c) {
      h.verdicts.push_back(&verdicts_.Add({{"head", name}, {"class", classes[c]}}));
      // Only attack classes past benign, and anomaly itself, raise alerts.
      const bool alerts = (bundle->task() == model::Task::kAttack && c > 0) ||
                          (bundle->task() == model::Task::kAnomaly && c == 0);
      h.alerts.push_back(alerts ? &alerts_.Add({{"head", name}, {"class", classes[c]}}) : nullptr);
    }
    // Reads the bundle's model file: once per reload, on this thread, off
    // the packet path (the pool's queue absorbs the pause).
    h.columns = driftColumns(*bundle, kDriftFeatures);
    for (std::size_t col : h.columns) {
      h.bins.emplace_back(bundle->quantiles(col), bundle->shares(col));
      h.counts.emplace_back(h.bins.back().size(), 0);
      const auto feature = features::kSchema[bundle->featureIndices()[col]].name;
      h.labels.push_back({{"head", name}, {"feature", std::string(feature)}});
      h.gauges.push_back(nullptr);
    }
    return &h;
  }

  void observeDrift(HeadState& h, const features::FeatureVector& row) {
    if (h.columns.empty()) return;
    for (std::size_t k = 0; k < h.columns.size(); ++k) {
      const double x = row[h.bundle->featureIndices()[h.columns[k]]];
      if (!std::isnan(x)) ++h.counts[k][h.bins[k].bin(x)];
    }
    if (++h.rows < kDriftWindowRows) return;
    for (std::size_t k = 0; k < h.columns.size(); ++k) {
      if (h.gauges[k] == nullptr) h.gauges[k] = &drift_family_.Add(h.labels[k]);
      h.gauges[k]->Set(h.bins[k].psi(h.counts[k]));
      std::fill(h.counts[k].begin(), h.counts[k].end(), 0);
    }
    h.rows = 0;
  }

  inference::ScoredSink& next_;
  prometheus::Family<prometheus::Counter>& verdicts_;
  prometheus::Family<prometheus::Counter>& alerts_;
  prometheus::Counter& reel_flows_;
  prometheus::Counter& reel_bytes_;
  prometheus::Family<prometheus::Gauge>& drift_family_;
  std::array<HeadState, 3> heads_;
};

template <typename Builder>
auto& registerFamily(Builder builder, std::string_view name, prometheus::Registry& registry) {
  const MetricDef& d = def(name);
  return builder.Name(std::string(d.name)).Help(std::string(d.help)).Register(registry);
}

// Bucket bounds: powers of two rows up to the largest sensible batch, and
// latencies from 50 us to 2.5 s.
const prometheus::Histogram::BucketBoundaries kRowBuckets{1,  2,   4,   8,   16,   32,
                                                          64, 128, 256, 512, 1024, 4096};
const prometheus::Histogram::BucketBoundaries kSecondBuckets{
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5};

}  // namespace

struct Metrics::Impl {
  Impl(const config::MetricsConfig& c, Sources s)
      : cfg(c),
        collector(std::move(s)),
        registry(std::make_shared<prometheus::Registry>()),
        verdicts(registerFamily(prometheus::BuildCounter(), "edgesense_inference_verdicts_total",
                                *registry)),
        alerts(registerFamily(prometheus::BuildCounter(), "edgesense_alerts_total", *registry)),
        reel_flows(
            registerFamily(prometheus::BuildCounter(), "edgesense_reel_flows_total", *registry)
                .Add({})),
        reel_bytes(
            registerFamily(prometheus::BuildCounter(), "edgesense_reel_bytes_total", *registry)
                .Add({})),
        drift(registerFamily(prometheus::BuildGauge(), "edgesense_model_feature_drift_psi",
                             *registry)),
        batch_rows(registerFamily(prometheus::BuildHistogram(),
                                  "edgesense_inference_batch_size_rows", *registry)
                       .Add({}, kRowBuckets)),
        batch_seconds(registerFamily(prometheus::BuildHistogram(),
                                     "edgesense_inference_batch_duration_seconds", *registry)
                          .Add({}, kSecondBuckets)) {}

  void start();

  config::MetricsConfig cfg;
  SourceCollector collector;
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& verdicts;
  prometheus::Family<prometheus::Counter>& alerts;
  prometheus::Counter& reel_flows;
  prometheus::Counter& reel_bytes;
  prometheus::Family<prometheus::Gauge>& drift;
  prometheus::Histogram& batch_rows;
  prometheus::Histogram& batch_seconds;
  std::unique_ptr<FlowSink> sink;
  mg_context* ctx = nullptr;
  std::uint16_t port = 0;
};

namespace {

// What civetweb logs while the constructor starts it, on that thread.
thread_local std::string* t_start_log = nullptr;

bool readOnly(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string_view m = ri->request_method != nullptr ? ri->request_method : "";
  return m == "GET" || m == "HEAD";
}

int respond(mg_connection* conn, int status, const char* type, const std::string& body) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", type, -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(body.size()).c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  mg_response_header_send(conn);
  const mg_request_info* ri = mg_get_request_info(conn);
  if (std::string_view(ri->request_method) != "HEAD") mg_write(conn, body.data(), body.size());
  return status;
}

int notAllowed(mg_connection* conn) {
  return respond(conn, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
}

// Nothing may throw into civetweb's C code: a failed page is a 500.
template <typename Page>
int servePage(mg_connection* conn, const char* type, Page page) {
  if (!readOnly(conn)) return notAllowed(conn);
  std::string body;
  try {
    body = page();
  } catch (const std::exception& e) {
    return respond(conn, 500, "text/plain; charset=utf-8", std::string(e.what()) + "\n");
  }
  return respond(conn, 200, type, body);
}

int serveMetrics(mg_connection* conn, void* data) {
  const auto* m = static_cast<const Metrics*>(data);
  return servePage(conn, "text/plain; version=0.0.4; charset=utf-8", [m] { return m->scrape(); });
}

int serveModels(mg_connection* conn, void* data) {
  const auto* m = static_cast<const Metrics*>(data);
  return servePage(conn, "application/json", [m] { return m->modelsJson(); });
}

int serveHealth(mg_connection* conn, void* data) {
  if (!readOnly(conn)) return notAllowed(conn);
  const auto* c = static_cast<const SourceCollector*>(data);
  bool healthy = false;
  try {
    healthy = c->healthy();
  } catch (const std::exception&) {
    healthy = false;  // a health check that cannot answer is unhealthy
  }
  return healthy ? respond(conn, 200, "text/plain; charset=utf-8", "ok\n")
                 : respond(conn, 503, "text/plain; charset=utf-8", "unhealthy\n");
}

}  // namespace

Metrics::Metrics(const config::MetricsConfig& cfg, Sources sources)
    : impl_(std::make_unique<Impl>(cfg, std::move(sources))) {
  if (cfg.listen.empty()) return;
  const std::string where = "metrics.listen " + cfg.listen + ": ";
  // Feature 8 is IPv6; Debian 12's libcivetweb is built without it.
  if (cfg.listen.front() == '[' && mg_check_feature(8) == 0) {
    throw MetricsError(where +
                       "this build's HTTP server (libcivetweb) has no IPv6; use an IPv4 address");
  }
  // Two threads: scrapes are rare, and a third client waits its turn.
  const char* options[] = {"listening_ports",
                           cfg.listen.c_str(),
                           "num_threads",
                           "2",
                           "request_timeout_ms",
                           "10000",
                           nullptr};
  mg_callbacks callbacks{};
  // civetweb says why binding failed only through its log (the error text
  // is "Failed to setup server ports"); keep what it logs while starting.
  callbacks.log_message = [](const mg_connection*, const char* message) {
    if (t_start_log != nullptr && message != nullptr) {
      if (!t_start_log->empty()) *t_start_log += "; ";
      *t_start_log += message;
    }
    return 1;  // handled: nothing on stderr
  };
  std::string start_log;
  t_start_log = &start_log;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.configuration_options = options;
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  impl_->ctx = mg_start2(&init, &error);
  t_start_log = nullptr;
  if (impl_->ctx == nullptr) {
    std::string why = !start_log.empty()      ? start_log
                      : error_text[0] != '\0' ? std::string(error_text)
                                              : "cannot start the HTTP server";
    throw MetricsError(where + why);
  }
  mg_server_port ports[4]{};
  const int n = mg_get_server_ports(impl_->ctx, 4, ports);
  if (n < 1) {
    mg_stop(impl_->ctx);
    impl_->ctx = nullptr;
    throw MetricsError(where + "the HTTP server has no listening port");
  }
  impl_->port = static_cast<std::uint16_t>(ports[0].port);
  const std::string path = cfg.path.empty() ? "/metrics" : cfg.path;
  mg_set_request_handler(impl_->ctx, path.c_str(), serveMetrics, this);
  mg_set_request_handler(impl_->ctx, "/healthz", serveHealth, &impl_->collector);
  mg_set_request_handler(impl_->ctx, "/api/v1/models", serveModels, this);
}

Metrics::~Metrics() {
  if (impl_->ctx != nullptr) mg_stop(impl_->ctx);  // waits for requests in progress
}

inference::ScoredSink& Metrics::wrap(inference::ScoredSink& next) {
  impl_->sink = std::make_unique<FlowSink>(next, impl_->verdicts, impl_->alerts, impl_->reel_flows,
                                           impl_->reel_bytes, impl_->drift);
  return *impl_->sink;
}

void Metrics::observeBatch(std::size_t rows, double seconds) {
  impl_->batch_rows.Observe(static_cast<double>(rows));
  impl_->batch_seconds.Observe(seconds);
}

void Metrics::setSources(Sources sources) {
  impl_->collector.set(std::move(sources));
}

std::uint16_t Metrics::port() const noexcept {
  return impl_->port;
}

std::string Metrics::scrape() const {
  std::vector<MetricFamily> families = impl_->collector.Collect();
  for (MetricFamily& f : impl_->registry->Collect()) {
    if (!f.metric.empty()) families.push_back(std::move(f));
  }
  // In table order, so the page reads like docs/metrics.md.
  const auto table = metricTable();
  const auto rank = [&](const MetricFamily& f) {
    return std::find_if(table.begin(), table.end(),
                        [&](const MetricDef& d) { return d.name == f.name; }) -
           table.begin();
  };
  std::stable_sort(families.begin(), families.end(),
                   [&](const MetricFamily& a, const MetricFamily& b) { return rank(a) < rank(b); });
  return prometheus::TextSerializer().Serialize(families);
}

std::string Metrics::modelsJson() const {
  nlohmann::json doc = {{"generation", 0}, {"bundles", nlohmann::json::array()}};
  const auto set = impl_->collector.models();
  if (!set) return doc.dump(2) + "\n";
  doc["generation"] = set->generation;
  const std::array<std::pair<const std::shared_ptr<const model::Bundle>*, bool>, 6> all{{
      {&set->reel, false},
      {&set->attack, false},
      {&set->anomaly, false},
      {&set->shadow_reel, true},
      {&set->shadow_attack, true},
      {&set->shadow_anomaly, true},
  }};
  for (const auto& [ptr, shadow] : all) {
    const auto& b = *ptr;
    if (!b) continue;
    nlohmann::json thresholds = nlohmann::json::object();
    for (std::size_t i = 0; i < b->classes().size(); ++i) {
      const double t = i < b->thresholds().size() ? b->thresholds()[i] : NAN;
      thresholds[b->classes()[i]] = std::isnan(t) ? nlohmann::json(nullptr) : nlohmann::json(t);
    }
    const nlohmann::json training = nlohmann::json::parse(b->trainingJson(), nullptr, false);
    nlohmann::json entry = {
        {"head", std::string(model::taskName(b->task()))},
        {"role", shadow ? "shadow" : "live"},
        {"name", b->name()},
        {"version", b->version()},
        {"task", std::string(model::taskName(b->task()))},
        {"kind", std::string(model::kindName(b->kind()))},
        {"classes", b->classes()},
        {"thresholds", thresholds},
        {"features", b->featureIndices().size()},
        {"trained_at",
         training.is_object() ? training.value("trained_at", nlohmann::json(nullptr)) : nullptr},
        {"training_metrics",
         training.is_object() ? training.value("metrics", nlohmann::json(nullptr)) : nullptr},
    };
    doc["bundles"].push_back(std::move(entry));
  }
  return doc.dump(2) + "\n";
}

}  // namespace edgesense::metrics
