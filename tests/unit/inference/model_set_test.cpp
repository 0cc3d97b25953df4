// inference: loading a ModelSet whose shadow bundles are named outside the
// models directory (config inference.shadow.HEAD) — they win over
// models_dir/shadow/HEAD/, are scored and compared like it, must exist, and
// are reloaded (and refused) with the set.

#include "inference/model_set.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "../model/test_bundles.h"
#include "inference/reloader.h"

namespace edgesense::inference {
namespace {

namespace fs = std::filesystem;
using model::test::pythonBundles;
using model::test::TempDir;
using model::test::waitFor;

/// Copies the fixture's `head` bundle to `to` with another version.
void installBundle(const std::string& head, const fs::path& to, const std::string& version) {
  const fs::path staging = to.parent_path() / (".staging-" + to.filename().string());
  fs::remove_all(staging);
  fs::create_directories(to.parent_path());
  fs::copy(pythonBundles() / head, staging, fs::copy_options::recursive);
  auto j = model::test::readJson(staging / "bundle.json");
  j["version"] = version;
  model::test::writeJson(staging / "bundle.json", j);
  fs::remove_all(to);
  fs::rename(staging, to);
}

/// Breaks a bundle: its recorded sample output no longer matches its model.
void breakBundle(const fs::path& dir) {
  auto j = model::test::readJson(dir / "bundle.json");
  j["version"] = "broken";
  j["samples"][0]["expected"][0] = 0.123456;
  model::test::writeJson(dir / "bundle.json", j);
}

TEST(ModelSet, ANamedShadowWinsOverTheDirectorysOwnAndIsCompared) {
  TempDir tmp;
  const fs::path models = tmp.path() / "models";
  installBundle("attack", models / "attack", "live");
  installBundle("attack", models / "shadow" / "attack", "inside");
  installBundle("attack", tmp.path() / "candidate", "named");

  // Without a name, the directory's own shadow.
  const auto plain = loadModelSet(models);
  ASSERT_TRUE(plain->shadow_attack);
  EXPECT_EQ(plain->shadow_attack->version(), "inside");
  EXPECT_TRUE(shadowOverrides(ModelSource{.dir = models}).empty());

  const ModelSource src{.dir = models, .shadow_attack = tmp.path() / "candidate"};
  const auto set = loadModelSet(src);
  ASSERT_TRUE(set->attack && set->shadow_attack);
  EXPECT_EQ(set->attack->version(), "live");
  EXPECT_EQ(set->shadow_attack->version(), "named");
  EXPECT_FALSE(set->shadow_reel);
  EXPECT_FALSE(set->shadow_anomaly);

  const auto overrides = shadowOverrides(src);
  ASSERT_EQ(overrides.size(), 1u);
  EXPECT_EQ(overrides[0].head, model::Task::kAttack);
  EXPECT_EQ(overrides[0].named, tmp.path() / "candidate");
  EXPECT_EQ(overrides[0].ignored, models / "shadow" / "attack");
  // Naming the directory's own shadow is no override.
  EXPECT_TRUE(
      shadowOverrides(ModelSource{.dir = models, .shadow_attack = models / "shadow" / "attack"})
          .empty());

  // Scored beside the live bundle: the same model agrees on every row.
  const auto rows = model::test::readCheck(pythonBundles() / "attack").rows;
  std::vector<ScoredRecord> records(rows.size());
  std::vector<ScoredRecord*> batch;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    records[i].record.features = rows[i];
    batch.push_back(&records[i]);
  }
  ScoringScratch scratch;
  ShadowStats stats;
  scoreBatch(*set, ScoringOptions{}, batch, scratch, &stats);
  EXPECT_EQ(stats.compared[1].load(), rows.size());
  EXPECT_EQ(stats.agreed[1].load(), rows.size());
  EXPECT_EQ(stats.compared[0].load(), 0u);
  EXPECT_EQ(stats.compared[2].load(), 0u);
}

TEST(ModelSet, ANamedShadowThatIsMissingOrWrongRefusesTheSet) {
  TempDir tmp;
  const fs::path models = tmp.path() / "models";
  installBundle("attack", models / "attack", "live");

  const fs::path missing = tmp.path() / "no-such-shadow";
  try {
    loadModelSet(ModelSource{.dir = models, .shadow_attack = missing});
    FAIL() << "a missing named shadow was accepted";
  } catch (const model::BundleError& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }

  // An attack bundle named as the reel head's shadow.
  installBundle("attack", tmp.path() / "wrong", "1");
  try {
    loadModelSet(ModelSource{.dir = models, .shadow_reel = tmp.path() / "wrong"});
    FAIL() << "a shadow of the wrong task was accepted";
  } catch (const model::BundleError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((tmp.path() / "wrong").string()), std::string::npos) << what;
    EXPECT_NE(what.find("reel"), std::string::npos) << what;
  }

  // A broken one, even with a good models_dir/shadow/attack/ beside it.
  installBundle("attack", models / "shadow" / "attack", "inside");
  installBundle("attack", tmp.path() / "broken", "1");
  breakBundle(tmp.path() / "broken");
  try {
    loadModelSet(ModelSource{.dir = models, .shadow_attack = tmp.path() / "broken"});
    FAIL() << "a broken named shadow was accepted";
  } catch (const model::BundleError& e) {
    EXPECT_NE(std::string(e.what()).find((tmp.path() / "broken").string()), std::string::npos)
        << e.what();
  }
}

TEST(ModelSet, ANamedShadowIsReloadedWithTheSetAndABrokenOneIsRefused) {
  TempDir tmp;
  const fs::path models = tmp.path() / "models";
  const fs::path candidate = tmp.path() / "candidate";  // outside the models directory
  installBundle("attack", models / "attack", "live");
  installBundle("attack", candidate, "1");
  ModelRegistry registry;
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  ModelReloader reloader(ModelSource{.dir = models, .shadow_attack = candidate}, registry,
                         [&](const std::string& error, const ModelSet*) {
                           std::lock_guard lock(errors_mutex);
                           if (!error.empty()) errors.push_back(error);
                         });
  ASSERT_TRUE(reloader.reload());
  EXPECT_EQ(registry.current()->shadow_attack->version(), "1");

  // The watcher sees a change in the named directory, not only in models/.
  reloader.watch(std::chrono::milliseconds(50));
  installBundle("attack", candidate, "2");
  EXPECT_TRUE(waitFor([&] { return reloader.stats().succeeded.load() == 2; }));
  EXPECT_EQ(registry.current()->shadow_attack->version(), "2");

  // A broken shadow refuses the whole set; the old one keeps serving.
  breakBundle(candidate);
  EXPECT_TRUE(waitFor([&] { return reloader.stats().failed.load() == 1; }));
  reloader.stop();
  EXPECT_EQ(registry.current()->shadow_attack->version(), "2");
  EXPECT_EQ(registry.current()->attack->version(), "live");
  std::lock_guard lock(errors_mutex);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(candidate.string()), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace edgesense::inference
