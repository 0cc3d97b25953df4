#pragma once
/// XGBoost training behind a small RAII API, for `edgesense train`:
/// TrainMatrix is a DMatrix of float rows with labels and optional weights;
/// Trainer is a booster being boosted round by round, whose predictions can
/// be read at any round count (early stopping) and whose first N rounds can
/// be saved as a JSON model (what Booster and Bundle load). Implemented in
/// xgb_booster.cpp, still the only file that includes xgboost/c_api.h and
/// with the one helper that turns an XGBoost return code into an XgbError.
///
/// Threads and lifetime: offline only. A Trainer and its matrices belong to
/// one thread; XGBoost's own OpenMP threads (the `nthread` parameter) do the
/// work inside each call. The matrices must outlive the Trainer made with
/// them (XGBoost caches predictions per matrix).

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/xgb_booster.h"

namespace edgesense::model {

/// XGBoost parameters as XGBoosterSetParam() takes them, in order.
using XgbParams = std::vector<std::pair<std::string, std::string>>;

class TrainMatrix {
 public:
  /// `rows`: n_rows x n_cols row-major floats, NaN = missing (copied).
  /// `labels`: one per row (class index, or 0/1). `weights`: one per row, or
  /// empty for none. Throws XgbError, or std::invalid_argument on sizes that
  /// do not agree.
  TrainMatrix(std::span<const float> rows, std::size_t n_cols, std::span<const float> labels,
              std::span<const float> weights, int nthread);
  ~TrainMatrix();
  TrainMatrix(TrainMatrix&& other) noexcept;
  TrainMatrix& operator=(TrainMatrix&& other) noexcept;
  TrainMatrix(const TrainMatrix&) = delete;
  TrainMatrix& operator=(const TrainMatrix&) = delete;

  std::size_t rows() const noexcept { return n_rows_; }
  std::size_t cols() const noexcept { return n_cols_; }

 private:
  friend class Trainer;
  void* handle_ = nullptr;  // DMatrixHandle
  std::size_t n_rows_ = 0;
  std::size_t n_cols_ = 0;
};

class Trainer {
 public:
  /// A new booster for `train` with `params` (objective, num_class,
  /// max_depth, eta, nthread, seed, ...). `cached`: the matrices that will
  /// be predicted on every round (validation), so XGBoost keeps their
  /// predictions up to date incrementally. Throws XgbError.
  Trainer(const TrainMatrix& train, std::span<const TrainMatrix* const> cached,
          const XgbParams& params);
  ~Trainer();
  Trainer(Trainer&& other) noexcept;
  Trainer& operator=(Trainer&& other) noexcept;
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// One more boosting round on `train` (the matrix given to the constructor).
  void boost(const TrainMatrix& train);
  /// Rounds boosted so far.
  std::size_t rounds() const noexcept { return rounds_; }

  /// Transformed predictions (probabilities) of `m` with the first `rounds`
  /// rounds (0: all), into `out`: m.rows() x width, width being 1 for
  /// binary:logistic and num_class for multi:softprob.
  void predict(const TrainMatrix& m, std::size_t rounds, std::vector<float>& out) const;

  /// The first `rounds` rounds (0: all) as an XGBoost JSON model, the bytes
  /// save_model("model.json") writes.
  std::string modelJson(std::size_t rounds) const;

 private:
  void* handle_ = nullptr;  // BoosterHandle
  std::size_t rounds_ = 0;
};

}  // namespace edgesense::model
