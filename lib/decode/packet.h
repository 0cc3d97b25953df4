#pragma once
/// The decoded packet: a small value type filled by decode::decode() and read
/// by the flow table. It holds no pointer into the capture buffer except
/// nothing; everything the later stages need is copied out, so a Packet may
/// outlive the frame it came from. Owned by the capture thread, on its stack.

#include <array>
#include <cstdint>
#include <cstring>

namespace edgesense::decode {

/// Microseconds since the Unix epoch, from the packet's capture timestamp.
using TimeUs = std::int64_t;

/// Link-layer header types, numbered as the tcpdump.org LINKTYPE_ registry.
/// decode knows nothing of libpcap; capture maps DLT_ values onto these.
enum class LinkType : std::uint16_t {
  kNull = 0,         // BSD loopback: 4-byte address family in host order
  kEthernet = 1,     // Ethernet II, with 802.1Q/802.1ad tags
  kRaw = 101,        // raw IPv4 or IPv6, version from the first nibble
  kLoop = 108,       // OpenBSD loopback: 4-byte address family, network order
  kLinuxSll = 113,   // Linux cooked capture v1
  kIpv4 = 228,       // raw IPv4
  kIpv6 = 229,       // raw IPv6
  kLinuxSll2 = 276,  // Linux cooked capture v2
};

/// True for link types decode() understands.
bool isSupported(LinkType link) noexcept;
/// Short name for messages, e.g. "ethernet", "linux_sll2".
const char* linkTypeName(LinkType link) noexcept;

/// An IPv4 or IPv6 address. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so
/// both families compare, hash and order the same way.
struct alignas(8) IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  /// The address as two machine words, for hashing and ordering (any
  /// consistent order will do; this one is not numeric).
  std::uint64_t word(int i) const noexcept {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + 8 * i, 8);
    return w;
  }

  static IpAddress fromV4(const std::uint8_t* p) noexcept {
    IpAddress a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, p, 4);
    return a;
  }
  static IpAddress fromV6(const std::uint8_t* p) noexcept {
    IpAddress a;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
  }
  bool isV4() const noexcept {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kPrefix, 12) == 0;
  }
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

/// Writes the address in its usual text form ("192.0.2.1", "2001:db8::1")
/// into buf (at least 46 bytes); returns the length written.
std::size_t formatAddress(const IpAddress& addr, char* buf, std::size_t size) noexcept;

namespace ipproto {
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kIcmpv6 = 58;
}  // namespace ipproto

namespace tcpflag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
inline constexpr std::uint8_t kEce = 0x40;
inline constexpr std::uint8_t kCwr = 0x80;
}  // namespace tcpflag

/// Where a packet sits in an IP fragment train.
enum class Fragment : std::uint8_t {
  kNone,   // not fragmented
  kFirst,  // offset 0 with more fragments: carries the transport header
  kLater,  // offset > 0: no transport header; attributed by (src, dst, id)
};

/// One decoded packet. Ports are zero for protocols without them; for ICMP
/// src_port holds type << 8 | code and dst_port the echo identifier, with echo
/// replies mapped onto their request type so both directions share a key.
struct Packet {
  TimeUs ts_us = 0;
  std::uint32_t wire_len = 0;     // frame length on the wire (pcap orig_len)
  std::uint32_t cap_len = 0;      // bytes captured
  std::uint32_t payload_len = 0;  // transport payload bytes, from IP lengths
  // Bytes after the IP header and its extension headers (the transport
  // header and payload; a fragment's share), from IP lengths: a packet's
  // size whatever the link type, VLAN tags or IP version around it.
  std::uint32_t ip_payload_len = 0;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::array<std::uint16_t, 2> vlan{};  // outer, inner; 0 = absent
  std::uint8_t vlan_count = 0;
  std::uint8_t ip_version = 0;  // 4 or 6
  std::uint8_t proto = 0;       // IP protocol of the transport header
  std::uint8_t ttl = 0;         // TTL or hop limit
  Fragment fragment = Fragment::kNone;
  std::uint32_t frag_id = 0;  // IPv4 id or IPv6 fragment identification
  // TCP only
  std::uint8_t tcp_flags = 0;
  std::uint8_t tcp_options_len = 0;
  std::uint16_t tcp_window = 0;
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  // ICMP and ICMPv6 only
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
};

}  // namespace edgesense::decode
