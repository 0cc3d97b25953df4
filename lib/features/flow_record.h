#pragma once
/// FlowRecord: what the capture stage hands on for each flow snapshot, an
/// interim one at an active-timeout window or the final one when the flow
/// ends. A self-contained value (no pointers), so it can cross a queue to
/// another thread. RecordSink is whoever takes it next.

#include <array>
#include <cstdint>

#include "decode/packet.h"
#include "features/schema.h"
#include "flow/flow_table.h"

namespace edgesense::features {

struct FlowRecord {
  std::uint64_t flow_id = 0;  // stable per flow across its windows, < 2^53
  decode::IpAddress src;      // initiator
  decode::IpAddress dst;      // responder
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t proto = 0;
  std::uint8_t vlan_count = 0;
  std::array<std::uint16_t, 2> vlan{};
  decode::TimeUs start_us = 0;
  decode::TimeUs end_us = 0;            // last packet seen
  decode::TimeUs report_us = 0;         // the sensor's packet clock when the snapshot was taken
  std::array<std::uint64_t, 2> pkts{};  // [0] toserver (initiator), [1] toclient
  std::array<std::uint64_t, 2> bytes{};
  std::array<std::uint64_t, 2> payload_bytes{};
  std::array<std::uint8_t, 2> tcp_flags{};
  flow::EndReason reason = flow::EndReason::kShutdown;
  std::uint32_t window = 0;        // snapshots before this one; the final record has the last index
  std::uint8_t conn_state = 0xff;  // index into kConnStateNames, 0xff unless TCP
  bool handshake = false;
  FeatureVector features{};

  bool isFinal() const noexcept { return reason != flow::EndReason::kActiveTimeout; }
};

/// Receives flow records on the capture thread. Implementations must not
/// block for long: the capture loop waits on them.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void onRecord(const FlowRecord& record) = 0;
};

}  // namespace edgesense::features
