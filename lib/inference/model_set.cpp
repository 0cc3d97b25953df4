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

}  // namespace

std::shared_ptr<ModelSet> loadModelSet(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw model::BundleError("models directory " + dir.string() + ": not a directory");
  }
  auto set = std::make_shared<ModelSet>();
  set->reel = loadIf(dir / "reel", model::Task::kReel);
  set->attack = loadIf(dir / "attack", model::Task::kAttack);
  set->anomaly = loadIf(dir / "anomaly", model::Task::kAnomaly);
  set->shadow_reel = loadIf(dir / "shadow" / "reel", model::Task::kReel);
  set->shadow_attack = loadIf(dir / "shadow" / "attack", model::Task::kAttack);
  set->shadow_anomaly = loadIf(dir / "shadow" / "anomaly", model::Task::kAnomaly);
  if (set->empty()) {
    throw model::BundleError("models directory " + dir.string() +
                             ": no bundle in reel/, attack/ or anomaly/");
  }
  return set;
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
