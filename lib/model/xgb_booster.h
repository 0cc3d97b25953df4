#pragma once
/// Booster: one XGBoost model, loaded from its JSON file, for inference only.
/// Owns the XGBoost BoosterHandle (move-only); xgb_booster.cpp is the only
/// file that includes xgboost/c_api.h. Bundles do not score with it (they use
/// the native TreeEnsemble, model/tree_ensemble.h): it computes the sample
/// outputs a new bundle records, and is the reference the tests and
/// edgesense-engine-bench hold the native engine to.
///
/// Threads: one Booster is shared read-only by every inference worker, with
/// no lock. XGBoost documents every prediction function (in-place, DMatrix,
/// SHAP contributions) as thread-safe for tree boosters (gbtree, dart) since
/// 1.4, as long as nothing else touches the model meanwhile (xgboost
/// doc/prediction.rst, "Thread Safety"). So everything that changes the
/// learner happens in the constructor, before the Booster can be shared:
/// loading, setting nthread, reading the config, and a first prediction and
/// contribution call that finish XGBoost's lazy configuration. After that
/// only const prediction calls reach the handle. Linear boosters (gblinear),
/// which the guarantee does not cover, are refused.
///
/// Each call runs on the calling thread alone (nthread = 1, and OpenMP held
/// to one thread during every call, loading included): the workers are the
/// parallelism, and OpenMP threads inside XGBoost would only compete with
/// them for the same cores.
/// XGBoost keeps each thread's last output in a per-thread buffer and
/// allocates a little per call (it parses the call's JSON and wraps the rows
/// in a proxy matrix); our side allocates nothing per call.

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace edgesense::model {

/// An XGBoost call failed; the message is XGBoost's own (XGBGetLastError),
/// after what we were doing.
class XgbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Booster {
 public:
  /// Loads an XGBoost model file (JSON, as Booster.save_model("x.json")
  /// writes it). Throws XgbError if XGBoost cannot load it or the booster is
  /// not a tree booster.
  explicit Booster(const std::filesystem::path& model_file);
  ~Booster();
  Booster(Booster&& other) noexcept;
  Booster& operator=(Booster&& other) noexcept;
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  /// Input columns the model was trained with.
  std::size_t numFeatures() const noexcept { return num_features_; }
  /// Values per row from predict(): 1 for binary, regression and
  /// multi:softmax (the class index) objectives, num_class for multi:softprob.
  std::size_t numOutputs() const noexcept { return num_outputs_; }
  /// Output groups (a tree per group and round): num_class for multi-class
  /// objectives, else 1. Values per row from margins(); blocks per row from
  /// contributions().
  std::size_t numGroups() const noexcept { return num_groups_; }
  /// The learner's objective, e.g. "binary:logistic" or "multi:softprob".
  const std::string& objective() const noexcept { return objective_; }
  /// num_class from the learner parameters; 0 unless multi-class.
  std::size_t numClass() const noexcept { return num_class_; }
  /// "gbtree" or "dart".
  const std::string& boosterName() const noexcept { return booster_name_; }

  /// Transformed predictions (probabilities for binary:logistic and
  /// multi:softprob) of `n_rows` row-major rows of `n_cols` floats (NaN =
  /// missing) into `out`: n_rows x numOutputs() floats. n_cols must be
  /// numFeatures(). Thread-safe.
  void predict(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out) const;
  /// Untransformed margins (log-odds): n_rows x numGroups(). Thread-safe.
  void margins(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out) const;
  /// SHAP contributions (Lundberg's TreeSHAP, XGBoost prediction type 2):
  /// n_rows x numGroups() x (n_cols + 1) floats, per row and output group
  /// one value per column and then the bias; each block sums to that
  /// group's margin. Thread-safe; makes a DMatrix per call (XGBoost has no
  /// in-place contributions), so it is meant for the few rows that alert.
  void contributions(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out) const;

 private:
  void checkColumns(std::size_t n_cols) const;
  void inplace(const char* config, std::size_t width, const float* rows, std::size_t n_rows,
               std::size_t n_cols, float* out) const;

  void* handle_ = nullptr;  // BoosterHandle
  std::size_t num_features_ = 0;
  std::size_t num_outputs_ = 0;
  std::size_t num_groups_ = 0;
  std::size_t num_class_ = 0;
  std::string objective_;
  std::string booster_name_;
};

}  // namespace edgesense::model
