// Capture: the fanout program, run by the kernel on each packet before any
// capture thread sees it. Offsets differ by direction: a received packet's
// data starts at its network header (the link header and a tag the kernel
// took into metadata are pulled), a sent one's at its link header.

#include "capture/fanout_program.h"

#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <cstddef>

namespace edgesense::capture {
namespace {

constexpr std::uint32_t kMix = 0x9e3779b1u;  // 2^32 / golden ratio, odd
constexpr int kMaxTags = 2;                  // 802.1Q/802.1ad tags read in the data

/// Emits straight-line blocks, each guarded by one test whose false branch
/// skips the block: every jump is forward.
class Program {
 public:
  void stmt(std::uint16_t code, std::uint32_t k) { code_.push_back(BPF_STMT(code, k)); }
  void ret(std::uint32_t k) { stmt(BPF_RET | BPF_K, k); }

  /// A = the word, halfword or byte at `off` of the header at `base` (0:
  /// skb data; SKF_NET_OFF, SKF_LL_OFF: the network or link header). A load
  /// past the end ends the program with 0.
  void load(std::uint16_t size, std::uint32_t base, std::uint32_t off) {
    stmt(BPF_LD | size | BPF_ABS, base + off);
  }
  void ancillary(std::uint32_t what) { stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + what); }

  /// Runs `block` only if A == k; the block must end in a return.
  template <class Block>
  void ifEqual(std::uint32_t k, Block block) {
    const std::size_t test = code_.size();
    code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0));
    block();
    const std::size_t skip = code_.size() - test - 1;
    if (skip <= 255) {
      code_[test].jf = static_cast<std::uint8_t>(skip);
      return;
    }
    // Too far for a conditional jump: false falls onto a long one. Jumps
    // inside the block are relative and the enclosing tests' are not set
    // yet, so the insertion moves none.
    code_.insert(code_.begin() + static_cast<std::ptrdiff_t>(test) + 1,
                 BPF_JUMP(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(skip), 0, 0));
    code_[test].jt = 1;
  }

  /// Returns the symmetric hash of the IPv4 header at `base`: source plus
  /// destination, mixed.
  void hashIpv4(std::uint32_t base) {
    load(BPF_W, base, 12);
    stmt(BPF_MISC | BPF_TAX, 0);
    load(BPF_W, base, 16);
    stmt(BPF_ALU | BPF_ADD | BPF_X, 0);
    finish();
  }

  /// The same for the IPv6 header at `base`: word i of the source plus word
  /// i of the destination, folded in order through M[0].
  void hashIpv6(std::uint32_t base) {
    for (std::uint32_t i = 0; i < 4; ++i) {
      load(BPF_W, base, 8 + 4 * i);
      stmt(BPF_MISC | BPF_TAX, 0);
      load(BPF_W, base, 24 + 4 * i);
      stmt(BPF_ALU | BPF_ADD | BPF_X, 0);
      if (i > 0) {
        stmt(BPF_LDX | BPF_MEM, 0);
        stmt(BPF_ALU | BPF_XOR | BPF_X, 0);
      }
      stmt(BPF_ALU | BPF_MUL | BPF_K, kMix);
      if (i < 3) stmt(BPF_ST, 0);
    }
    finish();
  }

  /// The kernel keeps the low bits (result % members): fold the well-mixed
  /// high half of the product into them, and return A.
  void finish() {
    stmt(BPF_ALU | BPF_MUL | BPF_K, kMix);
    stmt(BPF_MISC | BPF_TAX, 0);
    stmt(BPF_ALU | BPF_RSH | BPF_K, 16);
    stmt(BPF_ALU | BPF_XOR | BPF_X, 0);
    stmt(BPF_RET | BPF_A, 0);
  }

  std::vector<sock_filter> take() { return std::move(code_); }

 private:
  std::vector<sock_filter> code_;
};

/// A holds an ethertype, the header it names starts at `base`: hashes an IP
/// header, or reads past up to `tags` VLAN tags (TCI, then the next
/// ethertype) to one. Anything else returns 0.
void byEthertype(Program& p, std::uint32_t base, int tags) {
  p.ifEqual(ETH_P_IP, [&] { p.hashIpv4(base); });
  p.ifEqual(ETH_P_IPV6, [&] { p.hashIpv6(base); });
  if (tags > 0) {
    for (const std::uint32_t tpid : {ETH_P_8021Q, ETH_P_8021AD}) {
      p.ifEqual(tpid, [&] {
        p.load(BPF_H, base, 2);
        byEthertype(p, base + 4, tags - 1);
      });
    }
  }
  p.ret(0);
}

/// Received: skb->protocol names what starts at the data; a tag the kernel
/// took into metadata is gone, an inner one (QinQ) is still there.
void received(Program& p) {
  p.ancillary(SKF_AD_PROTOCOL);
  byEthertype(p, 0, kMaxTags);
}

/// Sent: the data starts at the link header. On Ethernet (and loopback,
/// which has one) it is parsed from there, tags in the data included; a
/// device without one (tun, WireGuard) starts at the IP header, whose
/// version decides.
void sent(Program& p) {
  const auto link = static_cast<std::uint32_t>(SKF_LL_OFF);
  const auto net = static_cast<std::uint32_t>(SKF_NET_OFF);
  p.ancillary(SKF_AD_HATYPE);
  for (const std::uint32_t type : {ARPHRD_ETHER, ARPHRD_LOOPBACK}) {
    p.ifEqual(type, [&] {
      p.load(BPF_H, link, 12);
      byEthertype(p, link + 14, kMaxTags);
    });
  }
  p.load(BPF_B, net, 0);
  p.stmt(BPF_ALU | BPF_RSH | BPF_K, 4);
  p.ifEqual(4, [&] { p.hashIpv4(net); });
  p.ifEqual(6, [&] { p.hashIpv6(net); });
  p.ret(0);
}

}  // namespace

std::vector<sock_filter> ipPairFanoutProgram() {
  Program p;
  p.ancillary(SKF_AD_PKTTYPE);
  p.ifEqual(PACKET_OUTGOING, [&] { sent(p); });
  received(p);
  return p.take();
}

}  // namespace edgesense::capture
