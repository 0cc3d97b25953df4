// features: each group computed incrementally equals the same statistic
// computed directly from the packet list; NaN where undefined; host context.

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <vector>

#include "features/extractor.h"
#include "features/schema.h"

namespace edgesense::features {
namespace {

using decode::Packet;
using flow::Direction;
using namespace decode::tcpflag;

constexpr TimeUs kSecond = 1'000'000;
constexpr TimeUs kT0 = 1'767'225'600 * kSecond;

decode::IpAddress v4(const char* s) {
  std::uint8_t b[4];
  inet_pton(AF_INET, s, b);
  return decode::IpAddress::fromV4(b);
}

struct Pkt {
  TimeUs ts;
  bool fwd;
  std::uint32_t len;
  std::uint8_t flags = 0;
};

/// A packet's size as the features count it: the IP payload of an
/// Ethernet + IPv4 frame of k.len bytes.
std::uint32_t size(const Pkt& k) {
  return k.len - 34;
}

Packet make(const Pkt& k, std::uint8_t proto, std::uint16_t dport = 443) {
  Packet p;
  p.ts_us = k.ts;
  p.src = k.fwd ? v4("10.0.0.2") : v4("10.0.0.1");
  p.dst = k.fwd ? v4("10.0.0.1") : v4("10.0.0.2");
  p.src_port = k.fwd ? 40000 : dport;
  p.dst_port = k.fwd ? dport : 40000;
  p.proto = proto;
  p.wire_len = p.cap_len = k.len;
  p.ip_payload_len = size(k);
  p.payload_len = k.len > 54 ? k.len - 54 : 0;
  p.tcp_flags = k.flags;
  p.tcp_window = k.fwd ? 1000 : 2000;
  return p;
}

/// Collects records.
struct Collect final : RecordSink {
  std::vector<FlowRecord> records;
  void onRecord(const FlowRecord& r) override { records.push_back(r); }
};

/// Runs packets through a real flow table and extractor; returns the final record.
FlowRecord run(const std::vector<Pkt>& pkts, std::uint8_t proto = decode::ipproto::kTcp,
               FeatureParams params = {}) {
  flow::FlowConfig fc;
  fc.max_flows = 8;
  fc.active_timeout_us = 0;
  FeatureFlowTable table(fc);
  HostTable hosts(HostTableConfig{});
  Collect sink;
  FeatureExtractor ex(params, hosts, sink);
  for (const Pkt& k : pkts) table.process(make(k, proto), ex);
  table.flushAll(ex);
  EXPECT_EQ(sink.records.size(), 1u);
  return sink.records.back();
}

double get(const FlowRecord& r, Feature f) {
  return r.features[index(f)];
}

struct Direct {
  double min, max, mean, std;
};
Direct direct(const std::vector<double>& xs) {
  const double mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  return {*std::min_element(xs.begin(), xs.end()), *std::max_element(xs.begin(), xs.end()), mean,
          std::sqrt(ss / static_cast<double>(xs.size()))};
}

const std::vector<Pkt> kTcpSession = {
    {kT0, true, 74, kSyn},
    {kT0 + 20'000, false, 74, kSyn | kAck},
    {kT0 + 40'000, true, 66, kAck},
    {kT0 + 50'000, true, 300, kAck | kPsh},
    {kT0 + 90'000, false, 1514, kAck},
    {kT0 + 91'000, false, 1514, kAck},
    {kT0 + 95'000, false, 800, kAck | kPsh},
    {kT0 + 2'500'000, true, 66, kAck},  // after a 2.4 s gap: a second burst
    {kT0 + 2'600'000, true, 66, kFin | kAck},
    {kT0 + 2'620'000, false, 66, kFin | kAck},
    {kT0 + 2'640'000, true, 66, kAck},
};

TEST(Features, VolumeAndLengthStatisticsMatchDirectComputation) {
  const FlowRecord r = run(kTcpSession);
  std::vector<double> fwd, bwd, all;
  std::vector<double> fwd_frames, bwd_frames;
  for (const Pkt& k : kTcpSession) {
    (k.fwd ? fwd : bwd).push_back(size(k));
    all.push_back(size(k));
    (k.fwd ? fwd_frames : bwd_frames).push_back(k.len);
  }
  EXPECT_DOUBLE_EQ(get(r, Feature::kDuration), 2.64);
  EXPECT_EQ(get(r, Feature::kFwdPackets), static_cast<double>(fwd.size()));
  EXPECT_EQ(get(r, Feature::kBwdPackets), static_cast<double>(bwd.size()));
  // Volumes are frame bytes (as EVE and tshark count them); sizes are IP payloads.
  const double fwd_bytes = std::accumulate(fwd_frames.begin(), fwd_frames.end(), 0.0);
  const double bwd_bytes = std::accumulate(bwd_frames.begin(), bwd_frames.end(), 0.0);
  EXPECT_EQ(get(r, Feature::kFwdBytes), fwd_bytes);
  EXPECT_EQ(get(r, Feature::kBwdBytes), bwd_bytes);
  const Direct f = direct(fwd), b = direct(bwd), a = direct(all);
  EXPECT_DOUBLE_EQ(get(r, Feature::kFwdLenMin), f.min);
  EXPECT_DOUBLE_EQ(get(r, Feature::kFwdLenMax), f.max);
  EXPECT_NEAR(get(r, Feature::kFwdLenMean), f.mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kFwdLenStd), f.std, 1e-9);
  EXPECT_NEAR(get(r, Feature::kBwdLenStd), b.std, 1e-9);
  EXPECT_NEAR(get(r, Feature::kLenMean), a.mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kLenStd), a.std, 1e-9);  // merged from both directions
  EXPECT_DOUBLE_EQ(get(r, Feature::kDownUpRatio), bwd_bytes / fwd_bytes);
}

TEST(Features, InterArrivalStatisticsMatchDirectComputation) {
  const FlowRecord r = run(kTcpSession);
  std::vector<double> all, fwd;
  TimeUs last_fwd = -1;
  for (std::size_t i = 1; i < kTcpSession.size(); ++i) {
    all.push_back(static_cast<double>(kTcpSession[i].ts - kTcpSession[i - 1].ts) * 1e-6);
  }
  for (const Pkt& k : kTcpSession) {
    if (!k.fwd) continue;
    if (last_fwd >= 0) fwd.push_back(static_cast<double>(k.ts - last_fwd) * 1e-6);
    last_fwd = k.ts;
  }
  const Direct a = direct(all), f = direct(fwd);
  EXPECT_NEAR(get(r, Feature::kIatMin), a.min, 1e-12);
  EXPECT_NEAR(get(r, Feature::kIatMax), a.max, 1e-12);
  EXPECT_NEAR(get(r, Feature::kIatMean), a.mean, 1e-12);
  EXPECT_NEAR(get(r, Feature::kIatStd), a.std, 1e-12);
  EXPECT_NEAR(get(r, Feature::kFwdIatMean), f.mean, 1e-12);
  EXPECT_NEAR(get(r, Feature::kFwdIatStd), f.std, 1e-12);
}

TEST(Features, TcpFlagsWindowHandshakeAndConnState) {
  const FlowRecord r = run(kTcpSession);
  EXPECT_EQ(get(r, Feature::kFwdSyn), 1);
  EXPECT_EQ(get(r, Feature::kBwdSyn), 1);
  EXPECT_EQ(get(r, Feature::kFwdFin), 1);
  EXPECT_EQ(get(r, Feature::kBwdFin), 1);
  EXPECT_EQ(get(r, Feature::kFwdAck), 5);
  EXPECT_EQ(get(r, Feature::kFwdPsh), 1);
  EXPECT_EQ(get(r, Feature::kBwdRst), 0);
  EXPECT_EQ(get(r, Feature::kFwdInitWindow), 1000);
  EXPECT_EQ(get(r, Feature::kBwdInitWindow), 2000);
  EXPECT_EQ(get(r, Feature::kHandshake), 1);
  EXPECT_EQ(kConnStateNames[static_cast<std::size_t>(get(r, Feature::kConnState))], "SF");
  EXPECT_EQ(r.reason, flow::EndReason::kTcpFin);
}

TEST(Features, ConnStates) {
  auto name = [](std::uint8_t fwd, std::uint8_t bwd, std::uint64_t bwd_pkts) {
    return std::string(kConnStateNames[connState(fwd, bwd, bwd_pkts)]);
  };
  EXPECT_EQ(name(kSyn, 0, 0), "S0");
  EXPECT_EQ(name(kSyn | kAck, kSyn | kAck, 3), "S1");
  EXPECT_EQ(name(kSyn, kRst | kAck, 1), "REJ");
  EXPECT_EQ(name(kSyn | kAck | kFin, kSyn | kAck, 2), "S2");
  EXPECT_EQ(name(kSyn | kAck, kSyn | kAck | kFin, 2), "S3");
  EXPECT_EQ(name(kSyn | kAck | kRst, kSyn | kAck, 2), "RSTO");
  EXPECT_EQ(name(kSyn | kAck, kSyn | kAck | kRst, 2), "RSTR");
  EXPECT_EQ(name(kSyn | kRst, 0, 0), "RSTOS0");
  EXPECT_EQ(name(0, kSyn | kAck | kRst, 1), "RSTRH");
  EXPECT_EQ(name(kSyn | kFin, 0, 0), "SH");
  EXPECT_EQ(name(0, kSyn | kAck | kFin, 1), "SHR");
  EXPECT_EQ(name(kAck, kAck, 1), "OTH");
}

TEST(Features, BurstsAndActivePeriods) {
  FeatureParams params;
  params.burst_gap_us = kSecond;
  params.idle_threshold_us = 2 * kSecond;
  const FlowRecord r = run(kTcpSession, decode::ipproto::kTcp, params);
  // Bursts: packets 0..6 (4342 frame bytes, 4104 of IP payload), then 7..10 after a 2.405 s gap.
  double first = 0, second = 0, total = 0;
  for (std::size_t i = 0; i < kTcpSession.size(); ++i) {
    (i < 7 ? first : second) += size(kTcpSession[i]);
    total += size(kTcpSession[i]);
  }
  EXPECT_EQ(get(r, Feature::kBurstCount), 2);
  EXPECT_DOUBLE_EQ(get(r, Feature::kBurstBytesMax), first);
  EXPECT_DOUBLE_EQ(get(r, Feature::kBurstBytesMean), (first + second) / 2);
  EXPECT_NEAR(get(r, Feature::kBurstGapMean), 2.405, 1e-12);
  EXPECT_NEAR(get(r, Feature::kBurstDurationMean), (0.095 + 0.14) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(get(r, Feature::kBurstLargestShare), first / total);
  EXPECT_NEAR(get(r, Feature::kIdleMean), 2.405, 1e-12);
  EXPECT_NEAR(get(r, Feature::kActiveMax), 0.14, 1e-12);
}

/// A packet's transport payload as the test frames carry it (Ethernet, IPv4, TCP: 54 bytes).
std::uint32_t data(const Pkt& k) {
  return k.len > 54 ? k.len - 54 : 0;
}

TEST(Features, ExchangesAreRequestsWithTheResponsesThatFollow) {
  // A GET, a three-packet response with a bare ACK in it, then a request in
  // two packets and its one-packet response. The handshake and the ACKs
  // carry no payload (54-byte frames) and open nothing.
  const std::vector<Pkt> pkts = {
      {kT0, true, 54, kSyn},
      {kT0 + 1'000, false, 54, kSyn | kAck},
      {kT0 + 2'000, true, 54, kAck},
      {kT0 + 3'000, true, 300, kAck | kPsh},     // request 1
      {kT0 + 4'000, false, 1514, kAck},          // response 1
      {kT0 + 5'000, true, 54, kAck},             // a bare ACK: still response 1
      {kT0 + 6'000, false, 1514, kAck},          //
      {kT0 + 7'000, false, 800, kAck | kPsh},    //
      {kT0 + 900'000, true, 200, kAck},          // request 2
      {kT0 + 901'000, true, 150, kAck | kPsh},   //
      {kT0 + 950'000, false, 600, kAck | kPsh},  // response 2
  };
  const FlowRecord r = run(pkts);
  const double req1 = data(pkts[3]), req2 = data(pkts[8]) + data(pkts[9]);
  const double resp1 = data(pkts[4]) + data(pkts[6]) + data(pkts[7]), resp2 = data(pkts[10]);
  EXPECT_EQ(get(r, Feature::kExchanges), 2);
  EXPECT_DOUBLE_EQ(get(r, Feature::kRequestBytesMean), (req1 + req2) / 2);
  EXPECT_DOUBLE_EQ(get(r, Feature::kRequestBytesMax), std::max(req1, req2));
  const Direct d = direct({resp1, resp2});
  EXPECT_DOUBLE_EQ(get(r, Feature::kResponseBytesMean), d.mean);
  EXPECT_DOUBLE_EQ(get(r, Feature::kResponseBytesMax), d.max);
  EXPECT_NEAR(get(r, Feature::kResponseBytesStd), d.std, 1e-9);
}

TEST(Features, AResponderThatSpeaksFirstOpensAnExchangeWithNoRequest) {
  // An SSH or SMTP server greets before the client sends anything.
  const std::vector<Pkt> pkts = {
      {kT0, true, 54, kSyn},
      {kT0 + 1'000, false, 54, kSyn | kAck},
      {kT0 + 2'000, true, 54, kAck},
      {kT0 + 3'000, false, 100, kAck | kPsh},  // banner: exchange 1, no request
      {kT0 + 4'000, true, 120, kAck | kPsh},   // exchange 2
      {kT0 + 5'000, false, 90, kAck | kPsh},
  };
  const FlowRecord r = run(pkts);
  EXPECT_EQ(get(r, Feature::kExchanges), 2);
  EXPECT_DOUBLE_EQ(get(r, Feature::kRequestBytesMean), data(pkts[4]) / 2.0);
  EXPECT_DOUBLE_EQ(get(r, Feature::kResponseBytesMax), data(pkts[3]));
  // Without any payload there is no exchange to describe.
  const FlowRecord syn = run({{kT0, true, 54, kSyn}});
  EXPECT_EQ(get(syn, Feature::kExchanges), 0);
  EXPECT_TRUE(std::isnan(get(syn, Feature::kRequestBytesMean)));
  EXPECT_TRUE(std::isnan(get(syn, Feature::kResponseBytesStd)));
}

TEST(Features, FirstPacketsAreSignedSizesAndGaps) {
  const FlowRecord r = run(kTcpSession);
  EXPECT_EQ(get(r, Feature::kFirstSize1), 40);  // a 74-byte SYN frame: TCP header with options
  EXPECT_EQ(get(r, Feature::kFirstSize2), -40);
  EXPECT_EQ(get(r, Feature::kFirstSize5), -1480);
  EXPECT_EQ(get(r, Feature::kFirstSize8), 32);
  EXPECT_NEAR(get(r, Feature::kFirstGap2), 0.02, 1e-12);
  EXPECT_NEAR(get(r, Feature::kFirstGap8), 2.405, 1e-12);
}

/// The packets of `all` from index `from` on, as a capture that began late.
std::vector<Pkt> from(const std::vector<Pkt>& all, std::size_t first) {
  return {all.begin() + static_cast<std::ptrdiff_t>(first), all.end()};
}

/// Per-direction features of `pkts`, computed directly from the list, agree
/// with the record: the flow table accounted each packet to its side.
void expectDirectionsAsListed(const FlowRecord& r, const std::vector<Pkt>& pkts) {
  std::vector<double> fwd_len, bwd_len, fwd_iat, bwd_iat;
  TimeUs last[2] = {-1, -1};
  for (const Pkt& k : pkts) {
    (k.fwd ? fwd_len : bwd_len).push_back(size(k));
    TimeUs& l = last[k.fwd ? 0 : 1];
    if (l >= 0) (k.fwd ? fwd_iat : bwd_iat).push_back(static_cast<double>(k.ts - l) * 1e-6);
    l = k.ts;
  }
  EXPECT_EQ(get(r, Feature::kFwdPackets), static_cast<double>(fwd_len.size()));
  EXPECT_EQ(get(r, Feature::kBwdPackets), static_cast<double>(bwd_len.size()));
  EXPECT_NEAR(get(r, Feature::kFwdLenMean), direct(fwd_len).mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kBwdLenMax), direct(bwd_len).max, 1e-9);
  EXPECT_NEAR(get(r, Feature::kFwdIatMean), direct(fwd_iat).mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kBwdIatMax), direct(bwd_iat).max, 1e-9);
  const double first = size(pkts[0]);
  EXPECT_EQ(get(r, Feature::kFirstSize1), pkts[0].fwd ? first : -first);
}

TEST(Features, AFlowPickedUpAtItsSynAckReadsAsSeenFromItsStart) {
  // The capture missed the SYN: the SYN-ACK's receiver is the initiator and
  // the SYN-ACK is a backward packet, as it was in the whole session.
  const std::vector<Pkt> pkts = from(kTcpSession, 1);
  const FlowRecord r = run(pkts);
  EXPECT_EQ(r.src, v4("10.0.0.2"));
  EXPECT_EQ(r.src_port, 40000);
  EXPECT_EQ(r.dst_port, 443);
  expectDirectionsAsListed(r, pkts);
  EXPECT_EQ(get(r, Feature::kFirstSize1), -40);
  EXPECT_EQ(get(r, Feature::kFwdSyn), 0);
  EXPECT_EQ(get(r, Feature::kBwdSyn), 1);
  EXPECT_EQ(get(r, Feature::kFwdInitWindow), 1000);
  EXPECT_EQ(get(r, Feature::kBwdInitWindow), 2000);
  EXPECT_EQ(get(r, Feature::kHandshake), 0);  // its SYN was not seen
  // Zeek's SHR: the responder's SYN-ACK, then FIN; no SYN from the originator.
  EXPECT_EQ(kConnStateNames[static_cast<std::size_t>(get(r, Feature::kConnState))], "SHR");
  EXPECT_EQ(get(r, Feature::kSrcFlows10s), 1);
  EXPECT_NEAR(get(r, Feature::kDstSrcs10s), 1, 0.01);
}

TEST(Features, AFlowPickedUpMidStreamReadsAsSeenFromItsStart) {
  // The first packet seen is the server's response (from port 443).
  const std::vector<Pkt> pkts = from(kTcpSession, 4);
  ASSERT_FALSE(pkts[0].fwd);
  const FlowRecord r = run(pkts);
  EXPECT_EQ(r.src, v4("10.0.0.2"));
  EXPECT_EQ(r.src_port, 40000);
  expectDirectionsAsListed(r, pkts);
  EXPECT_EQ(get(r, Feature::kFirstSize1), -1480);
  EXPECT_EQ(get(r, Feature::kFwdInitWindow), 1000);
  EXPECT_EQ(get(r, Feature::kBwdInitWindow), 2000);
  EXPECT_EQ(get(r, Feature::kHandshake), 0);
  EXPECT_EQ(kConnStateNames[static_cast<std::size_t>(get(r, Feature::kConnState))], "OTH");
}

TEST(HostContext, AFlowTurnedRoundCountsForItsInitiator) {
  // A client's flow picked up at the SYN-ACK, then a second one it opens
  // with a SYN: both are the client's flows out, the server's flows in.
  flow::FlowConfig fc;
  fc.max_flows = 8;
  FeatureFlowTable table(fc);
  HostTable hosts(HostTableConfig{});
  Collect sink;
  FeatureExtractor ex(FeatureParams{}, hosts, sink);
  table.process(make({kT0, false, 74, kSyn | kAck}, decode::ipproto::kTcp), ex);
  Packet second = make({kT0 + 1000, true, 74, kSyn}, decode::ipproto::kTcp, 8443);
  table.process(second, ex);
  table.flushAll(ex);
  ASSERT_EQ(sink.records.size(), 2u);
  for (const FlowRecord& r : sink.records) EXPECT_EQ(r.src, v4("10.0.0.2"));
  const FlowRecord& r = sink.records[0].dst_port == 8443 ? sink.records[0] : sink.records[1];
  EXPECT_EQ(get(r, Feature::kSrcFlows10s), 2);
  EXPECT_NEAR(get(r, Feature::kSrcDstPorts10s), 2, 0.05);
  EXPECT_EQ(get(r, Feature::kDstFlows10s), 2);
  EXPECT_NEAR(get(r, Feature::kDstSrcs10s), 1, 0.01);
}

TEST(Features, UndefinedValuesAreNaN) {
  // One UDP packet: no IATs, no TCP fields, no backward direction.
  const FlowRecord r = run({{kT0, true, 100}}, decode::ipproto::kUdp);
  EXPECT_TRUE(std::isnan(get(r, Feature::kIatMean)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kBwdLenMean)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kFwdSyn)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kHandshake)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kConnState)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kFirstSize2)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kFirstGap2)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kBytesPerSecond)));
  EXPECT_TRUE(std::isnan(get(r, Feature::kBurstGapMean)));
  EXPECT_EQ(get(r, Feature::kFwdLenStd), 0);
  EXPECT_EQ(get(r, Feature::kFirstSize1), 100 - 34);  // the IP payload of a 100-byte frame
  EXPECT_EQ(get(r, Feature::kBwdPackets), 0);
  // No value anywhere is a sentinel like -1 (signed first sizes aside).
  for (std::size_t i = 0; i < kFeatureCount; ++i) {
    if (i >= index(Feature::kFirstSize1) && i <= index(Feature::kFirstSize8)) continue;
    if (!std::isnan(r.features[i])) {
      EXPECT_GE(r.features[i], 0) << kSchema[i].name;
    }
  }
}

double host(const HostContext& c, Feature f) {
  return c[index(f) - index(kFirstHostFeature)];
}

TEST(HostContext, ScanLooksLikeAScan) {
  HostTable hosts(HostTableConfig{});
  const auto scanner = v4("10.0.0.66");
  HostContext probe{};
  for (std::uint16_t port = 1; port <= 200; ++port) {
    probe = hosts.onFlowStart(scanner, v4("10.0.0.1"), port, decode::ipproto::kTcp,
                              kT0 + port * 10'000);
    hosts.onFlowEnd(scanner, true, kT0 + port * 10'000 + 5'000);
  }
  // The 200th probe, as it started: 199 probes before it, each reset.
  EXPECT_EQ(host(probe, Feature::kSrcFlows10s), 200);
  EXPECT_NEAR(host(probe, Feature::kSrcDstPorts10s), 200, 200 * 0.08);  // linear counting
  EXPECT_NEAR(host(probe, Feature::kSrcDstHosts10s), 1, 0.01);
  EXPECT_EQ(host(probe, Feature::kSrcFailedShare10s), 1);
  EXPECT_NEAR(host(probe, Feature::kDstSrcs10s), 1, 0.01);
  // A client of the scanned host sees two initiators and 201 flows there.
  const HostContext client = hosts.onFlowStart(v4("10.0.0.7"), v4("10.0.0.1"), 443,
                                               decode::ipproto::kTcp, kT0 + 3 * kSecond);
  EXPECT_EQ(host(client, Feature::kSrcFlows10s), 1);
  EXPECT_TRUE(std::isnan(host(client, Feature::kSrcFailedShare10s)));  // none of its flows ended
  EXPECT_NEAR(host(client, Feature::kDstSrcs10s), 2, 0.02);
  EXPECT_EQ(host(client, Feature::kDstFlows60s), 201);
}

TEST(HostContext, DistinctCountsHoldUnderEveryKey) {
  // The bitmaps hash under the table key: any key counts distinct hosts and
  // ports about right, the same ones again add nothing, and a fixed key
  // gives the same estimates every time.
  for (const std::uint64_t seed : {flow::kDefaultHashSeed, std::uint64_t{1}, std::uint64_t{2}}) {
    HostTableConfig cfg;
    cfg.hash_key = flow::HashKey::fromSeed(seed);
    HostTable hosts(cfg), again(cfg);
    const auto scanner = v4("10.0.0.66");
    HostContext last{}, last_again{};
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 100; ++i) {
        const std::uint8_t b[4] = {10, 1, static_cast<std::uint8_t>(i / 50),
                                   static_cast<std::uint8_t>(i)};
        const auto port = static_cast<std::uint16_t>(1000 + i);
        const TimeUs ts = kT0 + round * 1000 + i;
        last = hosts.onFlowStart(scanner, decode::IpAddress::fromV4(b), port, 6, ts);
        last_again = again.onFlowStart(scanner, decode::IpAddress::fromV4(b), port, 6, ts);
      }
    }
    EXPECT_EQ(host(last, Feature::kSrcFlows10s), 200) << seed;
    EXPECT_NEAR(host(last, Feature::kSrcDstHosts10s), 100, 100 * 0.08) << seed;
    EXPECT_NEAR(host(last, Feature::kSrcDstPorts10s), 100, 100 * 0.08) << seed;
    EXPECT_EQ(host(last, Feature::kSrcDstHosts10s), host(last_again, Feature::kSrcDstHosts10s));
    EXPECT_EQ(host(last, Feature::kSrcDstPorts10s), host(last_again, Feature::kSrcDstPorts10s));
  }
}

TEST(HostContext, HostsChosenToShareOneUnkeyedBitAreCountedApart) {
  // The bitmap hash before it was keyed (murmur3's finalizer over the
  // address): anyone could pick 64 targets that all set one bit, and a scan
  // of them read as one distinct host. Under the key they are counted.
  auto mix = [](std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
  };
  auto unkeyed_bit = [&](const decode::IpAddress& a) {
    std::uint64_t w[2];
    std::memcpy(w, a.bytes.data(), 16);
    const std::uint64_t h = mix(w[0] ^ mix(w[1]));
    return ((h >> 6) % 4) * 64 + (h & 63);
  };
  std::vector<decode::IpAddress> targets;
  std::uint64_t wanted_bit = 0;
  for (std::uint32_t n = 0; targets.size() < 64 && n < (1u << 20); ++n) {
    const std::uint8_t b[4] = {10, static_cast<std::uint8_t>(n >> 16),
                               static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    const auto a = decode::IpAddress::fromV4(b);
    if (targets.empty()) wanted_bit = unkeyed_bit(a);
    if (unkeyed_bit(a) == wanted_bit) targets.push_back(a);
  }
  ASSERT_EQ(targets.size(), 64u);
  HostTable hosts(HostTableConfig{});
  HostContext last{};
  for (std::size_t i = 0; i < targets.size(); ++i)
    last = hosts.onFlowStart(v4("10.0.0.66"), targets[i], 22, 6, kT0 + static_cast<TimeUs>(i));
  EXPECT_NEAR(host(last, Feature::kSrcDstHosts10s), 64, 64 * 0.08);
}

TEST(HostContext, WindowsDecay) {
  HostTable hosts(HostTableConfig{});
  const auto a = v4("10.0.0.2"), b = v4("10.0.0.1");
  for (int i = 0; i < 10; ++i)
    hosts.onFlowStart(a, b, 80, decode::ipproto::kTcp, kT0 + i * 100'000);
  EXPECT_EQ(host(hosts.onFlowStart(a, b, 80, 6, kT0 + 5 * kSecond), Feature::kSrcFlows10s), 11);
  // 15 s: one flow in the current 10 s bucket, and half of the previous
  // bucket's 11 still inside the window.
  const HostContext at15 = hosts.onFlowStart(a, b, 80, 6, kT0 + 15 * kSecond);
  EXPECT_NEAR(host(at15, Feature::kSrcFlows10s), 1 + 11 * 0.5, 1e-9);
  EXPECT_EQ(host(at15, Feature::kSrcFlows60s), 12);
  EXPECT_NEAR(host(hosts.onFlowStart(a, b, 80, 6, kT0 + 25 * kSecond), Feature::kSrcFlows10s),
              1 + 1 * 0.5, 1e-9);
  // Long after: only the flow itself.
  const HostContext later = hosts.onFlowStart(a, b, 80, 6, kT0 + 200 * kSecond);
  EXPECT_EQ(host(later, Feature::kSrcFlows10s), 1);
  EXPECT_EQ(host(later, Feature::kSrcFlows60s), 1);
  EXPECT_EQ(host(later, Feature::kDstFlows60s), 1);
}

TEST(HostContext, FullTableEvictsLeastRecentHost) {
  HostTableConfig cfg;
  cfg.max_hosts = 8;
  HostTable hosts(cfg);
  HostContext last{};
  for (int i = 0; i < 20; ++i) {
    std::uint8_t b[4] = {10, 0, 1, static_cast<std::uint8_t>(i)};
    last = hosts.onFlowStart(decode::IpAddress::fromV4(b), v4("10.0.0.1"), 80, 6, kT0 + i);
  }
  EXPECT_EQ(hosts.stats().entries, 8u);
  EXPECT_EQ(hosts.stats().evicted, 13u);             // 21 hosts seen, 8 kept
  EXPECT_EQ(host(last, Feature::kDstFlows10s), 20);  // the busy responder was never evicted
}

TEST(HostContext, ProbesReportedLateKeepTheContextOfTheirStart) {
  // A UDP flood: 100 one-packet flows in one second, each reported at its
  // idle timeout two minutes later (and at its active timeout before that).
  // Every record carries the context of its flow's start, whatever the
  // windows hold when it is reported.
  flow::FlowConfig fc;
  fc.max_flows = 256;
  fc.udp_idle_timeout_us = 120 * kSecond;
  fc.active_timeout_us = 30 * kSecond;
  FeatureFlowTable table(fc);
  HostTable hosts(HostTableConfig{});
  Collect sink;
  FeatureExtractor ex(FeatureParams{}, hosts, sink);
  for (int i = 0; i < 100; ++i) {
    Packet p = make({kT0 + i * 10'000, true, 60}, decode::ipproto::kUdp, 123);
    p.src_port = static_cast<std::uint16_t>(10000 + i);
    table.process(p, ex);
  }
  // Time moves on with another host's packets, every 5 s for three minutes.
  for (TimeUs t = 5 * kSecond; t <= 180 * kSecond; t += 5 * kSecond) {
    Packet other = make({kT0 + t, true, 60}, decode::ipproto::kUdp, 53);
    other.src = v4("10.0.0.9");
    table.process(other, ex);
  }
  std::size_t finals = 0, snapshots = 0;
  for (const FlowRecord& r : sink.records) {
    if (r.src != v4("10.0.0.2")) continue;
    (r.reason == flow::EndReason::kActiveTimeout ? snapshots : finals) += 1;
    const double nth = r.src_port - 10000 + 1;
    EXPECT_EQ(get(r, Feature::kSrcFlows10s), nth) << r.src_port;
    EXPECT_EQ(get(r, Feature::kDstFlows10s), nth) << r.src_port;
    EXPECT_NEAR(get(r, Feature::kSrcDstPorts10s), 1, 0.01);
  }
  EXPECT_EQ(finals, 100u);
  EXPECT_EQ(snapshots, 100u);
}

TEST(HostContext, OneHostTableStillReadsBothSides) {
  // Room for one host: the responder's lookup evicts the initiator. The
  // initiator's side was read before.
  HostTableConfig cfg;
  cfg.max_hosts = 1;
  HostTable hosts(cfg);
  hosts.onFlowStart(v4("10.0.0.2"), v4("10.0.0.1"), 80, 6, kT0);
  const HostContext c = hosts.onFlowStart(v4("10.0.0.2"), v4("10.0.0.1"), 80, 6, kT0 + 1);
  EXPECT_EQ(host(c, Feature::kSrcFlows10s), 1);  // its first flow went with the eviction
  EXPECT_EQ(host(c, Feature::kDstFlows10s), 1);
  EXPECT_EQ(hosts.stats().entries, 1u);
}

TEST(Schema, NamesAreUniqueAndHashIsStable) {
  std::set<std::string_view> names;
  for (const FeatureDef& d : kSchema) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_FALSE(d.definition.empty()) << d.name;
    EXPECT_TRUE(d.type == "int" || d.type == "float" || d.type == "category") << d.name;
  }
  EXPECT_EQ(schemaHash().size(), 16u);
  EXPECT_EQ(schemaHash(), schemaHash());
}

TEST(Memory, PerFlowStateStaysUnderOneKiB) {
  EXPECT_LT(sizeof(FeatureFlow) + 4 * sizeof(std::uint32_t), 1024u);
}

}  // namespace
}  // namespace edgesense::features
