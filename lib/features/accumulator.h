#pragma once
/// FlowAccumulator: the per-flow feature state, stored inside each flow-table
/// slot (fixed size, no heap) and updated in O(1) per packet on the capture
/// thread. finish() turns it into the flow-local part of a FeatureVector.

#include <algorithm>
#include <array>
#include <cstdint>

#include "decode/packet.h"
#include "features/running_stats.h"
#include "features/schema.h"
#include "flow/flow_key.h"

namespace edgesense::features {

using decode::TimeUs;

struct FeatureParams {
  TimeUs burst_gap_us = 1'000'000;       // a gap longer than this starts a new burst
  TimeUs idle_threshold_us = 5'000'000;  // a gap longer than this ends an active period
};

inline constexpr int kFirstPackets = 8;

class FlowAccumulator {
 public:
  void onPacket(const decode::Packet& p, flow::Direction dir,
                const FeatureParams& params) noexcept {
    const auto d = static_cast<std::size_t>(dir);
    const TimeUs ts = p.ts_us;
    // Sizes are IP payloads, not frames: the same packet reads the same on
    // any link type, behind VLAN tags, over IPv4 or IPv6.
    len_[d].add(p.ip_payload_len);
    if (packets_ == 0) {
      active_start_ = burst_start_ = ts;
    } else {
      const TimeUs gap = ts > last_ts_ ? ts - last_ts_ : 0;
      iat_all_.add(static_cast<std::uint64_t>(gap));
      if (gap > params.idle_threshold_us) {
        active_.add(static_cast<std::uint64_t>(last_ts_ - active_start_));
        idle_.add(static_cast<std::uint64_t>(gap));
        active_start_ = ts;
      }
      if (gap > params.burst_gap_us) {
        burst_bytes_.add(cur_burst_bytes_);
        burst_duration_.add(static_cast<std::uint64_t>(last_ts_ - burst_start_));
        burst_gap_.add(static_cast<std::uint64_t>(gap));
        burst_start_ = ts;
        cur_burst_bytes_ = 0;
      }
    }
    if (dir_seen_ & (1u << d)) {
      iat_[d].add(static_cast<std::uint64_t>(ts > last_dir_ts_[d] ? ts - last_dir_ts_[d] : 0));
    } else if (p.proto == decode::ipproto::kTcp) {
      init_window_[d] = p.tcp_window;
    }
    dir_seen_ |= static_cast<std::uint8_t>(1u << d);
    last_dir_ts_[d] = ts;
    cur_burst_bytes_ += p.ip_payload_len;
    if (p.payload_len > 0) onPayload(p.payload_len, dir);
    if (packets_ < kFirstPackets) {
      const auto size = static_cast<std::int32_t>(p.ip_payload_len);
      first_size_[packets_] = dir == flow::Direction::kForward ? size : -size;
      if (packets_ > 0) {
        const TimeUs gap = std::clamp<TimeUs>(ts - last_ts_, 0, UINT32_MAX);
        first_gap_us_[packets_ - 1] = static_cast<std::uint32_t>(gap);
      }
    }
    if (p.proto == decode::ipproto::kTcp) countTcp(p.tcp_flags, d);
    ++packets_;
    if (ts > last_ts_ || packets_ == 1) last_ts_ = ts;
  }

  /// Writes every flow-local feature (all but host context) into v.
  /// pkts/bytes are the flow table's exact per-direction counters.
  void finish(const std::array<std::uint64_t, 2>& pkts, const std::array<std::uint64_t, 2>& bytes,
              const std::array<std::uint64_t, 2>& payload, std::uint8_t proto, TimeUs first_ts,
              FeatureVector& v) const noexcept;

  bool handshakeSeen() const noexcept { return handshake_ == 3; }

  /// The host context read when the flow started (HostTable::onFlowStart);
  /// every record of the flow carries it.
  void setHostContext(const HostContext& c) noexcept { host_context_ = c; }
  const HostContext& hostContext() const noexcept { return host_context_; }

 private:
  static constexpr double kSecondsPerUs = 1e-6;
  static double seconds(TimeUs us) noexcept { return static_cast<double>(us) * kSecondsPerUs; }

  // Exchanges: an initiator payload after responder payload opens the next
  // one; so does the flow's first payload, whichever side sends it. Over
  // TLS these are the sizes of the objects fetched (segments, clips,
  // images), which reel players and long-form players fetch differently.
  // n > 0, so the open exchange is the one with bytes in cur_request_ or
  // cur_response_, and it is answered once cur_response_ has any.
  void onPayload(std::uint32_t n, flow::Direction dir) noexcept {
    if (dir == flow::Direction::kForward) {
      if (cur_response_ > 0) closeExchange();
      cur_request_ += n;
    } else {
      cur_response_ += n;
    }
  }

  bool exchangeOpen() const noexcept { return cur_request_ > 0 || cur_response_ > 0; }

  void closeExchange() noexcept {
    request_sum_ += cur_request_;
    request_max_ = std::max(request_max_, cur_request_);
    responses_.add(cur_response_);
    cur_request_ = cur_response_ = 0;
  }

  void countTcp(std::uint8_t flags, std::size_t d) noexcept {
    using namespace decode::tcpflag;
    auto& c = tcp_counts_[d];
    c[0] += (flags & kSyn) != 0;
    c[1] += (flags & kFin) != 0;
    c[2] += (flags & kRst) != 0;
    c[3] += (flags & kPsh) != 0;
    c[4] += (flags & kAck) != 0;
    c[5] += (flags & kUrg) != 0;
    // Handshake: SYN from the initiator, SYN-ACK back, then the initiator's ACK.
    const std::uint8_t sa = flags & (kSyn | kAck);
    if (handshake_ == 0 && d == 0 && sa == kSyn)
      handshake_ = 1;
    else if (handshake_ == 1 && d == 1 && sa == (kSyn | kAck))
      handshake_ = 2;
    else if (handshake_ == 2 && d == 0 && sa == kAck)
      handshake_ = 3;
  }

  std::array<RunningStats, 2> len_{};
  std::array<RunningStats, 2> iat_{};
  RunningStats iat_all_;
  RunningStats active_;
  RunningStats idle_;
  RunningStats burst_bytes_;
  RunningStats burst_duration_;
  RunningStats burst_gap_;
  std::array<TimeUs, 2> last_dir_ts_{};
  TimeUs last_ts_ = 0;
  TimeUs active_start_ = 0;
  TimeUs burst_start_ = 0;
  std::uint64_t cur_burst_bytes_ = 0;
  RunningStats responses_;         // responder payload bytes per closed exchange
  std::uint64_t request_sum_ = 0;  // initiator payload bytes of the closed exchanges
  std::uint64_t request_max_ = 0;
  std::uint64_t cur_request_ = 0;
  std::uint64_t cur_response_ = 0;
  std::array<std::array<std::uint32_t, 6>, 2> tcp_counts_{};  // syn fin rst psh ack urg
  std::array<std::int32_t, kFirstPackets> first_size_{};
  std::array<std::uint32_t, kFirstPackets - 1> first_gap_us_{};
  std::uint32_t packets_ = 0;
  HostContext host_context_{};
  std::array<std::uint16_t, 2> init_window_{};
  std::uint8_t dir_seen_ = 0;
  std::uint8_t handshake_ = 0;
};

/// Zeek's conn_state from the TCP flags each side sent, as an index into
/// kConnStateNames.
std::uint8_t connState(std::uint8_t fwd_flags, std::uint8_t bwd_flags,
                       std::uint64_t bwd_pkts) noexcept;

}  // namespace edgesense::features
