// Output thread: scored flow snapshots -> aggregated alerts and flow records
// -> every sink, in the order the capture thread submitted them.

#include "output/eve_output.h"

#include <algorithm>
#include <iterator>

namespace edgesense::output {

namespace {

/// The alert class of an attack verdict, with the bundle's MITRE entry if
/// it has one.
AlertClass attackClass(const inference::ScoredRecord& s) {
  const model::Bundle& b = *s.models->attack;
  const std::string& name = b.classes()[s.verdict.attack_class];
  AlertClass c = alertClass(name, s.verdict.attack_class);
  if (const model::MitreEntry* m = b.mitre(name)) {
    c.mitre_tactic_id = m->tactic_id;
    c.mitre_tactic = m->tactic;
    c.mitre_technique_id = m->technique_id;
    c.mitre_technique = m->technique;
  }
  return c;
}

}  // namespace

EveOutput::EveOutput(std::vector<std::unique_ptr<LineSink>> sinks, EveOutputOptions opts)
    : sinks_(std::move(sinks)),
      opts_(opts),
      aggregator_(opts.aggregation_window_us, opts.max_alert_windows) {
  line_.reserve(16384);
}

void EveOutput::writeLine() {
  for (const auto& sink : sinks_) {
    if (!sink->write(line_)) stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
  }
  line_.clear();
}

void EveOutput::writeAlert(inference::ScoredRecord& s, const AlertClass& c,
                           const FollowUp* follow_up) {
  if (inference::explain(s, explain_scratch_))
    stats_.explanations.fetch_add(1, std::memory_order_relaxed);
  appendAlertEvent(line_, s, c, follow_up);
  writeLine();
}

void EveOutput::writeFollowUps() {
  for (FollowUp& f : follow_ups_) {
    const AlertClass c = f.class_name == "anomaly" ? alertClass("anomaly", 0) : attackClass(f.last);
    writeAlert(f.last, c, &f);
    stats_.follow_ups.fetch_add(1, std::memory_order_relaxed);
  }
  follow_ups_.clear();
}

void EveOutput::onScored(inference::ScoredRecord&& s) {
  const features::FlowRecord& r = s.record;
  // Packet time of the report: monotonic in submission order.
  aggregator_.expire(r.report_us, follow_ups_);
  writeFollowUps();

  const inference::Verdict& v = s.verdict;
  if (v.alerted()) rememberAlerted(r.flow_id);
  if (v.attack_alert) {
    stats_.alerting.fetch_add(1, std::memory_order_relaxed);
    const AlertClass c = attackClass(s);
    if (aggregator_.onAlert(aggregationAddress(c, r), c.name, r.report_us, s)) {
      writeAlert(s, c, nullptr);
      stats_.alerts.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats_.suppressed.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (v.anomaly_alert) {
    stats_.alerting.fetch_add(1, std::memory_order_relaxed);
    if (aggregator_.onAlert(r.src, "anomaly", r.report_us, s)) {
      writeAlert(s, alertClass("anomaly", 0), nullptr);
      stats_.alerts.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats_.suppressed.fetch_add(1, std::memory_order_relaxed);
    }
  }
  stats_.windows_evicted.store(aggregator_.evicted(), std::memory_order_relaxed);
  if (r.isFinal()) {
    const auto it = alerted_flows_.find(r.flow_id);
    const bool alerted = it != alerted_flows_.end();
    if (alerted) {
      alerted_order_.erase(it->second);
      alerted_flows_.erase(it);
    }
    countVerdict(s);
    if (opts_.flow_records) {
      appendFlowEvent(line_, r, EveOptions{opts_.include_features}, &s, alerted);
      writeLine();
      stats_.flow_records.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void EveOutput::rememberAlerted(std::uint64_t flow_id) {
  const auto it = alerted_flows_.find(flow_id);
  if (it != alerted_flows_.end()) {
    alerted_order_.splice(alerted_order_.end(), alerted_order_, it->second);
    return;
  }
  if (alerted_flows_.size() >= std::max<std::size_t>(opts_.max_alerted_flows, 1)) {
    alerted_flows_.erase(alerted_order_.front());
    alerted_order_.pop_front();
    stats_.alerted_flows_evicted.fetch_add(1, std::memory_order_relaxed);
  }
  alerted_order_.push_back(flow_id);
  alerted_flows_.emplace(flow_id, std::prev(alerted_order_.end()));
}

void EveOutput::countVerdict(const inference::ScoredRecord& s) {
  const inference::Verdict& v = s.verdict;
  if (v.attack_scored && s.models && s.models->attack) {
    ++verdicts_["attack." + s.models->attack->classes()[v.attack_class]];
  }
  if (v.reel_scored) ++verdicts_[v.is_reel ? "reel.reel" : "reel.non_reel"];
  if (v.anomaly_scored && v.anomaly_alert) ++verdicts_["anomaly.alert"];
}

void EveOutput::finish() {
  aggregator_.flushAll(follow_ups_);
  writeFollowUps();
  for (const auto& sink : sinks_) {
    if (!sink->flush()) stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void EveOutput::requestReopen() noexcept {
  for (const auto& sink : sinks_) sink->requestReopen();
}

}  // namespace edgesense::output
