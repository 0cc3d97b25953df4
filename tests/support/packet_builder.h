#pragma once

/// Builds link-layer frames byte by byte, for tests and for edgesense-pcapgen.
/// A PacketBuilder is a plain value holding one spec per layer; build() returns a new
/// Frame the caller owns. Lengths and checksums are computed by build(); to make a
/// malformed frame, build a good one and patch bytes at the offsets the Frame records.
/// Nothing here has global state, so any thread may use its own builders.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace edgesense::testsupport {

using Bytes = std::vector<uint8_t>;
using MacAddress = std::array<uint8_t, 6>;

// LINKTYPE_* values as written in pcap and pcapng headers.
inline constexpr uint32_t kLinkTypeNull = 0;
inline constexpr uint32_t kLinkTypeEthernet = 1;
inline constexpr uint32_t kLinkTypeRaw = 101;
inline constexpr uint32_t kLinkTypeLinuxSll = 113;
inline constexpr uint32_t kLinkTypeUser0 = 147;
inline constexpr uint32_t kLinkTypeLinuxSll2 = 276;

// Address-family values in the 4-byte BSD null/loopback header.
inline constexpr uint32_t kBsdAfInet = 2;
inline constexpr uint32_t kBsdAfInet6NetBsd = 24;  // NetBSD, OpenBSD, BSD/OS
inline constexpr uint32_t kBsdAfInet6FreeBsd = 28;
inline constexpr uint32_t kBsdAfInet6Darwin = 30;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;

inline constexpr uint8_t kIpProtoHopByHop = 0;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoRouting = 43;
inline constexpr uint8_t kIpProtoFragment = 44;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoNoNext = 59;
inline constexpr uint8_t kIpProtoDestOpts = 60;
inline constexpr uint8_t kIpProtoExperimental = 253;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kVlanTagSize = 4;
inline constexpr size_t kLinuxSllHeaderSize = 16;
inline constexpr size_t kLinuxSll2HeaderSize = 20;
inline constexpr size_t kNullHeaderSize = 4;
inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kTcpHeaderSize = 20;
inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kIcmpHeaderSize = 8;

/// An IPv4 or IPv6 address. Parsing uses inet_pton and throws std::invalid_argument on
/// text that is neither. Implicit from string literals so specs read like
/// `.src = "192.0.2.1"`.
class IpAddress {
 public:
  IpAddress() = default;
  IpAddress(const char* text);         // NOLINT(google-explicit-constructor)
  IpAddress(const std::string& text);  // NOLINT(google-explicit-constructor)
  static IpAddress parse(std::string_view text);
  static IpAddress fromV4(uint32_t host_order);
  static IpAddress fromV6(const std::array<uint8_t, 16>& bytes);

  bool isV6() const { return v6_; }
  size_t size() const { return v6_ ? 16 : 4; }
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size()}; }
  std::string toString() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
};

struct VlanTag {
  uint16_t vid = 0;
  uint16_t tpid = kEtherTypeVlan;  // kEtherTypeQinQ for a service (outer) tag
  uint8_t pcp = 0;
};

enum class LinkLayer { kEthernet, kLinuxSll, kLinuxSll2, kRaw, kNull };

/// The LINKTYPE_* value of a link layer.
uint32_t linkTypeOf(LinkLayer layer);

struct LinkSpec {
  LinkLayer layer = LinkLayer::kEthernet;
  MacAddress src_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  MacAddress dst_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::vector<VlanTag> vlans;                  // Ethernet only, outermost first
  uint16_t sll_packet_type = 0;                // SLL/SLL2: 0 = to us, 4 = outgoing
  uint32_t sll2_ifindex = 1;                   // SLL2 interface index
  uint32_t null_af_inet6 = kBsdAfInet6Darwin;  // null header value for IPv6 packets
  std::optional<uint16_t> ethertype;           // default: from the network layer
};

struct Ipv4Spec {
  IpAddress src;
  IpAddress dst;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;     // in bytes, a multiple of 8
  Bytes options;                    // raw option bytes, padded with EOL to a multiple of 4
  std::optional<uint8_t> protocol;  // default: from the transport layer
};

/// One IPv6 extension header. `body` is everything after the next-header byte and the
/// length byte; build() pads option headers with Pad1/PadN and routing headers with
/// zeros to a multiple of 8 bytes.
struct Ipv6ExtHeader {
  uint8_t type = kIpProtoDestOpts;
  Bytes body;

  static Ipv6ExtHeader hopByHop(Bytes options = {});
  static Ipv6ExtHeader destinationOptions(Bytes options = {});
  /// Routing header with no addresses; segments_left 0 so the destination is final.
  static Ipv6ExtHeader routing(uint8_t routing_type = 0, uint8_t segments_left = 0);
  /// Fragment header; offset in bytes (a multiple of 8).
  static Ipv6ExtHeader fragment(uint16_t offset, bool more, uint32_t identification);
};

struct Ipv6Spec {
  IpAddress src;
  IpAddress dst;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  std::vector<Ipv6ExtHeader> ext_headers;  // in wire order
  std::optional<uint8_t> next_header;      // upper-layer protocol; default: from transport
};

struct TcpSpec {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = kTcpAck;
  uint16_t window = 65535;
  uint16_t urgent = 0;
  Bytes options;  // raw option bytes, padded with EOL to a multiple of 4 (max 40)
};

struct UdpSpec {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

/// ICMP or ICMPv6 header; which one depends on the network layer it is built under.
struct IcmpSpec {
  uint8_t type = 8;
  uint8_t code = 0;
  uint32_t rest = 0;  // rest of header: id << 16 | seq for echo, next-hop MTU for "too big"
};

IcmpSpec icmpEcho(bool reply, uint16_t id, uint16_t seq);    // ICMPv4 type 8 / 0
IcmpSpec icmpv6Echo(bool reply, uint16_t id, uint16_t seq);  // ICMPv6 type 128 / 129
IcmpSpec icmpUnreachable(uint8_t code);                      // ICMPv4 type 3

// TCP option encoders; concatenate them into TcpSpec::options.
Bytes tcpOptionNop();
Bytes tcpOptionMss(uint16_t mss);
Bytes tcpOptionWindowScale(uint8_t shift);
Bytes tcpOptionSackPermitted();
Bytes tcpOptionTimestamps(uint32_t value, uint32_t echo_reply);
/// Linux SYN layout: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes).
Bytes tcpSynOptions(uint16_t mss, uint8_t window_shift, uint32_t ts_value, uint32_t ts_echo);
/// NOP, NOP, timestamps (12 bytes), as on every segment once timestamps are agreed.
Bytes tcpTimestampOptions(uint32_t ts_value, uint32_t ts_echo);

/// `size` bytes of a deterministic pattern; the same (size, seed) always gives the same
/// bytes, and `offset` lets a byte stream be cut into segments consistently.
Bytes patternPayload(size_t size, uint32_t seed = 0, uint64_t offset = 0);

/// One's-complement sum over `data`, folded, not inverted; chain with `initial`.
uint32_t onesComplementSum(std::span<const uint8_t> data, uint32_t initial = 0);
/// Internet checksum (RFC 1071) over `data` plus an already-summed pseudo-header.
uint16_t internetChecksum(std::span<const uint8_t> data, uint32_t initial = 0);

/// A built frame plus where its layers start, for patching and fragmenting.
struct Frame {
  Bytes bytes;
  uint32_t link_type = kLinkTypeEthernet;
  size_t l3_offset = 0;           // first byte of the IP header (or of the non-IP payload)
  size_t next_header_offset = 0;  // byte holding the upper-layer protocol number
  size_t l4_offset = 0;           // first byte after the IP header and extension headers
  size_t payload_offset = 0;      // first byte after the transport header

  size_t size() const { return bytes.size(); }
  size_t payloadSize() const { return bytes.size() - payload_offset; }
};

class PacketBuilder {
 public:
  PacketBuilder& link(LinkSpec spec);
  PacketBuilder& ethernet(std::vector<VlanTag> vlans = {});
  PacketBuilder& ipv4(Ipv4Spec spec);
  PacketBuilder& ipv6(Ipv6Spec spec);
  /// IPv4 or IPv6 by the family of the addresses (which must match).
  PacketBuilder& ip(const IpAddress& src, const IpAddress& dst, uint8_t ttl = 64);
  PacketBuilder& tcp(TcpSpec spec);
  PacketBuilder& udp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder& icmp(IcmpSpec spec);
  PacketBuilder& payload(Bytes bytes);
  PacketBuilder& payload(size_t size, uint32_t seed = 0);

  LinkSpec& linkSpec() { return link_; }
  Ipv4Spec* ipv4Spec() { return std::get_if<Ipv4Spec>(&network_); }
  Ipv6Spec* ipv6Spec() { return std::get_if<Ipv6Spec>(&network_); }
  TcpSpec* tcpSpec() { return std::get_if<TcpSpec>(&transport_); }

  Frame build() const;

 private:
  LinkSpec link_;
  std::variant<std::monostate, Ipv4Spec, Ipv6Spec> network_;
  std::variant<std::monostate, TcpSpec, UdpSpec, IcmpSpec> transport_;
  Bytes payload_;
};

/// Cuts an IP packet into fragments carrying at most `max_fragment_payload` bytes of the
/// original IP payload each (rounded down to a multiple of 8). IPv4 fragments keep the
/// packet's id and options; IPv6 fragments get a fragment header with `identification`
/// after the packet's extension headers, or with `ext_headers_fragmentable` right after
/// the IPv6 header, the packet's extension headers then being part of the fragmentable
/// part (RFC 8200 section 4.5: a destination options header for the final destination
/// travels in the first fragment only, behind the fragment header, which names it as
/// its next header in every fragment). The link header is copied to each fragment.
std::vector<Frame> fragmentPacket(const Frame& packet, size_t max_fragment_payload,
                                  uint32_t identification = 1,
                                  bool ext_headers_fragmentable = false);

/// An Ethernet ARP request (who-has target_ip tell sender_ip); a non-IP frame.
Frame arpRequest(const MacAddress& sender_mac, const IpAddress& sender_ip,
                 const IpAddress& target_ip);

}  // namespace edgesense::testsupport
