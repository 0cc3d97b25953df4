// Inference: between the capture thread and the output thread. Workers pull
// batches from a bounded lock-free queue (inference/bounded_queue.h), score them, and
// put each in its slot of the reorder ring; the output thread takes the ring's slots
// in submission order. Submit admits at most max_in_flight records not yet
// through the sink, so a record's slot (its sequence number modulo
// max_in_flight) is always free when a worker fills it: the ring is allocated
// once, and no record is allocated on its way.

#include "inference/pool.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
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
        max_in_flight(std::max<std::uint64_t>(1, c.max_in_flight)),
        ring(std::make_unique<Slot[]>(max_in_flight)) {}

  void worker(unsigned index);
  void output();

  PoolConfig cfg;
  ModelRegistry& registry;
  ScoredSink& sink;
  PoolStats& stats;
  BoundedQueue<ScoredRecord> in;  // capture thread -> workers
  ShadowStats shadow;
  std::uint64_t next_seq = 0;  // capture thread
  std::uint64_t max_in_flight;
  // workers -> output thread: the reorder ring, a slot per record in flight
  // (sequence number modulo max_in_flight). A worker fills a slot and sets
  // `ready`; the output thread empties slots in order and clears it. The
  // mutex only pairs with the condition variable a worker signals once per
  // batch.
  struct Slot {
    ScoredRecord item;
    std::atomic<bool> ready{false};
  };
  std::unique_ptr<Slot[]> ring;
  std::atomic<std::uint64_t> stored{0};  // records put in the ring, ever
  std::mutex out_mutex;
  std::condition_variable out_ready;
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
    for (std::size_t i = 0; i < n; ++i) {
      Slot& slot = ring[batch[i].seq % max_in_flight];
      slot.item = std::move(batch[i]);
      slot.item.models = models;
      slot.ready.store(true, std::memory_order_release);
    }
    // After the slots: output() counts what `stored` says is in the ring.
    stored.fetch_add(n, std::memory_order_release);
    { std::lock_guard lock(out_mutex); }  // output() is waiting, or sees `ready`
    out_ready.notify_one();
  }
}

void InferencePool::Impl::output() {
  nameThread("out");
  std::uint64_t peak = 0;
  std::uint64_t next = 0;
  for (;;) {
    // Read before `next`'s slot: if that is not ready, none of these records
    // is `next`, so all of them are held for order.
    const std::uint64_t in_ring = stored.load(std::memory_order_acquire);
    Slot& slot = ring[next % max_in_flight];
    if (slot.ready.load(std::memory_order_acquire)) {
      sink.onScored(std::move(slot.item));
      slot.item.models.reset();
      slot.ready.store(false, std::memory_order_relaxed);
      // Release: the capture thread admits the record that reuses this slot
      // only after reading the new count.
      stats.emitted.store(++next, std::memory_order_release);
      continue;
    }
    if (in_ring - next > peak) {
      peak = in_ring - next;
      stats.reorder_peak.store(peak, std::memory_order_relaxed);
    }
    if (closing.load(std::memory_order_acquire) && next == total.load(std::memory_order_acquire))
      return;
    std::unique_lock lock(out_mutex);
    out_ready.wait_for(lock, std::chrono::milliseconds(20),
                       [&slot] { return slot.ready.load(std::memory_order_acquire); });
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
