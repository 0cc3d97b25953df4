// libFuzzer target: an arbitrary byte string read as a capture file through
// the same path as `edgesense replay`: capture (libpcap) -> decode -> flow
// table -> features, with every record formatted as EVE and CSV. Tables are
// tiny so eviction and host eviction run too. Any crash, hang or sanitizer
// report is a bug; inputs that found one go in tests/fuzz/regressions/.

#include <cstdint>
#include <stop_token>
#include <string>

#include "capture/packet_source.h"
#include "output/csv.h"
#include "output/eve.h"
#include "pipeline/rx_loop.h"

namespace {

using namespace edgesense;

struct FormatSink final : features::RecordSink {
  std::string line;
  std::uint64_t final_packets = 0;
  void onRecord(const features::FlowRecord& r) override {
    line.clear();
    output::appendFlowEvent(line, r, output::EveOptions{});
    output::appendCsvRow(line, r);
    if (r.isFinal()) final_packets += r.pkts[0] + r.pkts[1];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::unique_ptr<capture::PacketSource> source;
  try {
    source = capture::openMemory({data, size}, "fuzz-input");
  } catch (const capture::CaptureError&) {
    return 0;  // refused at open: the one clear error replay prints
  }
  pipeline::RxConfig cfg;
  cfg.flows.max_flows = 8;
  cfg.flows.fragment_slots = 16;
  cfg.flows.active_timeout_us = 1'000'000;
  cfg.hosts.max_hosts = 4;
  FormatSink sink;
  pipeline::RxLoop rx(cfg, *source, sink);
  rx.run(std::stop_token{});
  // Every decoded packet is in exactly one final record, or is a counted
  // unattributed later fragment.
  std::uint64_t undecoded = 0;
  for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i)
    undecoded += rx.stats().decode_errors[i];
  if (sink.final_packets + rx.flowStats().fragments_unattributed + undecoded !=
      rx.stats().packets) {
    __builtin_trap();
  }
  return 0;
}
