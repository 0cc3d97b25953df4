// capture: the ip-pair fanout program, run by a small classic BPF interpreter
// with the kernel's addressing (skb data, SKF_NET_OFF, SKF_LL_OFF, ancillary
// loads) on the layouts the kernel hands it: received and sent, untagged,
// 802.1Q, QinQ, a device without a link header. The live test
// (live_source_test.cpp) runs it in the kernel itself.

#include <gtest/gtest.h>

#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/fanout_program.h"
#include "packet_builder.h"

namespace edgesense::capture {
namespace {

namespace ts = testsupport;

/// What the program sees of an skb.
struct Skb {
  ts::Bytes bytes;          // from the link header on
  std::size_t data = 0;     // skb->data
  std::size_t mac = 0;      // mac header
  std::size_t network = 0;  // network header
  std::uint32_t protocol = 0;
  std::uint32_t pkttype = PACKET_HOST;
  std::uint32_t hatype = ARPHRD_ETHER;
};

/// Runs a classic BPF program the way the kernel does for the instructions
/// the fanout program uses; a load out of bounds returns 0.
std::uint32_t run(const std::vector<sock_filter>& prog, const Skb& skb) {
  std::uint32_t a = 0;
  std::uint32_t x = 0;
  std::array<std::uint32_t, BPF_MEMWORDS> mem{};
  auto load = [&](std::uint32_t k, std::size_t size) -> std::optional<std::uint32_t> {
    const auto off = static_cast<std::int32_t>(k);
    if (off < 0 && off >= SKF_AD_OFF) {
      switch (off - SKF_AD_OFF) {
        case SKF_AD_PROTOCOL:
          return skb.protocol;
        case SKF_AD_PKTTYPE:
          return skb.pkttype;
        case SKF_AD_HATYPE:
          return skb.hatype;
        default:
          ADD_FAILURE() << "ancillary load " << off - SKF_AD_OFF;
          return std::nullopt;
      }
    }
    std::size_t at = 0;
    if (off >= 0) {
      at = skb.data + static_cast<std::size_t>(off);
    } else if (off >= SKF_NET_OFF) {
      at = skb.network + static_cast<std::size_t>(off - SKF_NET_OFF);
    } else if (off >= SKF_LL_OFF) {
      at = skb.mac + static_cast<std::size_t>(off - SKF_LL_OFF);
    } else {
      return std::nullopt;
    }
    if (at + size > skb.bytes.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v = v << 8 | skb.bytes[at + i];
    return v;
  };
  for (std::size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& i = prog[pc];
    switch (i.code) {
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS: {
        const std::size_t size = BPF_SIZE(i.code) == BPF_W ? 4 : BPF_SIZE(i.code) == BPF_H ? 2 : 1;
        const std::optional<std::uint32_t> v = load(i.k, size);
        if (!v) return 0;
        a = *v;
        break;
      }
      case BPF_LDX | BPF_MEM:
        x = mem.at(i.k);
        break;
      case BPF_ST:
        mem.at(i.k) = a;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_ALU | BPF_ADD | BPF_X:
        a += x;
        break;
      case BPF_ALU | BPF_XOR | BPF_X:
        a ^= x;
        break;
      case BPF_ALU | BPF_MUL | BPF_K:
        a *= i.k;
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        a >>= i.k;
        break;
      case BPF_JMP | BPF_JA:
        pc += i.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == i.k ? i.jt : i.jf;
        break;
      case BPF_RET | BPF_A:
        return a;
      case BPF_RET | BPF_K:
        return i.k;
      default:
        ADD_FAILURE() << "instruction " << i.code << " at " << pc;
        return 0;
    }
  }
  ADD_FAILURE() << "ran off the end";
  return 0;
}

ts::Frame udpFrame(const std::string& src, const std::string& dst, std::vector<ts::VlanTag> tags,
                   std::size_t payload) {
  ts::PacketBuilder b;
  b.ethernet(std::move(tags)).ip(src, dst).udp(1234, 5678).payload(payload);
  return b.build();
}

std::uint16_t etherTypeAt(const ts::Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

/// As received: the kernel took the outer tag (if any) into metadata; data
/// and the network header start after the link header and that tag.
Skb received(const ts::Frame& f) {
  Skb s;
  s.bytes = f.bytes;
  std::uint16_t type = etherTypeAt(s.bytes, 12);
  if (type == ts::kEtherTypeVlan || type == ts::kEtherTypeQinQ) {
    s.bytes.erase(s.bytes.begin() + 12, s.bytes.begin() + 16);
    type = etherTypeAt(s.bytes, 12);
  }
  s.data = s.network = 14;
  s.protocol = type;
  return s;
}

/// As sent on Ethernet: data and mac at the link header, the network header
/// where the sender put it.
Skb sent(const ts::Frame& f, std::size_t network) {
  Skb s;
  s.bytes = f.bytes;
  s.network = network;
  s.protocol = etherTypeAt(s.bytes, 12);
  s.pkttype = PACKET_OUTGOING;
  return s;
}

class FanoutProgramTest : public ::testing::Test {
 protected:
  std::vector<sock_filter> prog_ = ipPairFanoutProgram();
};

TEST_F(FanoutProgramTest, IsAValidSizeAndEndsInAReturn) {
  ASSERT_FALSE(prog_.empty());
  EXPECT_LE(prog_.size(), static_cast<std::size_t>(BPF_MAXINSNS));
  EXPECT_EQ(BPF_CLASS(prog_.back().code), BPF_RET);
}

TEST_F(FanoutProgramTest, EveryLayoutOfAHostPairHashesAlike) {
  for (const auto& [a, b] : {std::pair<std::string, std::string>{"192.0.2.1", "198.51.100.7"},
                             {"2001:db8::1", "2001:db8:ffff::42"}}) {
    SCOPED_TRACE(a + " <-> " + b);
    std::set<std::uint32_t> hashes;
    for (const bool reverse : {false, true}) {
      const std::string& src = reverse ? b : a;
      const std::string& dst = reverse ? a : b;
      // Whole datagrams and every fragment of a large one.
      std::vector<ts::Frame> untagged = {udpFrame(src, dst, {}, 100)};
      for (ts::Frame& f : ts::fragmentPacket(udpFrame(src, dst, {}, 3000), 1200, 7))
        untagged.push_back(std::move(f));
      std::vector<ts::Frame> dot1q = {udpFrame(src, dst, {{.vid = 5}}, 100)};
      std::vector<ts::Frame> qinq = {
          udpFrame(src, dst, {{.vid = 5, .tpid = ts::kEtherTypeQinQ}, {.vid = 6}}, 100)};
      for (ts::Frame& f : ts::fragmentPacket(qinq.front(), 40, 8)) qinq.push_back(std::move(f));
      for (const ts::Frame& f : untagged) {
        hashes.insert(run(prog_, received(f)));
        hashes.insert(run(prog_, sent(f, 14)));
        // A device without a link header (tun): the IP header at the data.
        Skb tun;
        tun.bytes.assign(f.bytes.begin() + 14, f.bytes.end());
        tun.pkttype = PACKET_OUTGOING;
        tun.hatype = ARPHRD_NONE;
        hashes.insert(run(prog_, tun));
      }
      for (const ts::Frame& f : dot1q) {
        hashes.insert(run(prog_, received(f)));
        hashes.insert(run(prog_, sent(f, 18)));  // a tag put in the data for the device
        hashes.insert(run(prog_, sent(f, 14)));  // a raw frame from a packet socket
      }
      for (const ts::Frame& f : qinq) {
        hashes.insert(run(prog_, received(f)));  // the inner tag still in the data
        hashes.insert(run(prog_, sent(f, 22)));
      }
    }
    EXPECT_EQ(hashes.size(), 1u);
    EXPECT_NE(*hashes.begin(), 0u);
  }
}

TEST_F(FanoutProgramTest, NonIpIsZero) {
  const ts::Frame arp = ts::arpRequest({2, 0, 0, 0, 0, 1}, "192.0.2.1", "192.0.2.2");
  EXPECT_EQ(run(prog_, received(arp)), 0u);
  EXPECT_EQ(run(prog_, sent(arp, 14)), 0u);
}

TEST_F(FanoutProgramTest, HostPairsSpreadOverMembers) {
  // 64 clients of one server, and 64 IPv6 hosts of one /64 paired with
  // another: each of 4 members gets at least half its share.
  for (const bool v6 : {false, true}) {
    std::array<int, 4> members{};
    for (int i = 1; i <= 64; ++i) {
      const std::string n = std::to_string(i);
      const ts::Frame f = v6 ? udpFrame("2001:db8::" + n, "2001:db8:1::" + n, {}, 10)
                             : udpFrame("10.0.0." + n, "10.0.1.1", {}, 10);
      ++members[run(prog_, received(f)) % 4];
    }
    for (const int m : members) EXPECT_GE(m, 8) << (v6 ? "IPv6" : "IPv4");
  }
}

}  // namespace
}  // namespace edgesense::capture
