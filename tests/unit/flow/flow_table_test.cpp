// flow: keys, directions, every way a flow ends, eviction, windows and
// fragment attribution, driven by Packet values in packet time.

#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>
#include <vector>

namespace edgesense::flow {
namespace {

using decode::Packet;
using namespace decode::tcpflag;

constexpr TimeUs kSecond = 1'000'000;
constexpr TimeUs kT0 = 1'767'225'600 * kSecond;

IpAddress v4(const char* s) {
  std::uint8_t b[4];
  inet_pton(AF_INET, s, b);
  return IpAddress::fromV4(b);
}

Packet tcp(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
           std::uint8_t flags, TimeUs ts, std::uint32_t len = 60) {
  Packet p;
  p.ts_us = ts;
  p.src = v4(src);
  p.dst = v4(dst);
  p.src_port = sport;
  p.dst_port = dport;
  p.proto = decode::ipproto::kTcp;
  p.ip_version = 4;
  p.tcp_flags = flags;
  p.wire_len = p.cap_len = len;
  return p;
}

/// A TCP segment with the sequence and acknowledgement numbers a real stack
/// would put in it; `payload` bytes of data (counted in the frame length).
Packet seg(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
           std::uint8_t flags, TimeUs ts, std::uint32_t seq, std::uint32_t ack,
           std::uint32_t payload = 0) {
  Packet p = tcp(src, sport, dst, dport, flags, ts, 60 + payload);
  p.tcp_seq = seq;
  p.tcp_ack = ack;
  p.payload_len = payload;
  return p;
}

/// Client 10.0.0.2:5000 and server 10.0.0.1:80; their segments.
Packet cli(std::uint8_t flags, TimeUs ts, std::uint32_t seq, std::uint32_t ack,
           std::uint32_t payload = 0) {
  return seg("10.0.0.2", 5000, "10.0.0.1", 80, flags, ts, seq, ack, payload);
}
Packet srv(std::uint8_t flags, TimeUs ts, std::uint32_t seq, std::uint32_t ack,
           std::uint32_t payload = 0) {
  return seg("10.0.0.1", 80, "10.0.0.2", 5000, flags, ts, seq, ack, payload);
}

Packet udp(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, TimeUs ts,
           std::uint32_t len = 100) {
  Packet p = tcp(src, sport, dst, dport, 0, ts, len);
  p.proto = decode::ipproto::kUdp;
  return p;
}

struct Ext {
  int packets = 0;
};

struct Ended {
  EndReason reason;
  std::uint64_t pkts_fwd, pkts_bwd, bytes_fwd, bytes_bwd;
  std::uint16_t initiator_port;
  std::uint32_t window;
  TimeUs first, last;
  IpAddress initiator;
};

/// Records what the table reports.
struct Recorder {
  std::vector<Ended> ended;
  std::vector<Ended> snapshots;
  int started = 0;
  int packets = 0;

  static Ended of(const Flow<Ext>& f, EndReason r) {
    return {r,        f.pkts[0],  f.pkts[1], f.bytes[0],       f.bytes[1], f.initiatorPort(),
            f.window, f.first_ts, f.last_ts, f.initiatorAddr()};
  }
  void onStart(Flow<Ext>&, const Packet&) { ++started; }
  void onPacket(Flow<Ext>& f, const Packet&, Direction dir) {
    ++f.ext.packets;
    ++packets;
    directions.push_back(dir);
  }
  std::vector<Direction> directions;  // of every packet, in order
  void onSnapshot(const Flow<Ext>& f, TimeUs) {
    snapshots.push_back(of(f, EndReason::kActiveTimeout));
  }
  void onEnd(const Flow<Ext>& f, EndReason r, TimeUs) { ended.push_back(of(f, r)); }
};

FlowConfig config() {
  FlowConfig c;
  c.max_flows = 16;
  return c;
}

TEST(FlowKey, BothDirectionsShareOneKey) {
  bool a_lo = false, b_lo = false;
  const FlowKey a = makeKey(tcp("10.0.0.2", 5000, "10.0.0.1", 80, 0, 0), a_lo);
  const FlowKey b = makeKey(tcp("10.0.0.1", 80, "10.0.0.2", 5000, 0, 0), b_lo);
  EXPECT_EQ(a, b);
  EXPECT_NE(a_lo, b_lo);
  EXPECT_EQ(hashKey(a, kDefaultHashKey), hashKey(b, kDefaultHashKey));
  EXPECT_EQ(flowIdHash(a), flowIdHash(b));
  Packet other = tcp("10.0.0.2", 5000, "10.0.0.1", 80, 0, 0);
  other.vlan[0] = 7;
  bool lo = false;
  EXPECT_FALSE(makeKey(other, lo) == a);  // VLAN is part of the key
}

TEST(FlowKey, IcmpRequestAndReplyShareOneKey) {
  // decode gives both the request's type in src_port and the id in dst_port.
  Packet req = udp("10.0.0.2", 8 << 8, "10.0.0.1", 77, 0);
  req.proto = decode::ipproto::kIcmp;
  Packet rep = udp("10.0.0.1", 8 << 8, "10.0.0.2", 77, 0);
  rep.proto = decode::ipproto::kIcmp;
  bool a_lo = false, b_lo = false;
  EXPECT_EQ(makeKey(req, a_lo), makeKey(rep, b_lo));
  EXPECT_NE(a_lo, b_lo);

  FlowTable<Ext> t(config());
  Recorder r;
  t.process(req, r);
  t.process(rep, r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].pkts_fwd, 1u);
  EXPECT_EQ(r.ended[0].pkts_bwd, 1u);
  EXPECT_EQ(r.ended[0].initiator_port, 8 << 8);  // the type stays with the initiator
}

// Client ISN 1000, server ISN 5000 in the close tests below: after the
// handshake and 440 bytes of request the client's next sequence number is
// 1441 and the server's 5001; each FIN takes one more.
template <class Table>
void handshakeAndRequest(Table& t, Recorder& r) {
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 1000, 5000, 1001), r);
  t.process(cli(kAck, kT0 + 2000, 1001, 5001), r);
  t.process(cli(kAck | kPsh, kT0 + 3000, 1001, 5001, 440), r);
}

TEST(FlowTable, FirstSenderIsTheInitiatorAndFinEndsTheFlow) {
  FlowTable<Ext> t(config());
  Recorder r;
  handshakeAndRequest(t, r);
  t.process(cli(kFin | kAck, kT0 + 4000, 1441, 5001), r);
  t.process(srv(kFin | kAck, kT0 + 5000, 5001, 1442), r);  // acknowledges the client's FIN
  EXPECT_TRUE(r.ended.empty());                            // waits for the last ACK
  t.process(cli(kAck, kT0 + 6000, 1442, 5002), r);
  ASSERT_EQ(r.ended.size(), 1u);
  const Ended& e = r.ended[0];
  EXPECT_EQ(e.reason, EndReason::kTcpFin);
  EXPECT_EQ(e.initiator_port, 5000);
  EXPECT_EQ(e.pkts_fwd, 5u);
  EXPECT_EQ(e.pkts_bwd, 2u);
  EXPECT_EQ(e.bytes_fwd, 60u * 5 + 440);
  EXPECT_EQ(e.first, kT0);
  EXPECT_EQ(e.last, kT0 + 6000);
  EXPECT_EQ(r.packets, 7);
  EXPECT_EQ(t.stats().active, 0u);
  EXPECT_EQ(t.stats().ended[static_cast<int>(EndReason::kTcpFin)], 1u);
}

TEST(FlowTable, NormalCloseByTheServerWithASeparateAckEndsAtTheLastAck) {
  // Server closes first; the client ACKs that FIN on its own, sends data
  // (half close), then its FIN; the server's ACK of it ends the flow.
  FlowTable<Ext> t(config());
  Recorder r;
  handshakeAndRequest(t, r);
  t.process(srv(kFin | kAck, kT0 + 4000, 5001, 1441), r);
  t.process(cli(kAck, kT0 + 5000, 1441, 5002), r);
  t.process(cli(kAck | kPsh, kT0 + 6000, 1441, 5002, 100), r);
  t.process(srv(kAck, kT0 + 7000, 5002, 1541), r);
  t.process(cli(kFin | kAck, kT0 + 8000, 1541, 5002), r);
  EXPECT_TRUE(r.ended.empty());
  t.process(srv(kAck, kT0 + 9000, 5002, 1542), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 10u);
  EXPECT_EQ(r.ended[0].last, kT0 + 9000);
  EXPECT_EQ(r.started, 1);
}

TEST(FlowTable, SimultaneousCloseIsOneFlowEndingAtTheLaterAck) {
  // Both FINs cross (each acknowledges only the data before the other's
  // FIN); then each side ACKs the other's FIN, in either order. The flow
  // ends at the second of those ACKs, with every packet in it.
  for (const bool client_acks_first : {true, false}) {
    SCOPED_TRACE(client_acks_first ? "client ACKs first" : "server ACKs first");
    FlowTable<Ext> t(config());
    Recorder r;
    handshakeAndRequest(t, r);
    t.process(cli(kFin | kAck, kT0 + 4000, 1441, 5001), r);
    t.process(srv(kFin | kAck, kT0 + 4100, 5001, 1441), r);
    const Packet client_ack = cli(kAck, kT0 + 5000, 1442, 5002);
    const Packet server_ack = srv(kAck, kT0 + 5000, 5002, 1442);
    t.process(client_acks_first ? client_ack : server_ack, r);
    EXPECT_TRUE(r.ended.empty()) << "one FIN is not acknowledged yet";
    Packet last = client_acks_first ? server_ack : client_ack;
    last.ts_us = kT0 + 5100;
    t.process(last, r);
    ASSERT_EQ(r.ended.size(), 1u);
    EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
    EXPECT_EQ(r.ended[0].initiator_port, 5000);
    EXPECT_EQ(r.ended[0].pkts_fwd, 5u);
    EXPECT_EQ(r.ended[0].pkts_bwd, 3u);
    EXPECT_EQ(r.ended[0].last, kT0 + 5100);
    t.flushAll(r);
    EXPECT_EQ(r.ended.size(), 1u) << "no second flow from the late ACK";
    EXPECT_EQ(r.started, 1);
  }
}

TEST(FlowTable, SimultaneousCloseWithAFinalAckLostEndsAtTheLinger) {
  for (const bool client_ack_lost : {true, false}) {
    SCOPED_TRACE(client_ack_lost ? "client ACK lost" : "server ACK lost");
    FlowTable<Ext> t(config());
    Recorder r;
    handshakeAndRequest(t, r);
    t.process(cli(kFin | kAck, kT0 + 4000, 1441, 5001), r);
    t.process(srv(kFin | kAck, kT0 + 4100, 5001, 1441), r);
    t.process(
        client_ack_lost ? srv(kAck, kT0 + 5000, 5002, 1442) : cli(kAck, kT0 + 5000, 1442, 5002), r);
    const TimeUs deadline = kT0 + 4100 + config().tcp_close_linger_us;
    t.advance(deadline - 1, r);
    EXPECT_TRUE(r.ended.empty());
    t.advance(deadline, r);
    ASSERT_EQ(r.ended.size(), 1u);
    EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
    EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 7u);
    EXPECT_EQ(r.started, 1);
  }
}

TEST(FlowTable, AnAckShortOfTheFinDoesNotEndTheFlow) {
  // After both FINs, a duplicate ACK of earlier data (or a wrong number)
  // from the first closer is not the ACK of the second FIN.
  FlowTable<Ext> t(config());
  Recorder r;
  handshakeAndRequest(t, r);
  t.process(cli(kFin | kAck, kT0 + 4000, 1441, 5001), r);
  t.process(srv(kFin | kAck, kT0 + 5000, 5001, 1442), r);
  t.process(cli(kAck, kT0 + 6000, 1442, 5001), r);     // duplicate ACK
  t.process(cli(kAck, kT0 + 6100, 1442, 900'000), r);  // acknowledges nothing sent
  EXPECT_TRUE(r.ended.empty());
  t.process(cli(kAck, kT0 + 7000, 1442, 5002), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].last, kT0 + 7000);
}

TEST(FlowTable, FinSequenceNumbersWrapAround) {
  // The client's FIN takes the last sequence number; its end wraps to 0.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kAck | kPsh, kT0, 0xffffff00u, 5001, 0xff), r);
  t.process(cli(kFin | kAck, kT0 + 1000, 0xffffffffu, 5001), r);
  t.process(srv(kFin | kAck, kT0 + 2000, 5001, 0), r);
  t.process(cli(kAck, kT0 + 3000, 0, 5002), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
  EXPECT_EQ(r.ended[0].last, kT0 + 3000);
}

TEST(FlowTable, FinWithoutFinalAckEndsAfterTheLinger) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(tcp("10.0.0.2", 5000, "10.0.0.1", 80, kFin | kAck, kT0), r);
  t.process(tcp("10.0.0.1", 80, "10.0.0.2", 5000, kFin | kAck, kT0 + 1000), r);
  t.advance(kT0 + kSecond, r);
  EXPECT_TRUE(r.ended.empty());
  t.advance(kT0 + 1000 + config().tcp_close_linger_us, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
}

TEST(FlowTable, RstEndsTheFlowAndLateRetransmissionsStayInIt) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(tcp("10.0.0.2", 5000, "10.0.0.1", 80, kSyn, kT0), r);
  t.process(tcp("10.0.0.1", 80, "10.0.0.2", 5000, kRst | kAck, kT0 + 100), r);
  t.process(tcp("10.0.0.1", 80, "10.0.0.2", 5000, kRst | kAck, kT0 + 200), r);
  t.advance(kT0 + 3 * kSecond, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
  EXPECT_EQ(r.ended[0].pkts_bwd, 2u);
  EXPECT_EQ(r.started, 1);
}

TEST(FlowTable, RstAfterOneFinEndsAtTheLingerAsRst) {
  FlowTable<Ext> t(config());
  Recorder r;
  handshakeAndRequest(t, r);
  t.process(cli(kFin | kAck, kT0 + 4000, 1441, 5001), r);
  t.process(srv(kRst | kAck, kT0 + 5000, 5001, 1442), r);
  t.process(cli(kAck, kT0 + 6000, 1442, 5001), r);  // stays in the closing flow
  EXPECT_TRUE(r.ended.empty());
  t.advance(kT0 + 5000 + config().tcp_close_linger_us, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 7u);
  EXPECT_EQ(r.started, 1);
}

TEST(FlowTable, NewSynOnAClosingFlowStartsANewFlow) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(tcp("10.0.0.2", 5000, "10.0.0.1", 80, kSyn, kT0), r);
  t.process(tcp("10.0.0.1", 80, "10.0.0.2", 5000, kRst | kAck, kT0 + 100), r);
  t.process(tcp("10.0.0.2", 5000, "10.0.0.1", 80, kSyn, kT0 + 200), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
  EXPECT_EQ(r.started, 2);
}

TEST(FlowTable, IdleTimeoutSplitsAReusedTuple) {
  FlowConfig c = config();
  c.udp_idle_timeout_us = 120 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 53000, kT0 + 1000), r);
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 120 * kSecond), r);  // not past
  EXPECT_TRUE(r.ended.empty());
  // 121 s of silence is more than max_clock_jump: the packet after it waits
  // for the next to confirm the time (see the clock tests below).
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 241 * kSecond), r);
  EXPECT_TRUE(r.ended.empty());
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 241 * kSecond + 1000), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(r.ended[0].pkts_fwd, 2u);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[1].reason, EndReason::kShutdown);
  EXPECT_EQ(r.ended[1].pkts_fwd, 2u);
  EXPECT_EQ(r.ended[1].first, kT0 + 241 * kSecond);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 0u);
}

TEST(FlowTable, ProtocolsHaveTheirOwnIdleTimeouts) {
  FlowConfig c = config();
  c.idle_timeout_us = 100 * kSecond;
  c.udp_idle_timeout_us = 10 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(tcp("10.0.0.2", 5000, "10.0.0.1", 80, kAck, kT0), r);
  t.process(udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0), r);
  t.advance(kT0 + 11 * kSecond, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].initiator_port, 5000);
  t.advance(kT0 + 101 * kSecond, r);
  EXPECT_EQ(r.ended.size(), 2u);
}

TEST(FlowTable, ActiveTimeoutSnapshotsCumulativeWindows) {
  FlowConfig c = config();
  c.active_timeout_us = 30 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  // One packet every 0.5 s for 100 s.
  for (int i = 0; i <= 200; ++i) {
    t.process(udp("10.0.0.2", 4000, "10.0.0.1", 4001, kT0 + i * kSecond / 2), r);
  }
  t.flushAll(r);
  ASSERT_EQ(r.snapshots.size(), 3u);  // at 30, 60 and 90 s
  EXPECT_EQ(r.snapshots[0].window, 0u);
  EXPECT_EQ(r.snapshots[1].window, 1u);
  EXPECT_EQ(r.snapshots[2].window, 2u);
  EXPECT_EQ(r.snapshots[0].pkts_fwd, 60u);  // packets before the 30 s deadline
  EXPECT_LT(r.snapshots[0].pkts_fwd, r.snapshots[1].pkts_fwd);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].window, 3u);
  EXPECT_EQ(r.ended[0].pkts_fwd, 201u);  // the final record has the exact total
  EXPECT_EQ(t.stats().ended[static_cast<int>(EndReason::kActiveTimeout)], 3u);
}

TEST(FlowTable, QuietFlowsGetNoEmptySnapshots) {
  FlowConfig c = config();
  c.active_timeout_us = 30 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(udp("10.0.0.2", 4000, "10.0.0.1", 4001, kT0), r);
  t.advance(kT0 + 31 * kSecond, r);
  t.advance(kT0 + 62 * kSecond, r);
  t.advance(kT0 + 93 * kSecond, r);
  EXPECT_EQ(r.snapshots.size(), 1u);
}

TEST(FlowTable, FullTableEvictsTheLeastRecentlySeen) {
  FlowConfig c = config();
  c.max_flows = 4;
  FlowTable<Ext> t(c);
  Recorder r;
  for (std::uint16_t i = 0; i < 4; ++i)
    t.process(udp("10.0.0.2", 1000 + i, "10.0.0.1", 53, kT0 + i), r);
  t.process(udp("10.0.0.2", 1000, "10.0.0.1", 53, kT0 + 10), r);  // 1000 is fresh again
  t.process(udp("10.0.0.2", 2000, "10.0.0.1", 53, kT0 + 11), r);  // evicts 1001
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kEvicted);
  EXPECT_EQ(r.ended[0].initiator_port, 1001);
  EXPECT_EQ(t.stats().active, 4u);
  EXPECT_EQ(t.stats().ended[static_cast<int>(EndReason::kEvicted)], 1u);
  t.flushAll(r);
  EXPECT_EQ(r.ended.size(), 5u);
  EXPECT_EQ(t.stats().active, 0u);
}

TEST(FlowTable, ChurnKeepsEveryPacketAccounted) {
  // Many flows through a small table: every packet lands in exactly one
  // reported flow, whatever was evicted or expired (exercises the
  // backward-shift deletion of the hash table).
  FlowConfig c = config();
  c.max_flows = 64;
  c.udp_idle_timeout_us = 2 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  std::uint64_t x = 12345;
  const int kPackets = 20000;
  for (int i = 0; i < kPackets; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto port = static_cast<std::uint16_t>(1000 + (x >> 33) % 300);
    const bool reply = (x >> 20) & 1;
    const Packet p = reply ? udp("10.0.0.1", 53, "10.0.0.2", port, kT0 + i * 1000)
                           : udp("10.0.0.2", port, "10.0.0.1", 53, kT0 + i * 1000);
    t.process(p, r);
  }
  t.flushAll(r);
  std::uint64_t total = 0;
  for (const Ended& e : r.ended) total += e.pkts_fwd + e.pkts_bwd;
  EXPECT_EQ(total, static_cast<std::uint64_t>(kPackets));
  EXPECT_EQ(static_cast<std::uint64_t>(r.started), r.ended.size());
  EXPECT_GT(t.stats().ended[static_cast<int>(EndReason::kEvicted)], 0u);
  EXPECT_EQ(t.stats().active, 0u);
}

TEST(FlowTable, LaterFragmentsJoinTheirFirstFragmentsFlow) {
  FlowTable<Ext> t(config());
  Recorder r;
  Packet first = udp("10.0.0.2", 1000, "10.0.0.1", 2000, kT0, 1514);
  first.fragment = decode::Fragment::kFirst;
  first.frag_id = 77;
  Packet later = udp("10.0.0.2", 0, "10.0.0.1", 0, kT0 + 10, 600);
  later.fragment = decode::Fragment::kLater;
  later.frag_id = 77;
  Packet orphan = later;
  orphan.frag_id = 78;
  t.process(first, r);
  t.process(later, r);
  t.process(orphan, r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].pkts_fwd, 2u);
  EXPECT_EQ(r.ended[0].bytes_fwd, 1514u + 600u);
  EXPECT_EQ(t.stats().fragments_attributed, 1u);
  EXPECT_EQ(t.stats().fragments_unattributed, 1u);
}

TEST(FlowTable, AFullFragmentTableCountsTheChainsItOverwrites) {
  // One fragment slot, two chains in flight at once: the second first
  // fragment takes the first chain's slot, counted, and the first chain's
  // later fragment has nowhere to go. A chain whose slot is reused after its
  // flow ended, or after the fragment timeout, is not counted.
  FlowConfig c = config();
  c.fragment_slots = 1;
  FlowTable<Ext> t(c);
  Recorder r;
  Packet a = udp("10.0.0.2", 1000, "10.0.0.1", 2000, kT0, 1514);
  a.fragment = decode::Fragment::kFirst;
  a.frag_id = 1;
  Packet b = udp("10.0.0.3", 1000, "10.0.0.1", 2000, kT0 + 1, 1514);
  b.fragment = decode::Fragment::kFirst;
  b.frag_id = 2;
  Packet a_later = udp("10.0.0.2", 0, "10.0.0.1", 0, kT0 + 2, 600);
  a_later.fragment = decode::Fragment::kLater;
  a_later.frag_id = 1;
  Packet b_later = a_later;
  b_later.src = b.src;
  b_later.frag_id = 2;
  t.process(a, r);
  t.process(a, r);  // the same chain again (a retransmission): not an overwrite
  EXPECT_EQ(t.stats().fragment_slots_overwritten, 0u);
  t.process(b, r);
  EXPECT_EQ(t.stats().fragment_slots_overwritten, 1u);
  t.process(a_later, r);
  t.process(b_later, r);
  EXPECT_EQ(t.stats().fragments_unattributed, 1u);
  EXPECT_EQ(t.stats().fragments_attributed, 1u);
  // After the fragment timeout the slot is free for another chain.
  Packet a_again = a;
  a_again.frag_id = 3;
  a_again.ts_us = kT0 + 2 + c.fragment_timeout_us + 1;
  t.process(a_again, r);
  EXPECT_EQ(t.stats().fragment_slots_overwritten, 1u);
}

TEST(FlowTable, FragmentSlotsKeepIpVersionsApart) {
  // IPv4 is stored IPv4-mapped: an IPv6 chain between ::ffff:10.0.0.2 and
  // ::ffff:10.0.0.1 with the same id has the same address bytes.
  FlowTable<Ext> t(config());
  Recorder r;
  Packet first = udp("10.0.0.2", 1000, "10.0.0.1", 2000, kT0, 1514);
  first.fragment = decode::Fragment::kFirst;
  first.frag_id = 77;
  Packet v6_later = udp("10.0.0.2", 0, "10.0.0.1", 0, kT0 + 10, 600);
  v6_later.ip_version = 6;
  v6_later.fragment = decode::Fragment::kLater;
  v6_later.frag_id = 77;
  Packet v4_later = v6_later;
  v4_later.ip_version = 4;
  t.process(first, r);
  t.process(v6_later, r);
  EXPECT_EQ(t.stats().fragments_unattributed, 1u);
  EXPECT_EQ(t.stats().fragments_attributed, 0u);
  t.process(v4_later, r);
  EXPECT_EQ(t.stats().fragments_attributed, 1u);

  // And the other way round: an IPv6 first fragment, an IPv4 later one.
  Packet v6_first = first;
  v6_first.ip_version = 6;
  v6_first.frag_id = 78;
  v6_first.ts_us = kT0 + 20;
  Packet v4_other = v4_later;
  v4_other.frag_id = 78;
  v4_other.ts_us = kT0 + 30;
  t.process(v6_first, r);
  t.process(v4_other, r);
  EXPECT_EQ(t.stats().fragments_unattributed, 2u);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);  // the IPv4 and the IPv6 flow
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[1].pkts_fwd, 3u);
}

TEST(FlowTable, Ipv6LaterFragmentsMatchWithoutTheirNextHeader) {
  // With a destination options header behind the fragment header, a later
  // fragment's next header is 60, its first fragment's transport UDP: IPv6
  // reassembles by (source, destination, id) alone (RFC 8200).
  FlowTable<Ext> t(config());
  Recorder r;
  Packet first = udp("10.0.0.2", 1000, "10.0.0.1", 2000, kT0, 1514);
  first.ip_version = 6;
  first.fragment = decode::Fragment::kFirst;
  first.frag_id = 0x5eed0001;
  Packet later = udp("10.0.0.2", 0, "10.0.0.1", 0, kT0 + 10, 600);
  later.ip_version = 6;
  later.proto = 60;
  later.fragment = decode::Fragment::kLater;
  later.frag_id = 0x5eed0001;
  t.process(first, r);
  t.process(later, r);
  EXPECT_EQ(t.stats().fragments_attributed, 1u);
  // IPv4 keeps the protocol in the key (RFC 791).
  Packet v4_first = udp("10.0.0.2", 1000, "10.0.0.1", 2000, kT0 + 20, 1514);
  v4_first.fragment = decode::Fragment::kFirst;
  v4_first.frag_id = 9;
  Packet v4_other = udp("10.0.0.2", 0, "10.0.0.1", 0, kT0 + 30, 600);
  v4_other.proto = decode::ipproto::kTcp;
  v4_other.fragment = decode::Fragment::kLater;
  v4_other.frag_id = 9;
  t.process(v4_first, r);
  t.process(v4_other, r);
  EXPECT_EQ(t.stats().fragments_unattributed, 1u);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[1].pkts_fwd, 3u);
}

// The direction rule (FlowTable::initiatorIsLo): a TCP flow first seen after
// its SYN takes its initiator from the SYN-ACK or the ports.

TEST(FlowDirection, AFlowFirstSeenAtItsSynAckIsOpenedByItsReceiver) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(srv(kSyn | kAck, kT0, 5000, 1001), r);  // the client's SYN was not captured
  t.process(cli(kAck, kT0 + 1000, 1001, 5001), r);
  t.process(cli(kAck | kPsh, kT0 + 2000, 1001, 5001, 440), r);
  t.process(srv(kAck | kPsh, kT0 + 3000, 5001, 1441, 1000), r);
  t.process(cli(kFin | kAck, kT0 + 4000, 1441, 6001), r);
  t.process(srv(kFin | kAck, kT0 + 5000, 6001, 1442), r);
  t.process(cli(kAck, kT0 + 6000, 1442, 6002), r);
  ASSERT_EQ(r.ended.size(), 1u);
  const Ended& e = r.ended[0];
  EXPECT_EQ(e.reason, EndReason::kTcpFin);
  EXPECT_EQ(e.initiator, v4("10.0.0.2"));
  EXPECT_EQ(e.initiator_port, 5000);
  EXPECT_EQ(e.pkts_fwd, 4u);
  EXPECT_EQ(e.pkts_bwd, 3u);
  EXPECT_EQ(e.bytes_bwd, 60u * 3 + 1000);
  EXPECT_EQ(e.first, kT0);
  ASSERT_EQ(r.directions.size(), 7u);
  EXPECT_EQ(r.directions[0], Direction::kBackward);  // the SYN-ACK
  EXPECT_EQ(r.directions[1], Direction::kForward);
  EXPECT_EQ(t.stats().direction_from_syn_ack, 1u);
  EXPECT_EQ(t.stats().direction_from_port, 0u);
}

TEST(FlowDirection, AFlowFirstSeenMidStreamTakesTheLowerPortAsTheServer) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(srv(kAck | kPsh, kT0, 90000, 70000, 1000), r);  // the server's data first
  t.process(cli(kAck, kT0 + 1000, 70000, 91000), r);
  t.process(seg("10.0.0.3", 6000, "10.0.0.1", 80, kAck, kT0 + 2000, 1, 1), r);  // client first
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[0].initiator, v4("10.0.0.2"));
  EXPECT_EQ(r.ended[0].initiator_port, 5000);
  EXPECT_EQ(r.ended[0].pkts_fwd, 1u);
  EXPECT_EQ(r.ended[0].pkts_bwd, 1u);
  EXPECT_EQ(r.ended[0].bytes_bwd, 1060u);
  EXPECT_EQ(r.ended[1].initiator, v4("10.0.0.3"));
  EXPECT_EQ(r.ended[1].pkts_fwd, 1u);
  EXPECT_EQ(r.directions[0], Direction::kBackward);
  EXPECT_EQ(r.directions[2], Direction::kForward);
  EXPECT_EQ(t.stats().direction_from_port, 1u);  // the second flow kept its sender
  EXPECT_EQ(t.stats().direction_from_syn_ack, 0u);
}

TEST(FlowDirection, EqualPortsKeepTheFirstSender) {
  // BGP between two routers, picked up mid-stream: nothing tells, so the
  // first sender stays the initiator, whichever end of the key it is.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(seg("10.0.0.9", 179, "10.0.0.1", 179, kAck | kPsh, kT0, 1, 1, 19), r);
  t.process(seg("10.0.0.1", 179, "10.0.0.9", 179, kAck, kT0 + 1000, 1, 20), r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].initiator, v4("10.0.0.9"));
  EXPECT_EQ(r.directions, (std::vector{Direction::kForward, Direction::kBackward}));
  EXPECT_EQ(t.stats().direction_from_port + t.stats().direction_from_syn_ack, 0u);
}

TEST(FlowDirection, ASynAndOtherProtocolsKeepTheFirstSender) {
  FlowTable<Ext> t(config());
  Recorder r;
  // A SYN from a low port to a high one is still the opening.
  t.process(seg("10.0.0.1", 80, "10.0.0.2", 5000, kSyn, kT0, 1, 0), r);
  // UDP has no handshake: the first datagram's sender, even from port 53.
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 5000, kT0 + 1000), r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  for (const Ended& e : r.ended) {
    EXPECT_EQ(e.initiator, v4("10.0.0.1"));
    EXPECT_EQ(e.pkts_fwd, 1u);
  }
  EXPECT_EQ(t.stats().direction_from_port + t.stats().direction_from_syn_ack, 0u);
}

TEST(FlowDirection, ASynAckOnAClosingFlowJoinsIt) {
  // Only a fresh SYN starts a new flow on a closing one: a late SYN-ACK
  // retransmission stays in the old flow and turns nothing round.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 100, 5000, 1001), r);
  t.process(cli(kRst, kT0 + 200, 1001, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 300, 5000, 1001), r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].initiator_port, 5000);
  EXPECT_EQ(r.ended[0].pkts_bwd, 2u);
  EXPECT_EQ(t.stats().direction_from_syn_ack, 0u);
}

// The clock rule (FlowTable::resolveHeld): a time further than
// max_clock_jump (60 s) from the clock is believed only if the next time
// agrees with it.

constexpr TimeUs kTenYears = 3652LL * 86400 * kSecond;

/// A DNS-like UDP exchange with one frame stamped `jump` away from its
/// neighbours, in the middle.
void exchangeWithOneJumpedFrame(FlowTable<Ext>& t, Recorder& r, TimeUs jump) {
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 53000, kT0 + 1000), r);
  t.process(udp("10.0.0.5", 4000, "10.0.0.1", 53, kT0 + 1500 + jump), r);  // another flow
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 2000), r);
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 53000, kT0 + 3000), r);
}

TEST(FlowClock, ALoneFrameTenYearsAheadNeitherMovesTheClockNorEndsFlows) {
  FlowTable<Ext> t(config());
  Recorder r;
  exchangeWithOneJumpedFrame(t, r, kTenYears);
  EXPECT_TRUE(r.ended.empty());  // before the rule: the jump ended the first flow
  EXPECT_EQ(t.now(), kT0 + 3000);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 1u);
  EXPECT_EQ(t.stats().clock_jumps_behind, 0u);
  EXPECT_EQ(t.stats().last_clock_jump_us, kTenYears + 500);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(t.stats().created, 2u);
  // The jumped frame is accounted to its flow at the clock's time.
  const Ended& exchange = r.ended[0].pkts_fwd == 2 ? r.ended[0] : r.ended[1];
  const Ended& jumped = r.ended[0].pkts_fwd == 2 ? r.ended[1] : r.ended[0];
  EXPECT_EQ(exchange.pkts_fwd + exchange.pkts_bwd, 4u);
  EXPECT_EQ(exchange.last, kT0 + 3000);
  EXPECT_EQ(jumped.pkts_fwd, 1u);
  EXPECT_EQ(jumped.first, kT0 + 1000);
}

TEST(FlowClock, ALoneFrameTenYearsBehindIsCountedAndAccountedAtTheClock) {
  FlowTable<Ext> t(config());
  Recorder r;
  exchangeWithOneJumpedFrame(t, r, -kTenYears);
  EXPECT_TRUE(r.ended.empty());
  EXPECT_EQ(t.stats().clock_jumps_behind, 1u);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 0u);
  EXPECT_EQ(t.stats().clock_steps_back, 0u);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  for (const Ended& e : r.ended) EXPECT_GE(e.first, kT0);  // not ten years back
}

TEST(FlowClock, SmallReorderingIsOrdinaryTime) {
  FlowTable<Ext> t(config());
  Recorder r;
  exchangeWithOneJumpedFrame(t, r, -59 * kSecond);  // merged captures, skewed
  exchangeWithOneJumpedFrame(t, r, 59 * kSecond);
  EXPECT_EQ(t.stats().clock_jumps_ahead + t.stats().clock_jumps_behind, 0u);
}

TEST(FlowClock, AClockSteppedAheadIsFollowed) {
  // NTP steps the clock an hour ahead: every later packet agrees with the
  // new time, so the second confirms it and the idle flow ends as it would.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.process(udp("10.0.0.3", 53000, "10.0.0.1", 53, kT0 + 3600 * kSecond), r);
  EXPECT_TRUE(r.ended.empty());  // held: one frame proves nothing yet
  t.process(udp("10.0.0.3", 53000, "10.0.0.1", 53, kT0 + 3600 * kSecond + 1000), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(t.now(), kT0 + 3600 * kSecond + 1000);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 0u);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[1].pkts_fwd, 2u);
  EXPECT_EQ(r.ended[1].first, kT0 + 3600 * kSecond);
}

TEST(FlowClock, AClockSteppedBackEndsTheOpenFlowsAndRestarts) {
  // Files given out of time order (replay b.pcap after a.pcap, b an hour
  // earlier), or NTP stepping back: the later capture's flows end as at the
  // end of a capture, and the clock restarts at the earlier time.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 53000, kT0 + 1000), r);
  const TimeUs b = kT0 - 3600 * kSecond;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, b), r);
  EXPECT_TRUE(r.ended.empty());
  t.process(udp("10.0.0.1", 53, "10.0.0.2", 53000, b + 1000), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kShutdown);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 2u);
  EXPECT_EQ(t.stats().clock_steps_back, 1u);
  EXPECT_EQ(t.now(), b + 1000);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[1].first, b);
  EXPECT_EQ(r.ended[1].pkts_fwd + r.ended[1].pkts_bwd, 2u);
}

TEST(FlowClock, UndecodableFramesAreJudgedToo) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.passTime(kT0 + kTenYears, r);
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 1000), r);
  EXPECT_TRUE(r.ended.empty());
  EXPECT_EQ(t.now(), kT0 + 1000);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 1u);
}

TEST(FlowClock, AHeldFrameAtTheEndOfInputIsTakenAtItsTime) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0), r);
  t.process(udp("10.0.0.2", 53000, "10.0.0.1", 53, kT0 + 300 * kSecond), r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(r.ended[1].first, kT0 + 300 * kSecond);
  EXPECT_EQ(r.packets, 2);
}

TEST(FlowClock, ZeroBoundBelievesEveryTime) {
  FlowConfig c = config();
  c.max_clock_jump_us = 0;
  FlowTable<Ext> t(c);
  Recorder r;
  exchangeWithOneJumpedFrame(t, r, kTenYears);
  EXPECT_EQ(t.stats().clock_jumps_ahead, 0u);
  EXPECT_EQ(r.ended.size(), 1u);  // the old behaviour: the jump expired the exchange
}

// RST outside the window (RFC 5961 section 3), with the client and server of
// the close tests: after handshakeAndRequest the server has acknowledged the
// client up to 1441, so a client RST must carry a sequence number in
// [1441, 1441 + 2^30).

TEST(FlowTableRst, ARstOutsideTheWindowIsCountedAndIgnored) {
  FlowTable<Ext> t(config());
  Recorder r;
  handshakeAndRequest(t, r);
  t.process(srv(kAck | kPsh, kT0 + 4000, 5001, 1441, 1000), r);
  t.process(cli(kRst, kT0 + 5000, 1441u + (1u << 31), 0), r);  // spoofed, half the space away
  t.process(cli(kRst | kAck, kT0 + 5500, 1000, 6001), r);      // behind what was acknowledged
  EXPECT_EQ(t.stats().rst_out_of_window, 2u);
  // The conversation goes on and closes cleanly, one flow.
  t.process(cli(kAck, kT0 + 6000, 1441, 6001), r);
  t.process(cli(kFin | kAck, kT0 + 7000, 1441, 6001), r);
  t.process(srv(kFin | kAck, kT0 + 8000, 6001, 1442), r);
  t.process(cli(kAck, kT0 + 9000, 1442, 6002), r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpFin);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 11u);  // the RSTs are counted in it
  EXPECT_EQ(r.started, 1);
}

TEST(FlowTableRst, ARstInsideTheWindowEndsTheFlow) {
  for (const std::uint32_t seq : {1441u, 1441u + 70000u, 1441u + (1u << 30) - 1}) {
    FlowTable<Ext> t(config());
    Recorder r;
    handshakeAndRequest(t, r);
    t.process(srv(kAck, kT0 + 4000, 5001, 1441), r);
    t.process(cli(kRst, kT0 + 5000, seq, 0), r);
    t.advance(kT0 + 5000 + config().tcp_close_linger_us, r);
    ASSERT_EQ(r.ended.size(), 1u) << seq;
    EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
    EXPECT_EQ(t.stats().rst_out_of_window, 0u);
  }
}

TEST(FlowTableRst, TheWindowEdgeWrapsAround) {
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kSyn, kT0, 0xfffffff0u, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 1000, 5000, 0xfffffff1u), r);
  t.process(cli(kRst, kT0 + 2000, 0xfffffff0u, 0), r);  // one behind: out
  EXPECT_EQ(t.stats().rst_out_of_window, 1u);
  t.process(cli(kRst, kT0 + 3000, 0x10u, 0), r);  // past the wrap, inside
  t.advance(kT0 + 3000 + config().tcp_close_linger_us, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
}

TEST(FlowTableRst, ARstBeforeTheReceiverAcknowledgedAnythingCounts) {
  // The SYN's answer is a RST, and a flow picked up mid-stream: no ACK from
  // the receiver, no window known, any RST ends the flow as before.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(srv(kRst | kAck, kT0 + 100, 0, 1001), r);
  t.process(srv(kAck | kPsh, kT0 + 200'000, 90000, 70000, 100), r);  // another, mid-stream
  t.advance(kT0 + 150 + config().tcp_close_linger_us, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpRst);
  t.process(cli(kRst, kT0 + 3 * kSecond, 12345, 0), r);
  t.advance(kT0 + 3 * kSecond + config().tcp_close_linger_us, r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[1].reason, EndReason::kTcpRst);
  EXPECT_EQ(t.stats().rst_out_of_window, 0u);
}

// Half-open TCP flows and eviction by kind.

TEST(FlowTableHalfOpen, ASynWithoutHandshakeEndsAfterTheHalfOpenTimeout) {
  FlowTable<Ext> t(config());  // half-open 30 s, idle 120 s
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);  // no answer: a spoofed or lost SYN
  t.process(seg("10.0.0.3", 6000, "10.0.0.1", 80, kSyn, kT0 + 1000, 7000, 0), r);
  t.process(seg("10.0.0.1", 80, "10.0.0.3", 6000, kSyn | kAck, kT0 + 2000, 9000, 7001), r);
  t.process(seg("10.0.0.3", 6000, "10.0.0.1", 80, kAck, kT0 + 3000, 7001, 9001), r);
  t.advance(kT0 + 30 * kSecond, r);
  EXPECT_TRUE(r.ended.empty());  // not past
  t.advance(kT0 + 30 * kSecond + 1, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(r.ended[0].initiator_port, 5000);
  // The completed handshake keeps the TCP idle timeout.
  t.advance(kT0 + 3000 + 120 * kSecond, r);
  EXPECT_EQ(r.ended.size(), 1u);
  t.advance(kT0 + 3000 + 120 * kSecond + 1, r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[1].initiator_port, 6000);
}

TEST(FlowTableHalfOpen, ASynAckNeverAcknowledgedStaysHalfOpen) {
  // A SYN flood at an open port: the server answers, the spoofed source never does.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 100, 5000, 1001), r);
  t.process(srv(kSyn | kAck, kT0 + kSecond, 5000, 1001), r);  // retransmitted
  t.advance(kT0 + 31 * kSecond + 1, r);
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 3u);
}

TEST(FlowTableHalfOpen, TheTimeoutIsItsOwn) {
  FlowConfig c = config();
  c.tcp_half_open_timeout_us = 5 * kSecond;  // Zeek's tcp_SYN_timeout
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.advance(kT0 + 5 * kSecond + 1, r);
  ASSERT_EQ(r.ended.size(), 1u);
}

/// A synthetic capture with known truth: `conversations` complete TCP
/// connections (handshake, request, response, FIN both ways, 9 packets each)
/// between 10.1.x.y and the server, their packets interleaved with a flood
/// of spoofed SYNs (from 10.9.x.y, none answered) and one-packet UDP probes.
struct FloodResult {
  std::vector<Ended> ended;
  FlowTableStats stats;
};

FloodResult replayFlood(std::uint32_t table, int conversations, int syns_per_step,
                        int probes_per_step) {
  FlowConfig c;
  c.max_flows = table;
  FlowTable<Ext> t(c);
  Recorder r;
  TimeUs now = kT0;
  int spoofed = 0;
  auto flood = [&] {
    for (int i = 0; i < syns_per_step; ++i, ++spoofed) {
      const std::string src =
          "10.9." + std::to_string((spoofed >> 8) & 255) + "." + std::to_string(spoofed & 255);
      t.process(seg(src.c_str(), static_cast<std::uint16_t>(1024 + spoofed % 60000), "10.0.0.1", 80,
                    kSyn, now += 10, 1, 0),
                r);
    }
    for (int i = 0; i < probes_per_step; ++i, ++spoofed) {
      const std::string src =
          "10.8." + std::to_string((spoofed >> 8) & 255) + "." + std::to_string(spoofed & 255);
      t.process(udp(src.c_str(), 5353, "10.0.0.1", 53, now += 10), r);
    }
  };
  // Every connection opens first, then all go on step by step, so each is
  // idle while the flood fills the table behind it.
  std::vector<std::string> clients;
  for (int k = 0; k < conversations; ++k)
    clients.push_back("10.1." + std::to_string(k >> 8) + "." + std::to_string(k & 255));
  const std::uint8_t kPa = kPsh | kAck, kFa = kFin | kAck;
  struct Step {
    bool from_client;
    std::uint8_t flags;
    std::uint32_t seq, ack, payload;
  };
  const Step steps[] = {
      {true, kSyn, 100, 0, 0},    {false, kSyn | kAck, 500, 101, 0}, {true, kAck, 101, 501, 0},
      {true, kPa, 101, 501, 200}, {false, kPa, 501, 301, 900},       {true, kAck, 301, 1401, 0},
      {true, kFa, 301, 1401, 0},  {false, kFa, 1401, 302, 0},        {true, kAck, 302, 1402, 0}};
  for (const Step& st : steps) {
    // The handshakes go by without flood between their packets (a SYN
    // flood beats a handshake in its own race too: that is a full table
    // without emergency mode, and not what this measures).
    const bool flooding = &st - steps >= 3;
    for (int k = 0; k < conversations; ++k) {
      const char* cl = clients[k].c_str();
      const auto port = static_cast<std::uint16_t>(40000 + k);
      now += 100;
      t.process(st.from_client
                    ? seg(cl, port, "10.0.0.1", 80, st.flags, now, st.seq, st.ack, st.payload)
                    : seg("10.0.0.1", 80, cl, port, st.flags, now, st.seq, st.ack, st.payload),
                r);
      if (flooding) flood();
    }
  }
  t.flushAll(r);
  return {r.ended, t.stats()};
}

TEST(FlowTableEviction, AFloodOfHalfOpenAndOnePacketFlowsLeavesConversationsWhole) {
  // 64 connections, each 9 packets; once they are established, 20 spoofed
  // SYNs and 5 UDP probes after each of their packets, in a table of 256
  // flows: 1,600 flood flows between two packets of one connection, which
  // plain LRU eviction would have thrown out.
  const FloodResult f = replayFlood(256, 64, 20, 5);
  int whole = 0;
  for (const Ended& e : f.ended) {
    if (e.initiator_port >= 40000 && e.initiator_port < 40064) {
      EXPECT_EQ(e.reason, EndReason::kTcpFin) << e.initiator_port;
      EXPECT_EQ(e.pkts_fwd, 6u);
      EXPECT_EQ(e.pkts_bwd, 3u);
      ++whole;
    }
  }
  EXPECT_EQ(whole, 64);
  EXPECT_EQ(f.stats.created, 64u + 64 * 6 * 25);
  EXPECT_EQ(f.stats.evicted_established, 0u);
  EXPECT_EQ(f.stats.evicted_closing, 0u);
  EXPECT_GT(f.stats.evicted_half_open, 0u);
  EXPECT_GT(f.stats.evicted_one_packet, 0u);
  EXPECT_EQ(f.stats.evicted_half_open + f.stats.evicted_one_packet,
            f.stats.ended[static_cast<std::size_t>(EndReason::kEvicted)]);
}

TEST(FlowTableEviction, EstablishedFlowsGoOnlyWhenNothingElseIsLeft) {
  // 64 answered UDP exchanges through a table of 32: once it is full of
  // established flows, those go, least recently seen first, counted as such.
  FlowConfig c;
  c.max_flows = 32;
  FlowTable<Ext> t(c);
  Recorder r;
  for (int k = 0; k < 64; ++k) {
    const std::string cl = "10.1.0." + std::to_string(k);
    t.process(udp(cl.c_str(), 5000, "10.0.0.1", 53, kT0 + k * 1000), r);
    t.process(udp("10.0.0.1", 53, cl.c_str(), 5000, kT0 + k * 1000 + 500), r);
  }
  t.process(udp("10.2.0.1", 5000, "10.0.0.1", 53, kT0 + kSecond), r);  // one packet
  t.process(udp("10.2.0.2", 5000, "10.0.0.1", 53, kT0 + kSecond + 1), r);
  EXPECT_EQ(t.stats().evicted_established, 33u);
  EXPECT_EQ(t.stats().evicted_one_packet, 1u);  // the newer probe evicts the older
  EXPECT_EQ(t.stats().evicted_half_open + t.stats().evicted_closing, 0u);
  ASSERT_EQ(r.ended.size(), 34u);
  EXPECT_EQ(r.ended[0].first, kT0);  // the least recently seen
  EXPECT_EQ(r.ended[32].first, kT0 + 32 * 1000);
  EXPECT_EQ(r.ended[33].first, kT0 + kSecond);
}

TEST(FlowTableEviction, ARetriedSynOutlivesAFloodOfLoneSyns) {
  // A real client whose first SYN went unanswered retries it a second later;
  // meanwhile 1,000 spoofed SYNs pass through a table of 8. The retried
  // flow is not of one packet, so the lone SYNs go first and the connection
  // comes out as one flow.
  FlowConfig c = config();
  c.max_flows = 8;
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(cli(kSyn, kT0 + kSecond, 1000, 0), r);  // retransmitted
  for (int i = 0; i < 1000; ++i) {
    const std::string src = "10.9." + std::to_string(i >> 8) + "." + std::to_string(i & 255);
    t.process(seg(src.c_str(), 1024, "10.0.0.1", 80, kSyn, kT0 + kSecond + 1 + i, 7, 0), r);
  }
  t.process(srv(kSyn | kAck, kT0 + 2 * kSecond, 5000, 1001), r);
  t.process(cli(kAck, kT0 + 2 * kSecond + 100, 1001, 5001), r);
  t.flushAll(r);
  int conversation = 0;
  for (const Ended& e : r.ended) {
    if (e.initiator_port != 5000) continue;
    ++conversation;
    EXPECT_EQ(e.reason, EndReason::kShutdown);
    EXPECT_EQ(e.pkts_fwd, 3u);
    EXPECT_EQ(e.pkts_bwd, 1u);
  }
  EXPECT_EQ(conversation, 1);
  EXPECT_EQ(t.stats().evicted_half_open, 1000u - 7);  // 7 fit beside the client
  EXPECT_EQ(t.stats().evicted_established, 0u);
}

TEST(FlowTableEviction, AFloodOfOneProtocolEvictsItsOwnOnePacketFlows) {
  // A DNS query waits for its answer while 1,000 spoofed SYNs pass through
  // a table of 16. It is the oldest flow of one packet, but the lone-SYN
  // list is the longest, so the SYNs go and the exchange stays one flow.
  FlowConfig c = config();
  c.max_flows = 16;
  FlowTable<Ext> t(c);
  Recorder r;
  t.process(udp("10.3.0.1", 5353, "10.0.0.53", 53, kT0), r);
  for (int i = 0; i < 1000; ++i) {
    const std::string src = "10.9." + std::to_string(i >> 8) + "." + std::to_string(i & 255);
    t.process(seg(src.c_str(), 1024, "10.0.0.1", 80, kSyn, kT0 + 1 + i, 7, 0), r);
  }
  t.process(udp("10.0.0.53", 53, "10.3.0.1", 5353, kT0 + 2000), r);
  t.flushAll(r);
  int exchange = 0;
  for (const Ended& e : r.ended) {
    if (e.initiator_port != 5353) continue;
    ++exchange;
    EXPECT_EQ(e.pkts_fwd, 1u);
    EXPECT_EQ(e.pkts_bwd, 1u);
  }
  EXPECT_EQ(exchange, 1);
  EXPECT_EQ(t.stats().evicted_one_packet, 0u);
  EXPECT_EQ(t.stats().evicted_half_open, 1000u - 15);  // 15 fit beside the query
}

TEST(FlowTable, AFreshSynAfterAStrayAckOpensANewFlow) {
  // A stray ACK (a late duplicate of a closed connection's last ACK), then,
  // 5 s later, a new connection on the same ports: the SYN opens its own
  // flow, and the stray one ends as reused. A retransmitted SYN, or a
  // SYN-ACK, on a flow that has seen a SYN changes nothing.
  FlowTable<Ext> t(config());
  Recorder r;
  t.process(cli(kAck, kT0, 900, 800), r);
  t.process(cli(kSyn, kT0 + 5 * kSecond, 1000, 0), r);
  t.process(cli(kSyn, kT0 + 6 * kSecond, 1000, 0), r);  // retransmitted
  t.process(srv(kSyn | kAck, kT0 + 6 * kSecond + 100, 5000, 1001), r);
  t.process(srv(kSyn | kAck, kT0 + 7 * kSecond, 5000, 1001), r);  // retransmitted
  t.process(cli(kAck, kT0 + 7 * kSecond + 100, 1001, 5001), r);
  t.flushAll(r);
  ASSERT_EQ(r.ended.size(), 2u);
  EXPECT_EQ(r.ended[0].reason, EndReason::kTcpReuse);
  EXPECT_EQ(r.ended[0].pkts_fwd + r.ended[0].pkts_bwd, 1u);
  EXPECT_EQ(r.ended[1].reason, EndReason::kShutdown);
  EXPECT_EQ(r.ended[1].pkts_fwd, 3u);
  EXPECT_EQ(r.ended[1].pkts_bwd, 2u);
  EXPECT_EQ(t.stats().ended[static_cast<std::size_t>(EndReason::kTcpReuse)], 1u);
}

// Emergency mode.

/// `n` one-packet UDP probes from 10.8.x.y, one every `gap`, from `start`.
TimeUs probe(FlowTable<Ext>& t, Recorder& r, int n, TimeUs start, TimeUs gap, int first = 0) {
  TimeUs ts = start;
  for (int i = first; i < first + n; ++i, ts += gap) {
    const std::string src = "10.8." + std::to_string(i >> 8) + "." + std::to_string(i & 255);
    t.process(udp(src.c_str(), 5353, "10.0.0.1", 53, ts), r);
  }
  return ts - gap;
}

TEST(FlowTableEmergency, AFullTableEntersAndLeavesBelowTheRecoveryLevel) {
  FlowConfig c = config();  // 16 flows; recovery 30%: below 4 active flows
  c.emergency_one_packet_timeout_us = 10 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  probe(t, r, 16, kT0, 1000);
  EXPECT_FALSE(t.emergency());  // full, but nothing evicted yet
  EXPECT_EQ(t.stats().emergency_entries, 0u);
  probe(t, r, 1, kT0 + kSecond, 1, 16);  // the 17th evicts: emergency
  EXPECT_TRUE(t.emergency());
  EXPECT_TRUE(t.stats().emergency);
  EXPECT_EQ(t.stats().emergency_entries, 1u);
  EXPECT_EQ(t.stats().evicted_one_packet, 1u);
  // More flows while full: still one entry.
  probe(t, r, 5, kT0 + 2 * kSecond, 1, 17);
  EXPECT_EQ(t.stats().emergency_entries, 1u);
  // The emergency one-packet timeout (10 s) ends the probes long before
  // their usual 120 s, which leaves the table below its recovery level.
  t.advance(kT0 + 5 * kSecond, r);
  EXPECT_TRUE(t.emergency());
  EXPECT_EQ(t.stats().emergency_us, 4 * kSecond);
  t.advance(kT0 + 13 * kSecond, r);
  EXPECT_FALSE(t.emergency());
  EXPECT_EQ(t.stats().active, 0u);
  EXPECT_EQ(t.stats().ended[static_cast<std::size_t>(EndReason::kIdleTimeout)], 16u);
  EXPECT_EQ(t.stats().emergency_us, 12 * kSecond);
  // Out of emergency, the usual timeouts again: a probe lives 120 s.
  probe(t, r, 1, kT0 + 20 * kSecond, 1, 100);
  t.advance(kT0 + 100 * kSecond, r);
  EXPECT_EQ(t.stats().active, 1u);
  EXPECT_EQ(t.stats().emergency_us, 12 * kSecond);  // not counting any more
  // Full again: a second entry.
  probe(t, r, 17, kT0 + 101 * kSecond, 1, 200);
  EXPECT_TRUE(t.emergency());
  EXPECT_EQ(t.stats().emergency_entries, 2u);
}

TEST(FlowTableEmergency, StaysWhileTheActiveFlowsAreAtOrAboveTheRecoveryLevel) {
  FlowConfig c = config();
  c.emergency_recovery_percent = 50;  // below 8 of 16
  c.emergency_one_packet_timeout_us = 10 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  // 8 answered UDP exchanges (established, 120 s), then probes fill the rest.
  for (int k = 0; k < 8; ++k) {
    const std::string cl = "10.1.0." + std::to_string(k);
    t.process(udp(cl.c_str(), 5000, "10.0.0.1", 53, kT0 + k * 1000), r);
    t.process(udp("10.0.0.1", 53, cl.c_str(), 5000, kT0 + k * 1000 + 100), r);
  }
  probe(t, r, 9, kT0 + kSecond, 1);
  EXPECT_TRUE(t.emergency());
  t.advance(kT0 + 20 * kSecond, r);  // the probes are gone, 8 flows stay
  EXPECT_EQ(t.stats().active, 8u);
  EXPECT_TRUE(t.emergency());
  EXPECT_EQ(t.stats().evicted_established, 0u);
  t.advance(kT0 + 121 * kSecond, r);  // established flows keep their 120 s
  EXPECT_FALSE(t.emergency());
  EXPECT_EQ(t.stats().active, 0u);
}

TEST(FlowTableEmergency, HalfOpenAndEstablishedFlowsTakeTheEmergencyTimeouts) {
  FlowConfig c = config();
  c.emergency_half_open_timeout_us = 5 * kSecond;
  c.emergency_one_packet_timeout_us = 10 * kSecond;
  c.emergency_established_timeout_us = 60 * kSecond;
  FlowTable<Ext> t(c);
  Recorder r;
  // One established connection, probes, a lone SYN, and one probe more,
  // which evicts the oldest probe: emergency.
  t.process(cli(kSyn, kT0, 1000, 0), r);
  t.process(srv(kSyn | kAck, kT0 + 100, 5000, 1001), r);
  t.process(cli(kAck, kT0 + 200, 1001, 5001), r);
  probe(t, r, 14, kT0 + kSecond, 1);
  t.process(seg("10.0.0.3", 6000, "10.0.0.1", 80, kSyn, kT0 + 2 * kSecond, 7000, 0), r);
  probe(t, r, 1, kT0 + 3 * kSecond, 1, 14);
  EXPECT_TRUE(t.emergency());
  EXPECT_EQ(t.stats().evicted_one_packet, 1u);
  t.advance(kT0 + 7 * kSecond + 1, r);
  ASSERT_EQ(r.ended.size(), 2u);  // the evicted probe, then the SYN: 5 s, not 30
  EXPECT_EQ(r.ended[1].initiator_port, 6000);
  EXPECT_EQ(r.ended[1].reason, EndReason::kIdleTimeout);
  // The probes go at 10 s; the connection alone is below the recovery level,
  // and the usual 120 s applies to it again.
  t.advance(kT0 + 14 * kSecond, r);
  EXPECT_FALSE(t.emergency());
  EXPECT_EQ(t.stats().active, 1u);
  t.advance(kT0 + 100 * kSecond, r);
  EXPECT_EQ(t.stats().active, 1u);

  // A table full of established flows: the emergency lasts, and with it
  // their 60 s timeout.
  FlowTable<Ext> t2(c);
  Recorder r2;
  for (int k = 0; k < 16; ++k) {
    const std::string cl = "10.1.0." + std::to_string(k);
    t2.process(udp(cl.c_str(), 5000, "10.0.0.1", 53, kT0 + k * 1000), r2);
    t2.process(udp("10.0.0.1", 53, cl.c_str(), 5000, kT0 + k * 1000 + 100), r2);
  }
  probe(t2, r2, 1, kT0 + kSecond, 1);  // evicts the least recently seen exchange
  EXPECT_TRUE(t2.emergency());
  EXPECT_EQ(t2.stats().evicted_established, 1u);
  t2.advance(kT0 + 20 * kSecond, r2);  // the probe is gone; 15 flows keep the emergency
  EXPECT_EQ(t2.stats().active, 15u);
  EXPECT_TRUE(t2.emergency());
  t2.advance(kT0 + 61 * kSecond, r2);  // 60 s, not 120
  EXPECT_EQ(t2.stats().active, 0u);
  EXPECT_FALSE(t2.emergency());
}

TEST(FlowTableMemcap, TheCapacityIsTheMostFlowsThatFit) {
  using Table = FlowTable<Ext>;
  FlowConfig c;
  c.max_flows = 1'000'000;
  c.fragment_slots = 4096;
  EXPECT_EQ(Table::capacityFor(c), 1'000'000u);  // no memcap
  c.memcap_bytes = 64ull << 20;
  const std::uint32_t cap = Table::capacityFor(c);
  EXPECT_LT(cap, 1'000'000u);
  EXPECT_LE(Table::bytesFor(cap, c.fragment_slots), c.memcap_bytes);
  EXPECT_GT(Table::bytesFor(cap + 1, c.fragment_slots), c.memcap_bytes);
  // Every part counts: flows, a generation and a free-list entry per flow,
  // hash slots (a power of two, twice the flows at least), fragment slots.
  EXPECT_GT(Table::bytesFor(cap, c.fragment_slots),
            std::uint64_t{cap} * (sizeof(Flow<Ext>) + 8) + Table::slotCount(cap) * 8);
  EXPECT_GE(Table::slotCount(cap), 2ull * cap);
  // The smaller bound wins.
  c.max_flows = 1000;
  EXPECT_EQ(Table::capacityFor(c), 1000u);
  // Too small for a table of one flow.
  c.memcap_bytes = Table::bytesFor(1, c.fragment_slots) - 1;
  EXPECT_EQ(Table::capacityFor(c), 0u);
  c.memcap_bytes += 1;
  EXPECT_EQ(Table::capacityFor(c), 1u);

  FlowConfig small = config();
  small.max_flows = 100'000;
  small.memcap_bytes = Table::bytesFor(1000, small.fragment_slots);
  Table t(small);
  EXPECT_GE(t.capacity(), 1000u);
  EXPECT_LT(t.capacity(), 100'000u);
  EXPECT_EQ(t.stats().table_bytes, Table::bytesFor(t.capacity(), small.fragment_slots));
  EXPECT_LE(t.stats().table_bytes, small.memcap_bytes);
  Recorder r;
  probe(t, r, static_cast<int>(t.capacity()) + 1, kT0, 1);
  EXPECT_EQ(t.stats().active, t.capacity());
  EXPECT_TRUE(t.emergency());
}

}  // namespace
}  // namespace edgesense::flow
