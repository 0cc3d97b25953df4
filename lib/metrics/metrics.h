#pragma once
/// Metrics: the daemon's Prometheus endpoint. One HTTP server (civetweb)
/// serves /metrics (the configured path), /healthz and /api/v1/models.
///
/// Who owns what, which thread calls what:
/// * Hot-path counters stay where they are (RxLoop, FlowTable, HostTable:
///   plain per-thread fields). The capture side publishes copies of them
///   periodically; Sources::capture returns those copies and is called on the
///   HTTP thread at scrape time, which sums and labels them (by interface,
///   never by address). Nothing here runs per packet.
/// * Per-flow instruments (verdicts, reel flows/bytes, alerts by class,
///   feature drift) are updated by the sink that wrap() returns, on the
///   inference output thread, once per scored record.
/// * observeBatch() is called by inference workers once per batch.
/// * Metrics must outlive the pool and sinks that call into it, and every
///   Source must outlive the Metrics. The destructor stops the server first,
///   waiting for requests in progress (up to about 2 s: civetweb's poll).
///
/// Names, types, labels and help live in one table (metricTable());
/// docs/metrics.md is generated from it by markdown() and a test keeps them
/// equal.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "decode/decode.h"
#include "features/host_table.h"
#include "flow/flow_table.h"
#include "inference/model_set.h"
#include "inference/pool.h"
#include "inference/reloader.h"
#include "output/eve_output.h"

namespace edgesense::metrics {

/// One capture thread's counters, as that thread last published them.
struct CaptureSample {
  std::string interface;
  unsigned thread = 0;  // 0.. within the interface
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t kernel_drops = 0;             // pcap_stats ps_drop
  std::uint64_t interface_drops = 0;          // pcap_stats ps_ifdrop
  decode::DecodeErrorCounts decode_errors{};  // index = decode::DecodeError
  flow::FlowTableStats flows{};
  features::HostTableStats hosts{};
};

/// Where the exporter reads at scrape time. Every pointer/function may be
/// null/empty: its metrics are then left out (healthy: always healthy).
struct Sources {
  std::function<std::vector<CaptureSample>()> capture;  // called on the HTTP thread
  const inference::PoolStats* pool = nullptr;
  std::function<std::size_t()> queue_depth;
  const output::EveOutputStats* output = nullptr;
  const inference::ReloadStats* reloads = nullptr;
  const inference::ModelRegistry* models = nullptr;  // model info, /api/v1/models, drift reference
  std::function<bool()> healthy;                     // /healthz: 200 while true, else 503
};

/// The endpoint could not be started; what() names the address:
/// "metrics.listen 127.0.0.1:9750: <reason>".
class MetricsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MetricType { kCounter, kGauge, kHistogram };

/// One exported metric family: the single place its name and meaning live.
struct MetricDef {
  std::string_view name;
  MetricType type;
  std::string_view labels;  // comma-separated label names, "" for none
  std::string_view unit;    // "seconds", "bytes", "packets", ... ("" for info/ratio)
  std::string_view help;
};

/// Every family the endpoint can serve, in page order.
std::span<const MetricDef> metricTable() noexcept;
/// The table's row for `name`, or nullptr.
const MetricDef* findMetric(std::string_view name) noexcept;
/// docs/metrics.md, made from the table.
std::string markdown();

/// Features per head whose drift is exported, at most.
inline constexpr std::size_t kDriftFeatures = 5;
/// Scored rows per drift window: each full window recomputes the gauges.
inline constexpr std::size_t kDriftWindowRows = 2048;

/// Population stability index of `values` against a training distribution
/// given by kQuantileCount quantiles (q0, q10, ..., q100) and, if not empty,
/// the training share up to each distinct quantile (Bundle::shares). NaN
/// values are ignored; 0 when there is nothing to compare. Exposed for tests.
double populationStabilityIndex(std::span<const double> quantiles, std::span<const double> shares,
                                std::span<const double> values);

class Metrics {
 public:
  /// Starts serving on cfg.listen (HOST:PORT; port 0 picks a free port);
  /// an empty listen serves nothing but the instruments still count.
  /// Throws MetricsError naming the address and the reason (in use, not
  /// local, IPv6 without a libcivetweb built for it, as Debian 12's).
  Metrics(const config::MetricsConfig& cfg, Sources sources);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// A ScoredSink that counts verdicts by head and class, reel flows and
  /// bytes, alert decisions by class, and feeds drift, then hands the record
  /// to `next`. Called once, before the pool starts; the sink lives as long
  /// as this Metrics and is used by one (output) thread.
  inference::ScoredSink& wrap(inference::ScoredSink& next);

  /// For inference::PoolConfig::on_batch: once per scored batch, by a worker.
  void observeBatch(std::size_t rows, double seconds);

  /// Replaces the sources; safe while serving (a scrape in progress
  /// finishes first). For what exists only after the Metrics does: the
  /// pool is built with wrap()'s sink, then its stats and queue depth are
  /// added here.
  void setSources(Sources sources);

  /// The bound port (0 when not serving).
  std::uint16_t port() const noexcept;

  /// The /metrics page as served (Prometheus text format 0.0.4).
  std::string scrape() const;
  /// The /api/v1/models document.
  std::string modelsJson() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgesense::metrics
