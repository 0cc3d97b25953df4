// flow: the keyed hash against SipHash's published vectors, the IP version
// in the key, and records that do not depend on the key.

#include "flow/keyed_hash.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "flow/flow_table.h"

namespace edgesense::flow {
namespace {

/// The key 00 01 .. 0f of the SipHash paper's test vectors.
HashKey paperKey() {
  return HashKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
}

TEST(KeyedHash, SipHash24MatchesThePublishedVectors) {
  // Aumasson and Bernstein, "SipHash: a fast short-input PRF", appendix A
  // (15 bytes 00..0e), and the reference vectors.h (the empty message).
  std::array<std::uint8_t, 15> msg{};
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ((sipHashBytes<2, 4>(paperKey(), msg.data(), 15)), 0xa129ca6149be45e5ULL);
  EXPECT_EQ((sipHashBytes<2, 4>(paperKey(), msg.data(), 0)), 0x726fdb47dd0e0e31ULL);
}

TEST(KeyedHash, WordFormEqualsTheByteForm) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100; ++n) {
    std::uint64_t w[6];
    for (auto& x : w) x = rng();
    std::uint8_t bytes[48];
    for (int i = 0; i < 48; ++i) bytes[i] = static_cast<std::uint8_t>(w[i / 8] >> (8 * (i % 8)));
    const HashKey k{rng(), rng()};
    EXPECT_EQ(sipHashWords(k, w), (sipHashBytes<1, 3>(k, bytes, 48)));
  }
}

TEST(KeyedHash, SeedsMakeDistinctRepeatableKeys) {
  EXPECT_EQ(HashKey::fromSeed(1), HashKey::fromSeed(1));
  EXPECT_NE(HashKey::fromSeed(1), HashKey::fromSeed(2));
  EXPECT_EQ(kDefaultHashKey, HashKey::fromSeed(kDefaultHashSeed));
  const auto a = HashKey::random(), b = HashKey::random();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

decode::Packet udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport) {
  decode::Packet p;
  const std::uint32_t s = htonl(src), d = htonl(dst);
  p.src = decode::IpAddress::fromV4(reinterpret_cast<const std::uint8_t*>(&s));
  p.dst = decode::IpAddress::fromV4(reinterpret_cast<const std::uint8_t*>(&d));
  p.src_port = sport;
  p.dst_port = 53;
  p.proto = decode::ipproto::kUdp;
  p.ip_version = 4;
  p.wire_len = p.cap_len = 80;
  return p;
}

struct Ext {};
struct Log {
  std::vector<std::array<std::uint64_t, 5>> ends;  // ts, lo, pkts fwd, pkts bwd, reason
  void onStart(Flow<Ext>&, const decode::Packet&) {}
  void onPacket(Flow<Ext>&, const decode::Packet&, Direction) {}
  void onSnapshot(const Flow<Ext>&, TimeUs) {}
  void onEnd(const Flow<Ext>& f, EndReason r, TimeUs now) {
    ends.push_back({static_cast<std::uint64_t>(now), f.key.lo_addr.word(1), f.pkts[0], f.pkts[1],
                    static_cast<std::uint64_t>(r)});
  }
};

TEST(KeyedHash, IpVersionIsPartOfTheFlowKey) {
  // An IPv6 packet between IPv4-mapped addresses is not the IPv4 flow.
  decode::Packet v4 = udp(0x0a000001, 0x0a000002, 1000);
  decode::Packet v6 = v4;
  v6.ip_version = 6;
  bool lo4 = false, lo6 = false;
  const FlowKey k4 = makeKey(v4, lo4), k6 = makeKey(v6, lo6);
  EXPECT_FALSE(k4 == k6);
  EXPECT_NE(hashKey(k4, kDefaultHashKey), hashKey(k6, kDefaultHashKey));
  FlowTable<Ext> t(FlowConfig{});
  Log log;
  t.process(v4, log);
  t.process(v6, log);
  EXPECT_EQ(t.stats().created, 2u);
}

TEST(KeyedHash, RecordsDoNotDependOnTheKey) {
  // 3,000 flows through a 256-flow table (evictions, idle timeouts): the
  // same ends in the same order under two keys.
  std::vector<decode::Packet> pkts;
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i) {
    decode::Packet p = udp(0x0a000000 + static_cast<std::uint32_t>(rng() % 3000), 0x0b000001, 1000);
    if (rng() % 2) std::swap(p.src, p.dst), std::swap(p.src_port, p.dst_port);
    p.ts_us = 1'767'225'600'000'000 + i * 20'000;
    pkts.push_back(p);
  }
  auto run = [&pkts](const HashKey& key) {
    FlowConfig c;
    c.max_flows = 256;
    c.udp_idle_timeout_us = 30'000'000;
    c.hash_key = key;
    FlowTable<Ext> t(c);
    Log log;
    for (const decode::Packet& p : pkts) t.process(p, log);
    t.flushAll(log);
    return log.ends;
  };
  const auto a = run(HashKey::fromSeed(1));
  EXPECT_GT(a.size(), 3000u);
  EXPECT_EQ(a, run(HashKey::fromSeed(2)));
  EXPECT_EQ(a, run(kDefaultHashKey));
}

TEST(KeyedHash, KeysCollidingUnderOneKeySpreadUnderAnother) {
  // 400 keys that share one home slot of 1,024 under key A are what an
  // attacker who knew A would send; under key B they spread as random keys
  // do (the most in one slot, for 400 keys in 1,024 slots, is about 4).
  const HashKey a = HashKey::fromSeed(11), b = HashKey::fromSeed(12);
  std::vector<FlowKey> chosen;
  for (std::uint32_t i = 0; chosen.size() < 400; ++i) {
    bool lo = false;
    const FlowKey k = makeKey(udp(0x0a000000 + i, 0x0b000001, 1000), lo);
    if ((hashKey(k, a) & 1023) == 0) chosen.push_back(k);
  }
  std::vector<int> per_slot(1024);
  for (const FlowKey& k : chosen) ++per_slot[hashKey(k, b) & 1023];
  EXPECT_LE(*std::max_element(per_slot.begin(), per_slot.end()), 8);
}

}  // namespace
}  // namespace edgesense::flow
