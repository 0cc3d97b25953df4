#pragma once

/// The golden capture cases: one small capture per decoder or flow-table corner case,
/// written by `edgesense-pcapgen cases DIR` and by tests. Output depends only on the base
/// time, so two runs give byte-identical files. The returned GoldenCase values are the
/// builder's exact truth, the same data as the <case>.expect.json files.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "packet_sink.h"
#include "sessions.h"

namespace edgesense::testsupport {

struct MalformedRecord {
  uint64_t index;      // 0-based record index in the file
  std::string defect;  // e.g. "ipv4_ihl_below_5"
};

struct GoldenCase {
  std::string name;
  std::string file;         // file name inside the output directory
  uint32_t link_type = 0;   // as written in the file header
  bool nanosecond = false;  // pcap nanosecond magic
  uint64_t records = 0;     // records a reader gets before the end or the first error
  bool readable = true;     // libpcap can open the file
  bool read_error = false;  // reading stops with an error (cut record, absurd caplen)
  bool well_formed = true;  // every readable record decodes cleanly in tshark
  bool has_expect = false;  // <name>.expect.json written: conversations are exact
  uint64_t time_jumps = 0;  // records stamped out of time order on purpose
  std::vector<Conversation> conversations;  // in order of first packet
  std::vector<MalformedRecord> malformed;
  std::string notes;
};

/// Names of all cases in the order they are written.
std::vector<std::string> goldenCaseNames();

/// Writes every case into `dir` (created if missing) and returns their truth.
std::vector<GoldenCase> writeGoldenCases(const std::filesystem::path& dir,
                                         int64_t base_ns = kDefaultBaseTimeNs);

/// The <case>.expect.json text: {"case", "file", "link_type", "records", "conversations":
/// [toJson(Conversation)...], "malformed": [...], "notes"}.
std::string toJson(const GoldenCase& c);

}  // namespace edgesense::testsupport
