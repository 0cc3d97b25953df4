#pragma once

/// The labelled training capture behind `edgesense-pcapgen labelled`: minutes of a small
/// site's edge link (a LAN of clients, a DMZ of public servers, the Internet) carrying
/// mostly benign traffic, short-form video ("reel") sessions and attacks (scans, floods,
/// SSH brute force, slowloris), written as a pcap and a labels CSV. Each label row names
/// one activity, not one flow:
///
///   start,end,src,dst,dport,proto,category
///
/// start/end are epoch seconds with microseconds; src and dst an address, a CIDR or `*`;
/// dport a port or `*`; proto `tcp`, `udp`, `icmp` or `*`; category one of kCategoryNames.
/// A flow takes the category of the first row whose window overlaps it and whose fields
/// match its initiator -> responder direction; flows matching no row are benign. Windows
/// are the activity's first and last packet, widened by a millisecond within the capture.
/// Deterministic from the options; runs on the calling thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "packet_sink.h"
#include "sample_capture.h"

namespace edgesense::testsupport {

enum class Category : uint8_t { kBenign, kReel, kScan, kDos, kBruteforce, kSlowDos };

inline constexpr const char* kCategoryNames[] = {"benign", "reel",       "scan",
                                                 "dos",    "bruteforce", "slowdos"};
inline constexpr const char* kLabelsCsvHeader = "start,end,src,dst,dport,proto,category";

inline const char* categoryName(Category c) {
  return kCategoryNames[static_cast<size_t>(c)];
}

enum class LabelProto : uint8_t { kAny, kTcp, kUdp, kIcmp };

struct LabelRow {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::string src = "*";  // initiator: an address, a CIDR or "*"
  std::string dst = "*";  // responder
  int dport = -1;         // responder port; -1 = any
  LabelProto proto = LabelProto::kAny;
  Category category = Category::kBenign;
};

/// One CSV line for `row`, without the newline.
std::string formatLabelRow(const LabelRow& row);

struct LabelledOptions {
  uint64_t seed = 1;
  int64_t start_ns = kDefaultBaseTimeNs;
  int64_t duration_ns = 600 * kNsPerSec;  // activities start and mostly end within this
  uint32_t snaplen = 128;
};

struct LabelledSummary {
  CaptureSummary capture;
  std::vector<LabelRow> rows;  // as written, in time order
};

/// Writes the capture to `pcap_path` and its labels to `labels_path`; throws
/// std::runtime_error when a file cannot be written.
LabelledSummary writeLabelledCapture(const std::filesystem::path& pcap_path,
                                     const std::filesystem::path& labels_path,
                                     const LabelledOptions& options);

}  // namespace edgesense::testsupport
