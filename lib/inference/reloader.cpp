// Inference: swapping in new models while flows keep being scored.

#include "inference/reloader.h"

#include <pthread.h>

#include <algorithm>
#include <system_error>
#include <vector>

namespace edgesense::inference {

ModelReloader::ModelReloader(std::filesystem::path dir, ModelRegistry& registry, Report report)
    : ModelReloader(ModelSource{.dir = std::move(dir)}, registry, std::move(report)) {}

ModelReloader::ModelReloader(ModelSource source, ModelRegistry& registry, Report report)
    : source_(std::move(source)), registry_(registry), report_(std::move(report)) {}

ModelReloader::~ModelReloader() {
  stop();
}

bool ModelReloader::reload() {
  std::lock_guard lock(reload_mutex_);
  std::shared_ptr<ModelSet> set;
  try {
    set = loadModelSet(source_);
  } catch (const std::exception& e) {
    if (report_) report_(e.what(), nullptr);
    stats_.failed.fetch_add(1, std::memory_order_release);
    return false;
  }
  // Counted last: a reader that sees the count sees the set published and
  // the report made.
  const ModelSet* published = set.get();
  registry_.publish(std::move(set));
  if (report_) report_({}, published);
  stats_.succeeded.fetch_add(1, std::memory_order_release);
  return true;
}

std::string ModelReloader::fingerprint() const {
  std::vector<std::string> entries;
  // A named shadow inside the models directory is listed twice; harmless,
  // as every look lists it twice.
  for (const std::filesystem::path* root :
       {&source_.dir, &source_.shadow_reel, &source_.shadow_attack, &source_.shadow_anomaly}) {
    if (root->empty()) continue;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(*root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const auto size = it->file_size(ec);
      const auto mtime = it->last_write_time(ec).time_since_epoch().count();
      entries.push_back(it->path().string() + ":" + std::to_string(size) + ":" +
                        std::to_string(mtime));
    }
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

void ModelReloader::watch(std::chrono::milliseconds interval) {
  stop();
  stopping_ = false;
  watcher_ = std::thread([this, interval] {
    pthread_setname_np(pthread_self(), "models");
    std::string served = fingerprint();  // what the current set was loaded from
    std::string last = served;
    std::unique_lock lock(wait_mutex_);
    while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      const std::string now = fingerprint();
      // Reload when the directory differs from what is served and has not
      // changed since the previous look.
      if (now != served && now == last) {
        reload();
        served = now;  // a refused set is not retried until it changes again
      }
      last = now;
      lock.lock();
    }
  });
}

void ModelReloader::stop() {
  {
    std::lock_guard lock(wait_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace edgesense::inference
