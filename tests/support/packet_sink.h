#pragma once

/// Where generated packets go: a PcapWriter, a per-flow RecordQueue, or a test's own
/// collector. Sessions hold a reference to their sink and never own it; the sink must
/// outlive them. Single-threaded: one thread appends to a sink.

#include <cstdint>
#include <span>

namespace edgesense::testsupport {

inline constexpr int64_t kNsPerUs = 1'000;
inline constexpr int64_t kNsPerMs = 1'000'000;
inline constexpr int64_t kNsPerSec = 1'000'000'000;

/// 2026-01-01T00:00:00Z, the default start of every generated capture.
inline constexpr int64_t kDefaultBaseTimeNs = 1'767'225'600LL * kNsPerSec;

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  /// One packet: `frame` holds the captured bytes (possibly fewer than on the wire),
  /// `orig_len` the frame length on the wire; 0 means "frame.size()".
  virtual void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) = 0;
};

}  // namespace edgesense::testsupport
