#pragma once
/// Report: everything `edgesense eval` measured, and its three renderings:
/// metrics.json (the machine-readable figures, keys fixed by the issue and
/// docs/evaluation.md), report.html (one self-contained page of inline SVG
/// charts) and the aligned text summary printed on stdout. Built and read
/// by the eval command's thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evaluation/outcomes.h"
#include "evaluation/results.h"
#include "model/bundle.h"

namespace edgesense::evaluation {

/// Mean |SHAP| per feature over a sample of flows, one series per class.
struct ShapSummary {
  std::vector<std::string> series;            // class names (attack: every non-benign class)
  std::vector<std::size_t> features;          // indices into features::kSchema, largest first
  std::vector<std::vector<double>> mean_abs;  // [feature position][series]
  std::size_t rows = 0;                       // flows in the sample
};

/// Mean |SHAP contribution| of each model column to each non-first class of
/// an XGBoost bundle (attack: every attack class; reel: the reel class),
/// over `samples` (reel bundles: only those the reel gate let through).
/// Empty for other bundles or no samples.
ShapSummary meanAbsShap(const model::Bundle& bundle, std::span<const FeatureSample> samples);

struct ModelInfo {
  std::string head;  // reel, attack, anomaly
  std::string name;
  std::string version;
};

/// A baseline scored on the same flows.
struct BaselineResult {
  std::string key;          // metrics.json key: naive_features, rate_thresholds
  std::string title;        // for people
  std::string description;  // one sentence: what it looks at
  std::optional<AttackMetrics> attack;
  std::optional<BinaryMetrics> reel;
  std::optional<AnomalyMetrics> anomaly;
};

/// Alerting flows of one class, with its MITRE ATT&CK technique.
struct TechniqueCount {
  std::string class_name;
  std::string technique_id;  // empty for the anomaly head
  std::string technique;
  std::string tactic;
  std::uint64_t flows = 0;
};

struct Report {
  std::vector<std::string> captures;
  std::vector<std::string> label_files;
  std::vector<ModelInfo> models;
  std::uint64_t packets = 0;
  std::uint64_t flows = 0;
  std::uint64_t snapshots = 0;
  double wall_seconds = 0;
  double packets_per_second = 0;
  std::map<std::string, std::uint64_t> flows_by_category;
  std::vector<std::string> exclude_files;  // `--exclude`: labels files of flows left out
  std::uint64_t excluded_flows = 0;        // flows they matched, in no figure
  std::string generated_utc;

  AttackMetrics attack;
  std::optional<BinaryMetrics> reel;      // without a reel bundle: none
  std::optional<AnomalyMetrics> anomaly;  // without an anomaly bundle: none
  std::vector<BaselineResult> baselines;
  ShapSummary attack_shap;
  ShapSummary reel_shap;
  std::vector<TechniqueCount> techniques;
};

/// metrics.json: attack.{per_class.<class>.{precision,recall,f1,support},
/// macro_f1, benign_fpr, confusion}, reel.{precision,recall,f1,roc_auc},
/// anomaly.roc_auc, packets_per_second, and more beside them.
std::string metricsJson(const Report& report);
/// report.html: one page, no external resource, no script.
std::string reportHtml(const Report& report);
/// The text summary: aligned tables for a terminal.
std::string textSummary(const Report& report);

/// `eval --flows FILE`: one CSV row per flow, truth beside each head's
/// verdict, to find the flows behind a figure. The header names the columns
/// (docs/evaluation.md says what each holds).
std::string flowsCsvHeader();
/// The rows of one capture's flows (in the order of `flows`), appended to out.
void appendFlowsCsv(std::string& out, std::string_view capture, std::span<const FlowOutcome> flows);

}  // namespace edgesense::evaluation
