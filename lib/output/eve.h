#pragma once
/// EVE JSON output: flow records in the format Suricata made standard, so
/// existing SIEM pipelines read them unchanged. Field names and types follow
/// Suricata's schema; what edgesense adds sits in a top-level `edgesense`
/// object. Formatting runs on whichever thread owns the sink.

#include <cstdio>
#include <string>

#include "features/flow_record.h"
#include "inference/verdict.h"
#include "output/alerts.h"
#include "output/line_sink.h"

namespace edgesense::output {

/// "2026-01-01T00:00:00.000000+0000" (UTC, microseconds), as Suricata writes.
void appendTimestamp(std::string& out, decode::TimeUs ts_us);

/// Suricata's protocol name: "TCP", "UDP", "ICMP", "IPv6-ICMP", or the number.
std::string protoName(std::uint8_t proto);

struct EveOptions {
  bool include_features = true;  // the feature vector under edgesense.features
};

/// Appends one `event_type: flow` record (no trailing newline); with a
/// scored record, its verdict and models under `edgesense`.
void appendFlowEvent(std::string& out, const features::FlowRecord& r, const EveOptions& opts,
                     const inference::ScoredRecord* scored = nullptr, bool alerted = false);

/// Appends one `event_type: alert` record for an alert class; with a
/// follow-up, the aggregate of the alerts its window suppressed.
void appendAlertEvent(std::string& out, const inference::ScoredRecord& s, const AlertClass& c,
                      const FollowUp* follow_up);

/// The `edgesense.verdict` object of a scored record.
void appendVerdict(std::string& out, const inference::ScoredRecord& s, bool alerted);

/// Writes the final record of every flow as one EVE line to a stdio stream.
/// Interim (active-timeout) snapshots are not written: like Suricata, one
/// flow record per flow, so records sum to exact totals.
class EveFlowSink final : public features::RecordSink {
 public:
  EveFlowSink(std::unique_ptr<LineSink> out, EveOptions opts);

  void onRecord(const features::FlowRecord& r) override;
  /// Flushes; false if any write failed (disk full, closed pipe).
  bool flush();
  std::uint64_t written() const noexcept { return written_; }

 private:
  std::unique_ptr<LineSink> out_;
  EveOptions opts_;
  std::string line_;
  std::uint64_t written_ = 0;
  bool failed_ = false;
};

}  // namespace edgesense::output
