#pragma once

/// The demo capture behind `edgesense-pcapgen sample`: a few minutes of a small network
/// (a handful of IPv4 and IPv6 clients, several servers) with HTTPS browsing, DNS, ping,
/// one long bulk download, short-form video ("reels") sessions, a SYN port scan and some
/// unanswered SYNs. Deterministic from the seed and start time. Runs on the calling thread.

#include <cstdint>
#include <filesystem>

#include "flow_scripts.h"
#include "packet_sink.h"
#include "pcap_writer.h"

namespace edgesense::testsupport {

struct SampleOptions {
  uint64_t seed = 1;
  int64_t start_ns = kDefaultBaseTimeNs;
  int64_t duration_ns = 240 * kNsPerSec;  // flows start within this window
  uint32_t snaplen = 128;
};

struct CaptureSummary {
  uint64_t packets = 0;
  uint64_t flows = 0;       // flows (scripts) that produced packets
  uint64_t wire_bytes = 0;  // sum of orig_len
  uint64_t file_bytes = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

/// The summary of a capture written through `counter` into `writer`.
CaptureSummary summarize(const CountingSink& counter, const PcapWriter& writer, uint64_t flows);

CaptureSummary writeSampleCapture(const std::filesystem::path& path, const SampleOptions& options);

}  // namespace edgesense::testsupport
