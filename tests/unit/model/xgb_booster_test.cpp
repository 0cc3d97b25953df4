// model: the XGBoost wrapper against python-xgboost's own answers.

#include "model/xgb_booster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "test_bundles.h"

namespace edgesense::model {
namespace {

static_assert(!std::is_copy_constructible_v<Booster>);
static_assert(std::is_nothrow_move_constructible_v<Booster>);

/// The rows of check.json, gathered into the model's columns.
std::vector<float> gather(const test::PythonCheck& check, const std::filesystem::path& bundle) {
  const auto names = test::readJson(bundle / "bundle.json").at("features");
  std::vector<float> x;
  for (const auto& row : check.rows) {
    for (const auto& n : names) {
      for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
        if (features::kSchema[i].name == n.get<std::string>()) {
          x.push_back(static_cast<float>(row[i]));
        }
      }
    }
  }
  return x;
}

TEST(Booster, ReadsTheModelsShape) {
  const Booster reel(test::pythonBundles() / "reel" / "model.json");
  EXPECT_EQ(reel.objective(), "binary:logistic");
  EXPECT_EQ(reel.boosterName(), "gbtree");
  EXPECT_EQ(reel.numFeatures(), 8u);
  EXPECT_EQ(reel.numClass(), 0u);
  EXPECT_EQ(reel.numOutputs(), 1u);
  EXPECT_EQ(reel.numGroups(), 1u);

  const Booster attack(test::pythonBundles() / "attack" / "model.json");
  EXPECT_EQ(attack.objective(), "multi:softprob");
  EXPECT_EQ(attack.numFeatures(), features::kFeatureCount);
  EXPECT_EQ(attack.numClass(), 3u);
  EXPECT_EQ(attack.numOutputs(), 3u);
  EXPECT_EQ(attack.numGroups(), 3u);

  const Booster regression(test::pythonBundles() / "regression.json");
  EXPECT_EQ(regression.objective(), "reg:squarederror");
}

void expectMatchesPython(const std::string& name) {
  const auto dir = test::pythonBundles() / name;
  const Booster b(dir / "model.json");
  const test::PythonCheck check = test::readCheck(dir);
  const std::vector<float> x = gather(check, dir);
  const std::size_t n = check.rows.size(), cols = b.numFeatures(), g = b.numGroups();
  ASSERT_GT(n, 400u);

  std::vector<float> margin(n * g);
  b.margins(x.data(), n, cols, margin.data());
  std::vector<float> contrib(n * g * (cols + 1));
  b.contributions(x.data(), n, cols, contrib.data());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < g; ++k) {
      EXPECT_NEAR(margin[i * g + k], check.margin[i][k], 1e-6) << name << " row " << i;
      double sum = 0;
      for (std::size_t c = 0; c <= cols; ++c) {
        const float v = contrib[(i * g + k) * (cols + 1) + c];
        EXPECT_NEAR(v, check.contribs[i][k][c], 1e-6) << name << " row " << i << " col " << c;
        sum += v;
      }
      // SHAP values with the bias add up to the margin.
      EXPECT_NEAR(sum, margin[i * g + k], 1e-4) << name << " row " << i;
    }
  }
}

TEST(Booster, MarginsAndContributionsMatchPythonBinary) {
  expectMatchesPython("reel");
}
TEST(Booster, MarginsAndContributionsMatchPythonMultiClass) {
  expectMatchesPython("attack");
}

TEST(Booster, RefusesLinearBoosters) {
  try {
    Booster b(test::pythonBundles() / "linear.json");
    ADD_FAILURE() << "accepted gblinear";
  } catch (const XgbError& e) {
    EXPECT_NE(std::string(e.what()).find("uses the gblinear booster; only tree boosters"),
              std::string::npos)
        << e.what();
  }
}

TEST(Booster, MissingOrBrokenFilesAreXgbErrorsNamingTheFile) {
  test::TempDir tmp;
  try {
    Booster b(tmp.path() / "nope.json");
    ADD_FAILURE();
  } catch (const XgbError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("XGBoost cannot load " + (tmp.path() / "nope.json").string()),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;  // no stack trace
  }
  std::ofstream(tmp.path() / "broken.json") << "{\"learner\": ";
  EXPECT_THROW(Booster(tmp.path() / "broken.json"), XgbError);
}

TEST(Booster, WrongColumnCountIsRefused) {
  const Booster b(test::pythonBundles() / "reel" / "model.json");
  std::vector<float> x(9, 0.0f), out(2);
  EXPECT_THROW(b.predict(x.data(), 1, 9, out.data()), std::invalid_argument);
  EXPECT_THROW(b.contributions(x.data(), 1, 9, out.data()), std::invalid_argument);
}

TEST(Booster, MovesKeepTheModel) {
  Booster a(test::pythonBundles() / "reel" / "model.json");
  const std::vector<float> x(8, std::nanf(""));
  float before = 0, after = 0;
  a.predict(x.data(), 1, 8, &before);
  Booster b(std::move(a));
  b.predict(x.data(), 1, 8, &after);
  EXPECT_EQ(before, after);
  Booster c(test::pythonBundles() / "attack" / "model.json");
  c = std::move(b);
  EXPECT_EQ(c.numFeatures(), 8u);
  c.predict(x.data(), 1, 8, &after);
  EXPECT_EQ(before, after);
}

}  // namespace
}  // namespace edgesense::model
