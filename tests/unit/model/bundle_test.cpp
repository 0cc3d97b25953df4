// model: bundles made by make_bundle.py with python-xgboost load and score as
// XGBoost does; every reason to refuse one is one clear message.

#include "model/bundle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "model/isolation_forest.h"
#include "model/mitre.h"
#include "test_bundles.h"

namespace edgesense::model {
namespace {

using nlohmann::json;

std::size_t schemaIndex(std::string_view name) {
  for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
    if (features::kSchema[i].name == name) return i;
  }
  throw std::runtime_error("no feature " + std::string(name));
}

void expectMatchesPython(const std::string& name, std::size_t n_classes) {
  const auto dir = test::pythonBundles() / name;
  const auto bundle = Bundle::load(dir);
  const test::PythonCheck check = test::readCheck(dir);
  const std::size_t n = check.rows.size();
  ASSERT_EQ(bundle->classes().size(), n_classes);

  std::vector<float> all(n * n_classes);
  bundle->predict(check.rows, all);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < n_classes; ++k) {
      EXPECT_NEAR(all[i * n_classes + k], check.proba[i][k], 1e-6) << name << " row " << i;
    }
  }
  // Batches of any size give the same bits.
  for (const std::size_t batch : {1u, 7u, 64u}) {
    std::vector<float> out(batch * n_classes);
    for (std::size_t at = 0; at + batch <= n; at += batch) {
      bundle->predict(std::span(check.rows).subspan(at, batch), out);
      for (std::size_t j = 0; j < out.size(); ++j) {
        ASSERT_EQ(out[j], all[at * n_classes + j]) << "batch " << batch << " at " << at;
      }
    }
  }
}

TEST(Bundle, BinaryModelGivesPythonsProbabilities) {
  expectMatchesPython("reel", 2);
}
TEST(Bundle, MultiClassModelGivesPythonsProbabilities) {
  expectMatchesPython("attack", 3);
}

TEST(Bundle, ContributionsSumToTheMarginOfTheClass) {
  for (const std::string name : {"reel", "attack"}) {
    const auto dir = test::pythonBundles() / name;
    const auto bundle = Bundle::load(dir);
    const test::PythonCheck check = test::readCheck(dir);
    const std::size_t cols = bundle->featureIndices().size();
    std::vector<float> out(cols + 1);
    for (std::size_t i = 0; i < check.rows.size(); i += 13) {
      for (std::size_t k = 0; k < bundle->classes().size(); ++k) {
        bundle->contributions(check.rows[i], k, out);
        double sum = 0;
        for (const float v : out) sum += v;
        if (name == "reel") {
          // One margin m = log-odds of "reel"; "non_reel" has -m.
          const double m = check.margin[i][0];
          EXPECT_NEAR(sum, k == 1 ? m : -m, 1e-4) << name << " row " << i;
          for (std::size_t c = 0; c <= cols; ++c) {
            EXPECT_NEAR(out[c], (k == 1 ? 1 : -1) * check.contribs[i][0][c], 1e-6);
          }
        } else {
          EXPECT_NEAR(sum, check.margin[i][k], 1e-4) << name << " row " << i << " class " << k;
          for (std::size_t c = 0; c <= cols; ++c) {
            EXPECT_NEAR(out[c], check.contribs[i][k][c], 1e-6);
          }
        }
      }
    }
    std::vector<float> wrong(cols);
    EXPECT_THROW(bundle->contributions(check.rows[0], 0, wrong), std::invalid_argument);
    EXPECT_THROW(bundle->contributions(check.rows[0], 9, out), std::out_of_range);
  }
}

TEST(Bundle, AccessorsReadBundleJson) {
  const auto reel = Bundle::load(test::pythonBundles() / "reel");
  EXPECT_EQ(reel->name(), "reel-test");
  EXPECT_EQ(reel->version(), "test-1");
  EXPECT_EQ(reel->task(), Task::kReel);
  EXPECT_EQ(reel->kind(), ModelKind::kXgboost);
  EXPECT_EQ(taskName(reel->task()), "reel");
  EXPECT_EQ(kindName(reel->kind()), "xgboost");
  EXPECT_EQ(reel->classes(), (std::vector<std::string>{"non_reel", "reel"}));
  ASSERT_EQ(reel->thresholds().size(), 2u);
  EXPECT_TRUE(std::isnan(reel->thresholds()[0]));
  EXPECT_DOUBLE_EQ(reel->thresholds()[1], 0.6);
  // Model order, not schema order.
  const std::vector<std::size_t> want = {schemaIndex("bwd_bytes"),   schemaIndex("duration"),
                                         schemaIndex("fwd_syn"),     schemaIndex("first_size_3"),
                                         schemaIndex("iat_mean"),    schemaIndex("fwd_packets"),
                                         schemaIndex("bwd_len_max"), schemaIndex("first_gap_2")};
  EXPECT_EQ(reel->featureIndices(), want);
  const auto q = reel->quantiles(0);
  ASSERT_EQ(q.size(), kQuantileCount);
  EXPECT_LE(q.front(), q.back());
  EXPECT_TRUE(reel->quantiles(99).empty());
  // make_bundle.py writes the shares too: one per distinct quantile, adding up to 1.
  const auto shares = reel->shares(0);
  ASSERT_FALSE(shares.empty());
  EXPECT_NEAR(std::accumulate(shares.begin(), shares.end(), 0.0), 1, 1e-9);
  const json training = json::parse(reel->trainingJson());
  EXPECT_EQ(training.at("params").at("objective"), "binary:logistic");
  EXPECT_EQ(training.at("data").at("rows"), 492);
  EXPECT_EQ(reel->mitre("reel"), nullptr);

  const auto attack = Bundle::load(test::pythonBundles() / "attack");
  EXPECT_EQ(attack->classes(), (std::vector<std::string>{"benign", "scan", "dos"}));
  EXPECT_EQ(attack->classIndex("dos"), 2u);
  EXPECT_FALSE(attack->classIndex("nope").has_value());
  const MitreEntry* scan = attack->mitre("scan");
  ASSERT_NE(scan, nullptr);
  EXPECT_EQ(scan->tactic_id, "TA0007");
  EXPECT_EQ(scan->technique_id, "T1046");
  EXPECT_EQ(scan->tactic, "Discovery");
  EXPECT_EQ(scan->technique, "Network Service Discovery");
  EXPECT_EQ(attack->mitre(std::size_t{1}), scan);
  EXPECT_EQ(attack->mitre("benign"), nullptr);
  EXPECT_EQ(attack->featureIndices().size(), features::kFeatureCount);

  const std::vector<features::FeatureVector> two(2);
  std::vector<float> out(5);
  EXPECT_THROW(attack->predict(two, out), std::invalid_argument);
}

TEST(Bundle, OneMitreTableForTrainAndMakeBundle) {
  // make_bundle.py wrote the python bundle's entries from lib/model/mitre.json,
  // the file knownMitre() embeds: the two agree class by class.
  const auto attack = Bundle::load(test::pythonBundles() / "attack");
  for (const std::string cls : {"scan", "dos"}) {
    const MitreEntry* written = attack->mitre(cls);
    ASSERT_NE(written, nullptr) << cls;
    const MitreEntry& known = knownMitre().at(cls);
    EXPECT_EQ(written->tactic_id, known.tactic_id) << cls;
    EXPECT_EQ(written->technique_id, known.technique_id) << cls;
    EXPECT_EQ(written->tactic, known.tactic) << cls;
    EXPECT_EQ(written->technique, known.technique) << cls;
  }
  // The shipped attack classes all have an entry.
  for (const char* cls : {"scan", "dos", "bruteforce", "slowdos"})
    EXPECT_TRUE(knownMitre().contains(cls)) << cls;
}

TEST(Bundle, IsolationForestBundleScoresLikeTheForest) {
  test::TempDir tmp;
  const std::vector<std::string> names = {"duration", "fwd_packets", "bwd_bytes", "iat_mean"};
  const auto data = test::gaussianRows(800, names.size(), 5);
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), names.size(), {.seed = 9});
  std::vector<features::FeatureVector> rows(20);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    rows[r].fill(std::nan(""));
    for (std::size_t c = 0; c < names.size(); ++c) {
      rows[r][schemaIndex(names[c])] = r == 3 && c == 1 ? std::nan("") : data[r * names.size() + c];
    }
  }
  for (const auto& n : names) rows[7][schemaIndex(n)] = 40.0;  // an outlier
  test::writeForestBundle(tmp.path(), forest, names, rows);

  const auto bundle = Bundle::load(tmp.path());
  EXPECT_EQ(bundle->task(), Task::kAnomaly);
  EXPECT_EQ(bundle->kind(), ModelKind::kIsolationForest);
  EXPECT_EQ(bundle->classes(), std::vector<std::string>{"anomaly"});
  EXPECT_DOUBLE_EQ(bundle->thresholds()[0], 0.62);
  std::vector<float> out(rows.size());
  bundle->predict(rows, out);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<float> x;
    for (const auto& n : names) x.push_back(static_cast<float>(rows[r][schemaIndex(n)]));
    EXPECT_EQ(out[r], static_cast<float>(forest.score(x)));
    EXPECT_GE(out[r], 0.0f);
    EXPECT_LE(out[r], 1.0f);
  }
  EXPECT_GT(out[7], 0.7f);
  std::vector<float> c(names.size() + 1);
  EXPECT_THROW(bundle->contributions(rows[0], 0, c), std::logic_error);
}

// Refusals: each test breaks one thing in a copy of a good bundle.
class BundleRefuses : public ::testing::Test {
 protected:
  std::filesystem::path dir() const { return tmp_.path() / "bundle"; }

  /// A copy of a python-made bundle; returns its bundle.json.
  json copy(const std::string& name) {
    std::filesystem::create_directories(dir());
    const auto src = test::pythonBundles() / name;
    for (const char* f : {"bundle.json", "model.json"}) {
      std::filesystem::copy_file(src / f, dir() / f,
                                 std::filesystem::copy_options::overwrite_existing);
    }
    return test::readJson(dir() / "bundle.json");
  }

  std::string refusal() {
    try {
      Bundle::load(dir());
    } catch (const BundleError& e) {
      return e.what();
    }
    return "(loaded)";
  }

  /// The load fails with one line "model bundle DIR: ..." holding every part.
  void expectRefused(const std::vector<std::string>& parts) {
    const std::string what = refusal();
    EXPECT_EQ(what.rfind("model bundle " + dir().string() + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const std::string& p : parts) EXPECT_NE(what.find(p), std::string::npos) << what;
  }

  void expectEditRefused(const std::string& name, const std::function<void(json&)>& edit,
                         const std::vector<std::string>& parts) {
    json j = copy(name);
    edit(j);
    test::writeJson(dir() / "bundle.json", j);
    expectRefused(parts);
  }

  test::TempDir tmp_;
};

TEST_F(BundleRefuses, GoodCopiesLoad) {
  copy("attack");
  EXPECT_EQ(refusal(), "(loaded)");
}

TEST_F(BundleRefuses, MissingDirectory) {
  expectRefused({"no such directory"});
}

TEST_F(BundleRefuses, FileInsteadOfDirectory) {
  std::ofstream(dir()) << "x";
  expectRefused({"not a directory"});
}

TEST_F(BundleRefuses, MissingBundleJson) {
  copy("reel");
  std::filesystem::remove(dir() / "bundle.json");
  expectRefused({"bundle.json is missing"});
}

TEST_F(BundleRefuses, MissingModelFile) {
  copy("reel");
  std::filesystem::remove(dir() / "model.json");
  expectRefused({"model file model.json is missing"});
}

TEST_F(BundleRefuses, BadJsonSaysWhere) {
  copy("reel");
  std::ofstream(dir() / "bundle.json") << "{\n  \"format\": 1,\n  oops\n}\n";
  expectRefused({"bundle.json is not valid JSON", "line 3, column 3"});
}

TEST_F(BundleRefuses, UnknownFormat) {
  expectEditRefused("reel", [](json& j) { j["format"] = 2; },
                    {"format 2 is not supported (this edgesense reads format 1)"});
}

TEST_F(BundleRefuses, UnknownTask) {
  expectEditRefused("reel", [](json& j) { j["task"] = "weather"; },
                    {"unknown task \"weather\" (expected reel, attack or anomaly)"});
}

TEST_F(BundleRefuses, UnknownKind) {
  expectEditRefused("reel", [](json& j) { j["model"]["kind"] = "svm"; },
                    {"unknown model kind \"svm\""});
}

TEST_F(BundleRefuses, KindThatDoesNotFitTheTask) {
  expectEditRefused("reel", [](json& j) { j["model"]["kind"] = "isolation_forest"; },
                    {"a reel bundle needs an xgboost model, not isolation_forest"});
}

TEST_F(BundleRefuses, ModelFileOutsideTheBundle) {
  expectEditRefused("reel", [](json& j) { j["model"]["file"] = "../model.json"; },
                    {"must be a file name inside the bundle"});
}

TEST_F(BundleRefuses, UnknownKey) {
  expectEditRefused("reel", [](json& j) { j["threshold"] = 0.5; }, {"unknown key \"threshold\""});
}

TEST_F(BundleRefuses, MissingKey) {
  expectEditRefused("reel", [](json& j) { j.erase("samples"); }, {"bundle.json lacks \"samples\""});
}

TEST_F(BundleRefuses, SchemaHashMismatchSaysBothHashes) {
  expectEditRefused("attack", [](json& j) { j["schema_hash"] = "0123456789abcdef"; },
                    {"trained on another feature schema", "0123456789abcdef",
                     "this edgesense has " + features::schemaHash()});
}

TEST_F(BundleRefuses, UnknownFeatureName) {
  expectEditRefused("reel", [](json& j) { j["features"][2] = "fwd_syns"; },
                    {"unknown feature \"fwd_syns\""});
}

TEST_F(BundleRefuses, DuplicateFeature) {
  expectEditRefused("reel", [](json& j) { j["features"][2] = "duration"; },
                    {"feature \"duration\" is listed twice"});
}

TEST_F(BundleRefuses, FeatureCountUnlikeTheModel) {
  expectEditRefused("reel",
                    [](json& j) {
                      j["features"].erase(7);
                      j["feature_distribution"].erase("first_gap_2");
                    },
                    {"the model takes 8 features, but \"features\" lists 7"});
}

TEST_F(BundleRefuses, ClassesUnlikeTheMultiClassModel) {
  expectEditRefused("attack",
                    [](json& j) {
                      j["classes"].push_back("bruteforce");
                      j["thresholds"]["bruteforce"] = 0.5;
                    },
                    {"the model has 3 classes (multi:softprob), but the bundle has 4"});
}

TEST_F(BundleRefuses, MoreClassesThanTheBinaryModel) {
  expectEditRefused("reel",
                    [](json& j) {
                      j["task"] = "attack";
                      j["classes"] = {"benign", "scan", "dos"};
                      j["thresholds"] = {{"scan", 0.5}, {"dos", 0.5}};
                    },
                    {"the model is binary (binary:logistic), but the bundle has 3 classes"});
}

TEST_F(BundleRefuses, ReelClassesMustBeNonReelAndReel) {
  expectEditRefused("reel",
                    [](json& j) {
                      j["classes"] = {"reel", "non_reel"};
                    },
                    {"a reel bundle's classes must be [\"non_reel\", \"reel\"]"});
}

TEST_F(BundleRefuses, AttackClassesStartWithBenign) {
  expectEditRefused("attack",
                    [](json& j) {
                      j["classes"] = {"scan", "benign", "dos"};
                    },
                    {"an attack bundle's classes must start with \"benign\""});
}

TEST_F(BundleRefuses, UnsupportedObjective) {
  json j = copy("reel");
  std::filesystem::copy_file(test::pythonBundles() / "regression.json", dir() / "model.json",
                             std::filesystem::copy_options::overwrite_existing);
  expectRefused({"objective reg:squarederror is not supported"});
}

TEST_F(BundleRefuses, ThresholdMissing) {
  expectEditRefused("attack", [](json& j) { j["thresholds"].erase("dos"); },
                    {"thresholds lacks \"dos\""});
}

TEST_F(BundleRefuses, ThresholdForTheBenignClass) {
  expectEditRefused("attack", [](json& j) { j["thresholds"]["benign"] = 0.5; },
                    {"thresholds has \"benign\", which is not a class with a threshold"});
}

TEST_F(BundleRefuses, ThresholdOutOfRange) {
  expectEditRefused("reel", [](json& j) { j["thresholds"]["reel"] = 1.5; },
                    {"thresholds.reel is 1.5; it must be a number in [0, 1]"});
}

TEST_F(BundleRefuses, MitreWithABadId) {
  expectEditRefused("attack", [](json& j) { j["mitre"]["scan"]["technique_id"] = "1046"; },
                    {"mitre.scan.technique_id \"1046\" is not like T1046"});
}

TEST_F(BundleRefuses, MitreOnAReelBundle) {
  expectEditRefused("reel", [](json& j) { j["mitre"] = json::object(); },
                    {"\"mitre\" is only for attack bundles"});
}

TEST_F(BundleRefuses, QuantilesThatDecrease) {
  expectEditRefused("reel",
                    [](json& j) { j["feature_distribution"]["duration"]["quantiles"][10] = -1.0; },
                    {"feature_distribution.duration.quantiles must not decrease"});
}

TEST_F(BundleRefuses, SharesThatDoNotFitTheQuantiles) {
  expectEditRefused("reel",
                    [](json& j) {
                      j["feature_distribution"]["duration"]["shares"] = {0.5, 0.5};
                    },
                    {"feature_distribution.duration.shares must hold one number per distinct "
                     "quantile"});
  expectEditRefused("reel",
                    [](json& j) {
                      json& d = j["feature_distribution"]["duration"];
                      d["shares"] = json::array();
                      for (std::size_t i = 0; i < kQuantileCount; ++i) d["shares"].push_back(0.5);
                      d["quantiles"] = json::array();
                      for (std::size_t i = 0; i < kQuantileCount; ++i) d["quantiles"].push_back(i);
                    },
                    {"feature_distribution.duration.shares must add up to 1"});
}

TEST_F(BundleRefuses, QuantilesOfAnotherFeature) {
  expectEditRefused(
      "reel",
      [](json& j) { j["feature_distribution"]["len_std"] = j["feature_distribution"]["duration"]; },
      {"feature_distribution has \"len_std\", which is not a model feature"});
}

TEST_F(BundleRefuses, NoSamples) {
  expectEditRefused("reel", [](json& j) { j["samples"] = json::array(); },
                    {"\"samples\" must be a non-empty array"});
}

TEST_F(BundleRefuses, SampleLackingAFeature) {
  expectEditRefused("reel", [](json& j) { j["samples"][1]["features"].erase("iat_mean"); },
                    {"samples[1].features lacks \"iat_mean\""});
}

TEST_F(BundleRefuses, SampleWithAnUnknownFeature) {
  expectEditRefused("reel", [](json& j) { j["samples"][0]["features"]["len_std"] = 1.0; },
                    {"samples[0].features has \"len_std\", which is not a model feature"});
}

TEST_F(BundleRefuses, SampleOutputsUnlikeTheModelSayWhichAndByHowMuch) {
  double expected = 0;
  expectEditRefused("attack",
                    [&](json& j) {
                      expected = j["samples"][4]["expected"][2].get<double>();
                      j["samples"][4]["expected"][2] = expected + 0.25;
                    },
                    {"samples[4]: output 2 (\"dos\") is ", "but the bundle expects", "off by 0.25",
                     "tolerance 1e-05", "does not give the outputs recorded with it"});
}

TEST_F(BundleRefuses, SampleOutputsJustWithinToleranceLoad) {
  json j = copy("reel");
  j["samples"][0]["expected"][1] = j["samples"][0]["expected"][1].get<double>() + 5e-6;
  test::writeJson(dir() / "bundle.json", j);
  EXPECT_EQ(refusal(), "(loaded)");
}

TEST_F(BundleRefuses, ModelFileThatIsNotJson) {
  copy("reel");
  std::ofstream(dir() / "model.json") << "{\"learner\": ";
  expectRefused({"cannot load the model: XGBoost model ", "model.json: not valid JSON"});
}

TEST_F(BundleRefuses, ModelFileWithABrokenTree) {
  copy("attack");
  json model = test::readJson(dir() / "model.json");
  model["learner"]["gradient_booster"]["model"]["trees"][2]["left_children"][0] = 12345;
  test::writeJson(dir() / "model.json", model);
  expectRefused({"cannot load the model: XGBoost model ", "model.json: tree 2: node 0: children"});
}

TEST_F(BundleRefuses, BrokenIsolationForest) {
  const std::vector<std::string> names = {"duration", "fwd_packets"};
  const auto data = test::gaussianRows(100, 2, 5);
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), 2, {.n_trees = 5});
  std::vector<features::FeatureVector> rows(1);
  rows[0].fill(0.5);
  test::writeForestBundle(dir(), forest, names, rows);
  ASSERT_EQ(refusal(), "(loaded)");
  json model = test::readJson(dir() / "model.json");
  model["trees"][0]["feature"][0] = 5;
  test::writeJson(dir() / "model.json", model);
  expectRefused(
      {"cannot load the model model.json: isolation forest JSON: trees[0] node 0: "
       "no such feature"});
}

TEST_F(BundleRefuses, ForestWithOtherFeaturesThanTheBundle) {
  const auto data = test::gaussianRows(100, 3, 5);
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), 3, {.n_trees = 5});
  std::vector<features::FeatureVector> rows(1);
  rows[0].fill(0.5);
  test::writeForestBundle(dir(), forest, {"duration", "fwd_packets", "bwd_bytes"}, rows);
  json j = test::readJson(dir() / "bundle.json");
  j["features"].erase(2);
  j["samples"][0]["features"].erase("bwd_bytes");
  test::writeJson(dir() / "bundle.json", j);
  expectRefused({"the model takes 3 features, but \"features\" lists 2"});
}

}  // namespace
}  // namespace edgesense::model
