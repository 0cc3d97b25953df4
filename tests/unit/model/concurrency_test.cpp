// model: several inference workers share one Bundle. Concurrent predict()
// and contributions() must give exactly what one thread gives. Also built
// with ThreadSanitizer (EDGESENSE_TSAN), which must find nothing.

#include <gtest/gtest.h>

#include <cmath>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "model/bundle.h"
#include "model/isolation_forest.h"
#include "test_bundles.h"

namespace edgesense::model {
namespace {

constexpr unsigned kThreads = 4;
constexpr int kRounds = 3;

struct Serial {
  std::vector<float> out;       // rows x classes
  std::vector<float> contribs;  // for every 10th row, its last class
};

Serial serial(const Bundle& b, const std::vector<features::FeatureVector>& rows) {
  Serial s;
  const std::size_t k = b.classes().size();
  s.out.resize(rows.size() * k);
  b.predict(rows, s.out);
  if (b.kind() == ModelKind::kXgboost) {
    const std::size_t width = b.featureIndices().size() + 1;
    std::vector<float> c(width);
    for (std::size_t i = 0; i < rows.size(); i += 10) {
      b.contributions(rows[i], k - 1, c);
      s.contribs.insert(s.contribs.end(), c.begin(), c.end());
    }
  }
  return s;
}

/// One worker: every row in batches of its own size, several times over;
/// counts values that differ from the serial run.
std::size_t worker(const Bundle& b, const std::vector<features::FeatureVector>& rows,
                   const Serial& want, std::size_t batch) {
  const std::size_t k = b.classes().size();
  const std::size_t width = b.featureIndices().size() + 1;
  std::vector<float> out(batch * k), c(width);
  std::size_t wrong = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t at = 0; at < rows.size(); at += batch) {
      const std::size_t n = std::min(batch, rows.size() - at);
      const std::span<float> o(out.data(), n * k);
      b.predict(std::span(rows).subspan(at, n), o);
      for (std::size_t j = 0; j < o.size(); ++j) wrong += o[j] != want.out[at * k + j];
    }
    if (b.kind() != ModelKind::kXgboost) continue;
    for (std::size_t i = 0, m = 0; i < rows.size(); i += 10, ++m) {
      b.contributions(rows[i], k - 1, c);
      for (std::size_t j = 0; j < width; ++j) wrong += c[j] != want.contribs[m * width + j];
    }
  }
  return wrong;
}

void expectConcurrentEqualsSerial(const Bundle& b,
                                  const std::vector<features::FeatureVector>& rows) {
  const Serial want = serial(b, rows);
  std::latch start(kThreads);
  std::vector<std::size_t> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      wrong[t] = worker(b, rows, want, 5 + 17 * t);
    });
  }
  for (std::thread& t : threads) t.join();
  for (unsigned t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0u) << "thread " << t;
}

TEST(Concurrency, SharedXgboostBundlesScoreAsOneThreadDoes) {
  for (const std::string name : {"reel", "attack"}) {
    const auto bundle = Bundle::load(test::pythonBundles() / name);
    const test::PythonCheck check = test::readCheck(test::pythonBundles() / name);
    expectConcurrentEqualsSerial(*bundle, check.rows);
  }
}

TEST(Concurrency, SharedIsolationForestBundleScoresAsOneThreadDoes) {
  test::TempDir tmp;
  const std::vector<std::string> names = {"duration", "fwd_packets", "bwd_bytes", "iat_mean"};
  const auto data = test::gaussianRows(1000, names.size(), 8);
  const IsolationForest forest =
      IsolationForest::train(std::span<const float>(data), names.size(), {.seed = 3});
  std::vector<features::FeatureVector> rows(1000);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    rows[r].fill(std::nan(""));
    for (std::size_t c = 0; c < names.size(); ++c) {
      for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
        if (features::kSchema[i].name == names[c]) rows[r][i] = data[r * names.size() + c] * 3;
      }
    }
  }
  test::writeForestBundle(tmp.path(), forest, names,
                          std::vector<features::FeatureVector>(rows.begin(), rows.begin() + 5));
  const auto bundle = Bundle::load(tmp.path());
  expectConcurrentEqualsSerial(*bundle, rows);
}

TEST(Concurrency, BundlesLoadWhileOthersScore) {
  // A reload builds a new Bundle while workers score with the current one.
  const auto current = Bundle::load(test::pythonBundles() / "attack");
  const test::PythonCheck check = test::readCheck(test::pythonBundles() / "attack");
  const Serial want = serial(*current, check.rows);
  std::size_t wrong = 0;
  std::thread scorer([&] { wrong = worker(*current, check.rows, want, 32); });
  for (int i = 0; i < 3; ++i) {
    const auto fresh = Bundle::load(test::pythonBundles() / "attack");
    EXPECT_EQ(fresh->classes().size(), 3u);
  }
  scorer.join();
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace edgesense::model
