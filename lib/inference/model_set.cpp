// Inference: loading a models directory into a ModelSet, and publishing it.

#include "inference/model_set.h"

#include <utility>

namespace edgesense::inference {

namespace {

std::shared_ptr<const model::Bundle> loadIf(const std::filesystem::path& dir, model::Task task) {
  if (!std::filesystem::exists(dir)) return nullptr;
  auto bundle = model::Bundle::load(dir);
  if (bundle->task() != task) {
    throw model::BundleError("bundle " + dir.string() + ": task is " +
                             std::string(model::taskName(bundle->task())) +
                             ", but the folder is for " + std::string(model::taskName(task)));
  }
  return bundle;
}

/// A shadow bundle named outside the models directory: it must be there.
std::shared_ptr<const model::Bundle> loadNamed(const std::filesystem::path& dir, model::Task task) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw model::BundleError(
        "shadow " + std::string(model::taskName(task)) + " bundle " + dir.string() + ": " +
        (std::filesystem::exists(dir, ec) ? "not a directory" : "no such directory"));
  }
  return loadIf(dir, task);
}

/// The named shadow if there is one, else dir/shadow/<head>/ if it exists.
std::shared_ptr<const model::Bundle> loadShadow(const std::filesystem::path& named,
                                                const std::filesystem::path& dir,
                                                model::Task task) {
  if (!named.empty()) return loadNamed(named, task);
  return loadIf(dir / "shadow" / model::taskName(task), task);
}

}  // namespace

std::shared_ptr<ModelSet> loadModelSet(const std::filesystem::path& dir) {
  return loadModelSet(ModelSource{.dir = dir});
}

std::shared_ptr<ModelSet> loadModelSet(const ModelSource& src) {
  const std::filesystem::path& dir = src.dir;
  if (!std::filesystem::is_directory(dir)) {
    throw model::BundleError("models directory " + dir.string() + ": not a directory");
  }
  auto set = std::make_shared<ModelSet>();
  set->reel = loadIf(dir / "reel", model::Task::kReel);
  set->attack = loadIf(dir / "attack", model::Task::kAttack);
  set->anomaly = loadIf(dir / "anomaly", model::Task::kAnomaly);
  set->shadow_reel = loadShadow(src.shadow_reel, dir, model::Task::kReel);
  set->shadow_attack = loadShadow(src.shadow_attack, dir, model::Task::kAttack);
  set->shadow_anomaly = loadShadow(src.shadow_anomaly, dir, model::Task::kAnomaly);
  if (set->empty()) {
    throw model::BundleError("models directory " + dir.string() +
                             ": no bundle in reel/, attack/ or anomaly/");
  }
  return set;
}

std::vector<ShadowOverride> shadowOverrides(const ModelSource& src) {
  std::vector<ShadowOverride> out;
  const std::pair<const std::filesystem::path*, model::Task> heads[] = {
      {&src.shadow_reel, model::Task::kReel},
      {&src.shadow_attack, model::Task::kAttack},
      {&src.shadow_anomaly, model::Task::kAnomaly},
  };
  for (const auto& [named, task] : heads) {
    if (named->empty()) continue;
    const std::filesystem::path inside = src.dir / "shadow" / model::taskName(task);
    std::error_code ec;
    if (!std::filesystem::exists(inside, ec)) continue;
    if (std::filesystem::equivalent(inside, *named, ec)) continue;  // the same bundle, named
    out.push_back({task, *named, inside});
  }
  return out;
}

std::uint64_t ModelRegistry::publish(std::shared_ptr<ModelSet> set) {
  std::shared_ptr<const ModelSet> old;  // released outside the lock
  std::lock_guard lock(mutex_);
  set->generation = ++generation_;
  const std::uint64_t g = set->generation;
  old = std::exchange(current_, std::move(set));
  return g;
}

}  // namespace edgesense::inference
