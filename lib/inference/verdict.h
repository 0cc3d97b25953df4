#pragma once
/// Verdict: what the inference workers concluded about one flow snapshot,
/// head by head. A plain value; class indices refer to the bundles of the
/// ModelSet the record was scored with, which travels with it (ScoredRecord)
/// so names stay valid however the models are swapped meanwhile.

#include <array>
#include <cstdint>
#include <memory>

#include "features/flow_record.h"

namespace edgesense::inference {

struct ModelSet;

inline constexpr std::size_t kMaxClasses = 16;
inline constexpr std::size_t kTopFeatures = 3;

/// One feature that weighed most in a verdict: its SHAP contribution for
/// XGBoost heads, or how far outside the training distribution it lies (in
/// interquartile ranges) for the anomaly head.
struct TopFeature {
  std::uint16_t feature = 0;  // index into features::kSchema
  double value = 0;
  double weight = 0;
};

struct Verdict {
  // Attack head: every flow, when an attack bundle is loaded.
  bool attack_scored = false;
  std::uint8_t attack_class = 0;  // the alerting class if any, else the most probable
  float attack_probability = 0;
  std::uint8_t attack_classes = 0;
  std::array<float, kMaxClasses> attack_probabilities{};
  bool attack_alert = false;  // a non-benign class at or over its threshold

  // Reel head: flows that pass its gate.
  bool reel_scored = false;
  bool is_reel = false;
  float reel_probability = 0;

  // Anomaly head: every flow, when an anomaly bundle is loaded.
  bool anomaly_scored = false;
  float anomaly_score = 0;  // [0, 1], isolation forest
  bool anomaly_alert = false;

  // Explanation of an alerting verdict, filled by inference::explain() when
  // an alert record is written (not by the workers).
  bool explained = false;
  bool top_is_shap = false;
  std::uint8_t top_count = 0;
  std::array<TopFeature, kTopFeatures> top{};

  bool alerted() const noexcept { return attack_alert || anomaly_alert; }
};

/// A flow snapshot with its verdict, as the output stage receives it.
struct ScoredRecord {
  std::uint64_t seq = 0;  // submission order; output restores it
  features::FlowRecord record;
  Verdict verdict;
  std::shared_ptr<const ModelSet> models;  // the models that scored it
};

}  // namespace edgesense::inference
