// model: the isolation forest: determinism, the score, NaN, JSON.

#include "model/isolation_forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_bundles.h"

namespace edgesense::model {
namespace {

constexpr std::size_t kCols = 4;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

IsolationForest trainDefault(std::uint64_t seed, std::size_t rows = 1000) {
  const auto data = test::gaussianRows(rows, kCols, 42);
  return IsolationForest::train(std::span<const float>(data), kCols,
                                {.n_trees = 100, .sample_size = 256, .seed = seed});
}

TEST(IsolationForest, AveragePathLengthIsThePapersC) {
  EXPECT_EQ(averagePathLength(0), 0.0);
  EXPECT_EQ(averagePathLength(1), 0.0);
  EXPECT_EQ(averagePathLength(2), 1.0);
  // c(n) = 2 H(n - 1) - 2 (n - 1) / n, H(i) = ln i + 0.5772156649.
  EXPECT_NEAR(averagePathLength(256), 2 * (std::log(255.0) + 0.5772156649) - 2 * 255.0 / 256,
              1e-12);
  EXPECT_NEAR(averagePathLength(256), 10.2448, 1e-4);
}

TEST(IsolationForest, SameSeedAndDataGiveTheSameForest) {
  const IsolationForest a = trainDefault(7);
  const IsolationForest b = trainDefault(7);
  EXPECT_EQ(a.toJson(), b.toJson());
  EXPECT_EQ(a.numTrees(), 100u);
  EXPECT_EQ(a.sampleSize(), 256u);
  EXPECT_EQ(a.maxDepth(), 8u);  // ceil(log2 256)
}

TEST(IsolationForest, AnotherSeedGivesAnotherForest) {
  EXPECT_NE(trainDefault(7).toJson(), trainDefault(8).toJson());
}

TEST(IsolationForest, SampleSizeIsCappedAtTheRows) {
  const IsolationForest f = trainDefault(1, 100);
  EXPECT_EQ(f.sampleSize(), 100u);
  EXPECT_EQ(f.maxDepth(), 7u);
}

TEST(IsolationForest, DoublesTrainLikeTheirFloats) {
  const auto f = test::gaussianRows(500, kCols, 3);
  const std::vector<double> d(f.begin(), f.end());
  EXPECT_EQ(IsolationForest::train(std::span<const float>(f), kCols).toJson(),
            IsolationForest::train(std::span<const double>(d), kCols).toJson());
}

TEST(IsolationForest, ScoresAreInTheUnitIntervalAndOutliersScoreHigher) {
  const IsolationForest forest = trainDefault(7);
  const auto inliers = test::gaussianRows(200, kCols, 99);  // same distribution, other draws
  double inlier_sum = 0, inlier_max = 0;
  for (std::size_t i = 0; i < 200; ++i) {
    const double s = forest.score(std::span<const float>(&inliers[i * kCols], kCols));
    EXPECT_GT(s, 0.0);
    EXPECT_LE(s, 1.0);
    inlier_sum += s;
    inlier_max = std::max(inlier_max, s);
  }
  const double inlier_mean = inlier_sum / 200;
  EXPECT_LT(inlier_mean, 0.5);
  // Far out in every column (scikit-learn's IsolationForest gives about
  // 0.74 to {8, 8, 8, 8} and {6, -6, 6, -6} on such data).
  const std::vector<std::vector<float>> outliers = {
      {8, 8, 8, 8}, {6, -6, 6, -6}, {-7, 7, -7, 7}, {1e6f, 1e6f, -1e6f, 1e6f}};
  for (const auto& o : outliers) {
    const double s = forest.score(o);
    EXPECT_LE(s, 1.0);
    EXPECT_GT(s, 0.65) << o[0] << "," << o[1] << "," << o[2] << "," << o[3];
    EXPECT_GT(s, inlier_max);
  }
  // Far out in one column only: three ordinary columns mask it (about 0.51
  // in scikit-learn), but it is still above the ordinary flows' mean.
  for (const auto& o : std::vector<std::vector<float>>{{-9, 0, 0, 0}, {0, 0, 12, 0}}) {
    EXPECT_GT(forest.score(o), inlier_mean);
  }
  EXPECT_LT(forest.score(std::vector<float>{0, 0, 0, 0}), inlier_mean);
  // Non-finite inputs still score inside [0, 1].
  for (const auto& odd :
       std::vector<std::vector<float>>{{kNaN, kNaN, kNaN, kNaN},
                                       {std::numeric_limits<float>::infinity(), 0, 0, 0},
                                       {-std::numeric_limits<float>::infinity(), kNaN, 0, 1}}) {
    const double s = forest.score(odd);
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
  }
}

TEST(IsolationForest, NaNGoesLeftLikeTheSmallestValue) {
  // Trained without NaN, every split point lies within the training range,
  // so NaN must take the same path as a value below all of them.
  const IsolationForest forest = trainDefault(5);
  std::vector<float> nan_row = {0.5f, kNaN, -0.25f, 1.0f};
  std::vector<float> low_row = {0.5f, -1e30f, -0.25f, 1.0f};
  std::vector<float> inf_row = {0.5f, -std::numeric_limits<float>::infinity(), -0.25f, 1.0f};
  EXPECT_EQ(forest.score(nan_row), forest.score(low_row));
  EXPECT_EQ(forest.score(inf_row), forest.score(low_row));
}

TEST(IsolationForest, NaNAndNumbersCanBeIsolated) {
  // Column 0 is NaN in a tenth of the rows and 5 elsewhere; column 1 is 0.
  std::vector<float> data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(i % 10 == 0 ? kNaN : 5.0f);
    data.push_back(0.0f);
  }
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), 2, {.n_trees = 50, .seed = 3});
  const std::vector<float> common = {5.0f, 0.0f}, rare = {kNaN, 0.0f};
  EXPECT_LT(forest.meanPathLength(rare), forest.meanPathLength(common));
  EXPECT_GT(forest.score(rare), forest.score(common));
}

TEST(IsolationForest, ConstantDataMakesLeavesAndScoresOneHalfOrBelow) {
  const std::vector<float> data(2 * 300, 1.0f);
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), 2, {.n_trees = 10});
  // Nothing to split: one leaf of psi rows per tree, E[h] = c(psi), s = 0.5.
  EXPECT_DOUBLE_EQ(forest.score(std::vector<float>{1.0f, 1.0f}), 0.5);
}

TEST(IsolationForest, JsonRoundTripScoresIdentically) {
  const IsolationForest forest = trainDefault(11);
  const std::string text = forest.toJson();
  const IsolationForest back = IsolationForest::fromJson(text);
  EXPECT_EQ(back.toJson(), text);
  EXPECT_EQ(back.params().seed, 11u);
  const auto rows = test::gaussianRows(300, kCols, 1234);
  std::vector<float> a(300), b(300);
  forest.score(rows.data(), 300, a.data());
  back.score(rows.data(), 300, b.data());
  EXPECT_EQ(a, b);  // bit for bit
}

TEST(IsolationForest, FromJsonRefusesBrokenForests) {
  const nlohmann::json good = nlohmann::json::parse(trainDefault(1, 50).toJson());
  const auto refuses = [](const nlohmann::json& j, const std::string& why) {
    try {
      IsolationForest::fromJson(j.dump());
      ADD_FAILURE() << "accepted: " << why;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  try {
    IsolationForest::fromJson("{\"format\": ");
    ADD_FAILURE() << "accepted bad JSON";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("parse error"), std::string::npos) << e.what();
  }
  auto j = good;
  j["format"] = 2;
  refuses(j, "format 2 is not supported");
  j = good;
  j["trees"][0]["left"][0] = 0;
  refuses(j, "trees[0] node 0: children out of range");
  j = good;
  j["trees"][0]["feature"][0] = 4;
  refuses(j, "trees[0] node 0: no such feature");
  j = good;
  j["trees"][0]["split"].erase(0);
  refuses(j, "trees[0]: feature, split, left and size must have the same non-zero length");
  j = good;
  j.erase("trees");
  refuses(j, "\"trees\" must be a non-empty array");
}

TEST(IsolationForest, TrainRefusesWhatItCannotUse) {
  const std::vector<float> one_row = {1, 2, 3};
  EXPECT_THROW(IsolationForest::train(std::span<const float>(one_row), 3), std::invalid_argument);
  const std::vector<float> ragged = {1, 2, 3, 4, 5};
  EXPECT_THROW(IsolationForest::train(std::span<const float>(ragged), 2), std::invalid_argument);
  const auto data = test::gaussianRows(10, 2, 1);
  EXPECT_THROW(IsolationForest::train(std::span<const float>(data), 2, {.n_trees = 0}),
               std::invalid_argument);
  EXPECT_THROW(IsolationForest::train(std::span<const float>(data), 2, {.sample_size = 1}),
               std::invalid_argument);
  const IsolationForest f = IsolationForest::train(std::span<const float>(data), 2);
  EXPECT_THROW(f.score(std::vector<float>{1, 2, 3}), std::invalid_argument);
}

}  // namespace
}  // namespace edgesense::model
