// Features: the stage after the flow table. Turns a flow's accumulators and
// its hosts' context into the FeatureVector of a FlowRecord.

#include <cmath>
#include <cstdio>
#include <string>

#include "features/extractor.h"
#include "features/schema.h"

namespace edgesense::features {

std::string schemaHash() {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;  // field separator
    h *= 0x100000001b3ULL;
  };
  for (const FeatureDef& d : kSchema) {
    feed(d.name);
    feed(d.type);
    feed(d.unit);
  }
  feed(std::to_string(kSchemaRevision));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::uint8_t connState(std::uint8_t fwd, std::uint8_t bwd, std::uint64_t bwd_pkts) noexcept {
  using namespace decode::tcpflag;
  enum : std::uint8_t { S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH };
  const bool orig_syn = (fwd & kSyn) != 0;
  const bool resp_syn = (bwd & kSyn) != 0;
  const bool orig_fin = (fwd & kFin) != 0, resp_fin = (bwd & kFin) != 0;
  const bool orig_rst = (fwd & kRst) != 0, resp_rst = (bwd & kRst) != 0;
  if (orig_syn && resp_syn) {
    if (orig_rst) return RSTO;
    if (resp_rst) return RSTR;
    if (orig_fin && resp_fin) return SF;
    if (orig_fin) return S2;
    if (resp_fin) return S3;
    return S1;
  }
  if (orig_syn) {
    if (resp_rst) return REJ;
    if (orig_rst) return RSTOS0;
    if (orig_fin) return SH;
    return bwd_pkts == 0 ? S0 : OTH;
  }
  if (resp_syn) {
    if (resp_rst) return RSTRH;
    if (resp_fin) return SHR;
  }
  return OTH;
}

void FlowAccumulator::finish(const std::array<std::uint64_t, 2>& pkts,
                             const std::array<std::uint64_t, 2>& bytes,
                             const std::array<std::uint64_t, 2>& payload, std::uint8_t proto,
                             TimeUs first_ts, FeatureVector& v) const noexcept {
  auto set = [&v](Feature f, double x) { v[index(f)] = x; };
  const double duration = seconds(last_ts_ - first_ts);
  const auto total_pkts = static_cast<double>(pkts[0] + pkts[1]);
  const auto total_bytes = static_cast<double>(bytes[0] + bytes[1]);
  set(Feature::kDuration, duration);
  set(Feature::kFwdPackets, static_cast<double>(pkts[0]));
  set(Feature::kBwdPackets, static_cast<double>(pkts[1]));
  set(Feature::kFwdBytes, static_cast<double>(bytes[0]));
  set(Feature::kBwdBytes, static_cast<double>(bytes[1]));
  set(Feature::kFwdPayloadBytes, static_cast<double>(payload[0]));
  set(Feature::kBwdPayloadBytes, static_cast<double>(payload[1]));
  set(Feature::kBytesPerSecond, duration > 0 ? total_bytes / duration : kNaN);
  set(Feature::kPacketsPerSecond, duration > 0 ? total_pkts / duration : kNaN);

  auto stats4 = [&set](const RunningStats& s, Feature first, double scale) {
    const auto i = static_cast<std::uint16_t>(first);
    set(static_cast<Feature>(i + 0), s.minOrNaN(scale));
    set(static_cast<Feature>(i + 1), s.maxOrNaN(scale));
    set(static_cast<Feature>(i + 2), s.meanOrNaN(scale));
    set(static_cast<Feature>(i + 3), s.stdOrNaN(scale));
  };
  constexpr double kBytes = 1, kUs = kSecondsPerUs;
  stats4(len_[0], Feature::kFwdLenMin, kBytes);
  stats4(len_[1], Feature::kBwdLenMin, kBytes);
  stats4(RunningStats::merge(len_[0], len_[1]), Feature::kLenMin, kBytes);
  stats4(iat_[0], Feature::kFwdIatMin, kUs);
  stats4(iat_[1], Feature::kBwdIatMin, kUs);
  stats4(iat_all_, Feature::kIatMin, kUs);

  const bool tcp = proto == decode::ipproto::kTcp;
  for (std::size_t d = 0; d < 2; ++d) {
    const auto first = static_cast<std::uint16_t>(d == 0 ? Feature::kFwdSyn : Feature::kBwdSyn);
    for (std::uint16_t k = 0; k < 6; ++k) {
      set(static_cast<Feature>(first + k), tcp ? tcp_counts_[d][k] : kNaN);
    }
  }
  const bool fwd_seen = (dir_seen_ & 1) != 0, bwd_seen = (dir_seen_ & 2) != 0;
  set(Feature::kFwdInitWindow, tcp && fwd_seen ? init_window_[0] : kNaN);
  set(Feature::kBwdInitWindow, tcp && bwd_seen ? init_window_[1] : kNaN);
  set(Feature::kHandshake, tcp ? (handshake_ == 3 ? 1.0 : 0.0) : kNaN);
  // kConnState is set by the extractor, which has the flow's flag history.

  // Close the periods still open at the snapshot, on copies.
  RunningStats active = active_;
  if (packets_ > 0) active.add(static_cast<std::uint64_t>(last_ts_ - active_start_));
  set(Feature::kActiveMean, active.meanOrNaN(kUs));
  set(Feature::kActiveMax, active.maxOrNaN(kUs));
  set(Feature::kActiveStd, active.stdOrNaN(kUs));
  set(Feature::kIdleMean, idle_.meanOrNaN(kUs));
  set(Feature::kIdleMax, idle_.maxOrNaN(kUs));
  set(Feature::kIdleStd, idle_.stdOrNaN(kUs));

  RunningStats bursts = burst_bytes_;
  RunningStats durations = burst_duration_;
  if (packets_ > 0) {
    bursts.add(cur_burst_bytes_);
    durations.add(static_cast<std::uint64_t>(last_ts_ - burst_start_));
  }
  set(Feature::kBurstCount, static_cast<double>(bursts.n));
  set(Feature::kBurstBytesMean, bursts.meanOrNaN());
  set(Feature::kBurstBytesMax, bursts.maxOrNaN());
  set(Feature::kBurstBytesStd, bursts.stdOrNaN());
  set(Feature::kBurstDurationMean, durations.meanOrNaN(kUs));
  set(Feature::kBurstGapMean, burst_gap_.meanOrNaN(kUs));
  set(Feature::kBurstGapMax, burst_gap_.maxOrNaN(kUs));
  set(Feature::kBurstGapStd, burst_gap_.stdOrNaN(kUs));
  const auto total_size = static_cast<double>(len_[0].sum + len_[1].sum);
  set(Feature::kBurstLargestShare,
      total_size > 0 && bursts.n ? static_cast<double>(bursts.max) / total_size : kNaN);
  set(Feature::kDownUpRatio,
      bytes[0] > 0 ? static_cast<double>(bytes[1]) / static_cast<double>(bytes[0]) : kNaN);

  // The exchange still open at the snapshot counts, on copies.
  RunningStats responses = responses_;
  std::uint64_t request_sum = request_sum_, request_max = request_max_;
  if (exchangeOpen()) {
    responses.add(cur_response_);
    request_sum += cur_request_;
    request_max = std::max(request_max, cur_request_);
  }
  const bool exchanged = responses.n > 0;
  set(Feature::kExchanges, static_cast<double>(responses.n));
  set(Feature::kRequestBytesMean,
      exchanged ? static_cast<double>(request_sum) / static_cast<double>(responses.n) : kNaN);
  set(Feature::kRequestBytesMax, exchanged ? static_cast<double>(request_max) : kNaN);
  set(Feature::kResponseBytesMean, responses.meanOrNaN());
  set(Feature::kResponseBytesMax, responses.maxOrNaN());
  set(Feature::kResponseBytesStd, responses.stdOrNaN());

  for (std::uint32_t i = 0; i < kFirstPackets; ++i) {
    set(static_cast<Feature>(index(Feature::kFirstSize1) + i),
        i < packets_ ? first_size_[i] : kNaN);
  }
  for (std::uint32_t i = 0; i + 1 < kFirstPackets; ++i) {
    set(static_cast<Feature>(index(Feature::kFirstGap2) + i),
        i + 1 < packets_ ? seconds(first_gap_us_[i]) : kNaN);
  }
}

bool flowFailed(const FeatureFlow& f) noexcept {
  return f.pkts[1] == 0 || ((f.tcp_flags[0] | f.tcp_flags[1]) & decode::tcpflag::kRst) != 0;
}

void FeatureExtractor::onEnd(const FeatureFlow& f, flow::EndReason reason,
                             decode::TimeUs now) noexcept {
  hosts_.onFlowEnd(f.initiatorAddr(), flowFailed(f), f.last_ts);
  emit(f, reason, now);
}

void FeatureExtractor::emit(const FeatureFlow& f, flow::EndReason reason,
                            decode::TimeUs report_ts) noexcept {
  FlowRecord& r = record_;
  const std::uint64_t id =
      flow::flowIdHash(f.key) ^ static_cast<std::uint64_t>(f.first_ts) * 0x9e3779b97f4a7c15ULL;
  r.flow_id = id & ((1ULL << 53) - 1);  // exact in every JSON reader
  r.src = f.initiatorAddr();
  r.dst = f.responderAddr();
  r.src_port = f.initiatorPort();
  r.dst_port = f.responderPort();
  r.proto = f.key.proto;
  r.vlan = {f.key.vlan_outer, f.key.vlan_inner};
  r.vlan_count = static_cast<std::uint8_t>((f.key.vlan_outer != 0) + (f.key.vlan_inner != 0));
  r.start_us = f.first_ts;
  r.end_us = f.last_ts;
  r.pkts = f.pkts;
  r.bytes = f.bytes;
  r.payload_bytes = f.payload_bytes;
  r.tcp_flags = f.tcp_flags;
  r.reason = reason;
  r.window = f.window;
  r.report_us = report_ts;
  const bool tcp = f.key.proto == decode::ipproto::kTcp;
  r.conn_state = tcp ? connState(f.tcp_flags[0], f.tcp_flags[1], f.pkts[1]) : 0xff;
  r.handshake = f.ext.handshakeSeen();
  f.ext.finish(f.pkts, f.bytes, f.payload_bytes, f.key.proto, f.first_ts, r.features);
  r.features[index(Feature::kConnState)] = tcp ? r.conn_state : kNaN;
  const HostContext& ctx = f.ext.hostContext();
  for (std::size_t i = 0; i < kHostFeatureCount; ++i)
    r.features[index(kFirstHostFeature) + i] = ctx[i];
  sink_.onRecord(r);
}

}  // namespace edgesense::features
