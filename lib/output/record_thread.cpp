// Output without models: flow records from the capture thread to the sinks
// (EVE flow lines, CSV rows) on a thread of their own.

#include "output/record_thread.h"

#include <pthread.h>

#include <chrono>
#include <vector>

namespace edgesense::output {

namespace {
constexpr std::size_t kBatch = 64;
}

RecordThread::RecordThread(features::RecordSink& inner, std::size_t capacity, bool block_when_full)
    : inner_(inner), block_when_full_(block_when_full), queue_(capacity) {
  thread_ = std::thread([this] { run(); });
}

RecordThread::~RecordThread() {
  finish();
}

void RecordThread::onRecord(const features::FlowRecord& record) {
  features::FlowRecord item = record;
  while (!queue_.tryPush(item)) {
    if (!block_when_full_) {
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::this_thread::yield();
  }
  stats_.queued.fetch_add(1, std::memory_order_relaxed);
}

void RecordThread::run() {
  pthread_setname_np(pthread_self(), "out");
  std::vector<features::FlowRecord> batch(kBatch);
  for (;;) {
    // Read closing before popping: once it is set, nothing more is pushed,
    // so an empty pop after it means the queue is drained.
    const bool closing = closing_.load(std::memory_order_acquire);
    const std::size_t n = queue_.popBulk(batch.data(), kBatch, std::chrono::milliseconds(20));
    for (std::size_t i = 0; i < n; ++i) inner_.onRecord(batch[i]);
    stats_.written.fetch_add(n, std::memory_order_relaxed);
    if (n == 0 && closing) return;
  }
}

void RecordThread::finish() {
  if (!thread_.joinable()) return;
  closing_.store(true, std::memory_order_release);
  thread_.join();
}

}  // namespace edgesense::output
