#pragma once

/// Conversation builders on top of PacketBuilder: a TCP session (handshake, data at an
/// MSS with correct seq/ack, pure ACKs, retransmissions, FIN or RST close), UDP
/// request/response pairs and ICMP echo pairs. Each packet is appended to the PacketSink
/// given at construction (which must outlive the session) and counted in conversation(),
/// the exact truth tests assert against. A session has its own clock: the caller moves
/// it with at()/wait(), and each call emits its packets at or after now(), in time order.
/// Single-threaded; a session is cheap and lives as long as the caller wants its counts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "packet_sink.h"

namespace edgesense::testsupport {

/// kToServer = initiator -> responder ("toserver", a -> b); kToClient the reverse.
enum class Direction { kToServer, kToClient };

inline Direction reverse(Direction d) {
  return d == Direction::kToServer ? Direction::kToClient : Direction::kToServer;
}

struct DirectionCounts {
  uint64_t packets = 0;
  uint64_t wire_bytes = 0;     // sum of frame lengths on the wire (pcap orig_len)
  uint64_t payload_bytes = 0;  // transport payload (TCP/UDP data, ICMP echo data)
};

/// Ground truth for one conversation; a is the initiator, b the responder.
struct Conversation {
  uint8_t proto = 0;
  IpAddress a;
  IpAddress b;
  uint16_t a_port = 0;  // 0 for ICMP
  uint16_t b_port = 0;
  std::vector<uint16_t> vlans;  // VLAN ids, outermost first
  DirectionCounts ab;           // toserver
  DirectionCounts ba;           // toclient
  int64_t first_ns = -1;
  int64_t last_ns = -1;

  void count(Direction dir, int64_t ts_ns, uint64_t wire_bytes, uint64_t payload_bytes);
  uint64_t packets() const { return ab.packets + ba.packets; }
};

/// One JSON object: proto (IP protocol number), a, a_port, b, b_port, vlan, pkts_ab,
/// pkts_ba, bytes_ab, bytes_ba, payload_ab, payload_ba, first_ns, last_ns (ns since the epoch).
std::string toJson(const Conversation& c);

/// Who talks to whom, over which link; shared by every session kind.
struct FlowSpec {
  IpAddress client;
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  LinkSpec link;  // layer, VLAN tags, SLL/null details; MACs and SLL direction are set per packet
  MacAddress client_mac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x0c};
  MacAddress server_mac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x05};
  uint8_t client_ttl = 64;
  uint8_t server_ttl = 56;
  int64_t start_ns = kDefaultBaseTimeNs;
  int64_t rtt_ns = 20 * kNsPerMs;        // request -> response delay seen at the capture point
  int64_t ack_delay_ns = 40 * kNsPerUs;  // segment -> the ACK it triggers
  bool dont_fragment = true;             // IPv4 DF on unfragmented packets
  std::vector<Ipv6ExtHeader> ipv6_ext_headers;  // put in every IPv6 packet of the flow
  /// A fragmented IPv6 packet carries ipv6_ext_headers behind its fragment header, in the
  /// first fragment only (headers for the final destination), not before it in each.
  bool ipv6_ext_headers_fragmentable = false;
};

class Session {
 public:
  virtual ~Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Conversation& conversation() const { return conv_; }
  const FlowSpec& spec() const { return spec_; }
  int64_t now() const { return now_ns_; }
  /// Moves the clock to `ts_ns`; packets already emitted are not reordered, so do not go back.
  void at(int64_t ts_ns) { now_ns_ = ts_ns; }
  void wait(int64_t gap_ns) { now_ns_ += gap_ns; }

  /// Emits a hand-made frame (a fragment, a malformed packet) at now(), counted in this
  /// conversation with `payload_bytes` of payload.
  void emitFrame(Direction dir, const Frame& frame, uint64_t payload_bytes);

  /// Link and IP layers for one direction, with the next IPv4 id of that direction.
  PacketBuilder builder(Direction dir);

 protected:
  Session(PacketSink& sink, FlowSpec spec, uint8_t proto);
  /// Queues a frame at `ts_ns`; flush() sorts the queue by time and hands it to the sink.
  void queue(Direction dir, int64_t ts_ns, Frame frame, uint64_t payload_bytes);
  void flush();

 private:
  struct Pending {
    int64_t ts_ns;
    Direction dir;
    Frame frame;
    uint64_t payload_bytes;
  };

  PacketSink& sink_;
  FlowSpec spec_;
  Conversation conv_;
  int64_t now_ns_;
  uint16_t ip_id_[2];
  std::vector<Pending> pending_;
};

enum class PayloadStyle {
  kPattern,  // patternPayload bytes
  kTls,      // TLS 1.2/1.3 application-data records (type 23) filling each message
};

struct TcpSessionOptions {
  uint16_t mss = 0;  // 0: 1460 over IPv4, 1440 over IPv6; segments carry mss - 12 with timestamps
  bool timestamps = true;
  uint8_t window_shift = 7;
  uint32_t client_isn = 0x3a5f1c01;
  uint32_t server_isn = 0x91c24e77;
  int ack_every = 2;                       // receiver ACKs every Nth segment and the last
  int64_t segment_gap_ns = 12 * kNsPerUs;  // spacing of back-to-back segments
  PayloadStyle payload = PayloadStyle::kPattern;
};

class TcpSession final : public Session {
 public:
  TcpSession(PacketSink& sink, FlowSpec spec, TcpSessionOptions options = {});

  /// SYN at now(), SYN/ACK one RTT later, ACK after ack_delay. `syn_captured`
  /// false: the SYN never reaches the capture (it takes its sequence number,
  /// but is neither written nor counted), so the capture opens at the SYN/ACK;
  /// `ack_captured` false: nor does the ACK (a lone SYN/ACK, as backscatter).
  void handshake(bool syn_captured = true, bool ack_captured = true);
  /// The handshake took place before the capture began: both SYNs take their
  /// sequence numbers, nothing is written. The next segment is mid-stream.
  void joinMidStream();
  /// One segment at now() with the current seq/ack (ack field only if kTcpAck is set).
  /// SYN and FIN consume a sequence number.
  void segment(Direction dir, uint8_t flags, size_t payload_bytes = 0);
  void pureAck(Direction dir) { segment(dir, kTcpAck); }
  /// `bytes` of data cut at the MSS, spaced by `segment_gap_ns` (< 0: the option's),
  /// PSH on the last; the receiver ACKs every ack_every segments and the last one.
  void send(Direction dir, size_t bytes, int64_t segment_gap_ns = -1);
  /// send(toserver, request); wait(server_time_ns, < 0: rtt); send(toclient, response).
  void exchange(size_t request_bytes, size_t response_bytes, int64_t server_time_ns = -1);
  /// Sends the last segment of `dir` again (same seq, flags and bytes) at now().
  void retransmit(Direction dir);
  /// FIN from `first`, FIN/ACK from the other side rtt/2 later, final ACK.
  void closeFin(Direction first = Direction::kToServer);
  /// Simultaneous close: FIN from `first` at now() and FIN from the other side rtt/4
  /// later, sent before it saw the first (so it acknowledges only earlier data); then
  /// each side ACKs the other's FIN after ack_delay. `lose_last_ack`: the last of those
  /// ACKs never reaches the capture.
  void closeSimultaneous(Direction first = Direction::kToServer, bool lose_last_ack = false);
  /// RST (with ACK when `with_ack`) from `from`.
  void reset(Direction from, bool with_ack = true);
  /// A RST as from `from` at now() whose sequence number is `seq_offset` past
  /// that side's next one (a blind reset by a third party); the session's
  /// state does not change, but the frame is counted in the conversation.
  void forgedReset(Direction from, uint32_t seq_offset);

  uint32_t nextSeq(Direction dir) const { return side(dir).next_seq; }
  size_t maxSegmentPayload() const;
  const TcpSessionOptions& options() const { return options_; }

 private:
  struct Side {
    uint32_t isn = 0;
    uint32_t next_seq = 0;
    uint64_t stream_offset = 0;  // data bytes sent so far, for payload generation
    uint32_t ts_base = 0;
    uint32_t last_tsval = 0;
    bool sent_syn = false;
    uint32_t last_seq = 0;
    uint8_t last_flags = 0;
    Bytes last_payload;
  };

  Side& side(Direction d) { return sides_[d == Direction::kToServer ? 0 : 1]; }
  const Side& side(Direction d) const { return sides_[d == Direction::kToServer ? 0 : 1]; }
  void queueSegment(Direction dir, int64_t ts_ns, uint8_t flags, uint32_t seq, Bytes payload);
  Bytes makePayload(Direction dir, size_t bytes);

  TcpSessionOptions options_;
  Side sides_[2];
};

class UdpSession final : public Session {
 public:
  UdpSession(PacketSink& sink, FlowSpec spec);

  /// One datagram at now(); cut into IP fragments of at most `fragment_payload` bytes
  /// when that is non-zero (each fragment is a counted packet; payload counted once).
  void send(Direction dir, Bytes payload, size_t fragment_payload = 0);
  void send(Direction dir, size_t bytes) { send(dir, patternPayload(bytes, seed_++)); }
  /// Request at now(), response `server_time_ns` later (< 0: rtt); empty response = none.
  void exchange(Bytes request, Bytes response, int64_t server_time_ns = -1);
  void exchange(size_t request_bytes, size_t response_bytes, int64_t server_time_ns = -1);

 private:
  uint32_t seed_ = 1;
  uint32_t fragment_id_ = 0x5eed0001;
};

class IcmpEchoSession final : public Session {
 public:
  /// ICMP or ICMPv6 by the address family; ports in the conversation stay 0.
  IcmpEchoSession(PacketSink& sink, FlowSpec spec, uint16_t id);

  /// Echo request at now() with `data_bytes` of data; reply one RTT later if `answered`.
  void ping(size_t data_bytes = 56, bool answered = true);

 private:
  uint16_t id_;
  uint16_t seq_ = 1;
};

}  // namespace edgesense::testsupport
