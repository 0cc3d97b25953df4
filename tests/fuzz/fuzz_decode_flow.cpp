// libFuzzer target: an arbitrary byte string read as a capture file (through
// libpcap, as replay reads files), every frame decoded and fed to a small
// flow table with the feature extractor, and every record formatted as EVE
// and CSV. Any crash, hang, or sanitizer report is a bug; crashers found
// become files in tests/fuzz/regressions/.

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "decode/decode.h"
#include "features/extractor.h"
#include "output/csv.h"
#include "output/eve.h"

namespace {

using namespace edgesense;

struct FormatSink final : features::RecordSink {
  std::string line;
  std::uint64_t total_packets = 0;
  void onRecord(const features::FlowRecord& r) override {
    line.clear();
    output::appendFlowEvent(line, r, output::EveOptions{});
    output::appendCsvRow(line, r);
    if (r.isFinal()) total_packets += r.pkts[0] + r.pkts[1];
  }
};

bool toLink(int dlt, decode::LinkType& out) {
  switch (dlt) {
    case DLT_NULL:
      out = decode::LinkType::kNull;
      return true;
    case DLT_EN10MB:
      out = decode::LinkType::kEthernet;
      return true;
    case DLT_RAW:
      out = decode::LinkType::kRaw;
      return true;
    case DLT_LOOP:
      out = decode::LinkType::kLoop;
      return true;
    case DLT_LINUX_SLL:
      out = decode::LinkType::kLinuxSll;
      return true;
    case DLT_LINUX_SLL2:
      out = decode::LinkType::kLinuxSll2;
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FILE* fp = fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
  if (fp == nullptr) return 0;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline(fp, err);
  if (p == nullptr) {
    std::fclose(fp);
    return 0;
  }
  decode::LinkType link = decode::LinkType::kEthernet;
  if (!toLink(pcap_datalink(p), link)) link = static_cast<decode::LinkType>(pcap_datalink(p));

  flow::FlowConfig fc;
  fc.max_flows = 8;  // small, so eviction runs too
  fc.fragment_slots = 16;
  fc.active_timeout_us = 1'000'000;
  features::HostTableConfig hc;
  hc.max_hosts = 4;
  features::FeatureFlowTable table(fc);
  features::HostTable hosts(hc);
  FormatSink sink;
  features::FeatureExtractor extractor(features::FeatureParams{}, hosts, sink);

  std::uint64_t decoded = 0;
  pcap_pkthdr* hdr = nullptr;
  const u_char* bytes = nullptr;
  while (pcap_next_ex(p, &hdr, &bytes) == 1) {
    decode::Frame f{bytes, hdr->caplen, hdr->len,
                    static_cast<decode::TimeUs>(hdr->ts.tv_sec) * 1'000'000 + hdr->ts.tv_usec,
                    link};
    decode::Packet pkt;
    if (decode::decode(f, pkt) == decode::DecodeError::kNone) {
      table.process(pkt, extractor);
      ++decoded;
    }
  }
  table.flushAll(extractor);
  pcap_close(p);
  // Every decoded packet is in exactly one flow record, or was an
  // unattributed later fragment.
  if (sink.total_packets + table.stats().fragments_unattributed != decoded) __builtin_trap();
  return 0;
}
