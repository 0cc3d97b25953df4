#pragma once
/// The arithmetic of `edgesense eval`, free of any I/O or model: confusion
/// matrices and the precision/recall/F1 read from them, ROC and
/// precision-recall curves with their areas, and histograms. Plain values,
/// built and read by one thread (the eval command's) after a replay.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace edgesense::evaluation {

/// Precision, recall and F1 of one class, and its support (true instances).
/// A ratio with an empty denominator is 0 (as scikit-learn's zero_division=0).
struct Prf {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  std::uint64_t support = 0;
};

/// From true positives, false positives and false negatives.
Prf prf(std::uint64_t tp, std::uint64_t fp, std::uint64_t fn);

/// Counts of (true class, predicted class) over class indices [0, n):
/// rows are true classes, columns predicted ones.
class Confusion {
 public:
  explicit Confusion(std::size_t classes) : n_(classes), cells_(classes * classes, 0) {}

  void add(std::size_t truth, std::size_t predicted, std::uint64_t count = 1) {
    cells_[truth * n_ + predicted] += count;
  }
  std::size_t classes() const noexcept { return n_; }
  std::uint64_t at(std::size_t truth, std::size_t predicted) const {
    return cells_[truth * n_ + predicted];
  }
  std::uint64_t rowSum(std::size_t truth) const;
  std::uint64_t columnSum(std::size_t predicted) const;
  std::uint64_t total() const;
  /// One class against all others.
  Prf classPrf(std::size_t c) const;
  /// Mean F1 over `classes` that occur as truth or as prediction (a class
  /// absent from both has no F1 to speak of); 0 if none does.
  double macroF1(std::span<const std::size_t> classes) const;
  /// Share of true `negative` instances predicted as anything else.
  double falsePositiveRate(std::size_t negative) const;

 private:
  std::size_t n_;
  std::vector<std::uint64_t> cells_;
};

/// A scored instance of a binary problem.
struct Scored {
  double score = 0;
  bool positive = false;
};

/// One operating point: predict positive when score >= threshold.
struct CurvePoint {
  double threshold = 0;
  double fpr = 0;        // ROC x
  double tpr = 0;        // ROC y, and recall
  double precision = 0;  // PR y (1 at the first point, where nothing is predicted positive)
};

/// The ROC/PR operating points from the highest threshold down: one point
/// per distinct score (tied scores move together, so ties draw a diagonal
/// segment, not a staircase), after a first point (0, 0) at +infinity.
/// Empty if there are no positives or no negatives.
std::vector<CurvePoint> curve(std::vector<Scored> instances);

/// Area under the ROC curve by the trapezoid rule over curve() points; with
/// ties this equals P(score+ > score-) + 0.5 P(score+ == score-). NaN if the
/// curve is empty (one class missing).
double rocAuc(std::span<const CurvePoint> points);

/// Average precision: sum over points of (recall step) x precision, as
/// scikit-learn's average_precision_score. NaN if the curve is empty.
double averagePrecision(std::span<const CurvePoint> points);

/// At most `max_points` points of a curve, always keeping the first and the
/// last, for drawing.
std::vector<CurvePoint> thin(std::span<const CurvePoint> points, std::size_t max_points);

/// Counts of values in `bins` equal bins over [lo, hi]; values outside are
/// clamped into the end bins, NaN is skipped.
std::vector<std::uint64_t> histogram(std::span<const double> values, std::size_t bins, double lo,
                                     double hi);

}  // namespace edgesense::evaluation
