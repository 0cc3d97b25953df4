// decode: the first stage after capture. Turns one frame into a Packet value
// (link layer -> VLAN tags -> IPv4/IPv6 -> TCP/UDP/ICMP) or a counted reason.
// Every read goes through Cursor, which checks it against the captured end.

#include "decode/decode.h"

#include <arpa/inet.h>

namespace edgesense::decode {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88a8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;
constexpr int kMaxVlanTags = 2;
constexpr int kMaxIpv6ExtHeaders = 16;

/// A bounds-checked view of the remaining captured bytes.
struct Cursor {
  const std::uint8_t* p;
  const std::uint8_t* end;

  std::size_t left() const noexcept { return static_cast<std::size_t>(end - p); }
  bool has(std::size_t n) const noexcept { return left() >= n; }
  std::uint8_t u8(std::size_t off) const noexcept { return p[off]; }
  std::uint16_t be16(std::size_t off) const noexcept {
    return static_cast<std::uint16_t>(p[off] << 8 | p[off + 1]);
  }
  std::uint32_t be32(std::size_t off) const noexcept {
    return std::uint32_t{p[off]} << 24 | std::uint32_t{p[off + 1]} << 16 |
           std::uint32_t{p[off + 2]} << 8 | p[off + 3];
  }
  std::uint32_t le32(std::size_t off) const noexcept {
    return std::uint32_t{p[off + 3]} << 24 | std::uint32_t{p[off + 2]} << 16 |
           std::uint32_t{p[off + 1]} << 8 | p[off];
  }
  void skip(std::size_t n) noexcept { p += n; }
};

/// Network-layer protocol found under the link layer.
enum class Net : std::uint8_t { kIpv4, kIpv6, kOther };

Net fromEthertype(std::uint16_t type) noexcept {
  if (type == kEtherIpv4) return Net::kIpv4;
  if (type == kEtherIpv6) return Net::kIpv6;
  return Net::kOther;
}

Net fromAddressFamily(std::uint32_t af) noexcept {
  if (af == 2) return Net::kIpv4;
  // AF_INET6 differs by OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
  if (af == 24 || af == 28 || af == 30 || af == 10) return Net::kIpv6;
  return Net::kOther;
}

Net fromVersionNibble(const Cursor& c) noexcept {
  if (!c.has(1)) return Net::kOther;
  switch (c.u8(0) >> 4) {
    case 4:
      return Net::kIpv4;
    case 6:
      return Net::kIpv6;
    default:
      return Net::kOther;
  }
}

DecodeError decodeEthernet(Cursor& c, Packet& out, Net& net) noexcept {
  if (!c.has(14)) return DecodeError::kTruncatedLink;
  std::uint16_t type = c.be16(12);
  c.skip(14);
  while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
    if (out.vlan_count == kMaxVlanTags) return DecodeError::kVlanTooDeep;
    if (!c.has(4)) return DecodeError::kTruncatedLink;
    out.vlan[out.vlan_count++] = c.be16(0) & 0x0fff;
    type = c.be16(2);
    c.skip(4);
  }
  net = fromEthertype(type);
  return DecodeError::kNone;
}

DecodeError decodeLink(const Frame& f, Cursor& c, Packet& out, Net& net) noexcept {
  switch (f.link) {
    case LinkType::kEthernet:
      return decodeEthernet(c, out, net);
    case LinkType::kLinuxSll:
      if (!c.has(16)) return DecodeError::kTruncatedLink;
      net = fromEthertype(c.be16(14));
      c.skip(16);
      return DecodeError::kNone;
    case LinkType::kLinuxSll2:
      if (!c.has(20)) return DecodeError::kTruncatedLink;
      net = fromEthertype(c.be16(0));
      c.skip(20);
      return DecodeError::kNone;
    case LinkType::kNull: {
      if (!c.has(4)) return DecodeError::kTruncatedLink;
      // Host byte order of the machine that wrote the file: try both.
      std::uint32_t af = c.le32(0);
      if (af > 0xffff) af = c.be32(0);
      net = fromAddressFamily(af);
      c.skip(4);
      return DecodeError::kNone;
    }
    case LinkType::kLoop:
      if (!c.has(4)) return DecodeError::kTruncatedLink;
      net = fromAddressFamily(c.be32(0));
      c.skip(4);
      return DecodeError::kNone;
    case LinkType::kRaw:
      if (!c.has(1)) return DecodeError::kTruncatedLink;
      net = fromVersionNibble(c);
      if (net == Net::kOther) return DecodeError::kBadIpVersion;
      return DecodeError::kNone;
    case LinkType::kIpv4:
      net = Net::kIpv4;
      return DecodeError::kNone;
    case LinkType::kIpv6:
      net = Net::kIpv6;
      return DecodeError::kNone;
  }
  return DecodeError::kUnsupportedLinkType;
}

/// Decodes the transport header at c. ip_payload is the transport length the
/// IP header declares (header + payload), independent of the snap length.
DecodeError decodeTransport(Cursor& c, std::uint32_t ip_payload, Packet& out) noexcept {
  out.ip_payload_len = ip_payload;
  switch (out.proto) {
    case ipproto::kTcp: {
      if (!c.has(20)) return DecodeError::kTruncatedTcp;
      const std::uint32_t hlen = (c.u8(12) >> 4) * 4u;
      if (hlen < 20 || hlen > ip_payload) return DecodeError::kBadTcpHeaderLength;
      out.src_port = c.be16(0);
      out.dst_port = c.be16(2);
      out.tcp_seq = c.be32(4);
      out.tcp_ack = c.be32(8);
      out.tcp_flags = c.u8(13);
      out.tcp_window = c.be16(14);
      out.tcp_options_len = static_cast<std::uint8_t>(hlen - 20);
      out.payload_len = ip_payload - hlen;
      return DecodeError::kNone;
    }
    case ipproto::kUdp: {
      if (!c.has(8)) return DecodeError::kTruncatedUdp;
      // The UDP length must fit what the IP header declares (a shorter one
      // is padding, which IP allows); a first fragment holds only part.
      const std::uint16_t udp_len = c.be16(4);
      const bool whole = out.fragment == Fragment::kNone;
      if (ip_payload < 8 || udp_len < 8 || (whole && udp_len > ip_payload)) {
        return DecodeError::kBadUdpLength;
      }
      out.src_port = c.be16(0);
      out.dst_port = c.be16(2);
      out.payload_len = ip_payload - 8;
      return DecodeError::kNone;
    }
    case ipproto::kIcmp:
    case ipproto::kIcmpv6: {
      if (!c.has(4) || ip_payload < 4) return DecodeError::kTruncatedIcmp;
      std::uint8_t type = c.u8(0);
      out.icmp_type = type;
      out.icmp_code = c.u8(1);
      // Query/response pairs share one key: the reply maps onto its request,
      // and the identifier stands in for the responder port.
      bool query = false;
      if (out.proto == ipproto::kIcmp) {
        switch (type) {
          case 0:
            type = 8;
            query = true;
            break;  // echo reply
          case 14:
            type = 13;
            query = true;
            break;  // timestamp reply
          case 16:
            type = 15;
            query = true;
            break;  // information reply
          case 18:
            type = 17;
            query = true;
            break;  // address mask reply
          case 8:
          case 13:
          case 15:
          case 17:
            query = true;
            break;
          default:
            break;
        }
      } else if (type == 128 || type == 129) {
        type = 128;
        query = true;
      }
      if (query) {
        if (!c.has(8) || ip_payload < 8) return DecodeError::kTruncatedIcmp;
        out.dst_port = c.be16(4);
      }
      out.src_port = static_cast<std::uint16_t>(type << 8 | out.icmp_code);
      out.payload_len = ip_payload >= 8 ? ip_payload - 8 : 0;
      return DecodeError::kNone;
    }
    default:
      return DecodeError::kUnsupportedIpProto;
  }
}

DecodeError decodeIpv4(Cursor& c, std::uint32_t wire_left, Packet& out) noexcept {
  if (!c.has(20)) return DecodeError::kTruncatedIpv4;
  if ((c.u8(0) >> 4) != 4) return DecodeError::kBadIpVersion;
  const std::uint32_t hlen = (c.u8(0) & 0x0f) * 4u;
  if (hlen < 20) return DecodeError::kBadIpv4HeaderLength;
  if (!c.has(hlen)) return DecodeError::kTruncatedIpv4;
  const std::uint32_t total = c.be16(2);
  // The capture may be cut by the snap length, but the frame on the wire
  // must hold what the header declares.
  if (total < hlen || total > wire_left) return DecodeError::kBadIpv4TotalLength;
  out.ip_version = 4;
  out.frag_id = c.be16(4);
  const std::uint16_t frag = c.be16(6);
  const std::uint16_t offset = frag & 0x1fff;
  const bool more = (frag & 0x2000) != 0;
  out.ttl = c.u8(8);
  out.proto = c.u8(9);
  out.src = IpAddress::fromV4(c.p + 12);
  out.dst = IpAddress::fromV4(c.p + 16);
  const std::uint32_t ip_payload = total - hlen;
  c.skip(hlen);
  if (offset != 0) {
    out.fragment = Fragment::kLater;
    out.payload_len = out.ip_payload_len = ip_payload;
    return DecodeError::kNone;
  }
  out.fragment = more ? Fragment::kFirst : Fragment::kNone;
  return decodeTransport(c, ip_payload, out);
}

bool isIpv6ExtHeader(std::uint8_t nh) noexcept {
  // hop-by-hop, routing, destination options, authentication, mobility,
  // HIP, shim6; fragment (44) is handled on its own.
  return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

DecodeError decodeIpv6(Cursor& c, std::uint32_t wire_left, Packet& out) noexcept {
  if (!c.has(40)) return DecodeError::kTruncatedIpv6;
  if ((c.u8(0) >> 4) != 6) return DecodeError::kBadIpVersion;
  std::uint32_t remaining = c.be16(4);  // bytes after the fixed header
  if (remaining + 40 > wire_left) return DecodeError::kTruncatedIpv6;
  out.ip_version = 6;
  out.ttl = c.u8(7);
  out.src = IpAddress::fromV6(c.p + 8);
  out.dst = IpAddress::fromV6(c.p + 24);
  std::uint8_t next = c.u8(6);
  c.skip(40);
  for (int n = 0;; ++n) {
    if (next == 44) {  // fragment header
      if (n == kMaxIpv6ExtHeaders) return DecodeError::kIpv6ExtHeaderChainTooLong;
      if (!c.has(8) || remaining < 8) return DecodeError::kTruncatedIpv6ExtHeader;
      const std::uint16_t off_flags = c.be16(2);
      out.frag_id = c.be32(4);
      next = c.u8(0);
      c.skip(8);
      remaining -= 8;
      if ((off_flags & 0xfff8) != 0) {
        out.fragment = Fragment::kLater;
        out.proto = next;
        out.payload_len = out.ip_payload_len = remaining;
        return DecodeError::kNone;
      }
      if (off_flags & 1) out.fragment = Fragment::kFirst;
      continue;
    }
    if (!isIpv6ExtHeader(next)) break;
    if (n == kMaxIpv6ExtHeaders) return DecodeError::kIpv6ExtHeaderChainTooLong;
    if (!c.has(2)) return DecodeError::kTruncatedIpv6ExtHeader;
    const std::uint32_t len = next == 51 ? (c.u8(1) + 2u) * 4u : (c.u8(1) + 1u) * 8u;
    if (!c.has(len) || remaining < len) return DecodeError::kTruncatedIpv6ExtHeader;
    next = c.u8(0);
    c.skip(len);
    remaining -= len;
  }
  out.proto = next;
  return decodeTransport(c, remaining, out);
}

}  // namespace

bool isSupported(LinkType link) noexcept {
  switch (link) {
    case LinkType::kNull:
    case LinkType::kEthernet:
    case LinkType::kRaw:
    case LinkType::kLoop:
    case LinkType::kLinuxSll:
    case LinkType::kIpv4:
    case LinkType::kIpv6:
    case LinkType::kLinuxSll2:
      return true;
  }
  return false;
}

const char* linkTypeName(LinkType link) noexcept {
  switch (link) {
    case LinkType::kNull:
      return "null";
    case LinkType::kEthernet:
      return "ethernet";
    case LinkType::kRaw:
      return "raw";
    case LinkType::kLoop:
      return "loop";
    case LinkType::kLinuxSll:
      return "linux_sll";
    case LinkType::kIpv4:
      return "ipv4";
    case LinkType::kIpv6:
      return "ipv6";
    case LinkType::kLinuxSll2:
      return "linux_sll2";
  }
  return "unknown";
}

std::string_view decodeErrorName(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::kNone:
      return "none";
#define X(name, label)    \
  case DecodeError::name: \
    return label;
      EDGESENSE_DECODE_ERRORS(X)
#undef X
  }
  return "unknown";
}

std::size_t formatAddress(const IpAddress& addr, char* buf, std::size_t size) noexcept {
  const char* r =
      addr.isV4() ? inet_ntop(AF_INET, addr.bytes.data() + 12, buf, static_cast<socklen_t>(size))
                  : inet_ntop(AF_INET6, addr.bytes.data(), buf, static_cast<socklen_t>(size));
  if (r == nullptr) {
    if (size > 0) buf[0] = '\0';
    return 0;
  }
  return std::char_traits<char>::length(buf);
}

DecodeError decode(const Frame& frame, Packet& out) noexcept {
  out = Packet{};
  out.ts_us = frame.ts_us;
  out.wire_len = frame.wire_len;
  out.cap_len = frame.cap_len;
  if (!isSupported(frame.link)) return DecodeError::kUnsupportedLinkType;
  Cursor c{frame.data, frame.data + frame.cap_len};
  Net net = Net::kOther;
  if (DecodeError e = decodeLink(frame, c, out, net); e != DecodeError::kNone) return e;
  // Bytes of the frame on the wire from here on; a wire length below the
  // capture length (a broken writer) falls back to what was captured.
  const std::uint32_t consumed = static_cast<std::uint32_t>(c.p - frame.data);
  const std::uint32_t wire = frame.wire_len >= frame.cap_len ? frame.wire_len : frame.cap_len;
  const std::uint32_t wire_left = wire - consumed;
  switch (net) {
    case Net::kIpv4:
      return decodeIpv4(c, wire_left, out);
    case Net::kIpv6:
      return decodeIpv6(c, wire_left, out);
    case Net::kOther:
      break;
  }
  return DecodeError::kNonIp;
}

}  // namespace edgesense::decode
