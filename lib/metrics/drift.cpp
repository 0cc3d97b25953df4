// Metrics: feature drift. The output thread's sink counts each watched
// feature of every scored row into the bins made here and, once per window,
// turns the counts into a population stability index per feature.

#include "metrics/drift.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

namespace edgesense::metrics {
namespace {

// Shares below this count as this, so an empty bin does not make PSI infinite.
constexpr double kFloor = 1e-3;

nlohmann::json readJson(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

/// Importance per model column from the bundle's model file; empty if it
/// cannot be read.
std::vector<double> importance(const model::Bundle& bundle) {
  const std::size_t cols = bundle.featureIndices().size();
  const nlohmann::json meta = readJson(bundle.dir() / "bundle.json");
  if (!meta.is_object()) return {};
  const auto file = meta.value("/model/file"_json_pointer, std::string("model.json"));
  const nlohmann::json m = readJson(bundle.dir() / file);
  if (!m.is_object()) return {};
  std::vector<double> score(cols, 0.0);
  if (bundle.kind() == model::ModelKind::kXgboost) {
    // XGBoost's native JSON: every tree lists its nodes' split column, the
    // gain of the split (loss_changes) and children (-1 for a leaf).
    const nlohmann::json* booster = m.contains("learner") ? &m["learner"]["gradient_booster"] : &m;
    if (booster->contains("gbtree")) booster = &(*booster)["gbtree"];  // dart
    const auto trees = booster->value("/model/trees"_json_pointer, nlohmann::json::array());
    for (const auto& t : trees) {
      const auto& split = t.at("split_indices");
      const auto& gain = t.at("loss_changes");
      const auto& left = t.at("left_children");
      for (std::size_t i = 0; i < split.size() && i < gain.size() && i < left.size(); ++i) {
        const auto col = split[i].get<std::int64_t>();
        if (left[i].get<std::int64_t>() < 0 || col < 0 || static_cast<std::size_t>(col) >= cols)
          continue;
        score[static_cast<std::size_t>(col)] += gain[i].get<double>();
      }
    }
  } else {
    // Our isolation forest: feature per node, -1 for a leaf.
    for (const auto& t : m.value("trees", nlohmann::json::array())) {
      for (const auto& f : t.at("feature")) {
        const auto col = f.get<std::int64_t>();
        if (col >= 0 && static_cast<std::size_t>(col) < cols)
          score[static_cast<std::size_t>(col)] += 1;
      }
    }
  }
  return score;
}

}  // namespace

DriftBins::DriftBins(std::span<const double> q, std::span<const double> shares) {
  const std::size_t n = q.size();
  if (n < 2) {
    expected_ = {1.0};
    return;
  }
  std::vector<double> edges = model::shareEdges(q);
  if (!shares.empty() && shares.size() == edges.size()) {
    edges_ = std::move(edges);
    expected_.assign(shares.begin(), shares.end());
    expected_.push_back(0);  // above q100: none in training
    return;
  }
  const double step = 1.0 / static_cast<double>(n - 1);
  // The training CDF is known at a quantile q_j = v held by no other j:
  // F(v) = j/10 (the interpolated quantiles of continuous data). A run of
  // equal quantiles q_lo..q_hi is a point mass whose share is only bounded
  // (F(v) lies in [hi/10, (hi+1)/10]), so its edge is dropped and the mass
  // falls in a wider bin whose share is known, unless hi is the top (F = 1).
  double prev = 0;
  for (std::size_t lo = 0; lo < n;) {
    std::size_t hi = lo;
    while (hi + 1 < n && q[hi + 1] == q[lo]) ++hi;
    if (hi == lo || hi + 1 == n) {
      const double f = static_cast<double>(hi) * step;
      edges_.push_back(q[lo]);
      expected_.push_back(f - prev);
      prev = f;
    }
    lo = hi + 1;
  }
  expected_.push_back(1.0 - prev);  // above q100: none in training
}

std::size_t DriftBins::bin(double value) const noexcept {
  return static_cast<std::size_t>(std::lower_bound(edges_.begin(), edges_.end(), value) -
                                  edges_.begin());
}

double DriftBins::psi(std::span<const std::uint64_t> counts) const noexcept {
  const double total =
      static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}));
  if (total == 0 || counts.size() != expected_.size()) return 0;
  double psi = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const double a = std::max(kFloor, static_cast<double>(counts[k]) / total);
    const double e = std::max(kFloor, expected_[k]);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

double populationStabilityIndex(std::span<const double> quantiles, std::span<const double> shares,
                                std::span<const double> values) {
  const DriftBins bins(quantiles, shares);
  std::vector<std::uint64_t> counts(bins.size(), 0);
  for (double v : values) {
    if (!std::isnan(v)) ++counts[bins.bin(v)];
  }
  return bins.psi(counts);
}

std::vector<std::size_t> driftColumns(const model::Bundle& bundle, std::size_t n) {
  const std::size_t cols = bundle.featureIndices().size();
  std::vector<double> score;
  try {
    score = importance(bundle);
  } catch (const nlohmann::json::exception&) {
    score.clear();  // an unexpected model layout: fall back to column order
  }
  if (score.size() != cols) score.assign(cols, 0.0);
  std::vector<std::size_t> order(cols);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  std::vector<std::size_t> out;
  for (std::size_t c : order) {
    if (out.size() == n) break;
    if (bundle.quantiles(c).size() == model::kQuantileCount) out.push_back(c);
  }
  return out;
}

}  // namespace edgesense::metrics
