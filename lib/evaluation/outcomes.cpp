// The end of an evaluation replay: the inference pool's output thread hands
// every scored snapshot here, and each flow's snapshots become one outcome.

#include "evaluation/outcomes.h"

#include <algorithm>
#include <cmath>

namespace edgesense::evaluation {
namespace {

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool passesReelGate(const features::FlowRecord& r, const inference::ScoringOptions& gate) {
  const bool proto_ok = std::find(gate.reel_protocols.begin(), gate.reel_protocols.end(),
                                  r.proto) != gate.reel_protocols.end();
  return proto_ok && r.bytes[0] + r.bytes[1] >= gate.reel_min_bytes &&
         r.pkts[0] + r.pkts[1] >= gate.reel_min_packets;
}

OutcomeCollector::OutcomeCollector(Classifier classify, inference::ScoringOptions gate,
                                   std::size_t samples_per_category)
    : classify_(std::move(classify)), gate_(std::move(gate)), per_category_(samples_per_category) {}

void OutcomeCollector::onScored(inference::ScoredRecord&& s) {
  ++snapshots_;
  if (!models_) models_ = s.models;
  const features::FlowRecord& r = s.record;
  const inference::Verdict& v = s.verdict;
  FlowOutcome& o = open_[r.flow_id];
  ++o.snapshots;
  if (v.attack_scored) {
    o.attack_scored = true;
    if (v.attack_alert && o.attack_predicted == "benign" && s.models && s.models->attack) {
      o.attack_predicted = s.models->attack->classes()[v.attack_class];
    }
  }
  if (v.attack_alert && s.models && s.models->attack) {
    ++alerting_[s.models->attack->classes()[v.attack_class]];
  } else if (v.anomaly_alert) {
    ++alerting_["anomaly"];
  }
  if (v.reel_scored) {
    o.reel_scored = true;
    o.reel_predicted = v.is_reel;
    o.reel_probability = v.reel_probability;
  }
  if (v.anomaly_scored) {
    o.anomaly_scored = true;
    o.anomaly_alert = o.anomaly_alert || v.anomaly_alert;
    o.anomaly_score = std::max(o.anomaly_score, static_cast<double>(v.anomaly_score));
  }
  if (!r.isFinal()) return;

  o.flow_id = r.flow_id;
  o.src = r.src;
  o.dst = r.dst;
  o.src_port = r.src_port;
  o.dst_port = r.dst_port;
  o.proto = r.proto;
  o.start_us = r.start_us;
  o.end_us = r.end_us;
  o.pkts = r.pkts;
  o.bytes = r.bytes;
  const double syn = r.features[static_cast<std::size_t>(features::Feature::kFwdSyn)];
  o.fwd_syn = std::isnan(syn) ? 0 : static_cast<std::uint64_t>(syn);
  o.category = classify_(r);

  // Reservoir sampling (Vitter's algorithm R) per category.
  Reservoir& res = reservoirs_[o.category];
  ++res.seen;
  FeatureSample sample{o.category, passesReelGate(r, gate_), r.features};
  if (res.kept.size() < per_category_) {
    res.kept.push_back(std::move(sample));
  } else if (per_category_ > 0) {
    const std::uint64_t j = splitmix(rng_) % res.seen;
    if (j < per_category_) res.kept[j] = std::move(sample);
  }

  done_.push_back(std::move(o));
  open_.erase(r.flow_id);
}

OutcomeCollector::Classifier labelsClassifier(const labels::LabelSet& truth,
                                              const labels::FlowExclusion& exclude) {
  return [&truth, &exclude](const features::FlowRecord& r) {
    if (exclude.matches(r)) return std::string(kExcludedCategory);
    return std::string(labels::categoryName(truth.classify(r)));
  };
}

std::size_t dropExcluded(std::vector<FlowOutcome>& flows, std::vector<FeatureSample>& samples) {
  const std::size_t before = flows.size();
  std::erase_if(flows, [](const FlowOutcome& f) { return f.category == kExcludedCategory; });
  std::erase_if(samples, [](const FeatureSample& s) { return s.category == kExcludedCategory; });
  return before - flows.size();
}

std::vector<FeatureSample>& OutcomeCollector::samples() noexcept {
  if (samples_.empty()) {
    // Categories in name order, so the sample is the same run after run.
    std::vector<std::string> names;
    for (const auto& [name, res] : reservoirs_) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      for (FeatureSample& s : reservoirs_[name].kept) samples_.push_back(std::move(s));
    }
  }
  return samples_;
}

}  // namespace edgesense::evaluation
