#pragma once
/// Test support for lib/model: the bundles make_test_bundles.py makes with
/// python-xgboost (the ctest fixture model.make_test_bundles), XGBoost's own
/// answers for them, temporary directories, and isolation-forest bundles
/// written from C++.

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "features/schema.h"
#include "model/isolation_forest.h"

namespace edgesense::model::test {

/// The fixture's directory: reel/, attack/ (bundles with check.json),
/// linear.json, regression.json. Made here if the fixture has not run
/// (the test binary started by hand).
const std::filesystem::path& pythonBundles();

/// check.json: every row of the sample capture's flow CSV with
/// python-xgboost's outputs for it.
struct PythonCheck {
  std::vector<features::FeatureVector> rows;
  std::vector<std::vector<double>> proba;                  // rows x classes
  std::vector<std::vector<double>> margin;                 // rows x groups
  std::vector<std::vector<std::vector<double>>> contribs;  // rows x groups x (features + 1)
};
PythonCheck readCheck(const std::filesystem::path& bundle_dir);

/// A fresh directory, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

nlohmann::json readJson(const std::filesystem::path& file);
void writeJson(const std::filesystem::path& file, const nlohmann::json& j);

/// Writes an anomaly bundle into `dir`: the forest as model.json, and a
/// bundle.json over `features` (schema names, model order) whose samples
/// are `sample_rows` with the forest's scores.
void writeForestBundle(const std::filesystem::path& dir, const IsolationForest& forest,
                       const std::vector<std::string>& features,
                       const std::vector<features::FeatureVector>& sample_rows);

/// Deterministic test data: n rows of `cols` values around 0 (spread 1).
std::vector<float> gaussianRows(std::size_t n, std::size_t cols, std::uint64_t seed);

/// Polls `pred` every 25 ms for up to 10 s (a reloader or watcher thread at
/// work); true as soon as it holds.
template <class Pred>
bool waitFor(Pred pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return pred();
}

}  // namespace edgesense::model::test
