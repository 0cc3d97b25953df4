#pragma once
/// Bundle: one trained model with everything needed to trust and use it: a
/// directory holding bundle.json and the model file (format in
/// docs/model-bundle.md). load() checks it all, down to scoring the sample
/// rows it carries and comparing with the outputs recorded at training, and
/// refuses a bundle with one BundleError that names the directory and the
/// reason, so a bad bundle never replaces a good one.
///
/// XGBoost models (reel, attack) are scored and explained by our own
/// evaluator, a TreeEnsemble built from the model file at load
/// (model/tree_ensemble.h); XGBoost trains them and recorded the sample
/// outputs the evaluator is checked against, but is not called at run time.
///
/// Ownership and threads: load() returns a shared_ptr to an immutable Bundle;
/// the inference workers share it, and the last holder frees it (a reload
/// publishes a new one while batches in flight finish on the old). predict()
/// and contributions() are const and safe from any number of threads at
/// once, with no lock: the tree ensemble and the isolation forest are
/// read-only after load. Each thread gathers its rows (and the evaluator its
/// row block and TreeSHAP path) into its own thread-local buffers, which grow
/// to the largest batch and model and are then reused.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "features/schema.h"

namespace edgesense::model {

/// What the model answers: reel vs non-reel, the attack class, or how
/// anomalous a flow is.
enum class Task { kReel, kAttack, kAnomaly };
/// How it answers: XGBoost (reel, attack) or our isolation forest (anomaly).
enum class ModelKind { kXgboost, kIsolationForest };

/// "reel", "attack", "anomaly": the bundle.json words.
std::string_view taskName(Task task) noexcept;
/// "xgboost", "isolation_forest".
std::string_view kindName(ModelKind kind) noexcept;

/// A bundle failed validation; what() is one line: "model bundle DIR: reason".
class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The MITRE ATT&CK tactic and technique of an attack class.
struct MitreEntry {
  std::string tactic_id;     // "TA0007"
  std::string technique_id;  // "T1046" or "T1498.001"
  std::string tactic;        // "Discovery"
  std::string technique;     // "Network Service Discovery"
};

/// Quantiles per feature in feature_distribution: q0, q10, ..., q100.
inline constexpr std::size_t kQuantileCount = 11;

/// The upper edges of a feature's share bins (feature_distribution's
/// "shares"): its distinct quantiles, in order. Bin k holds values in
/// (edge k-1, edge k], bin 0 everything up to the first edge.
std::vector<double> shareEdges(std::span<const double> quantiles);

/// Tolerance for the sample outputs checked at load.
inline constexpr double kSampleTolerance = 1e-5;

class Bundle {
 public:
  /// Loads and checks the bundle in `dir`. Throws BundleError.
  static std::shared_ptr<const Bundle> load(const std::filesystem::path& dir);

  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& version() const noexcept { return version_; }
  Task task() const noexcept { return task_; }
  ModelKind kind() const noexcept { return kind_; }

  /// Output names, in output order. reel: {"non_reel", "reel"}; attack:
  /// "benign" first, then the attack classes; anomaly: {"anomaly"}.
  const std::vector<std::string>& classes() const noexcept { return classes_; }
  /// Decision threshold per class, by class index: a class is decided when
  /// its output is at or over its threshold. The first class of reel and
  /// attack bundles (non_reel, benign) is what is left and has NaN.
  const std::vector<double>& thresholds() const noexcept { return thresholds_; }
  /// The index of a class name, if the bundle has it.
  std::optional<std::size_t> classIndex(std::string_view class_name) const noexcept;
  /// The MITRE entry of an attack class, or nullptr.
  const MitreEntry* mitre(std::string_view class_name) const noexcept;
  const MitreEntry* mitre(std::size_t class_index) const noexcept;

  /// The model's input columns, in model order, as indices into
  /// features::kSchema.
  const std::vector<std::size_t>& featureIndices() const noexcept { return feature_indices_; }
  /// The training distribution of model column `column`: kQuantileCount
  /// values, or empty if the bundle has none for it.
  std::span<const double> quantiles(std::size_t column) const noexcept;
  /// The training share of each bin up to each distinct quantile (see
  /// sharesOf in bundle_writer.h), or empty if the bundle has none for it.
  std::span<const double> shares(std::size_t column) const noexcept;
  /// bundle.json's "training" object as compact JSON text ("{}" if absent).
  const std::string& trainingJson() const noexcept { return training_json_; }

  /// Scores `rows` into `out`, row after row: rows.size() x classes().size()
  /// values. xgboost: class probabilities ([1 - p, p] for a binary model);
  /// isolation forest: the anomaly score in [0, 1]. Throws
  /// std::invalid_argument if out has the wrong size.
  void predict(std::span<const features::FeatureVector> rows, std::span<float> out) const;

  /// SHAP contributions of one row to the log-odds of class `class_index`
  /// (xgboost bundles only; std::logic_error otherwise): one value per model
  /// column, in featureIndices() order, then the bias, so out.size() is
  /// featureIndices().size() + 1 and the values sum to that class's margin.
  /// For a binary model the log-odds of class 0 are minus those of class 1,
  /// and so are its contributions.
  void contributions(const features::FeatureVector& row, std::size_t class_index,
                     std::span<float> out) const;

 private:
  struct Model;
  Bundle();

  std::filesystem::path dir_;
  std::string name_;
  std::string version_;
  Task task_ = Task::kAttack;
  ModelKind kind_ = ModelKind::kXgboost;
  std::vector<std::string> classes_;
  std::vector<double> thresholds_;
  std::vector<std::optional<MitreEntry>> mitre_;
  std::vector<std::size_t> feature_indices_;
  std::vector<std::vector<double>> quantiles_;
  std::vector<std::vector<double>> shares_;
  std::string training_json_;
  std::unique_ptr<Model> model_;

  friend class BundleLoader;
};

}  // namespace edgesense::model
