#pragma once
/// Decision thresholds calibrated on the validation part, and the metrics a
/// bundle records about its test part. Plain functions over scores and
/// labels; no model here.
///
/// Thresholds follow the scorer's rule (inference/scorer.cpp): a class is
/// decided when its probability is at or over its threshold, the highest
/// such non-first class wins, and none means the first class (benign,
/// non_reel).

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace edgesense::train {

/// The lowest threshold with at most `fpr` of `negatives` at or over it (just
/// above the score of the first negative that must stay under it); 0 when
/// every negative may pass.
double thresholdForFpr(std::vector<float> negatives, double fpr);

/// Share of `scores` at or over `threshold`.
double shareAtOrOver(std::span<const float> scores, double threshold);

/// ROC-AUC of positives over negatives (Mann-Whitney, ties half); NaN if
/// either side is empty.
double rocAuc(std::span<const float> negatives, std::span<const float> positives);

/// The attack head's decision for one row of `k` probabilities with one
/// threshold for every attack class.
std::size_t decideClass(std::span<const float> probs, double threshold);

/// A head's threshold: the lowest that keeps the share of validation class-0
/// rows (benign; non_reel) decided as another class at or under `target_fpr`
/// (so the most recall under that bound), but not under `floor`. `probs` is
/// n x k, labels index the classes. Both heads use it. The reel head once
/// took the best F1 on validation instead: an argmax over a few dozen
/// positives, which, as a reel session's flows fall on both sides of a split
/// by flow, score higher than a new capture's reels.
double calibrateThreshold(std::span<const float> probs, std::size_t k,
                          std::span<const std::uint32_t> labels, double target_fpr, double floor);

/// Multi-class metrics of decided classes.
struct ClassMetrics {
  std::size_t support = 0, predicted = 0, true_positives = 0;
  double precision = 0, recall = 0, f1 = 0;
};
struct Evaluation {
  std::size_t rows = 0;
  std::vector<ClassMetrics> classes;
  std::vector<std::vector<std::size_t>> confusion;  // [true][decided]
  double accuracy = 0;
  double macro_f1 = 0;    // over the classes with support or predictions
  double benign_fpr = 0;  // class-0 rows decided as another class
  double log_loss = 0;
  double auc = 0;  // binary heads: ROC-AUC of class 1; multi-class: of "not class 0"
};
Evaluation evaluate(std::span<const float> probs, std::size_t k,
                    std::span<const std::uint32_t> labels, double threshold);

/// {"rows":..,"accuracy":..,"macro_f1":..,"benign_fpr":..,"log_loss":..,"auc":..,
///  "classes":{name:{support,precision,recall,f1}},"confusion":[[..]]}
std::string evaluationJson(const Evaluation& e, std::span<const std::string> class_names);

}  // namespace edgesense::train
