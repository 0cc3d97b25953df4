#pragma once
/// ModelReloader: replaces the serving models without stopping anything.
/// reload() (SIGHUP) or a change seen in the models directory loads and
/// validates a complete new ModelSet off the packet path, then publishes it
/// with one atomic store; a set that fails validation is refused, counted,
/// and the old one keeps serving. The set is the models directory plus any
/// shadow bundles named outside it (ModelSource), reloaded together. The
/// watcher thread ("models") polls a fingerprint of the directory and of the
/// named shadow directories (every file's path, size and mtime) and reloads
/// once a change has held still for one interval, so a copy in progress is
/// not read half-written.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "inference/model_set.h"

namespace edgesense::inference {

/// Counted after the set is published (or refused) and reported, so a
/// reader that sees a count sees everything that reload did.
struct ReloadStats {
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed{0};
};

class ModelReloader {
 public:
  /// Told of every reload's outcome (on the reloading thread): an empty
  /// message for success, else the reason the new models were refused.
  using Report = std::function<void(const std::string& error, const ModelSet* published)>;

  ModelReloader(std::filesystem::path dir, ModelRegistry& registry, Report report = {});
  ModelReloader(ModelSource source, ModelRegistry& registry, Report report = {});
  ~ModelReloader();
  ModelReloader(const ModelReloader&) = delete;
  ModelReloader& operator=(const ModelReloader&) = delete;

  /// Loads, validates and publishes the source now. True if published.
  bool reload();
  /// Starts watching the directory for changes.
  void watch(std::chrono::milliseconds interval);
  void stop();

  const ReloadStats& stats() const noexcept { return stats_; }

 private:
  std::string fingerprint() const;

  ModelSource source_;
  ModelRegistry& registry_;
  Report report_;
  ReloadStats stats_;
  std::mutex reload_mutex_;  // one reload at a time (watcher and SIGHUP)
  std::mutex wait_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace edgesense::inference
