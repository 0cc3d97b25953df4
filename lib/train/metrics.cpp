// Training: thresholds set on the validation part and the figures measured on
// the test part, after the models are trained and before the bundle is
// written.

#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "output/json_writer.h"

namespace edgesense::train {

double thresholdForFpr(std::vector<float> negatives, double fpr) {
  std::sort(negatives.begin(), negatives.end(), std::greater<>());
  // The epsilon keeps 0.29 x 100 from flooring to 28.
  const auto allowed =
      static_cast<std::size_t>(std::floor(fpr * static_cast<double>(negatives.size()) + 1e-9));
  if (allowed >= negatives.size()) return 0.0;
  const float above = std::nextafter(negatives[allowed], 2.0f);
  return std::min(1.0, static_cast<double>(above));  // a score of 1 cannot be passed
}

double shareAtOrOver(std::span<const float> scores, double threshold) {
  if (scores.empty()) return 0;
  const auto n = std::count_if(scores.begin(), scores.end(),
                               [&](float s) { return static_cast<double>(s) >= threshold; });
  return static_cast<double>(n) / static_cast<double>(scores.size());
}

double rocAuc(std::span<const float> negatives, std::span<const float> positives) {
  if (negatives.empty() || positives.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<float, bool>> all;
  all.reserve(negatives.size() + positives.size());
  for (const float s : negatives) all.emplace_back(s, false);
  for (const float s : positives) all.emplace_back(s, true);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0;  // ranks of the positives, 1-based, ties averaged
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t m = i; m < j; ++m) {
      if (all[m].second) rank_sum += rank;
    }
    i = j;
  }
  const auto p = static_cast<double>(positives.size());
  const auto n = static_cast<double>(negatives.size());
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

std::size_t decideClass(std::span<const float> probs, double threshold) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < probs.size(); ++c) {
    if (static_cast<double>(probs[c]) >= threshold && (best == 0 || probs[c] > probs[best])) {
      best = c;
    }
  }
  return best;
}

double calibrateThreshold(std::span<const float> probs, std::size_t k,
                          std::span<const std::uint32_t> labels, double target_fpr, double floor) {
  // A class-0 row is decided as another class at threshold t iff its
  // highest other probability is >= t.
  std::vector<float> negatives;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0) continue;
    negatives.push_back(
        *std::max_element(probs.begin() + static_cast<std::ptrdiff_t>(i * k + 1),
                          probs.begin() + static_cast<std::ptrdiff_t>((i + 1) * k)));
  }
  return std::max(thresholdForFpr(std::move(negatives), target_fpr), floor);
}

Evaluation evaluate(std::span<const float> probs, std::size_t k,
                    std::span<const std::uint32_t> labels, double threshold) {
  Evaluation e;
  e.rows = labels.size();
  e.classes.resize(k);
  e.confusion.assign(k, std::vector<std::size_t>(k, 0));
  std::size_t correct = 0, benign = 0, benign_alerts = 0;
  double loss = 0;
  std::vector<float> neg, pos;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::span<const float> row = probs.subspan(i * k, k);
    const std::size_t y = labels[i];
    const std::size_t d = decideClass(row, threshold);
    ++e.confusion[y][d];
    ++e.classes[y].support;
    ++e.classes[d].predicted;
    if (d == y) {
      ++e.classes[y].true_positives;
      ++correct;
    }
    if (y == 0) {
      ++benign;
      benign_alerts += d != 0;
    }
    loss -= std::log(std::clamp(static_cast<double>(row[y]), 1e-15, 1.0));
    const float attack_score = 1.0f - row[0];
    (y == 0 ? neg : pos).push_back(k == 2 ? row[1] : attack_score);
  }
  std::size_t counted = 0;
  for (ClassMetrics& c : e.classes) {
    c.precision =
        c.predicted ? static_cast<double>(c.true_positives) / static_cast<double>(c.predicted) : 0;
    c.recall =
        c.support ? static_cast<double>(c.true_positives) / static_cast<double>(c.support) : 0;
    c.f1 = c.precision + c.recall > 0 ? 2 * c.precision * c.recall / (c.precision + c.recall) : 0;
    if (c.support || c.predicted) {
      e.macro_f1 += c.f1;
      ++counted;
    }
  }
  if (counted) e.macro_f1 /= static_cast<double>(counted);
  if (e.rows) {
    e.accuracy = static_cast<double>(correct) / static_cast<double>(e.rows);
    e.log_loss = loss / static_cast<double>(e.rows);
  }
  e.benign_fpr = benign ? static_cast<double>(benign_alerts) / static_cast<double>(benign) : 0;
  e.auc = rocAuc(neg, pos);
  return e;
}

std::string evaluationJson(const Evaluation& e, std::span<const std::string> names) {
  std::string out;
  output::JsonWriter j(out);
  j.beginObject();
  j.field("rows", e.rows);
  j.field("accuracy", e.accuracy);
  j.field("macro_f1", e.macro_f1);
  j.field("benign_fpr", e.benign_fpr);
  j.field("log_loss", e.log_loss);
  if (std::isfinite(e.auc)) j.field("auc", e.auc);
  j.key("classes").beginObject();
  for (std::size_t c = 0; c < e.classes.size(); ++c) {
    j.key(names[c]).beginObject();
    j.field("support", e.classes[c].support);
    j.field("precision", e.classes[c].precision);
    j.field("recall", e.classes[c].recall);
    j.field("f1", e.classes[c].f1);
    j.endObject();
  }
  j.endObject();
  j.key("confusion").beginArray();
  for (const auto& row : e.confusion) {
    j.beginArray();
    for (const std::size_t n : row) j.value(n);
    j.endArray();
  }
  j.endArray();
  j.endObject();
  return out;
}

}  // namespace edgesense::train
