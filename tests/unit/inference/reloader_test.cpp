// inference: hot swap from a models directory while a pool keeps scoring —
// a valid new bundle is picked up, a broken one is refused and counted, and
// the old one keeps serving.

#include "inference/reloader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "../model/test_bundles.h"
#include "inference/pool.h"

namespace edgesense::inference {
namespace {

namespace fs = std::filesystem;
using model::test::pythonBundles;
using model::test::TempDir;
using model::test::waitFor;

/// Copies the fixture's attack bundle to dir/attack with another version.
void installAttack(const fs::path& models, const std::string& version) {
  const fs::path staging = models / ".staging";
  fs::remove_all(staging);
  fs::copy(pythonBundles() / "attack", staging, fs::copy_options::recursive);
  auto j = model::test::readJson(staging / "bundle.json");
  j["version"] = version;
  model::test::writeJson(staging / "bundle.json", j);
  fs::remove_all(models / "attack");
  fs::rename(staging, models / "attack");  // into place at once
}

std::string servingVersion(const ModelRegistry& r) {
  return r.current()->attack->version();
}

struct Count final : ScoredSink {
  std::atomic<std::uint64_t> n{0};
  void onScored(ScoredRecord&&) override { n.fetch_add(1); }
};

TEST(ModelReloader, SwapsAValidBundleAndRefusesABrokenOneUnderLoad) {
  TempDir dir;
  installAttack(dir.path(), "1");
  ModelRegistry registry;
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  ModelReloader reloader(dir.path(), registry, [&](const std::string& error, const ModelSet*) {
    std::lock_guard lock(errors_mutex);
    if (!error.empty()) errors.push_back(error);
  });
  ASSERT_TRUE(reloader.reload());
  EXPECT_EQ(servingVersion(registry), "1");

  // A pool scoring all the while.
  Count sink;
  PoolConfig cfg;
  cfg.workers = 2;
  cfg.block_when_full = true;
  InferencePool pool(cfg, registry, sink);
  std::atomic<bool> feeding{true};
  const auto rows = model::test::readCheck(pythonBundles() / "attack").rows;
  std::thread feeder([&] {
    features::FlowRecord r;
    for (std::size_t i = 0; feeding.load(); ++i) {
      r.features = rows[i % rows.size()];
      pool.onRecord(r);
      if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });

  reloader.watch(std::chrono::milliseconds(50));
  installAttack(dir.path(), "2");
  // The count comes last (reloader.cpp): once it says 2, version 2 serves.
  EXPECT_TRUE(waitFor([&] { return reloader.stats().succeeded.load() == 2; }));
  EXPECT_EQ(servingVersion(registry), "2");

  // A bundle whose recorded outputs its model does not reproduce.
  {
    auto j = model::test::readJson(dir.path() / "attack" / "bundle.json");
    j["version"] = "3-broken";
    j["samples"][0]["expected"][0] = 0.123456;
    model::test::writeJson(dir.path() / "attack" / "bundle.json", j);
  }
  EXPECT_TRUE(waitFor([&] { return reloader.stats().failed.load() == 1; }));
  EXPECT_EQ(servingVersion(registry), "2");  // the old one keeps serving
  {
    std::lock_guard lock(errors_mutex);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("attack"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("sample"), std::string::npos) << errors[0];
  }

  feeding = false;
  feeder.join();
  pool.drain();
  reloader.stop();
  EXPECT_GT(sink.n.load(), 0u);
  EXPECT_EQ(sink.n.load(), pool.stats().submitted.load());
}

TEST(ModelReloader, AnEmptyDirectoryIsRefused) {
  TempDir dir;
  ModelRegistry registry;
  std::string error;
  ModelReloader reloader(dir.path(), registry,
                         [&](const std::string& e, const ModelSet*) { error = e; });
  EXPECT_FALSE(reloader.reload());
  EXPECT_EQ(registry.current(), nullptr);
  EXPECT_NE(error.find(dir.path().string()), std::string::npos) << error;
}

}  // namespace
}  // namespace edgesense::inference
