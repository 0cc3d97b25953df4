#pragma once
/// ModelSet: the bundles that score flows, one per head (reel, attack,
/// anomaly), each optionally with a shadow bundle that is scored beside it
/// but raises nothing. ModelRegistry holds the current set; a reload builds
/// and validates a whole new set off the hot path and publishes it with one
/// atomic store, so a batch in flight finishes on the set it started with.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "features/flow_record.h"
#include "inference/verdict.h"
#include "model/bundle.h"

namespace edgesense::inference {

struct ModelSet {
  std::shared_ptr<const model::Bundle> reel;
  std::shared_ptr<const model::Bundle> attack;
  std::shared_ptr<const model::Bundle> anomaly;
  std::shared_ptr<const model::Bundle> shadow_reel;
  std::shared_ptr<const model::Bundle> shadow_attack;
  std::shared_ptr<const model::Bundle> shadow_anomaly;
  std::uint64_t generation = 0;

  bool empty() const noexcept { return !reel && !attack && !anomaly; }
};

/// Where a ModelSet is loaded from: the models directory, and per head an
/// optional shadow bundle directory named elsewhere (config
/// inference.shadow.HEAD). A named shadow wins over `dir/shadow/HEAD/`, and
/// must exist; empty: `dir/shadow/HEAD/` if it exists.
struct ModelSource {
  std::filesystem::path dir;
  std::filesystem::path shadow_reel;
  std::filesystem::path shadow_attack;
  std::filesystem::path shadow_anomaly;
};

/// Loads a models directory: `reel/`, `attack/` and `anomaly/` bundles (each
/// optional, at least one required) and shadow bundles under `shadow/<head>/`.
/// Throws model::BundleError naming the bundle that failed.
std::shared_ptr<ModelSet> loadModelSet(const std::filesystem::path& dir);
/// The same, with the named shadow bundles of `src` in place of
/// `src.dir/shadow/<head>/`. A named shadow bundle that is missing or bad
/// refuses the whole set (BundleError naming its directory).
std::shared_ptr<ModelSet> loadModelSet(const ModelSource& src);

/// A named shadow bundle that hides an existing `dir/shadow/<head>/`: the
/// daemon logs these once at start, the named one being the one loaded.
struct ShadowOverride {
  model::Task head;
  std::filesystem::path named;    // loaded
  std::filesystem::path ignored;  // dir/shadow/<head>/, not loaded
};
std::vector<ShadowOverride> shadowOverrides(const ModelSource& src);

/// Holds the current set. Workers take it once per batch; a publish swaps
/// it under a short lock (std::atomic<std::shared_ptr> would do too, but
/// libstdc++ 12's lock bit is invisible to ThreadSanitizer).
class ModelRegistry {
 public:
  std::shared_ptr<const ModelSet> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  /// Makes `set` current; returns its generation.
  std::uint64_t publish(std::shared_ptr<ModelSet> set);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ModelSet> current_;
  std::uint64_t generation_ = 0;
};

/// Which flows the reel head scores, and what makes an alert.
struct ScoringOptions {
  std::vector<std::uint8_t> reel_protocols{6, 17};  // TCP, UDP (QUIC)
  std::uint64_t reel_min_bytes = 20'000;
  std::uint64_t reel_min_packets = 10;
  // Decision thresholds that replace the bundles' own (config
  // inference.thresholds); attack applies to every non-benign class.
  std::optional<double> reel_threshold;
  std::optional<double> attack_threshold;
  std::optional<double> anomaly_threshold;
};

/// Shadow agreement counters, by head: [0] reel (is_reel), [1] attack (the
/// decided class), [2] anomaly (alert or not).
struct ShadowStats {
  std::atomic<std::uint64_t> compared[3]{};
  std::atomic<std::uint64_t> agreed[3]{};
};

/// Per-worker scratch space, reused from batch to batch.
struct ScoringScratch {
  std::vector<features::FeatureVector> rows;
  std::vector<std::size_t> row_of;  // batch index of each gathered row
  std::vector<float> out;
};

/// Scores a batch with every head of `models`, writing each record's
/// verdict. Called by the workers.
void scoreBatch(const ModelSet& models, const ScoringOptions& opts, std::span<ScoredRecord*> batch,
                ScoringScratch& scratch, ShadowStats* shadow);

}  // namespace edgesense::inference
