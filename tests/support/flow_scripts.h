#pragma once

/// Plans for whole flows and the FlowScripts that play them one chunk at a time into an
/// Interleaver: a TCP plan (opening, request/response exchanges with think times, close),
/// a UDP plan (datagram trains) and a ping plan. A plan is plain data drawn up front by a
/// generator; its script creates the session lazily on the first step and is owned by the
/// Interleaver. Single-threaded.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "interleaver.h"
#include "sessions.h"

namespace edgesense::testsupport {

enum class TcpOpening {
  kHandshake,   // SYN, SYN/ACK, ACK
  kRefused,     // SYN answered by RST/ACK (closed port); nothing follows
  kProbeOpen,   // SYN, SYN/ACK, then the client's RST (a SYN scan finding an open port)
  kUnanswered,  // SYN retransmitted `syn_retries` times (1 s, 2 s, 4 s ... apart)
};

enum class TcpClose { kFinByClient, kFinByServer, kRstByClient, kRstByServer, kNone };

struct TcpExchange {
  int64_t gap_before_ns = 0;  // think time before the request
  size_t request_bytes = 0;
  int64_t server_time_ns = 0;  // request -> first response byte
  size_t response_bytes = 0;
  int64_t response_gap_ns = -1;  // segment spacing of the response (< 0: the session's)
};

struct TcpPlan {
  FlowSpec spec;
  TcpSessionOptions options;
  TcpOpening opening = TcpOpening::kHandshake;
  int syn_retries = 2;
  std::vector<TcpExchange> exchanges;
  int64_t close_gap_ns = 0;
  TcpClose close = TcpClose::kFinByClient;
};

/// Packets of one exchange of a plan as a TcpSession would send them (for budgeting).
uint64_t estimatePackets(const TcpPlan& plan);

struct UdpTrain {
  int64_t gap_before_ns = 0;
  Direction dir = Direction::kToServer;
  uint32_t count = 1;   // datagrams
  uint16_t size = 100;  // payload bytes of each
  int64_t spacing_ns = 0;
  uint32_t ack_every = 0;  // receiver answers every Nth datagram (0: never)
  uint16_t ack_size = 40;
  bool both_ways = false;  // each tick also sends one datagram the other way (RTP-like)
  Bytes payload;           // exact payload for a single datagram (DNS); else a pattern
};

struct UdpPlan {
  FlowSpec spec;
  std::vector<UdpTrain> trains;
};

uint64_t estimatePackets(const UdpPlan& plan);

struct PingPlan {
  FlowSpec spec;
  uint16_t id = 1;
  uint32_t count = 10;
  int64_t interval_ns = kNsPerSec;
  size_t data_bytes = 56;
  bool answered = true;
};

/// Largest number of packets a script queues per step (keeps per-flow memory small).
inline constexpr uint32_t kMaxPacketsPerStep = 256;

class TcpScript final : public FlowScript {
 public:
  TcpScript(TcpPlan plan, uint32_t snaplen);
  bool step() override;

 private:
  TcpPlan plan_;
  std::optional<TcpSession> session_;
  size_t exchange_ = 0;
  size_t bytes_left_ = 0;  // of the request or response being sent
  bool request_started_ = false;
  enum class Stage { kOpen, kRequest, kResponse, kClose, kDone } stage_ = Stage::kOpen;
};

class UdpScript final : public FlowScript {
 public:
  UdpScript(UdpPlan plan, uint32_t snaplen);
  bool step() override;

 private:
  UdpPlan plan_;
  std::optional<UdpSession> session_;
  size_t train_ = 0;
  uint32_t sent_in_train_ = 0;
  int64_t train_start_ns_ = 0;
};

class PingScript final : public FlowScript {
 public:
  PingScript(PingPlan plan, uint32_t snaplen);
  bool step() override;

 private:
  PingPlan plan_;
  std::optional<IcmpEchoSession> session_;
  uint32_t sent_ = 0;
};

/// Counts what passes through to `out`: packets, wire bytes, first and last time.
class CountingSink final : public PacketSink {
 public:
  explicit CountingSink(PacketSink& out) : out_(out) {}
  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) override;
  uint64_t packets() const { return packets_; }
  uint64_t wireBytes() const { return wire_bytes_; }
  int64_t firstNs() const { return first_ns_; }
  int64_t lastNs() const { return last_ns_; }

 private:
  PacketSink& out_;
  uint64_t packets_ = 0;
  uint64_t wire_bytes_ = 0;
  int64_t first_ns_ = 0;
  int64_t last_ns_ = 0;
};

}  // namespace edgesense::testsupport
