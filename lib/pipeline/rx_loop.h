#pragma once
/// RxLoop: one capture thread's whole per-packet path. It reads frames from a
/// PacketSource, decodes them, and drives the flow table and the feature
/// extractor, which hand each flow snapshot to a RecordSink. It owns the flow
/// table and host table (no sharing, no locks) and counts everything it
/// drops. run() is the thread body; stats are plain fields of this thread.
///
/// Other threads (the metrics scraper, the watchdog) read only what the loop
/// publishes: a copy of its counters every few thousand packets, every
/// 250 ms of wall time and on every read timeout (published(), under a mutex
/// taken once per publication), and a heartbeat bumped on every turn of the
/// loop, a quiet one included.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "capture/packet_source.h"
#include "decode/decode.h"
#include "features/extractor.h"
#include "features/host_table.h"
#include "flow/flow_table.h"

namespace edgesense::pipeline {

struct RxConfig {
  flow::FlowConfig flows;
  features::FeatureParams features;
  features::HostTableConfig hosts;
  double speed = 0;  // replay pacing: 0 = as fast as possible, 1 = real time
  /// Live capture: the wall clock in packet-time units (microseconds since
  /// the epoch, as the kernel stamps packets). On a read timeout the flow
  /// table advances to it, so idle flows end on a silent link. Empty (replay):
  /// time moves with packets only.
  std::function<decode::TimeUs()> wall_clock;
  std::uint64_t publish_every_packets = 4096;
  std::chrono::milliseconds publish_interval{250};
};

/// The wall clock as packet time: CLOCK_REALTIME in microseconds.
decode::TimeUs realtimeMicros() noexcept;

struct RxStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;  // wire bytes of every frame read
  decode::DecodeErrorCounts decode_errors{};

  /// Frames counted under a malformed reason, or under a skipped one.
  std::uint64_t errors(bool malformed) const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i) {
      if (decode::isMalformed(static_cast<decode::DecodeError>(i)) == malformed)
        n += decode_errors[i];
    }
    return n;
  }
  std::uint64_t decoded() const noexcept { return packets - errors(true) - errors(false); }
};

/// One capture thread's counters as of its last publication.
struct RxSnapshot {
  RxStats rx;
  flow::FlowTableStats flows;
  features::HostTableStats hosts;
  capture::SourceStats source;  // kernel and interface drops from pcap_stats
  std::uint64_t publications = 0;
};

class RxLoop {
 public:
  RxLoop(const RxConfig& cfg, capture::PacketSource& source, features::RecordSink& sink);

  /// Reads until the source ends or stop is requested, then ends every flow
  /// (reason shutdown) so nothing read is left unreported. A stop request
  /// is seen at the next turn: pair it with PacketSource::breakLoop() to cut
  /// a blocked read short.
  void run(std::stop_token stop);

  /// Any thread: the counters as last published.
  RxSnapshot published() const;
  /// Any thread: bumped on every turn of the loop; 0 until run() starts.
  std::uint64_t heartbeat() const noexcept { return heartbeat_.load(std::memory_order_relaxed); }
  /// After run() has returned: why the source stopped early, if it failed
  /// ("interface eth0: ..."); empty when it ended or was stopped.
  const std::string& error() const noexcept { return error_; }

  const RxStats& stats() const noexcept { return stats_; }
  const flow::FlowTableStats& flowStats() const noexcept { return table_.stats(); }
  const features::HostTableStats& hostStats() const noexcept { return hosts_.stats(); }
  std::uint32_t flowCapacity() const noexcept { return table_.capacity(); }
  /// Bytes of memory held per tracked flow: table slot, pool entry, hash slots.
  static std::size_t bytesPerFlow() noexcept;

 private:
  void pace(decode::TimeUs ts) noexcept;
  void publish() noexcept;
  void maybePublish() noexcept;

  RxConfig cfg_;
  capture::PacketSource& source_;
  features::HostTable hosts_;
  features::FeatureExtractor extractor_;
  features::FeatureFlowTable table_;
  RxStats stats_;
  decode::TimeUs first_ts_ = -1;
  std::int64_t wall_start_ns_ = 0;

  std::atomic<std::uint64_t> heartbeat_{0};
  std::uint64_t turns_ = 0;
  static constexpr int kCheckEvery = 64;
  int until_check_ = kCheckEvery;
  std::uint64_t packets_at_publish_ = 0;
  std::chrono::steady_clock::time_point last_publish_{};
  mutable std::mutex published_mutex_;
  RxSnapshot published_;
  std::string error_;
};

}  // namespace edgesense::pipeline
