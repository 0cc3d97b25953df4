// Output thread: the explanation of an alert record that is about to be
// written (inference/explain.h). The workers score; this runs after the
// aggregator has decided which alerts go out.

#include "inference/explain.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "inference/model_set.h"

namespace edgesense::inference {
namespace {

using features::FeatureVector;
using model::Bundle;

/// The kTopFeatures largest entries of `weights` by magnitude, as TopFeatures.
void keepTop(const Bundle& bundle, const FeatureVector& row, std::span<const double> weights,
             bool shap, Verdict& v) {
  const auto& columns = bundle.featureIndices();
  v.top_is_shap = shap;
  v.top_count = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const double w = weights[c];
    if (!std::isfinite(w) || w == 0) continue;
    TopFeature t{static_cast<std::uint16_t>(columns[c]), row[columns[c]], w};
    // Insert into the small sorted list (largest |weight| first).
    std::size_t pos = v.top_count;
    while (pos > 0 && std::abs(v.top[pos - 1].weight) < std::abs(w)) --pos;
    if (pos >= kTopFeatures) continue;
    for (std::size_t k = std::min<std::size_t>(v.top_count, kTopFeatures - 1); k > pos; --k)
      v.top[k] = v.top[k - 1];
    v.top[pos] = t;
    if (v.top_count < kTopFeatures) ++v.top_count;
  }
}

void explainAnomaly(const Bundle& bundle, const FeatureVector& row, std::vector<double>& weights,
                    Verdict& v) {
  const auto& columns = bundle.featureIndices();
  weights.assign(columns.size(), 0);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::span<const double> q = bundle.quantiles(c);
    const double x = row[columns[c]];
    if (q.size() != model::kQuantileCount || std::isnan(x)) continue;
    // q[2] = 20th, q[5] = median, q[8] = 80th percentile.
    const double spread = std::max(q[8] - q[2], 1e-9 * std::max(1.0, std::abs(q[5])));
    weights[c] = (x - q[5]) / spread;
  }
  keepTop(bundle, row, weights, false, v);
}

void explainAttack(const Bundle& bundle, const FeatureVector& row, std::size_t cls,
                   ExplainScratch& scratch, Verdict& v) {
  const std::size_t n = bundle.featureIndices().size();
  scratch.contributions.resize(n + 1);
  bundle.contributions(row, cls, scratch.contributions);
  scratch.weights.assign(scratch.contributions.begin(),
                         scratch.contributions.begin() + static_cast<std::ptrdiff_t>(n));
  keepTop(bundle, row, scratch.weights, true, v);
}

}  // namespace

bool explain(ScoredRecord& s, ExplainScratch& scratch) {
  Verdict& v = s.verdict;
  if (v.explained || !v.alerted() || !s.models) return false;
  const ModelSet& m = *s.models;
  const FeatureVector& row = s.record.features;
  // One explanation per record, as the verdict has one list of top features:
  // the attack class's when it alerts, else the anomaly's.
  if (v.attack_alert && m.attack && m.attack->kind() == model::ModelKind::kXgboost) {
    explainAttack(*m.attack, row, v.attack_class, scratch, v);
  } else if (v.anomaly_alert && m.anomaly) {
    explainAnomaly(*m.anomaly, row, scratch.weights, v);
  } else {
    return false;
  }
  v.explained = true;
  return true;
}

}  // namespace edgesense::inference
