#pragma once

/// Flow scripts for the labelled capture, next to those of flow_scripts.h:
/// * TcpProgramScript plays a TcpProgram, a list of TCP operations (handshake, lone SYN,
///   SYN/ACK, data, FIN, RST, retransmission), each at an absolute time or after a pause, so a
///   generator can lay several connections of one activity on a shared timeline (a reel
///   player's parallel prefetches, a scanner's probes, slowloris' header trickle).
/// * UdpProbeScript sends one UDP probe and the target's answer: a datagram, an ICMP port
///   unreachable (its own flow for edgesense, initiated by the target) or nothing.
/// * TrackedScript wraps any script and widens a TimeSpan over the packets it queues, so
///   label windows come from the packets written, not from the plan.
/// Plans are plain data drawn up front; scripts create their session on the first step and
/// are owned by the Interleaver. A TimeSpan must outlive the scripts tracking it.
/// Single-threaded.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "interleaver.h"
#include "sessions.h"

namespace edgesense::testsupport {

enum class TcpOpKind : uint8_t {
  kHandshake,   // SYN, SYN/ACK, ACK
  kSyn,         // a lone SYN from the client
  kSynAck,      // the server's SYN/ACK
  kSend,        // `bytes` of data from `dir` cut at the MSS, `gap_ns` apart; the peer ACKs
  kRst,         // RST/ACK from `dir` (seq 0 when `dir` never sent a SYN)
  kBareRst,     // RST without ACK from `dir`
  kFin,         // FIN from `dir`, FIN/ACK back, final ACK
  kRetransmit,  // the last SYN, FIN or data segment of `dir` again
};

struct TcpOp {
  TcpOpKind kind = TcpOpKind::kSend;
  Direction dir = Direction::kToServer;
  int64_t at_ns = 0;     // not before this absolute time (0: no constraint)
  int64_t after_ns = 0;  // nor before this long after the previous operation's last packet
  size_t bytes = 0;      // kSend
  int64_t gap_ns = -1;   // kSend segment spacing; < 0: the session's
};

struct TcpProgram {
  FlowSpec spec;
  TcpSessionOptions options;
  std::vector<TcpOp> ops;

  TcpProgram& add(TcpOp op) {
    ops.push_back(op);
    return *this;
  }
  /// Sends `request` toserver at `at_ns` (or `after_ns` after the previous operation), then
  /// `response` toclient `server_time_ns` after the request's last packet.
  TcpProgram& exchange(int64_t at_ns, int64_t after_ns, size_t request, int64_t server_time_ns,
                       size_t response, int64_t response_gap_ns = -1);
};

class TcpProgramScript final : public FlowScript {
 public:
  TcpProgramScript(TcpProgram program, uint32_t snaplen);
  bool step() override;

 private:
  TcpProgram program_;
  std::optional<TcpSession> session_;
  size_t next_ = 0;
  size_t bytes_left_ = 0;  // of the kSend in progress
};

enum class UdpReply : uint8_t { kNone, kDatagram, kPortUnreachable };

struct UdpProbePlan {
  FlowSpec spec;
  size_t probe_bytes = 0;
  UdpReply reply = UdpReply::kNone;
  size_t reply_bytes = 0;
  int retries = 0;  // probes sent again, `retry_gap_ns` apart, when nothing comes back
  int64_t retry_gap_ns = kNsPerSec;
};

class UdpProbeScript final : public FlowScript {
 public:
  UdpProbeScript(UdpProbePlan plan, uint32_t snaplen);
  bool step() override;

 private:
  UdpProbePlan plan_;
};

/// First and last packet time of an activity; empty until a packet is seen.
struct TimeSpan {
  int64_t first_ns = INT64_MAX;
  int64_t last_ns = INT64_MIN;

  bool empty() const { return first_ns > last_ns; }
  void include(int64_t ts_ns) {
    if (ts_ns < first_ns) first_ns = ts_ns;
    if (ts_ns > last_ns) last_ns = ts_ns;
  }
};

class TrackedScript final : public FlowScript {
 public:
  TrackedScript(std::unique_ptr<FlowScript> inner, TimeSpan& span, uint32_t snaplen);
  bool step() override;

 private:
  std::unique_ptr<FlowScript> inner_;
  TimeSpan& span_;
};

}  // namespace edgesense::testsupport
