#pragma once
/// What a set of flow outcomes adds up to, head by head: the attack head's
/// confusion matrix and per-class figures, the reel head's precision/recall
/// and curves, the anomaly head's ROC and score histograms. The definitions
/// (docs/evaluation.md) live here and nowhere else. Plain values, computed
/// by the eval command's thread after the replays.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "evaluation/metrics.h"
#include "evaluation/outcomes.h"

namespace edgesense::evaluation {

/// The attack head's truth for a label category: reels are benign traffic.
std::string attackTruth(const std::string& category);
/// True for the attack categories (neither benign nor reel).
bool isAttack(const std::string& category);

struct AttackMetrics {
  std::vector<std::string> classes;  // confusion order: the bundle's, then unknown label categories
  std::vector<Prf> per_class;        // by class index
  double macro_f1 = 0;               // over the attack classes present (benign excluded)
  double benign_fpr = 0;             // benign flows predicted as any attack / benign flows
  Confusion confusion{0};            // rows true, columns predicted
};

/// `classes` is the model's class list, "benign" first; truths not in it
/// are appended. truth[i] and predicted[i] are the class names of flow i.
AttackMetrics attackMetrics(std::vector<std::string> classes, std::span<const std::string> truth,
                            std::span<const std::string> predicted);

struct BinaryMetrics {
  Prf prf;                        // of the positive class
  double roc_auc = 0;             // NaN when one class is missing
  double average_precision = 0;   // NaN when one class is missing
  std::vector<CurvePoint> curve;  // thinned for drawing
  std::uint64_t positives = 0;
  std::uint64_t negatives = 0;
  std::uint64_t true_positives = 0;   // at the decision threshold
  std::uint64_t false_positives = 0;  // at the decision threshold
  std::uint64_t scored = 0;           // flows the head scored
};

/// Reel head over every flow: positive = category reel; prediction = the
/// last gated snapshot's decision; a flow the gate never let through is
/// predicted negative with probability 0.
BinaryMetrics reelMetrics(std::span<const FlowOutcome> flows);
/// Reel head over predictions made elsewhere (a baseline's), same rules.
BinaryMetrics reelMetrics(std::span<const FlowOutcome> flows, const std::vector<bool>& predicted,
                          std::span<const double> probability);

struct AnomalyMetrics {
  double roc_auc = 0;  // NaN when one class is missing
  std::vector<CurvePoint> curve;
  // Max anomaly score per flow, binned over [0, 1].
  std::vector<std::uint64_t> benign_histogram;  // benign and reel flows
  std::vector<std::uint64_t> attack_histogram;  // attack flows
  std::uint64_t alerting_benign = 0;            // benign flows over the anomaly threshold
  std::uint64_t alerting_attack = 0;
};

/// Score = the highest anomaly score over a flow's snapshots; positive =
/// an attack category.
AnomalyMetrics anomalyMetrics(std::span<const FlowOutcome> flows, std::size_t bins = 25);

}  // namespace edgesense::evaluation
