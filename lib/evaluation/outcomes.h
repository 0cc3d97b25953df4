#pragma once
/// OutcomeCollector: the ScoredSink at the end of an evaluation replay. It
/// reduces each flow's scored snapshots (interim ones, then the final one)
/// to one FlowOutcome, the unit `edgesense eval` measures, and labels the
/// flow with its ground-truth category when its final snapshot arrives. It
/// also keeps a fixed-size sample of final feature vectors per category, for
/// explanations computed after the replay.
///
/// Threads: onScored() runs on the inference pool's output thread; the
/// results are read by the thread that owns the collector after
/// InferencePool::drain(). One collector per replayed capture (flow ids are
/// unique within one replay only).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "features/flow_record.h"
#include "inference/model_set.h"
#include "inference/pool.h"
#include "labels/labels.h"

namespace edgesense::evaluation {

/// One flow, as evaluation sees it.
struct FlowOutcome {
  std::uint64_t flow_id = 0;
  decode::IpAddress src;  // initiator
  decode::IpAddress dst;  // responder
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t proto = 0;
  decode::TimeUs start_us = 0;
  decode::TimeUs end_us = 0;
  std::array<std::uint64_t, 2> pkts{};   // [0] initiator, [1] responder
  std::array<std::uint64_t, 2> bytes{};  // frame bytes
  std::uint64_t fwd_syn = 0;             // initiator packets with SYN
  std::uint32_t snapshots = 0;
  std::string category;  // ground truth: benign, reel, scan, ...

  // Attack head: the class of the first snapshot that alerted, else benign.
  bool attack_scored = false;
  std::string attack_predicted = "benign";
  // Reel head: the last snapshot its gate let through.
  bool reel_scored = false;
  bool reel_predicted = false;
  double reel_probability = 0;  // 0 when never scored
  // Anomaly head: the highest score over the snapshots.
  bool anomaly_scored = false;
  bool anomaly_alert = false;
  double anomaly_score = 0;
};

/// A final feature vector kept for explanations.
struct FeatureSample {
  std::string category;
  bool reel_gated = false;  // the reel gate let this snapshot through
  features::FeatureVector features{};
};

class OutcomeCollector final : public inference::ScoredSink {
 public:
  /// The ground-truth category of a flow, from its final snapshot.
  using Classifier = std::function<std::string(const features::FlowRecord&)>;

  /// samples_per_category: the size of each category's reservoir of final
  /// feature vectors (chosen with a fixed seed, so runs repeat).
  OutcomeCollector(Classifier classify, inference::ScoringOptions gate,
                   std::size_t samples_per_category);

  void onScored(inference::ScoredRecord&& scored) override;

  /// Flows in the order their final snapshots arrived (submission order, so
  /// the same for every replay of the same capture).
  std::vector<FlowOutcome>& outcomes() noexcept { return done_; }
  std::vector<FeatureSample>& samples() noexcept;
  /// The models that scored the first snapshot (null if none arrived).
  const std::shared_ptr<const inference::ModelSet>& models() const noexcept { return models_; }
  /// Snapshots with an alerting verdict, by class name ("anomaly" for the
  /// anomaly head's alerts on snapshots the attack head let pass).
  const std::unordered_map<std::string, std::uint64_t>& alertingSnapshots() const noexcept {
    return alerting_;
  }
  std::uint64_t snapshots() const noexcept { return snapshots_; }

 private:
  struct Reservoir {
    std::uint64_t seen = 0;
    std::vector<FeatureSample> kept;
  };

  Classifier classify_;
  inference::ScoringOptions gate_;
  std::size_t per_category_;
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
  std::unordered_map<std::uint64_t, FlowOutcome> open_;
  std::vector<FlowOutcome> done_;
  std::unordered_map<std::string, Reservoir> reservoirs_;
  std::vector<FeatureSample> samples_;
  std::unordered_map<std::string, std::uint64_t> alerting_;
  std::shared_ptr<const inference::ModelSet> models_;
  std::uint64_t snapshots_ = 0;
};

/// The category a Classifier gives a flow to leave out of the figures (`eval
/// --exclude`): never a label category; dropExcluded() removes its flows.
inline constexpr std::string_view kExcludedCategory = "excluded";

/// The ground truth of a labels file, with the flows `exclude` matches (their
/// final record, labels::FlowExclusion) as kExcludedCategory. Both must
/// outlive the classifier.
OutcomeCollector::Classifier labelsClassifier(const labels::LabelSet& truth,
                                              const labels::FlowExclusion& exclude);

/// Removes the outcomes and feature samples of kExcludedCategory; returns the
/// number of flows removed. The order of the others is kept.
std::size_t dropExcluded(std::vector<FlowOutcome>& flows, std::vector<FeatureSample>& samples);

/// Whether the reel head's gate lets `record` through (the rule of
/// inference::scoreBatch).
bool passesReelGate(const features::FlowRecord& record, const inference::ScoringOptions& gate);

}  // namespace edgesense::evaluation
