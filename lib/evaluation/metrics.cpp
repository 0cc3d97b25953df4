// `edgesense eval`'s arithmetic: what the per-flow outcomes of a replay add
// up to. No I/O; the eval command and the report read these values.

#include "evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgesense::evaluation {

Prf prf(std::uint64_t tp, std::uint64_t fp, std::uint64_t fn) {
  Prf m;
  m.support = tp + fn;
  m.precision = tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0.0;
  m.recall = tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0.0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  return m;
}

std::uint64_t Confusion::rowSum(std::size_t truth) const {
  std::uint64_t s = 0;
  for (std::size_t p = 0; p < n_; ++p) s += at(truth, p);
  return s;
}

std::uint64_t Confusion::columnSum(std::size_t predicted) const {
  std::uint64_t s = 0;
  for (std::size_t t = 0; t < n_; ++t) s += at(t, predicted);
  return s;
}

std::uint64_t Confusion::total() const {
  std::uint64_t s = 0;
  for (std::uint64_t c : cells_) s += c;
  return s;
}

Prf Confusion::classPrf(std::size_t c) const {
  const std::uint64_t tp = at(c, c);
  return prf(tp, columnSum(c) - tp, rowSum(c) - tp);
}

double Confusion::macroF1(std::span<const std::size_t> classes) const {
  double sum = 0;
  std::size_t counted = 0;
  for (std::size_t c : classes) {
    if (rowSum(c) == 0 && columnSum(c) == 0) continue;
    sum += classPrf(c).f1;
    ++counted;
  }
  return counted > 0 ? sum / static_cast<double>(counted) : 0.0;
}

double Confusion::falsePositiveRate(std::size_t negative) const {
  const std::uint64_t all = rowSum(negative);
  if (all == 0) return 0.0;
  return static_cast<double>(all - at(negative, negative)) / static_cast<double>(all);
}

std::vector<CurvePoint> curve(std::vector<Scored> instances) {
  std::uint64_t positives = 0;
  for (const Scored& s : instances) positives += s.positive ? 1 : 0;
  const std::uint64_t negatives = instances.size() - positives;
  std::vector<CurvePoint> points;
  if (positives == 0 || negatives == 0) return points;
  std::sort(instances.begin(), instances.end(),
            [](const Scored& a, const Scored& b) { return a.score > b.score; });
  points.push_back({std::numeric_limits<double>::infinity(), 0, 0, 1});
  std::uint64_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < instances.size();) {
    // Every instance with this score crosses the threshold at once.
    const double score = instances[i].score;
    for (; i < instances.size() && instances[i].score == score; ++i) {
      (instances[i].positive ? tp : fp) += 1;
    }
    points.push_back({score, static_cast<double>(fp) / static_cast<double>(negatives),
                      static_cast<double>(tp) / static_cast<double>(positives),
                      static_cast<double>(tp) / static_cast<double>(tp + fp)});
  }
  return points;
}

double rocAuc(std::span<const CurvePoint> points) {
  if (points.empty()) return std::numeric_limits<double>::quiet_NaN();
  double area = 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  }
  return area;
}

double averagePrecision(std::span<const CurvePoint> points) {
  if (points.empty()) return std::numeric_limits<double>::quiet_NaN();
  double ap = 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    ap += (points[i].tpr - points[i - 1].tpr) * points[i].precision;
  }
  return ap;
}

std::vector<CurvePoint> thin(std::span<const CurvePoint> points, std::size_t max_points) {
  if (points.size() <= max_points || max_points < 2) return {points.begin(), points.end()};
  std::vector<CurvePoint> out;
  out.reserve(max_points);
  const double step = static_cast<double>(points.size() - 1) / static_cast<double>(max_points - 1);
  for (std::size_t k = 0; k < max_points; ++k) {
    out.push_back(points[static_cast<std::size_t>(std::lround(step * static_cast<double>(k)))]);
  }
  return out;
}

std::vector<std::uint64_t> histogram(std::span<const double> values, std::size_t bins, double lo,
                                     double hi) {
  std::vector<std::uint64_t> counts(bins, 0);
  if (bins == 0 || !(hi > lo)) return counts;
  for (double v : values) {
    if (std::isnan(v)) continue;
    const double x = (v - lo) / (hi - lo) * static_cast<double>(bins);
    const auto b = static_cast<std::ptrdiff_t>(std::floor(x));
    counts[static_cast<std::size_t>(
        std::clamp<std::ptrdiff_t>(b, 0, static_cast<std::ptrdiff_t>(bins) - 1))] += 1;
  }
  return counts;
}

}  // namespace edgesense::evaluation
