// The daemon maps the config onto the stages here, in one place: each stage
// gets its own struct, with seconds turned into the microseconds (or
// milliseconds) it counts in.

#include <algorithm>
#include <cmath>

#include "capture/packet_source.h"
#include "config/config.h"
#include "features/accumulator.h"
#include "features/host_table.h"
#include "flow/flow_table.h"
#include "inference/pool.h"

namespace edgesense::config {
namespace {

decode::TimeUs micros(double seconds) {
  return static_cast<decode::TimeUs>(std::llround(seconds * 1e6));
}

}  // namespace

flow::FlowConfig Config::toFlowConfig() const {
  flow::FlowConfig f;  // fragment_timeout_us keeps the table's own default
  f.max_flows = flows.max;
  f.idle_timeout_us = micros(flows.idle_timeout);
  f.udp_idle_timeout_us = micros(flows.udp_idle_timeout.value_or(flows.idle_timeout));
  f.icmp_idle_timeout_us = micros(flows.icmp_idle_timeout.value_or(flows.idle_timeout));
  f.active_timeout_us = micros(flows.active_timeout);
  f.tcp_close_linger_us = micros(flows.tcp_close_linger);
  f.fragment_slots = flows.fragment_slots;
  f.max_clock_jump_us = micros(flows.max_clock_jump);
  // Never longer than the TCP idle timeout it shortens.
  f.tcp_half_open_timeout_us = std::min(micros(flows.tcp_half_open_timeout), f.idle_timeout_us);
  f.hash_key = hashKey();
  f.memcap_bytes = flows.memcap;
  f.emergency_recovery_percent = flows.emergency_recovery;
  f.emergency_half_open_timeout_us = micros(flows.emergency_half_open_timeout);
  f.emergency_one_packet_timeout_us = micros(flows.emergency_one_packet_timeout.value_or(0));
  f.emergency_established_timeout_us = micros(flows.emergency_established_timeout.value_or(0));
  return f;
}

flow::HashKey Config::hashKey() const {
  return flows.hash_seed != 0 ? flow::HashKey::fromSeed(flows.hash_seed) : flow::kDefaultHashKey;
}

features::FeatureParams Config::toFeatureParams() const {
  features::FeatureParams p;
  p.burst_gap_us = micros(flows.burst_gap);
  p.idle_threshold_us = micros(flows.idle_threshold);
  return p;
}

features::HostTableConfig Config::toHostTableConfig() const {
  features::HostTableConfig h;
  h.max_hosts = flows.host_table_size;
  h.short_window_us = micros(flows.host_short_window);
  h.long_window_us = micros(flows.host_long_window);
  h.hash_key = hashKey();
  return h;
}

capture::LiveOptions Config::toLiveOptions(const std::string& interface) const {
  capture::LiveOptions o;
  o.interface = interface;
  o.bpf = capture.bpf;
  o.snaplen = capture.snaplen;
  o.promiscuous = capture.promiscuous;
  o.buffer_size = static_cast<int>(capture.buffer_size);  // at most 1 GiB
  o.immediate = capture.immediate;
  o.fanout_mode = capture.fanout;
  o.timeout_ms = std::max(1, static_cast<int>(std::llround(capture.read_timeout * 1e3)));
  return o;
}

inference::PoolConfig Config::toPoolConfig() const {
  inference::PoolConfig pc;
  pc.workers = inference.workers;
  pc.batch_size = inference.batch_size;
  pc.max_wait = std::chrono::microseconds(micros(inference.max_wait));
  pc.queue_capacity = inference.queue_capacity;
  pc.max_in_flight = inference.max_in_flight;
  pc.scoring.reel_protocols.clear();
  for (const std::string& proto : inference.reel_gate.protocols)
    pc.scoring.reel_protocols.push_back(ipProtocolNumber(proto));
  pc.scoring.reel_min_bytes = inference.reel_gate.min_bytes;
  pc.scoring.reel_min_packets = inference.reel_gate.min_packets;
  pc.scoring.reel_threshold = inference.thresholds.reel;
  pc.scoring.attack_threshold = inference.thresholds.attack;
  pc.scoring.anomaly_threshold = inference.thresholds.anomaly;
  return pc;
}

std::uint8_t ipProtocolNumber(std::string_view name) noexcept {
  if (name == "tcp") return 6;
  if (name == "udp") return 17;
  return 0;
}

std::string_view logLevelName(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
  }
  return "info";
}

}  // namespace edgesense::config
