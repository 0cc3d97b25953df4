// `edgesense-pcapgen labelled`: lays benign traffic, reel sessions and attacks of a small
// site on one timeline, plays them through the Interleaver into a pcap, then writes one
// label row per activity with the window its packets actually took.

#include "labelled_capture.h"

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "flow_scripts.h"
#include "labelled_world.h"
#include "pcap_writer.h"

namespace edgesense::testsupport {

namespace {

const char* protoName(LabelProto p) {
  switch (p) {
    case LabelProto::kTcp:
      return "tcp";
    case LabelProto::kUdp:
      return "udp";
    case LabelProto::kIcmp:
      return "icmp";
    case LabelProto::kAny:
      break;
  }
  return "*";
}

std::string epochSeconds(int64_t ts_ns) {
  char buf[40];
  const int64_t us = ts_ns / kNsPerUs;
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%06" PRId64, us / 1'000'000, us % 1'000'000);
  return buf;
}

void writeLabels(const std::filesystem::path& path, const std::vector<LabelRow>& rows) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"),
                                                       &std::fclose);
  if (!file) throw std::runtime_error("cannot write " + path.string());
  std::string text = kLabelsCsvHeader;
  text += '\n';
  for (const LabelRow& row : rows) {
    text += formatLabelRow(row);
    text += '\n';
  }
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size() ||
      std::fclose(file.release()) != 0) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

}  // namespace

std::string formatLabelRow(const LabelRow& row) {
  std::string line = epochSeconds(row.start_ns);
  line += ',';
  line += epochSeconds(row.end_ns);
  line += ',';
  line += row.src;
  line += ',';
  line += row.dst;
  line += ',';
  line += row.dport < 0 ? "*" : std::to_string(row.dport);
  line += ',';
  line += protoName(row.proto);
  line += ',';
  line += categoryName(row.category);
  return line;
}

LabelledSummary writeLabelledCapture(const std::filesystem::path& pcap_path,
                                     const std::filesystem::path& labels_path,
                                     const LabelledOptions& options) {
  PcapWriterOptions writer_options;
  writer_options.snaplen = options.snaplen;
  PcapWriter writer(pcap_path, writer_options);
  CountingSink counter(writer);
  Interleaver mix(counter);
  labelled::World world(options, mix);
  labelled::addBenignTraffic(world);
  labelled::addReelSessions(world);
  labelled::addAttacks(world);
  mix.run();
  writer.close();

  LabelledSummary s;
  s.capture = summarize(counter, writer, mix.flowsStarted());
  s.rows = world.rows(counter.firstNs(), counter.lastNs());
  writeLabels(labels_path, s.rows);
  return s;
}

}  // namespace edgesense::testsupport
