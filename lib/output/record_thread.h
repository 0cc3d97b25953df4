#pragma once
/// RecordThread: a RecordSink that hands flow records to its own thread
/// ("out"), which passes them, in order, to the sink it wraps (EVE flow
/// lines, CSV rows). Without models, formatting and writing EVE was the
/// capture thread's largest cost; on a second core it runs beside capture.
///
/// The capture thread calls onRecord(); the queue between them is bounded
/// and allocated once. A full queue drops the record and counts it (live
/// capture never waits for output), or, with block_when_full (replay),
/// waits for room, so no record is lost. finish() is called once, by the
/// owner, after capture has stopped: it waits until every queued record has
/// reached the inner sink, then joins the thread. The inner sink is touched
/// only by the record thread until finish() returns.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "features/flow_record.h"
#include "inference/bounded_queue.h"

namespace edgesense::output {

struct RecordThreadStats {
  std::atomic<std::uint64_t> queued{0};   // capture thread
  std::atomic<std::uint64_t> dropped{0};  // capture thread: queue full
  std::atomic<std::uint64_t> written{0};  // record thread: handed to the inner sink
};

class RecordThread final : public features::RecordSink {
 public:
  RecordThread(features::RecordSink& inner, std::size_t capacity, bool block_when_full);
  ~RecordThread() override;
  RecordThread(const RecordThread&) = delete;
  RecordThread& operator=(const RecordThread&) = delete;

  /// Capture thread.
  void onRecord(const features::FlowRecord& record) override;
  /// Owner, once capture has stopped: drains the queue and joins the thread.
  void finish();

  const RecordThreadStats& stats() const noexcept { return stats_; }

 private:
  void run();

  features::RecordSink& inner_;
  bool block_when_full_;
  inference::BoundedQueue<features::FlowRecord> queue_;
  std::atomic<bool> closing_{false};
  RecordThreadStats stats_;
  std::thread thread_;
};

}  // namespace edgesense::output
