// `edgesense eval`'s definitions: flow outcomes -> per-head figures. The
// eval command prints and writes what comes out of here.

#include "evaluation/results.h"

#include <algorithm>
#include <stdexcept>

namespace edgesense::evaluation {
namespace {

constexpr std::size_t kCurvePoints = 400;

std::size_t indexOf(std::vector<std::string>& classes, const std::string& name) {
  auto it = std::find(classes.begin(), classes.end(), name);
  if (it != classes.end()) return static_cast<std::size_t>(it - classes.begin());
  classes.push_back(name);
  return classes.size() - 1;
}

BinaryMetrics binary(std::span<const Scored> scored, const std::vector<bool>& predicted) {
  BinaryMetrics m;
  std::uint64_t tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    const bool pos = scored[i].positive;
    (pos ? m.positives : m.negatives) += 1;
    if (pos && predicted[i]) ++tp;
    if (!pos && predicted[i]) ++fp;
    if (pos && !predicted[i]) ++fn;
  }
  m.prf = prf(tp, fp, fn);
  m.true_positives = tp;
  m.false_positives = fp;
  const std::vector<CurvePoint> full = curve({scored.begin(), scored.end()});
  m.roc_auc = rocAuc(full);
  m.average_precision = averagePrecision(full);
  m.curve = thin(full, kCurvePoints);
  return m;
}

}  // namespace

std::string attackTruth(const std::string& category) {
  return category == "reel" ? std::string("benign") : category;
}

bool isAttack(const std::string& category) {
  return category != "benign" && category != "reel";
}

AttackMetrics attackMetrics(std::vector<std::string> classes, std::span<const std::string> truth,
                            std::span<const std::string> predicted) {
  if (truth.size() != predicted.size())
    throw std::invalid_argument("attackMetrics: truth and predictions differ in length");
  if (classes.empty() || classes.front() != "benign")
    throw std::invalid_argument("attackMetrics: the first class must be benign");
  // Class indices first, as the list may grow with label categories the model lacks.
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  pairs.reserve(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i)
    pairs.emplace_back(indexOf(classes, truth[i]), indexOf(classes, predicted[i]));
  AttackMetrics m;
  m.confusion = Confusion(classes.size());
  for (const auto& [t, p] : pairs) m.confusion.add(t, p);
  std::vector<std::size_t> attacks;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    m.per_class.push_back(m.confusion.classPrf(c));
    if (c != 0) attacks.push_back(c);
  }
  m.macro_f1 = m.confusion.macroF1(attacks);
  m.benign_fpr = m.confusion.falsePositiveRate(0);
  m.classes = std::move(classes);
  return m;
}

BinaryMetrics reelMetrics(std::span<const FlowOutcome> flows) {
  std::vector<bool> predicted;
  std::vector<double> probability;
  for (const FlowOutcome& f : flows) {
    predicted.push_back(f.reel_scored && f.reel_predicted);
    probability.push_back(f.reel_scored ? f.reel_probability : 0.0);
  }
  return reelMetrics(flows, predicted, probability);
}

BinaryMetrics reelMetrics(std::span<const FlowOutcome> flows, const std::vector<bool>& predicted,
                          std::span<const double> probability) {
  std::vector<Scored> scored;
  scored.reserve(flows.size());
  std::uint64_t gated = 0;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    scored.push_back({probability[i], flows[i].category == "reel"});
    gated += flows[i].reel_scored ? 1 : 0;
  }
  BinaryMetrics m = binary(scored, predicted);
  m.scored = gated;
  return m;
}

AnomalyMetrics anomalyMetrics(std::span<const FlowOutcome> flows, std::size_t bins) {
  AnomalyMetrics m;
  std::vector<Scored> scored;
  std::vector<double> benign, attack;
  for (const FlowOutcome& f : flows) {
    if (!f.anomaly_scored) continue;
    const bool pos = isAttack(f.category);
    scored.push_back({f.anomaly_score, pos});
    (pos ? attack : benign).push_back(f.anomaly_score);
    if (f.anomaly_alert) (pos ? m.alerting_attack : m.alerting_benign) += 1;
  }
  const std::vector<CurvePoint> full = curve(scored);
  m.roc_auc = rocAuc(full);
  m.curve = thin(full, kCurvePoints);
  m.benign_histogram = histogram(benign, bins, 0.0, 1.0);
  m.attack_histogram = histogram(attack, bins, 0.0, 1.0);
  return m;
}

}  // namespace edgesense::evaluation
