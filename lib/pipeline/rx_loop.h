#pragma once
/// RxLoop: one capture thread's whole per-packet path. It reads frames from a
/// PacketSource, decodes them, and drives the flow table and the feature
/// extractor, which hand each flow snapshot to a RecordSink. It owns the flow
/// table and host table (no sharing, no locks) and counts everything it
/// drops. run() is the thread body; stats are plain fields of this thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>

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
};

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

class RxLoop {
 public:
  RxLoop(const RxConfig& cfg, capture::PacketSource& source, features::RecordSink& sink);

  /// Reads until the source ends or stop is requested, then ends every flow
  /// (reason shutdown) so nothing read is left unreported.
  void run(std::stop_token stop);

  const RxStats& stats() const noexcept { return stats_; }
  const flow::FlowTableStats& flowStats() const noexcept { return table_.stats(); }
  const features::HostTableStats& hostStats() const noexcept { return hosts_.stats(); }
  std::uint32_t flowCapacity() const noexcept { return table_.capacity(); }
  /// Bytes of memory held per tracked flow: table slot, pool entry, hash slots.
  static std::size_t bytesPerFlow() noexcept;

 private:
  void pace(decode::TimeUs ts) noexcept;

  RxConfig cfg_;
  capture::PacketSource& source_;
  features::HostTable hosts_;
  features::FeatureExtractor extractor_;
  features::FeatureFlowTable table_;
  RxStats stats_;
  decode::TimeUs first_ts_ = -1;
  std::int64_t wall_start_ns_ = 0;
};

}  // namespace edgesense::pipeline
