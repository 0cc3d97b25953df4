// capture, live: a real libpcap handle on a veth interface, with frames the
// test injects on the peer end through a packet socket. The binary moves
// itself into a network namespace of its own first, so it touches none of
// the host's interfaces; that needs root (CI runs as root).

#include <gtest/gtest.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "decode/decode.h"
#include "packet_builder.h"

namespace edgesense::capture {
namespace {

namespace ts = testsupport;

class LiveSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0)
        << "live capture tests need root (a network namespace of their own)";
    ASSERT_EQ(
        std::system(
            "ip link add es0 type veth peer name es1 && ip link set es0 up && ip link set es1 up"),
        0);
  }

  /// Sends a UDP frame out of es1, so it arrives on es0.
  static void inject(std::uint16_t dport, std::size_t payload, std::uint16_t sport = 1000,
                     bool reverse = false) {
    static const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    ASSERT_GE(fd, 0);
    ts::PacketBuilder b;
    if (reverse) {
      b.ethernet().ipv4({.src = "192.0.2.2", .dst = "192.0.2.1"}).udp(dport, sport);
    } else {
      b.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"}).udp(sport, dport);
    }
    b.payload(payload);
    const ts::Frame f = b.build();
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex("es1"));
    to.sll_halen = 6;
    ASSERT_EQ(
        sendto(fd, f.bytes.data(), f.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(f.bytes.size()));
  }
};

TEST_F(LiveSourceTest, CapturesFilteredFramesWithSnapLength) {
  LiveOptions o;
  o.interface = "es0";
  o.bpf = "udp and dst port 2000";
  o.snaplen = 128;
  o.immediate = true;
  o.timeout_ms = 50;
  auto src = openLive(o);
  for (int i = 0; i < 10; ++i) inject(2000, 1000);
  for (int i = 0; i < 5; ++i) inject(3000, 1000);  // filtered out

  int seen = 0;
  decode::Frame f;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen < 10 && std::chrono::steady_clock::now() < deadline) {
    const ReadStatus st = src->next(f);
    ASSERT_NE(st, ReadStatus::kError) << src->lastError();
    if (st != ReadStatus::kPacket) continue;
    ++seen;
    EXPECT_EQ(f.link, decode::LinkType::kEthernet);
    EXPECT_EQ(f.wire_len, 14u + 20 + 8 + 1000);
    EXPECT_EQ(f.cap_len, 128u);
    decode::Packet p;
    ASSERT_EQ(decode::decode(f, p), decode::DecodeError::kNone);
    EXPECT_EQ(p.dst_port, 2000);
    EXPECT_EQ(p.payload_len, 1000u);
  }
  EXPECT_EQ(seen, 10);
  // Nothing else arrives: the other port is filtered in the kernel.
  EXPECT_NE(src->next(f), ReadStatus::kPacket);
  const SourceStats s = src->stats();
  EXPECT_EQ(s.packets, 10u);
  EXPECT_EQ(s.kernel_dropped, 0u);
}

TEST_F(LiveSourceTest, ReadTimesOutOnASilentLinkAndBreaksOnRequest) {
  LiveOptions o;
  o.interface = "es0";
  o.bpf = "udp and dst port 4000";
  o.timeout_ms = 50;
  auto src = openLive(o);
  decode::Frame f;
  EXPECT_EQ(src->next(f), ReadStatus::kTimeout);
  src->breakLoop();
  EXPECT_EQ(src->next(f), ReadStatus::kEnd);
}

// Two handles in one flow-hash fanout group: every frame goes to exactly one
// of them, and both directions of a flow go to the same one.
TEST_F(LiveSourceTest, FlowFanoutKeepsEachFlowOnOneHandle) {
  LiveOptions o;
  o.interface = "es0";
  o.bpf = "udp and port 5000";
  o.immediate = true;
  o.timeout_ms = 20;
  o.fanout_group = 4242;
  o.fanout_mode = FanoutMode::kFlow;
  std::unique_ptr<PacketSource> src[2] = {openLive(o), openLive(o)};
  constexpr int kFlows = 32;
  for (int i = 0; i < kFlows; ++i) {
    const auto sport = static_cast<std::uint16_t>(20000 + i);
    inject(5000, 100, sport);
    inject(5000, 200, sport, true);
    inject(5000, 300, sport);
  }

  std::map<std::uint16_t, std::set<int>> handles_of_flow;  // client port -> handles
  int frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (frames < 3 * kFlows && std::chrono::steady_clock::now() < deadline) {
    for (int h = 0; h < 2; ++h) {
      decode::Frame f;
      const ReadStatus st = src[h]->next(f);
      ASSERT_NE(st, ReadStatus::kError) << src[h]->lastError();
      if (st != ReadStatus::kPacket) continue;
      ++frames;
      decode::Packet p;
      ASSERT_EQ(decode::decode(f, p), decode::DecodeError::kNone);
      const std::uint16_t client = p.dst_port == 5000 ? p.src_port : p.dst_port;
      handles_of_flow[client].insert(h);
    }
  }
  EXPECT_EQ(frames, 3 * kFlows);  // each frame exactly once: no copies, no loss
  ASSERT_EQ(handles_of_flow.size(), static_cast<std::size_t>(kFlows));
  int on_first = 0;
  for (const auto& [port, handles] : handles_of_flow) {
    EXPECT_EQ(handles.size(), 1u) << "flow from port " << port << " was split";
    on_first += handles.count(0) ? 1 : 0;
  }
  // 32 flows hashed over two members: both get some (all on one: p = 2^-31).
  EXPECT_GT(on_first, 0);
  EXPECT_LT(on_first, kFlows);
  EXPECT_EQ(src[0]->stats().packets + src[1]->stats().packets, 3u * kFlows);
}

/// Sends a built frame out of `from`.
void sendFrame(const ts::Frame& f, const char* from) {
  static const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  ASSERT_GE(fd, 0);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(from));
  to.sll_halen = 6;
  ASSERT_EQ(
      sendto(fd, f.bytes.data(), f.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(f.bytes.size()));
}

// Two handles in one ip-pair fanout group, frames of 24 host pairs (IPv4 and
// IPv6, untagged, 802.1Q, QinQ), each pair's frames both ways, whole and in
// fragments, received (sent from es1) and sent (from es0 itself): every frame
// arrives once and as sent (no reassembly), and all frames of a host pair,
// fragments included, on the same handle.
TEST_F(LiveSourceTest, IpPairFanoutKeepsEachHostPairWithItsFragmentsOnOneHandle) {
  LiveOptions o;
  o.interface = "es0";
  o.immediate = true;
  o.timeout_ms = 20;
  o.fanout_group = 4343;
  ASSERT_EQ(o.fanout_mode, FanoutMode::kIpPair);  // the default
  std::unique_ptr<PacketSource> src[2] = {openLive(o), openLive(o)};

  constexpr int kPairs = 24;
  int sent = 0;
  for (int i = 0; i < kPairs; ++i) {
    const bool v6 = i % 2 == 1;
    std::vector<ts::VlanTag> tags;
    if (i % 3 == 1) tags = {{.vid = 10}};
    if (i % 3 == 2) tags = {{.vid = 20, .tpid = ts::kEtherTypeQinQ}, {.vid = 30}};
    const std::string a =
        v6 ? "2001:db8:a::" + std::to_string(i + 1) : "198.51.100." + std::to_string(i + 1);
    const std::string b =
        v6 ? "2001:db8:b::" + std::to_string(i + 1) : "203.0.113." + std::to_string(i + 1);
    for (const bool reverse : {false, true}) {
      for (const char* from : {"es1", "es0"}) {
        ts::PacketBuilder small;
        small.ethernet(tags).ip(reverse ? b : a, reverse ? a : b).udp(4000, 6000).payload(100);
        sendFrame(small.build(), from);
        ts::PacketBuilder big;
        big.ethernet(tags).ip(reverse ? b : a, reverse ? a : b).udp(4000, 6000).payload(3000);
        const auto fragments =
            ts::fragmentPacket(big.build(), 1200, static_cast<std::uint32_t>(100 + i));
        ASSERT_EQ(fragments.size(), 3u);
        for (const ts::Frame& f : fragments) sendFrame(f, from);
        sent += 4;
      }
    }
  }

  std::map<std::string, std::set<int>> handles_of_pair;  // lower address -> handles
  int frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (frames < sent && std::chrono::steady_clock::now() < deadline) {
    for (int h = 0; h < 2; ++h) {
      decode::Frame f;
      const ReadStatus st = src[h]->next(f);
      ASSERT_NE(st, ReadStatus::kError) << src[h]->lastError();
      if (st != ReadStatus::kPacket) continue;
      decode::Packet p;
      if (decode::decode(f, p) != decode::DecodeError::kNone) continue;  // not ours
      char text[2][64] = {};
      decode::formatAddress(p.src, text[0], sizeof text[0]);
      decode::formatAddress(p.dst, text[1], sizeof text[1]);
      const std::string key = std::min(std::string(text[0]), std::string(text[1]));
      if (key.find("198.51.100.") == std::string::npos && key.find("2001:db8:a::") != 0) continue;
      ++frames;
      handles_of_pair[key].insert(h);
    }
  }
  EXPECT_EQ(frames, sent);  // each frame exactly once, fragments not reassembled
  ASSERT_EQ(handles_of_pair.size(), static_cast<std::size_t>(kPairs));
  int on_first = 0;
  for (const auto& [pair, handles] : handles_of_pair) {
    EXPECT_EQ(handles.size(), 1u) << "host pair of " << pair << " was split";
    on_first += handles.count(0) ? 1 : 0;
  }
  // 24 pairs hashed over two members: both get some.
  EXPECT_GT(on_first, 0);
  EXPECT_LT(on_first, kPairs);
}

TEST_F(LiveSourceTest, FanoutGroupOutOfRangeIsOneClearError) {
  LiveOptions o;
  o.interface = "es0";
  o.fanout_group = 70000;
  try {
    openLive(o);
    FAIL() << "a bad fanout group was accepted";
  } catch (const CaptureError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("es0"), std::string::npos) << m;
    EXPECT_NE(m.find("70000"), std::string::npos) << m;
  }
}

TEST_F(LiveSourceTest, BadFilterIsOneClearError) {
  LiveOptions o;
  o.interface = "es0";
  o.bpf = "udp and port banana";
  try {
    openLive(o);
    FAIL() << "a bad filter compiled";
  } catch (const CaptureError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("es0"), std::string::npos) << m;
    EXPECT_NE(m.find("banana"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace edgesense::capture
