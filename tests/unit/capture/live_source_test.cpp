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
  static void inject(std::uint16_t dport, std::size_t payload) {
    static const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    ASSERT_GE(fd, 0);
    ts::PacketBuilder b;
    b.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"}).udp(1000, dport).payload(payload);
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
