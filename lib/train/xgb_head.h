#pragma once
/// One XGBoost head (reel or attack) trained over a hyperparameter grid:
/// every grid point boosted on the train part with early stopping on the
/// validation part's log loss, class weights against imbalance, the point
/// with the lowest validation loss kept, cut to its best round.
///
/// Threads: runs on the caller's thread; XGBoost uses `threads` OpenMP
/// threads inside. The result owns plain values.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/bundle.h"
#include "model/xgb_trainer.h"
#include "train/grid.h"
#include "train/split.h"

namespace edgesense::train {

/// A part's rows in the head's terms: n x cols floats (NaN = missing), a
/// class index per row and the row's weight from its input (SourceInfo::
/// weight; empty: all 1), which training multiplies into the class weight.
struct HeadRows {
  std::vector<float> x;
  std::vector<std::uint32_t> y;
  std::vector<float> w;
  std::size_t cols = 0;
  std::size_t size() const noexcept { return y.size(); }
};

/// The rows of `part` that the reel or attack head learns from, as model
/// columns (`columns`: schema indices) and head classes: every row for the
/// attack head (labels::attackClassIndex), the reel gate's rows for the reel
/// head (labels::reelClassIndex). `picked`, if given, gets their row indices.
HeadRows headRows(const Dataset& d, const std::vector<std::size_t>& columns, const Split& split,
                  Part part, model::Task task, std::vector<std::size_t>* picked = nullptr);

struct XgbHeadOptions {
  std::size_t n_classes = 2;  // 2: binary:logistic; more: multi:softprob
  Grid grid;
  std::size_t early_stopping = 20;  // rounds without a better validation loss; 0: off
  int threads = 2;
  std::uint64_t seed = 1;
  double max_class_weight = 50;  // cap of the inverse-frequency weights
  /// A line of progress (grid points, rounds); may be empty.
  std::function<void(const std::string&)> progress;
};

struct GridTrial {
  GridPoint point;
  std::size_t best_rounds = 0;
  std::size_t rounds_run = 0;
  double validation_loss = 0;
  double seconds = 0;
};

struct XgbHeadResult {
  std::string model_json;  // the kept model, cut to its best round
  GridTrial best;
  std::vector<GridTrial> trials;  // in grid order
  std::vector<double> class_weights;
  model::XgbParams params;  // the kept model's XGBoost parameters
  /// The kept model's probabilities (n x n_classes; binary as [1 - p, p],
  /// as Bundle::predict gives them) of the validation and test rows.
  std::vector<float> validation_probs, test_probs;
};

/// Inverse class frequencies (n / (K x n_c)), capped at `cap`; 0 for a
/// class without rows.
std::vector<double> classWeights(const std::vector<std::uint32_t>& y, std::size_t k, double cap);

/// Throws model::XgbError, or std::invalid_argument for empty parts.
XgbHeadResult trainXgbHead(const HeadRows& train, const HeadRows& validation, const HeadRows& test,
                           const XgbHeadOptions& opts);

}  // namespace edgesense::train
