#pragma once
/// EveOutput: the output thread's stage. It receives scored flow snapshots
/// in submission order, turns alerting verdicts into EVE alert records
/// (through the AlertAggregator), writes each flow's final record with its
/// verdict, and sends every line to every LineSink. An alert record is
/// explained (inference::explain) only when it is written, so suppressed
/// alerts cost no explanation. Runs on the output thread only; stats may be
/// read from anywhere.

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "inference/explain.h"
#include "inference/pool.h"
#include "output/alerts.h"
#include "output/eve.h"
#include "output/line_sink.h"

namespace edgesense::output {

struct EveOutputOptions {
  bool flow_records = true;      // write event_type flow as well as alerts
  bool include_features = true;  // the feature vector in flow records
  decode::TimeUs aggregation_window_us = 60'000'000;
  std::size_t max_alert_windows = AlertAggregator::kDefaultMaxWindows;  // alerts.max_windows
  /// Flows remembered as having alerted until their final record
  /// (alerts.max_alerted_flows): a final record dropped on the way (a full
  /// inference queue) would otherwise leave its flow here for good.
  std::size_t max_alerted_flows = 65536;
};

struct EveOutputStats {
  std::atomic<std::uint64_t> flow_records{0};
  std::atomic<std::uint64_t> alerting{0};    // alert decisions, before aggregation
  std::atomic<std::uint64_t> alerts{0};      // alert records written at once
  std::atomic<std::uint64_t> suppressed{0};  // alerts counted into follow-ups
  std::atomic<std::uint64_t> follow_ups{0};
  std::atomic<std::uint64_t> explanations{0};  // alert records explained as written
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<std::uint64_t> windows_evicted{0};  // aggregation windows closed early (cap)
  /// Alerted flows forgotten, the least recently alerted first, to stay
  /// within max_alerted_flows: their final records say alerted: false.
  std::atomic<std::uint64_t> alerted_flows_evicted{0};
};

class EveOutput final : public inference::ScoredSink {
 public:
  EveOutput(std::vector<std::unique_ptr<LineSink>> sinks, EveOutputOptions opts);

  void onScored(inference::ScoredRecord&& scored) override;
  /// Writes the follow-ups of every open window and flushes; call after the
  /// pool has drained.
  void finish();
  /// SIGHUP: every file sink reopens before its next write.
  void requestReopen() noexcept;

  const EveOutputStats& stats() const noexcept { return stats_; }
  /// Final verdicts by head and class ("attack.scan", "reel.reel", ...), for
  /// the replay summary; read after finish().
  const std::map<std::string, std::uint64_t>& verdictCounts() const noexcept { return verdicts_; }

 private:
  void writeLine();
  void writeAlert(inference::ScoredRecord& s, const AlertClass& c, const FollowUp* follow_up);
  void writeFollowUps();
  void countVerdict(const inference::ScoredRecord& s);

  std::vector<std::unique_ptr<LineSink>> sinks_;
  EveOutputOptions opts_;
  AlertAggregator aggregator_;
  void rememberAlerted(std::uint64_t flow_id);

  // Flows with an alert so far, by flow id; the list is in alert order
  // (least recent first), so the cap forgets the oldest.
  std::list<std::uint64_t> alerted_order_;
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> alerted_flows_;
  std::vector<FollowUp> follow_ups_;
  std::map<std::string, std::uint64_t> verdicts_;
  std::string line_;
  inference::ExplainScratch explain_scratch_;
  EveOutputStats stats_;
};

}  // namespace edgesense::output
