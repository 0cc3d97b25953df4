#pragma once
/// InferencePool: the stage between capture and output. The capture thread
/// hands each flow snapshot to submit() (it is the pool's RecordSink); N
/// worker threads ("infer-N") take batches of up to batch_size records, or
/// what arrived within max_wait, score them with the current ModelSet, and
/// pass them to one output thread ("out"), which restores submission order
/// and hands them to the ScoredSink. So results do not depend on the number
/// of workers.
///
/// A full queue drops the record and counts it: live capture never waits
/// for inference. Replay sets block_when_full instead, so no record is lost
/// and outputs are identical run after run.
///
/// At most max_in_flight records are between submit() and the sink at once
/// (queued, being scored, or waiting in the output thread's reorder buffer
/// behind an earlier one). A record over that cap is treated as one that
/// meets a full queue: dropped and counted (in_flight_dropped), or, with
/// block_when_full, waited for. So the reorder buffer is bounded, and what
/// is emitted stays in submission order.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "features/flow_record.h"
#include "inference/model_set.h"
#include "inference/verdict.h"

namespace edgesense::inference {

struct PoolConfig {
  unsigned workers = 2;
  std::size_t batch_size = 64;
  std::chrono::microseconds max_wait{50'000};
  std::size_t queue_capacity = 16384;
  /// Records submitted but not yet through the sink; at least 1.
  std::size_t max_in_flight = 32768;
  bool block_when_full = false;
  ScoringOptions scoring;
  /// Told of every scored batch (rows, seconds spent scoring it), by the
  /// worker that scored it: once per batch, never per record. Optional;
  /// must be safe to call from several workers at once (metrics::Metrics::
  /// observeBatch is).
  std::function<void(std::size_t rows, double seconds)> on_batch;
};

/// Receives scored records on the output thread, in submission order.
class ScoredSink {
 public:
  virtual ~ScoredSink() = default;
  virtual void onScored(ScoredRecord&& scored) = 0;
};

/// Counters; written by the thread named, read from anywhere.
struct PoolStats {
  std::atomic<std::uint64_t> submitted{0};          // capture thread
  std::atomic<std::uint64_t> dropped{0};            // capture thread: queue full
  std::atomic<std::uint64_t> in_flight_dropped{0};  // capture thread: max_in_flight reached
  std::atomic<std::uint64_t> scored{0};             // workers
  std::atomic<std::uint64_t> batches{0};            // workers
  std::atomic<std::uint64_t> emitted{0};            // output thread: records through the sink
  std::atomic<std::uint64_t> reorder_peak{0};       // output thread: most records held for order
  std::atomic<std::uint64_t> score_ns{0};           // workers: time spent scoring
};

class InferencePool final : public features::RecordSink {
 public:
  InferencePool(const PoolConfig& cfg, ModelRegistry& models, ScoredSink& sink);
  ~InferencePool() override;
  InferencePool(const InferencePool&) = delete;
  InferencePool& operator=(const InferencePool&) = delete;

  /// Capture thread: queues the record, or drops and counts it (queue full
  /// or max_in_flight reached); with block_when_full, waits instead.
  void onRecord(const features::FlowRecord& record) override;

  /// Waits until every submitted record has reached the sink, then stops the
  /// threads. Called once, by the thread that owns the pool, after capture
  /// has stopped.
  void drain();

  const PoolStats& stats() const noexcept { return stats_; }
  std::size_t queueDepth() const noexcept;
  std::size_t workers() const noexcept;
  /// Agreement of shadow bundles with the live ones, per head.
  const ShadowStats& shadowStats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  PoolStats stats_;
};

}  // namespace edgesense::inference
