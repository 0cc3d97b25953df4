// The FastNetMon-style baseline: per-host rates over 5 s windows of packet
// time, from the flow outcomes of an evaluation replay, and the flows whose
// hosts crossed a threshold.

#include "evaluation/rate_baseline.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace edgesense::evaluation {
namespace {

struct HostWindow {
  decode::IpAddress host;
  std::int64_t window = 0;
  friend bool operator==(const HostWindow&, const HostWindow&) = default;
};

struct HostWindowHash {
  std::size_t operator()(const HostWindow& k) const noexcept {
    std::uint64_t h = static_cast<std::uint64_t>(k.window) * 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 2; ++i) h = (h ^ k.host.word(i)) * 0x100000001b3ULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

struct Inbound {
  double packets = 0;
  double syns = 0;
  double flows = 0;
};

struct Outbound {
  double flows = 0;
  std::unordered_set<std::uint16_t> ports;
};

}  // namespace

std::vector<std::string> rateBaseline(std::span<const FlowOutcome> flows, const RateThresholds& t) {
  const auto window_us = static_cast<decode::TimeUs>(t.window_s * 1e6);
  auto windowOf = [&](decode::TimeUs ts) { return static_cast<std::int64_t>(ts / window_us); };
  std::unordered_map<HostWindow, Inbound, HostWindowHash> in;
  std::unordered_map<HostWindow, Outbound, HostWindowHash> out;

  for (const FlowOutcome& f : flows) {
    const std::int64_t first = windowOf(f.start_us), last = windowOf(f.end_us);
    in[{f.dst, first}].flows += 1;
    Outbound& o = out[{f.src, first}];
    o.flows += 1;
    o.ports.insert(f.dst_port);
    // The initiator's packets, spread over the windows in proportion to
    // the time the flow spent in each.
    const double duration = static_cast<double>(f.end_us - f.start_us);
    for (std::int64_t w = first; w <= last; ++w) {
      double share = 1.0;
      if (duration > 0) {
        const decode::TimeUs lo = std::max(f.start_us, w * window_us);
        const decode::TimeUs hi = std::min(f.end_us, (w + 1) * window_us);
        share = static_cast<double>(hi - lo) / duration;
      }
      Inbound& i = in[{f.dst, w}];
      i.packets += share * static_cast<double>(f.pkts[0]);
      i.syns += share * static_cast<double>(f.fwd_syn);
    }
  }

  std::vector<std::string> predicted;
  predicted.reserve(flows.size());
  for (const FlowOutcome& f : flows) {
    const Outbound& o = out[{f.src, windowOf(f.start_us)}];
    if (o.flows / t.window_s >= t.src_flows_per_s &&
        static_cast<double>(o.ports.size()) >= t.src_distinct_ports) {
      predicted.emplace_back("scan");
      continue;
    }
    bool flood = false;
    for (std::int64_t w = windowOf(f.start_us); w <= windowOf(f.end_us) && !flood; ++w) {
      const Inbound& i = in[{f.dst, w}];
      const double pps = i.packets / t.window_s;
      const double syn_share = i.packets > 0 ? i.syns / i.packets : 0.0;
      flood = (pps >= t.dst_pps && syn_share >= t.syn_share) || pps >= t.dst_pps_any ||
              i.flows / t.window_s >= t.dst_flows_per_s;
    }
    predicted.emplace_back(flood ? "dos" : "benign");
  }
  return predicted;
}

}  // namespace edgesense::evaluation
