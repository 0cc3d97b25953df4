// features: each group computed incrementally equals the same statistic
// computed directly from the packet list; NaN where undefined; host context.

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cmath>
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

Packet make(const Pkt& k, std::uint8_t proto, std::uint16_t dport = 443) {
  Packet p;
  p.ts_us = k.ts;
  p.src = k.fwd ? v4("10.0.0.2") : v4("10.0.0.1");
  p.dst = k.fwd ? v4("10.0.0.1") : v4("10.0.0.2");
  p.src_port = k.fwd ? 40000 : dport;
  p.dst_port = k.fwd ? dport : 40000;
  p.proto = proto;
  p.wire_len = p.cap_len = k.len;
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
  for (const Pkt& k : kTcpSession) {
    (k.fwd ? fwd : bwd).push_back(k.len);
    all.push_back(k.len);
  }
  EXPECT_DOUBLE_EQ(get(r, Feature::kDuration), 2.64);
  EXPECT_EQ(get(r, Feature::kFwdPackets), static_cast<double>(fwd.size()));
  EXPECT_EQ(get(r, Feature::kBwdPackets), static_cast<double>(bwd.size()));
  EXPECT_EQ(get(r, Feature::kFwdBytes), std::accumulate(fwd.begin(), fwd.end(), 0.0));
  EXPECT_EQ(get(r, Feature::kBwdBytes), std::accumulate(bwd.begin(), bwd.end(), 0.0));
  const Direct f = direct(fwd), b = direct(bwd), a = direct(all);
  EXPECT_DOUBLE_EQ(get(r, Feature::kFwdLenMin), f.min);
  EXPECT_DOUBLE_EQ(get(r, Feature::kFwdLenMax), f.max);
  EXPECT_NEAR(get(r, Feature::kFwdLenMean), f.mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kFwdLenStd), f.std, 1e-9);
  EXPECT_NEAR(get(r, Feature::kBwdLenStd), b.std, 1e-9);
  EXPECT_NEAR(get(r, Feature::kLenMean), a.mean, 1e-9);
  EXPECT_NEAR(get(r, Feature::kLenStd), a.std, 1e-9);  // merged from both directions
  EXPECT_DOUBLE_EQ(get(r, Feature::kDownUpRatio), std::accumulate(bwd.begin(), bwd.end(), 0.0) /
                                                      std::accumulate(fwd.begin(), fwd.end(), 0.0));
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
  // Bursts: packets 0..6 (4356 bytes), then 7..10 after a 2.405 s gap.
  double first = 0, second = 0, total = 0;
  for (std::size_t i = 0; i < kTcpSession.size(); ++i) {
    (i < 7 ? first : second) += kTcpSession[i].len;
    total += kTcpSession[i].len;
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

TEST(Features, FirstPacketsAreSignedSizesAndGaps) {
  const FlowRecord r = run(kTcpSession);
  EXPECT_EQ(get(r, Feature::kFirstSize1), 74);
  EXPECT_EQ(get(r, Feature::kFirstSize2), -74);
  EXPECT_EQ(get(r, Feature::kFirstSize5), -1514);
  EXPECT_EQ(get(r, Feature::kFirstSize8), 66);
  EXPECT_NEAR(get(r, Feature::kFirstGap2), 0.02, 1e-12);
  EXPECT_NEAR(get(r, Feature::kFirstGap8), 2.405, 1e-12);
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
  EXPECT_EQ(get(r, Feature::kFirstSize1), 100);
  EXPECT_EQ(get(r, Feature::kBwdPackets), 0);
  // No value anywhere is a sentinel like -1 (signed first sizes aside).
  for (std::size_t i = 0; i < kFeatureCount; ++i) {
    if (i >= index(Feature::kFirstSize1) && i <= index(Feature::kFirstSize8)) continue;
    if (!std::isnan(r.features[i])) {
      EXPECT_GE(r.features[i], 0) << kSchema[i].name;
    }
  }
}

TEST(HostContext, ScanLooksLikeAScan) {
  HostTable hosts(HostTableConfig{});
  const auto scanner = v4("10.0.0.66");
  for (std::uint16_t port = 1; port <= 200; ++port) {
    hosts.onFlowStart(scanner, v4("10.0.0.1"), port, decode::ipproto::kTcp, kT0 + port * 10'000);
    hosts.onFlowEnd(scanner, true, kT0 + port * 10'000 + 5'000);
  }
  hosts.onFlowStart(v4("10.0.0.7"), v4("10.0.0.1"), 443, decode::ipproto::kTcp, kT0 + 2 * kSecond);
  FeatureVector v{};
  hosts.context(scanner, v4("10.0.0.1"), kT0 + 3 * kSecond, v);
  EXPECT_EQ(v[index(Feature::kSrcFlows10s)], 200);
  EXPECT_NEAR(v[index(Feature::kSrcDstPorts10s)], 200, 200 * 0.08);  // linear counting
  EXPECT_NEAR(v[index(Feature::kSrcDstHosts10s)], 1, 0.01);
  EXPECT_EQ(v[index(Feature::kSrcFailedShare10s)], 1);
  EXPECT_NEAR(v[index(Feature::kDstSrcs10s)], 2, 0.02);
  EXPECT_EQ(v[index(Feature::kDstFlows60s)], 201);
}

TEST(HostContext, WindowsDecay) {
  HostTable hosts(HostTableConfig{});
  const auto a = v4("10.0.0.2"), b = v4("10.0.0.1");
  for (int i = 0; i < 10; ++i)
    hosts.onFlowStart(a, b, 80, decode::ipproto::kTcp, kT0 + i * 100'000);
  FeatureVector v{};
  hosts.context(a, b, kT0 + 5 * kSecond, v);
  EXPECT_EQ(v[index(Feature::kSrcFlows10s)], 10);
  hosts.context(a, b, kT0 + 15 * kSecond, v);  // half the previous bucket still counts
  EXPECT_NEAR(v[index(Feature::kSrcFlows10s)], 5, 1e-9);
  EXPECT_EQ(v[index(Feature::kSrcFlows60s)], 10);
  hosts.context(a, b, kT0 + 25 * kSecond, v);
  EXPECT_EQ(v[index(Feature::kSrcFlows10s)], 0);
  hosts.context(a, b, kT0 + 200 * kSecond, v);
  EXPECT_EQ(v[index(Feature::kSrcFlows60s)], 0);
}

TEST(HostContext, FullTableEvictsLeastRecentHost) {
  HostTableConfig cfg;
  cfg.max_hosts = 8;
  HostTable hosts(cfg);
  for (int i = 0; i < 20; ++i) {
    std::uint8_t b[4] = {10, 0, 1, static_cast<std::uint8_t>(i)};
    hosts.onFlowStart(decode::IpAddress::fromV4(b), v4("10.0.0.1"), 80, 6, kT0 + i);
  }
  EXPECT_EQ(hosts.stats().entries, 8u);
  EXPECT_EQ(hosts.stats().evicted, 13u);  // 21 hosts seen, 8 kept
  FeatureVector v{};
  hosts.context(v4("10.0.0.1"), v4("10.0.0.1"), kT0 + 30, v);
  EXPECT_EQ(v[index(Feature::kDstFlows10s)], 20);  // the busy responder was never evicted
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
