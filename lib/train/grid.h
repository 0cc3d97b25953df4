#pragma once
/// The hyperparameter grid of the XGBoost heads: a YAML file of parameter
/// lists (a scalar is a list of one); every combination is trained and the
/// best on validation is kept. Keys: max_depth, eta (or learning_rate),
/// num_round (or n_estimators: the most rounds; early stopping may end
/// sooner), subsample, colsample_bytree, min_child_weight, gamma, lambda
/// (or reg_lambda), alpha (or reg_alpha), max_bin. A sample is
/// config/train-grid.yaml.
///
/// Threads: a plain value, read once by the train command.

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgesense::train {

class GridError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One combination: XGBoost parameter name -> value, and the round limit.
struct GridPoint {
  std::map<std::string, double> params;
  std::size_t num_round = 200;
  /// "max_depth=6 eta=0.3 ... num_round=200", for progress lines.
  std::string describe() const;
};

struct Grid {
  /// Parameter -> candidate values, in file order per key.
  std::map<std::string, std::vector<double>> values;
  std::vector<std::size_t> num_rounds{200};

  /// Every combination, in a fixed order (keys sorted, values as listed).
  std::vector<GridPoint> points() const;
};

/// The built-in grid: max_depth {4, 6} x eta {0.1, 0.3}, 300 rounds at most,
/// subsample 0.8, colsample_bytree 0.5, min_child_weight 1 (minutes on two
/// cores for a few hundred thousand rows).
Grid defaultGrid();

/// Reads a grid file. Throws GridError "FILE:LINE: reason" (unknown key, not
/// a number, out of range, empty list, bad YAML).
Grid loadGrid(const std::string& path);

}  // namespace edgesense::train
