// Inference: between the capture thread and the output thread. Workers pull
// batches from a bounded lock-free queue (inference/bounded_queue.h), score them, and the
// output thread puts them back in submission order; submit admits at most
// max_in_flight records not yet through the sink, which bounds that reordering.

#include "inference/pool.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "inference/bounded_queue.h"

namespace edgesense::inference {

struct InferencePool::Impl {
  Impl(const PoolConfig& c, ModelRegistry& r, ScoredSink& s, PoolStats& st)
      : cfg(c),
        registry(r),
        sink(s),
        stats(st),
        in(c.queue_capacity),
        max_in_flight(std::max<std::uint64_t>(1, c.max_in_flight)) {}

  void worker(unsigned index);
  void output();

  PoolConfig cfg;
  ModelRegistry& registry;
  ScoredSink& sink;
  PoolStats& stats;
  BoundedQueue<ScoredRecord> in;  // capture thread -> workers
  // workers -> output thread: whole batches under one lock (per batch, not
  // per packet)
  std::mutex out_mutex;
  std::condition_variable out_ready;
  std::deque<ScoredRecord> out;
  ShadowStats shadow;
  std::uint64_t next_seq = 0;  // capture thread
  std::uint64_t max_in_flight;
  std::atomic<bool> closing{false};
  std::atomic<std::uint64_t> total{0};  // records submitted, known once closing
  std::vector<std::thread> workers;
  std::thread output_thread;
};

namespace {

void nameThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace

void InferencePool::Impl::worker(unsigned index) {
  nameThread("infer-" + std::to_string(index));
  std::vector<ScoredRecord> batch(cfg.batch_size);
  std::vector<ScoredRecord*> ptrs;
  ptrs.reserve(cfg.batch_size);
  ScoringScratch scratch;
  for (;;) {
    std::size_t n = in.popBulk(batch.data(), cfg.batch_size, cfg.max_wait);
    if (n == 0) {
      if (closing.load(std::memory_order_acquire) && in.sizeApprox() == 0) return;
      continue;
    }
    // Fill the batch with whatever else arrives within max_wait.
    const auto deadline = std::chrono::steady_clock::now() + cfg.max_wait;
    while (n < cfg.batch_size && !closing.load(std::memory_order_relaxed)) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      const std::size_t got = in.popBulk(batch.data() + n, cfg.batch_size - n, left);
      if (got == 0) break;
      n += got;
    }
    if (closing.load(std::memory_order_relaxed) && n < cfg.batch_size) {
      n += in.popBulk(batch.data() + n, cfg.batch_size - n, std::chrono::microseconds(0));
    }
    // Every record of the batch is scored with the same models.
    std::shared_ptr<const ModelSet> models = registry.current();
    ptrs.clear();
    for (std::size_t i = 0; i < n; ++i) ptrs.push_back(&batch[i]);
    const auto t0 = std::chrono::steady_clock::now();
    if (models) scoreBatch(*models, cfg.scoring, ptrs, scratch, &shadow);
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
    stats.score_ns.fetch_add(static_cast<std::uint64_t>(ns.count()), std::memory_order_relaxed);
    stats.batches.fetch_add(1, std::memory_order_relaxed);
    stats.scored.fetch_add(n, std::memory_order_relaxed);
    if (cfg.on_batch) cfg.on_batch(n, std::chrono::duration<double>(ns).count());
    {
      std::lock_guard lock(out_mutex);
      for (std::size_t i = 0; i < n; ++i) {
        batch[i].models = models;
        out.push_back(std::move(batch[i]));
      }
    }
    out_ready.notify_one();
  }
}

void InferencePool::Impl::output() {
  nameThread("out");
  // Arrived before their turn; never more than max_in_flight - 1 (the one
  // missing record is in flight too).
  std::map<std::uint64_t, ScoredRecord> early;
  std::size_t peak = 0;
  std::uint64_t next = 0;
  std::deque<ScoredRecord> got;
  for (;;) {
    if (closing.load(std::memory_order_acquire) && next == total.load(std::memory_order_acquire))
      return;
    {
      std::unique_lock lock(out_mutex);
      out_ready.wait_for(lock, std::chrono::milliseconds(20), [this] { return !out.empty(); });
      got.swap(out);
    }
    // emitted moves record by record: the capture thread reads it to keep
    // at most max_in_flight records between submit and here.
    for (ScoredRecord& item : got) {
      if (item.seq != next) {
        early.emplace(item.seq, std::move(item));
        if (early.size() > peak) {
          peak = early.size();
          stats.reorder_peak.store(peak, std::memory_order_relaxed);
        }
        continue;
      }
      sink.onScored(std::move(item));
      stats.emitted.store(++next, std::memory_order_release);
      for (auto it = early.find(next); it != early.end(); it = early.find(next)) {
        sink.onScored(std::move(it->second));
        early.erase(it);
        stats.emitted.store(++next, std::memory_order_release);
      }
    }
    got.clear();
  }
}

InferencePool::InferencePool(const PoolConfig& cfg, ModelRegistry& models, ScoredSink& sink)
    : impl_(std::make_unique<Impl>(cfg, models, sink, stats_)) {
  for (unsigned i = 0; i < std::max(1u, cfg.workers); ++i) {
    impl_->workers.emplace_back([this, i] { impl_->worker(i); });
  }
  impl_->output_thread = std::thread([this] { impl_->output(); });
}

InferencePool::~InferencePool() {
  drain();
}

void InferencePool::onRecord(const features::FlowRecord& record) {
  Impl& p = *impl_;
  // next_seq is this thread's own; emitted only grows, so a record admitted
  // here keeps in-flight within the cap.
  while (p.next_seq - stats_.emitted.load(std::memory_order_acquire) >= p.max_in_flight) {
    if (!p.cfg.block_when_full) {
      stats_.in_flight_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::this_thread::yield();
  }
  ScoredRecord job;
  job.seq = p.next_seq;
  job.record = record;
  while (!p.in.tryPush(job)) {
    if (!p.cfg.block_when_full) {
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::this_thread::yield();
  }
  ++p.next_seq;
  stats_.submitted.fetch_add(1, std::memory_order_relaxed);
}

void InferencePool::drain() {
  Impl& p = *impl_;
  if (p.closing.load(std::memory_order_relaxed)) return;  // drained already
  p.total.store(p.next_seq, std::memory_order_release);   // before closing: see output()
  p.closing.store(true, std::memory_order_release);
  for (std::thread& t : p.workers) t.join();
  p.output_thread.join();
}

const ShadowStats& InferencePool::shadowStats() const noexcept {
  return impl_->shadow;
}

std::size_t InferencePool::workers() const noexcept {
  return impl_->workers.size();
}

std::size_t InferencePool::queueDepth() const noexcept {
  return impl_->in.sizeApprox();
}

}  // namespace edgesense::inference
