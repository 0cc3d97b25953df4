// Output, the end of the pipeline: formats flow records as EVE JSON lines.

#include "output/eve.h"

#include <ctime>

#include "output/json_writer.h"

namespace edgesense::output {

using features::FlowRecord;

void appendTimestamp(std::string& out, decode::TimeUs ts_us) {
  decode::TimeUs secs = ts_us / 1'000'000;
  decode::TimeUs micros = ts_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+0000",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<long long>(micros));
  out.append(buf, static_cast<std::size_t>(n));
}

std::string protoName(std::uint8_t proto) {
  switch (proto) {
    case decode::ipproto::kTcp:
      return "TCP";
    case decode::ipproto::kUdp:
      return "UDP";
    case decode::ipproto::kIcmp:
      return "ICMP";
    case decode::ipproto::kIcmpv6:
      return "IPv6-ICMP";
    default:
      return std::to_string(proto);
  }
}

namespace {

std::string_view address(const decode::IpAddress& a, char (&buf)[64]) {
  return {buf, decode::formatAddress(a, buf, sizeof buf)};
}

bool hasPorts(std::uint8_t proto) {
  return proto == decode::ipproto::kTcp || proto == decode::ipproto::kUdp;
}

bool isIcmp(std::uint8_t proto) {
  return proto == decode::ipproto::kIcmp || proto == decode::ipproto::kIcmpv6;
}

/// Suricata's flow.reason vocabulary: every normal end is a "timeout" (its
/// flow manager reaps closed TCP flows too), eviction is "forced".
const char* suricataReason(flow::EndReason r) {
  switch (r) {
    case flow::EndReason::kEvicted:
      return "forced";
    case flow::EndReason::kShutdown:
      return "shutdown";
    default:
      return "timeout";
  }
}

const char* suricataState(const FlowRecord& r) {
  if (r.proto == decode::ipproto::kTcp) {
    if (r.reason == flow::EndReason::kTcpFin || r.reason == flow::EndReason::kTcpRst)
      return "closed";
    return r.handshake ? "established" : "new";
  }
  return r.pkts[1] > 0 ? "established" : "new";
}

/// Suricata's hex form of a TCP flags byte, e.g. "1b".
std::string_view hexFlags(std::uint8_t flags, char (&buf)[5]) {
  static constexpr char kHex[] = "0123456789abcdef";
  buf[0] = '"';
  buf[1] = kHex[flags >> 4];
  buf[2] = kHex[flags & 0xf];
  buf[3] = '"';
  return {buf, 4};
}

}  // namespace

void appendFlowEvent(std::string& out, const FlowRecord& r, const EveOptions& opts) {
  JsonWriter j(out);
  char buf[64];
  std::string ts;
  j.beginObject();
  appendTimestamp(ts, r.start_us);
  j.field("timestamp", ts);
  j.field("flow_id", r.flow_id);
  j.field("event_type", "flow");
  if (r.vlan_count > 0) {
    j.key("vlan").beginArray();
    for (int i = 0; i < r.vlan_count; ++i)
      j.value(std::uint32_t{r.vlan[static_cast<std::size_t>(i)]});
    j.endArray();
  }
  j.field("src_ip", address(r.src, buf));
  if (hasPorts(r.proto)) j.field("src_port", std::uint32_t{r.src_port});
  j.field("dest_ip", address(r.dst, buf));
  if (hasPorts(r.proto)) j.field("dest_port", std::uint32_t{r.dst_port});
  j.field("proto", protoName(r.proto));
  j.field("ip_v", r.src.isV4() ? 4 : 6);
  if (isIcmp(r.proto)) {
    j.field("icmp_type", r.src_port >> 8);
    j.field("icmp_code", r.src_port & 0xff);
  }
  j.key("flow").beginObject();
  j.field("pkts_toserver", r.pkts[0]);
  j.field("pkts_toclient", r.pkts[1]);
  j.field("bytes_toserver", r.bytes[0]);
  j.field("bytes_toclient", r.bytes[1]);
  ts.clear();
  appendTimestamp(ts, r.start_us);
  j.field("start", ts);
  ts.clear();
  appendTimestamp(ts, r.end_us);
  j.field("end", ts);
  j.field("age", (r.end_us - r.start_us) / 1'000'000);
  j.field("state", suricataState(r));
  j.field("reason", suricataReason(r.reason));
  j.field("alerted", false);
  j.endObject();
  if (r.proto == decode::ipproto::kTcp) {
    using namespace decode::tcpflag;
    const std::uint8_t all = r.tcp_flags[0] | r.tcp_flags[1];
    j.key("tcp").beginObject();
    char hex[5];
    j.key("tcp_flags").raw(hexFlags(all, hex));
    j.key("tcp_flags_ts").raw(hexFlags(r.tcp_flags[0], hex));
    j.key("tcp_flags_tc").raw(hexFlags(r.tcp_flags[1], hex));
    // Suricata writes only the flags that were seen.
    static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
        {kSyn, "syn"}, {kFin, "fin"}, {kRst, "rst"}, {kPsh, "psh"},
        {kAck, "ack"}, {kUrg, "urg"}, {kEce, "ecn"}, {kCwr, "cwr"}};
    for (const auto& [bit, name] : kNames) {
      if (all & bit) j.field(name, true);
    }
    j.field("state", r.reason == flow::EndReason::kTcpFin   ? "closed"
                     : r.reason == flow::EndReason::kTcpRst ? "closed"
                     : r.handshake                          ? "established"
                                                            : "syn_sent");
    j.endObject();
  }
  j.key("edgesense").beginObject();
  j.field("end_reason", flow::endReasonName(r.reason));
  j.field("windows", r.window);
  j.field("payload_bytes_toserver", r.payload_bytes[0]);
  j.field("payload_bytes_toclient", r.payload_bytes[1]);
  if (r.conn_state < features::kConnStateNames.size()) {
    j.field("conn_state", features::kConnStateNames[r.conn_state]);
  }
  if (opts.include_features) {
    j.key("features").beginObject();
    for (std::size_t i = 0; i < features::kFeatureCount; ++i) {
      j.field(features::kSchema[i].name, r.features[i]);
    }
    j.endObject();
  }
  j.endObject();
  j.endObject();
}

EveFlowSink::EveFlowSink(std::FILE* fp, EveOptions opts) : fp_(fp), opts_(opts) {
  line_.reserve(8192);
}

EveFlowSink::~EveFlowSink() {
  flush();
  if (fp_ != stdout) std::fclose(fp_);
}

void EveFlowSink::onRecord(const FlowRecord& r) {
  if (!r.isFinal()) return;
  line_.clear();
  appendFlowEvent(line_, r, opts_);
  line_ += '\n';
  std::fwrite(line_.data(), 1, line_.size(), fp_);
  ++written_;
}

bool EveFlowSink::flush() {
  return std::fflush(fp_) == 0 && !std::ferror(fp_);
}

}  // namespace edgesense::output
