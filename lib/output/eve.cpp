// Output, the end of the pipeline: formats flow records as EVE JSON lines.

#include "output/eve.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "inference/model_set.h"
#include "output/alerts.h"
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
  // A record's timestamps fall in few distinct seconds: the calendar part
  // is formatted once per second (per thread), the microseconds every time.
  thread_local decode::TimeUs cached_secs = 0;
  thread_local char date[32] = {};
  thread_local std::size_t date_len = 0;
  if (date_len == 0 || secs != cached_secs) {
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const int n =
        std::snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    date_len = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof date - 1) : 0;
    cached_secs = secs;
  }
  char frac[12] = {'0', '0', '0', '0', '0', '0', '+', '0', '0', '0', '0'};
  for (int i = 5; i >= 0; --i, micros /= 10) frac[i] = static_cast<char>('0' + micros % 10);
  out.append(date, date_len);
  out.append(frac, 11);
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

namespace {

/// The fields every EVE record of a flow starts with.
void appendHeader(JsonWriter& j, const FlowRecord& r, decode::TimeUs ts, const char* event_type) {
  char buf[64];
  std::string stamp;
  appendTimestamp(stamp, ts);
  j.field("timestamp", stamp);
  j.field("flow_id", r.flow_id);
  j.field("event_type", event_type);
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
}

/// The `flow` object: counters and start, and for flow records the end.
void appendFlowObject(JsonWriter& j, const FlowRecord& r, bool ended, bool alerted) {
  std::string stamp;
  j.key("flow").beginObject();
  j.field("pkts_toserver", r.pkts[0]);
  j.field("pkts_toclient", r.pkts[1]);
  j.field("bytes_toserver", r.bytes[0]);
  j.field("bytes_toclient", r.bytes[1]);
  appendTimestamp(stamp, r.start_us);
  j.field("start", stamp);
  if (ended) {
    stamp.clear();
    appendTimestamp(stamp, r.end_us);
    j.field("end", stamp);
    j.field("age", (r.end_us - r.start_us) / 1'000'000);
    j.field("state", suricataState(r));
    j.field("reason", suricataReason(r.reason));
    j.field("alerted", alerted);
  }
  j.endObject();
}

void appendTcp(JsonWriter& j, const FlowRecord& r) {
  using namespace decode::tcpflag;
  const std::uint8_t all = r.tcp_flags[0] | r.tcp_flags[1];
  char hex[5];
  j.key("tcp").beginObject();
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
  const bool closed = r.reason == flow::EndReason::kTcpFin || r.reason == flow::EndReason::kTcpRst;
  j.field("state", closed ? "closed" : r.handshake ? "established" : "syn_sent");
  j.endObject();
}

void appendFeatures(JsonWriter& j, const FlowRecord& r) {
  j.key("features").beginObject();
  for (std::size_t i = 0; i < features::kFeatureCount; ++i)
    j.field(features::kSchema[i].name, r.features[i]);
  j.endObject();
}

void appendModel(JsonWriter& j, const char* head, const std::shared_ptr<const model::Bundle>& b) {
  if (!b) return;
  j.key(head).beginObject();
  j.field("name", b->name());
  j.field("version", b->version());
  j.endObject();
}

void writeVerdict(JsonWriter& j, const inference::ScoredRecord& s, bool alerted) {
  const inference::Verdict& v = s.verdict;
  j.beginObject();
  if (v.attack_scored && s.models && s.models->attack) {
    const auto& classes = s.models->attack->classes();
    j.key("attack").beginObject();
    j.field("class", classes[v.attack_class]);
    j.field("probability", static_cast<double>(v.attack_probability));
    j.key("probabilities").beginObject();
    for (std::size_t c = 0; c < v.attack_classes && c < classes.size(); ++c) {
      j.field(classes[c], static_cast<double>(v.attack_probabilities[c]));
    }
    j.endObject();
    j.endObject();
  }
  if (v.reel_scored) {
    j.key("reel").beginObject();
    j.field("is_reel", v.is_reel);
    j.field("probability", static_cast<double>(v.reel_probability));
    j.endObject();
  }
  if (v.anomaly_scored) {
    j.key("anomaly").beginObject();
    j.field("score", static_cast<double>(v.anomaly_score));
    j.field("alert", v.anomaly_alert);
    j.endObject();
  }
  j.field("alerted", alerted);
  j.endObject();
}

void writeModels(JsonWriter& j, const inference::ModelSet& m) {
  j.beginObject();
  appendModel(j, "attack", m.attack);
  appendModel(j, "reel", m.reel);
  appendModel(j, "anomaly", m.anomaly);
  j.endObject();
}

}  // namespace

void appendVerdict(std::string& out, const inference::ScoredRecord& s, bool alerted) {
  JsonWriter j(out);
  writeVerdict(j, s, alerted);
}

void appendFlowEvent(std::string& out, const FlowRecord& r, const EveOptions& opts,
                     const inference::ScoredRecord* scored, bool alerted) {
  JsonWriter j(out);
  j.beginObject();
  appendHeader(j, r, r.start_us, "flow");
  appendFlowObject(j, r, true, alerted);
  if (r.proto == decode::ipproto::kTcp) appendTcp(j, r);
  j.key("edgesense").beginObject();
  j.field("end_reason", flow::endReasonName(r.reason));
  j.field("windows", r.window);
  j.field("payload_bytes_toserver", r.payload_bytes[0]);
  j.field("payload_bytes_toclient", r.payload_bytes[1]);
  if (r.conn_state < features::kConnStateNames.size()) {
    j.field("conn_state", features::kConnStateNames[r.conn_state]);
  }
  if (scored != nullptr) {
    j.key("verdict");
    writeVerdict(j, *scored, alerted);
    if (scored->models) {
      j.key("models");
      writeModels(j, *scored->models);
    }
  }
  if (opts.include_features) appendFeatures(j, r);
  j.endObject();
  j.endObject();
}

void appendAlertEvent(std::string& out, const inference::ScoredRecord& s, const AlertClass& c,
                      const FollowUp* follow_up) {
  const FlowRecord& r = s.record;
  JsonWriter j(out);
  j.beginObject();
  appendHeader(j, r, follow_up ? follow_up->window_end : r.report_us, "alert");
  j.key("alert").beginObject();
  j.field("action", "allowed");
  j.field("gid", 1);
  j.field("signature_id", c.signature_id);
  j.field("rev", 1);
  j.field("signature", c.signature);
  j.field("category", c.category);
  j.field("severity", c.severity);
  if (!c.mitre_technique_id.empty()) {
    // Suricata's rule metadata convention: every value is a list of strings.
    j.key("metadata").beginObject();
    j.key("mitre_tactic_id").beginArray().value(c.mitre_tactic_id).endArray();
    j.key("mitre_tactic_name").beginArray().value(c.mitre_tactic).endArray();
    j.key("mitre_technique_id").beginArray().value(c.mitre_technique_id).endArray();
    j.key("mitre_technique_name").beginArray().value(c.mitre_technique).endArray();
    j.endObject();
  }
  j.endObject();
  appendFlowObject(j, r, false, true);
  j.key("edgesense").beginObject();
  j.field("class", c.name);
  j.field("window", r.window);
  j.key("verdict");
  writeVerdict(j, s, true);
  if (s.models) {
    j.key("models");
    writeModels(j, *s.models);
  }
  const inference::Verdict& v = s.verdict;
  if (v.top_count > 0) {
    j.key("top_features").beginArray();
    for (std::size_t i = 0; i < v.top_count; ++i) {
      const inference::TopFeature& t = v.top[i];
      j.beginObject();
      j.field("name", features::kSchema[t.feature].name);
      j.field("value", t.value);
      j.field(v.top_is_shap ? "contribution" : "deviation_iqr", t.weight);
      j.endObject();
    }
    j.endArray();
  }
  if (follow_up != nullptr) {
    std::string stamp;
    j.key("aggregate").beginObject();
    j.field("suppressed", follow_up->suppressed);
    appendTimestamp(stamp, follow_up->window_start);
    j.field("window_start", stamp);
    stamp.clear();
    appendTimestamp(stamp, follow_up->window_end);
    j.field("window_end", stamp);
    j.endObject();
  }
  j.endObject();
  j.endObject();
}

EveFlowSink::EveFlowSink(std::unique_ptr<LineSink> out, EveOptions opts)
    : out_(std::move(out)), opts_(opts) {
  line_.reserve(8192);
}

void EveFlowSink::onRecord(const FlowRecord& r) {
  if (!r.isFinal()) return;
  line_.clear();
  appendFlowEvent(line_, r, opts_);
  if (!out_->write(line_)) failed_ = true;
  ++written_;
}

bool EveFlowSink::flush() {
  return out_->flush() && !failed_;
}

}  // namespace edgesense::output
