// model: the native evaluator against XGBoost itself (Booster, the C API)
// on the shipped bundles, the fixture's python-made bundles and models
// trained here at random, with rows aimed at thresholds and missing values.

#include "model/tree_ensemble.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "model/xgb_booster.h"
#include "model/xgb_trainer.h"
#include "test_bundles.h"

namespace edgesense::model {
namespace {

using nlohmann::json;

constexpr double kOutputTolerance = 1e-6;
constexpr double kShapTolerance = 1e-5;

/// Rows of a bundle's samples and of the fixture's check.json (the sample
/// capture's flows), in the model's column order.
std::vector<float> bundleRows(const std::filesystem::path& bundle) {
  const json b = test::readJson(bundle / "bundle.json");
  std::vector<std::string> names;
  for (const auto& n : b.at("features")) names.push_back(n.get<std::string>());
  std::vector<float> x;
  for (const auto& s : b.at("samples")) {
    for (const auto& n : names) {
      const json& v = s.at("features").at(n);
      x.push_back(v.is_null() ? std::nanf("") : v.get<float>());
    }
  }
  const test::PythonCheck check = test::readCheck(test::pythonBundles() / "attack");
  for (const auto& row : check.rows) {
    for (const auto& n : names) {
      for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
        if (features::kSchema[i].name == n) x.push_back(static_cast<float>(row[i]));
      }
    }
  }
  return x;
}

/// Counts of what the comparison saw, so a test can insist it was not vacuous.
struct Compared {
  std::size_t rows = 0;
  std::size_t bit_equal_margins = 0;
  std::size_t margins = 0;
};

/// margins(), predict() and contributions() for every group of every row
/// against XGBoost's answers for the same model file.
Compared expectSameAsXgboost(const std::filesystem::path& model_file, const std::vector<float>& x,
                             const std::string& what) {
  const Booster ref(model_file);
  const TreeEnsemble e = TreeEnsemble::load(model_file);
  const std::size_t cols = e.numFeatures(), g = e.numGroups(), k = e.numOutputs();
  EXPECT_EQ(cols, ref.numFeatures()) << what;
  EXPECT_EQ(g, ref.numGroups()) << what;
  EXPECT_EQ(k, ref.numOutputs()) << what;
  EXPECT_EQ(e.objective(), ref.objective()) << what;
  const std::size_t n = x.size() / cols;
  Compared seen;
  seen.rows = n;

  std::vector<float> want_m(n * g), got_m(n * g), want_p(n * k), got_p(n * k);
  ref.margins(x.data(), n, cols, want_m.data());
  ref.predict(x.data(), n, cols, want_p.data());
  e.margins(x.data(), n, got_m.data());
  e.predict(x.data(), n, got_p.data());
  for (std::size_t i = 0; i < n * g; ++i) {
    EXPECT_NEAR(got_m[i], want_m[i], kOutputTolerance) << what << " margin " << i;
    seen.bit_equal_margins += got_m[i] == want_m[i];
    ++seen.margins;
  }
  for (std::size_t i = 0; i < n * k; ++i) {
    EXPECT_NEAR(got_p[i], want_p[i], kOutputTolerance) << what << " output " << i;
  }

  std::vector<float> want_c(n * g * (cols + 1)), got_c(cols + 1);
  ref.contributions(x.data(), n, cols, want_c.data());
  ShapScratch scratch(e);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t grp = 0; grp < g; ++grp) {
      e.contributions(&x[r * cols], grp, got_c.data(), scratch);
      double sum = 0;
      for (std::size_t c = 0; c <= cols; ++c) {
        EXPECT_NEAR(got_c[c], want_c[(r * g + grp) * (cols + 1) + c], kShapTolerance)
            << what << " row " << r << " group " << grp << " column " << c;
        sum += got_c[c];
      }
      EXPECT_NEAR(sum, want_m[r * g + grp], 1e-4) << what << " row " << r << " group " << grp;
    }
  }
  return seen;
}

TEST(TreeEnsemble, ShippedBundlesScoreAndExplainAsXgboost) {
  for (const char* name : {"attack", "reel"}) {
    const auto dir = std::filesystem::path(EDGESENSE_SOURCE_DIR) / "models" / name;
    const std::vector<float> x = bundleRows(dir);
    const Compared seen = expectSameAsXgboost(dir / "model.json", x, name);
    EXPECT_GT(seen.rows, 400u) << name;
    // Same float sums in the same order: the same bits, not only close.
    EXPECT_EQ(seen.bit_equal_margins, seen.margins) << name;
  }
  const auto attack_json = std::filesystem::path(EDGESENSE_SOURCE_DIR) / "models/attack/model.json";
  const TreeEnsemble attack = TreeEnsemble::load(attack_json);
  // What XGBoost wrote: its tree list and the learner's parameters.
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(attack_json));
  const nlohmann::json& booster = j.at("learner").at("gradient_booster").at("model");
  EXPECT_EQ(attack.objective(), "multi:softprob");
  EXPECT_EQ(attack.numGroups(), 5u);
  EXPECT_EQ(attack.numTrees(), booster.at("trees").size());
  EXPECT_EQ(std::to_string(attack.numTrees()),
            booster.at("gbtree_model_param").at("num_trees").get<std::string>());
  EXPECT_EQ(attack.numFeatures(), 98u);
  // multi:softprob starts every group at base_score as it is.
  EXPECT_EQ(attack.baseMargin(), 0.5f);
}

TEST(TreeEnsemble, FixtureBundlesScoreAndExplainAsXgboost) {
  for (const char* name : {"attack", "reel"}) {
    const auto dir = test::pythonBundles() / name;
    expectSameAsXgboost(dir / "model.json", bundleRows(dir), name);
  }
}

/// A model trained here: `objective` on n x cols rows with NaNs and
/// whole-number columns (so rows can sit exactly on thresholds).
struct Trained {
  std::string json;
  std::vector<float> x;
  std::size_t cols;
};

Trained train(const std::string& objective, std::size_t classes, int depth, float base_score,
              std::uint64_t seed) {
  constexpr std::size_t kRows = 800, kCols = 9;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> x(kRows * kCols), y(kRows);
  for (std::size_t r = 0; r < kRows; ++r) {
    float* row = &x[r * kCols];
    for (std::size_t c = 0; c < kCols; ++c) {
      row[c] = c % 3 == 0 ? std::round(normal(rng) * 3) : normal(rng);
    }
    const float score = row[0] + 2 * row[1] * row[2] - row[4] + 0.5f * normal(rng);
    // Missing values that say something about the label, and some that do
    // not: XGBoost learns both default directions.
    if (unit(rng) < 0.15f) row[1] = std::nanf("");
    if (unit(rng) < 0.1f) row[(r * 7) % kCols] = std::nanf("");
    if (score > 1.5f && unit(rng) < 0.4f) row[4] = std::nanf("");
    y[r] = classes <= 2 ? (score > 0.3f ? 1.0f : 0.0f)
                        : static_cast<float>(std::min<std::size_t>(
                              classes - 1, static_cast<std::size_t>(std::max(0.0f, score + 2))));
  }
  const TrainMatrix m(x, kCols, y, {}, 1);
  XgbParams params = {{"objective", objective},
                      {"max_depth", std::to_string(depth)},
                      {"eta", "0.3"},
                      {"min_child_weight", "0.5"},
                      {"nthread", "1"},
                      {"seed", std::to_string(seed)},
                      {"base_score", std::to_string(base_score)}};
  if (classes > 2) params.emplace_back("num_class", std::to_string(classes));
  Trainer t(m, {}, params);
  for (int i = 0; i < 12; ++i) t.boost(m);
  return {t.modelJson(0), x, kCols};
}

/// Rows aimed at the splits (the first 300 of the model): the feature
/// exactly at the threshold, just below, just above, missing and negated,
/// in a few of the training rows.
std::vector<float> probeRows(const Trained& m) {
  const json j = json::parse(m.json);
  std::vector<float> out(m.x.begin(), m.x.begin() + 40 * m.cols);
  std::size_t base = 0;
  for (const json& tree : j["learner"]["gradient_booster"]["model"]["trees"]) {
    const auto& left = tree["left_children"];
    for (std::size_t i = 0; i < left.size() && base < 5 * 300; ++i) {
      if (left[i].get<int>() == -1) continue;
      const auto f = tree["split_indices"][i].get<std::size_t>();
      const auto t = tree["split_conditions"][i].get<float>();
      for (const float v :
           {t, std::nextafter(t, -1e30f), std::nextafter(t, 1e30f), std::nanf(""), -t}) {
        const float* src = &m.x[(base++ % 800) * m.cols];
        const std::size_t at = out.size();
        out.insert(out.end(), src, src + m.cols);
        out[at + f] = v;
      }
    }
  }
  // Rows with every value missing, and every value at zero.
  out.insert(out.end(), m.cols, std::nanf(""));
  out.insert(out.end(), m.cols, 0.0f);
  return out;
}

TEST(TreeEnsemble, RandomModelsScoreAndExplainAsXgboost) {
  test::TempDir tmp;
  std::size_t defaults[2] = {0, 0};
  std::size_t model = 0;
  for (const auto& [objective, classes] : std::vector<std::pair<std::string, std::size_t>>{
           {"binary:logistic", 2}, {"multi:softprob", 4}}) {
    for (const int depth : {1, 3, 6, 10}) {
      for (const float base_score : {0.5f, 0.3f}) {
        const Trained m = train(objective, classes, depth, base_score, 17 + model);
        const auto file = (tmp.path() / std::to_string(model++)).replace_extension(".json");
        std::ofstream(file) << m.json;
        const std::string what = objective + " depth " + std::to_string(depth) + " base_score " +
                                 std::to_string(base_score);
        const Compared seen = expectSameAsXgboost(file, probeRows(m), what);
        EXPECT_GT(seen.rows, 100u) << what;
        EXPECT_EQ(seen.bit_equal_margins, seen.margins) << what;
        const json parsed = json::parse(m.json);
        for (const json& tree : parsed["learner"]["gradient_booster"]["model"]["trees"]) {
          const auto& left = tree["left_children"];
          for (std::size_t i = 0; i < left.size(); ++i) {
            if (left[i].get<int>() != -1) ++defaults[tree["default_left"][i].get<int>() != 0];
          }
        }
      }
    }
  }
  // The missing-value rows went both default ways.
  EXPECT_GT(defaults[0], 0u);
  EXPECT_GT(defaults[1], 0u);
}

TEST(TreeEnsemble, AnyBatchSizeGivesTheSameBits) {
  const TreeEnsemble e =
      TreeEnsemble::load(std::filesystem::path(EDGESENSE_SOURCE_DIR) / "models/attack/model.json");
  const std::vector<float> x =
      bundleRows(std::filesystem::path(EDGESENSE_SOURCE_DIR) / "models/attack");
  const std::size_t n = x.size() / e.numFeatures(), k = e.numOutputs();
  std::vector<float> all(n * k);
  e.predict(x.data(), n, all.data());
  for (const std::size_t batch : {1u, 7u, 8u, 9u, 31u, 33u, 256u}) {
    std::vector<float> out(batch * k);
    for (std::size_t at = 0; at + batch <= n; at += batch) {
      e.predict(&x[at * e.numFeatures()], batch, out.data());
      for (std::size_t j = 0; j < out.size(); ++j) {
        ASSERT_EQ(out[j], all[at * k + j]) << "batch " << batch << " at " << at;
      }
    }
  }
}

/// The SIMD kernels this CPU runs (one with AVX-512F runs the AVX2 one too).
std::vector<TreeEnsemble::Kernel> simdKernelsOfThisCpu() {
  std::vector<TreeEnsemble::Kernel> kernels;
  if (__builtin_cpu_supports("avx2")) kernels.push_back(TreeEnsemble::Kernel::kAvx2);
  if (__builtin_cpu_supports("avx512f")) kernels.push_back(TreeEnsemble::Kernel::kAvx512);
  return kernels;
}

/// The kernel margins() should pick on this CPU for a model the SIMD kernels
/// take: the widest one it runs.
TreeEnsemble::Kernel bestKernelOfThisCpu() {
  const std::vector<TreeEnsemble::Kernel> k = simdKernelsOfThisCpu();
  return k.empty() ? TreeEnsemble::Kernel::kScalar : k.back();
}

/// The scalar kernel, every SIMD kernel this CPU runs, and the dispatched
/// one give the same bits on `x`; returns the number of margins compared.
std::size_t expectKernelsAgree(const TreeEnsemble& e, const std::vector<float>& x,
                               const std::string& what) {
  const std::size_t n = x.size() / e.numFeatures(), g = e.numGroups();
  std::vector<float> scalar(n * g), other(n * g);
  e.margins(x.data(), n, scalar.data(), TreeEnsemble::Kernel::kScalar);
  const auto expectSame = [&](const std::string& kernel) {
    for (std::size_t i = 0; i < n * g; ++i) {
      // Bits, not values: NaN never comes out, and -0 must stay -0.
      EXPECT_EQ(std::bit_cast<std::uint32_t>(other[i]), std::bit_cast<std::uint32_t>(scalar[i]))
          << what << ", " << kernel << " margin " << i << " (row " << i / g << ", group " << i % g
          << ")";
    }
  };
  for (const TreeEnsemble::Kernel k : simdKernelsOfThisCpu()) {
    e.margins(x.data(), n, other.data(), k);
    expectSame(TreeEnsemble::kernelName(k));
  }
  e.margins(x.data(), n, other.data());
  expectSame("dispatched");
  return n * g;
}

/// Random rows for e: values drawn around the thresholds its trees hold
/// (exactly at one, the floats either side, negated), NaNs and plain noise.
std::vector<float> randomRows(const std::filesystem::path& model_file, std::size_t cols,
                              std::size_t n, std::uint64_t seed) {
  const json j = test::readJson(model_file);
  std::vector<std::vector<float>> thresholds(cols);
  for (const json& tree : j["learner"]["gradient_booster"]["model"]["trees"]) {
    const auto& left = tree["left_children"];
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (left[i].get<int>() == -1) continue;
      thresholds[tree["split_indices"][i].get<std::size_t>()].push_back(
          tree["split_conditions"][i].get<float>());
    }
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> kind(0, 9);
  std::normal_distribution<float> normal(0.0f, 100.0f);
  std::vector<float> x(n * cols);
  for (float& v : x) {
    const std::size_t c = static_cast<std::size_t>(&v - x.data()) % cols;
    const std::vector<float>& ts = thresholds[c];
    const float t =
        ts.empty() ? 0.0f : ts[std::uniform_int_distribution<std::size_t>(0, ts.size() - 1)(rng)];
    switch (kind(rng)) {
      case 0:
        v = std::nanf("");
        break;
      case 1:
      case 2:
        v = t;
        break;
      case 3:
        v = std::nextafter(t, -1e30f);
        break;
      case 4:
        v = std::nextafter(t, 1e30f);
        break;
      case 5:
        v = -t;
        break;
      case 6:
        v = 0.0f;
        break;
      default:
        v = normal(rng);
        break;
    }
  }
  return x;
}

TEST(TreeEnsembleKernels, SimdAndScalarGiveTheSameBits) {
  // The path margins() takes here is the SIMD one wherever the CPU has it
  // and the model is no deeper than the SIMD kernels take (it is the one
  // edgesense-engine-bench reports as "kernel"); deeper shipped models take
  // the scalar kernel, and a forced SIMD kernel falls back to it.
  for (const char* name : {"attack", "reel"}) {
    const auto dir = std::filesystem::path(EDGESENSE_SOURCE_DIR) / "models" / name;
    const TreeEnsemble e = TreeEnsemble::load(dir / "model.json");
    EXPECT_GE(e.maxDepth(), 1u) << name;
    EXPECT_EQ(e.kernel(), e.maxDepth() <= TreeEnsemble::kMaxSimdDepth
                              ? bestKernelOfThisCpu()
                              : TreeEnsemble::Kernel::kScalar)
        << name;
    expectKernelsAgree(e, bundleRows(dir), name);
    // Random rows, and every batch size around the 32-row block and the 16
    // or 8 rows per vector.
    const std::vector<float> x = randomRows(dir / "model.json", e.numFeatures(), 5000, 99);
    EXPECT_EQ(expectKernelsAgree(e, x, std::string(name) + " random"), 5000 * e.numGroups());
    for (const std::size_t n : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 65u}) {
      const std::vector<float> part(x.begin(), x.begin() + n * e.numFeatures());
      expectKernelsAgree(e, part, std::string(name) + " rows " + std::to_string(n));
    }
    // Every class wins somewhere in the random rows (the leaves of every
    // group are reached).
    std::vector<float> m(5000 * e.numGroups());
    e.margins(x.data(), 5000, m.data());
    std::vector<bool> won(e.numGroups(), e.numGroups() == 1);
    for (std::size_t r = 0; r < 5000; ++r) {
      const float* row = &m[r * e.numGroups()];
      won[std::max_element(row, row + e.numGroups()) - row] = true;
    }
    for (std::size_t k = 0; k < won.size(); ++k) EXPECT_TRUE(won[k]) << name << " class " << k;
  }
}

TEST(TreeEnsembleKernels, RandomModelsOfEveryDepth) {
  // Depths 1 to 5 take the SIMD kernels (trees padded to their own depth),
  // each this CPU runs; 6 and 10 are too deep for them and stay scalar.
  std::size_t model = 0;
  for (const auto& [objective, classes] : std::vector<std::pair<std::string, std::size_t>>{
           {"binary:logistic", 2}, {"multi:softprob", 4}}) {
    for (const int depth : {1, 2, 3, 4, 5, 6, 10}) {
      const Trained m = train(objective, classes, depth, 0.5f, 71 + model++);
      const TreeEnsemble e = TreeEnsemble::fromJson(m.json, "random");
      const std::string what = objective + " depth " + std::to_string(depth);
      if (depth > 5) {
        EXPECT_EQ(e.kernel(), TreeEnsemble::Kernel::kScalar) << what;
      }
      if (depth <= 5) {
        EXPECT_EQ(e.kernel(), bestKernelOfThisCpu()) << what;
      }
      expectKernelsAgree(e, probeRows(m), what);
    }
  }
}

// Refusals: one clear TreeEnsembleError per broken model, naming the file.

json smallModel() {
  return json::parse(train("multi:softprob", 3, 3, 0.5f, 5).json);
}

std::string refusal(const json& model) {
  try {
    TreeEnsemble::fromJson(model.dump(), "x/model.json");
  } catch (const TreeEnsembleError& e) {
    return e.what();
  }
  return "(loaded)";
}

void expectRefused(const json& model, const std::string& part) {
  const std::string what = refusal(model);
  EXPECT_EQ(what.rfind("XGBoost model x/model.json: ", 0), 0u) << what;
  EXPECT_NE(what.find(part), std::string::npos) << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << what;
}

json& tree0(json& m) {
  return m["learner"]["gradient_booster"]["model"]["trees"][0];
}

TEST(TreeEnsembleRefuses, NothingWrongWithTheSmallModel) {
  EXPECT_EQ(refusal(smallModel()), "(loaded)");
}

TEST(TreeEnsembleRefuses, ChildIndexOutOfRange) {
  json m = smallModel();
  tree0(m)["right_children"][0] = 999;
  expectRefused(m, "tree 0: node 0: children 1 and 999 are not two other nodes");
  tree0(m)["right_children"][0] = -5;
  expectRefused(m, "tree 0: node 0: children 1 and -5");
}

TEST(TreeEnsembleRefuses, Cycle) {
  json m = smallModel();
  tree0(m)["left_children"][1] = 0;  // back to the root
  expectRefused(m, "tree 0: node 1: children 0 and");
  m = smallModel();
  tree0(m)["left_children"][1] = 2;  // a node reached twice
  expectRefused(m, "a child is reached twice");
}

TEST(TreeEnsembleRefuses, ArrayOfTheWrongLength) {
  json m = smallModel();
  tree0(m)["split_conditions"].erase(0);
  expectRefused(m, "tree 0: \"split_conditions\" must hold num_nodes");
  m = smallModel();
  m["learner"]["gradient_booster"]["model"]["tree_info"].erase(0);
  expectRefused(m, "\"tree_info\" must hold one group per tree");
}

TEST(TreeEnsembleRefuses, CategoricalSplit) {
  json m = smallModel();
  tree0(m)["split_type"][0] = 1;
  expectRefused(m, "node 0 is a categorical split; categorical features are not supported");
}

TEST(TreeEnsembleRefuses, SplitOnAFeatureTheModelDoesNotHave) {
  json m = smallModel();
  tree0(m)["split_indices"][0] = 9;  // num_feature is 9
  expectRefused(m, "split_indices 9 is not a feature (num_feature 9)");
}

TEST(TreeEnsembleRefuses, GroupOutOfRange) {
  json m = smallModel();
  m["learner"]["gradient_booster"]["model"]["tree_info"][0] = 3;
  expectRefused(m, "tree_info[0] is 3, over 2");
}

TEST(TreeEnsembleRefuses, LinearAndDartBoosters) {
  expectRefused(test::readJson(test::pythonBundles() / "linear.json"),
                "uses the gblinear booster; only gbtree is supported");
  json m = smallModel();
  m["learner"]["gradient_booster"]["name"] = "dart";
  expectRefused(m, "uses the dart booster; only gbtree is supported");
}

TEST(TreeEnsembleRefuses, OtherObjectives) {
  expectRefused(test::readJson(test::pythonBundles() / "regression.json"),
                "objective reg:squarederror is not supported");
}

TEST(TreeEnsembleRefuses, TooDeep) {
  // A chain: node i splits into i + 1 (left) and a leaf (right).
  json m = smallModel();
  json& t = tree0(m);
  const std::size_t depth = TreeEnsemble::kMaxDepth + 1, n = 2 * depth + 1;
  json l = json::array(), r = json::array(), zeros = json::array(), ones = json::array();
  for (std::size_t i = 0; i < n; ++i) {
    const bool split = i < depth;
    l.push_back(split ? static_cast<int>(i + 1) : -1);
    r.push_back(split ? static_cast<int>(depth + 1 + i) : -1);
    zeros.push_back(0);
    ones.push_back(1.0);
  }
  l[depth] = -1;
  for (const char* key : {"split_indices", "default_left", "split_type"}) t[key] = zeros;
  for (const char* key : {"split_conditions", "sum_hessian", "base_weights"}) t[key] = ones;
  t["left_children"] = l;
  t["right_children"] = r;
  t["tree_param"]["num_nodes"] = std::to_string(n);
  expectRefused(m, "tree 0 is deeper than 64");
}

TEST(TreeEnsembleRefuses, NotJsonOrNotAModel) {
  const std::string what = [] {
    try {
      TreeEnsemble::fromJson("{\"learner\": ", "x/model.json");
    } catch (const TreeEnsembleError& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  }();
  EXPECT_EQ(what.rfind("XGBoost model x/model.json: not valid JSON", 0), 0u) << what;
  expectRefused(json::object(), "the model lacks \"learner\"");
  json m = smallModel();
  tree0(m)["left_children"][0] = "one";
  expectRefused(m, "unexpected JSON");
  test::TempDir tmp;
  EXPECT_THROW(TreeEnsemble::load(tmp.path() / "nope.json"), TreeEnsembleError);
}

}  // namespace
}  // namespace edgesense::model
