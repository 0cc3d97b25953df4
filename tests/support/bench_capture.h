#pragma once

/// The benchmark capture behind `edgesense-pcapgen bench`: millions of packets from tens
/// of thousands of interleaved TCP and UDP flows with heavy-tailed sizes and a realistic
/// frame-size mix (many ACK-sized frames, many 1514-byte frames, some in between).
/// Deterministic from the seed; written through a large buffer on the calling thread.

#include <cstdint>
#include <filesystem>

#include "packet_sink.h"
#include "sample_capture.h"

namespace edgesense::testsupport {

struct BenchOptions {
  uint64_t seed = 1;
  uint64_t packets = 2'000'000;  // exactly this many records
  uint64_t flows = 100'000;      // flows started (about; all start before the end)
  int64_t start_ns = kDefaultBaseTimeNs;
  uint32_t snaplen = 128;
};

CaptureSummary writeBenchCapture(const std::filesystem::path& path, const BenchOptions& options);

}  // namespace edgesense::testsupport
