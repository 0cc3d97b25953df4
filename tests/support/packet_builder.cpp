// Frame assembly for the test-support library: link header, IP header and extension
// headers, transport header, payload; then lengths and checksums are patched in place.

#include "packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>

#include "byte_io.h"

namespace edgesense::testsupport {

// ---------------------------------------------------------------- IpAddress

IpAddress::IpAddress(const char* text) : IpAddress(parse(text)) {}

IpAddress::IpAddress(const std::string& text) : IpAddress(parse(text)) {}

IpAddress IpAddress::parse(std::string_view text) {
  const std::string copy(text);  // inet_pton wants a NUL-terminated string
  IpAddress addr;
  if (inet_pton(AF_INET, copy.c_str(), addr.bytes_.data()) == 1) return addr;
  if (inet_pton(AF_INET6, copy.c_str(), addr.bytes_.data()) == 1) {
    addr.v6_ = true;
    return addr;
  }
  throw std::invalid_argument("not an IP address: " + copy);
}

IpAddress IpAddress::fromV4(uint32_t host_order) {
  IpAddress addr;
  putBe32(addr.bytes_, 0, host_order);
  return addr;
}

IpAddress IpAddress::fromV6(const std::array<uint8_t, 16>& bytes) {
  IpAddress addr;
  addr.v6_ = true;
  addr.bytes_ = bytes;
  return addr;
}

std::string IpAddress::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), text, sizeof text);
  return text;
}

// ---------------------------------------------------------------- small encoders

uint32_t linkTypeOf(LinkLayer layer) {
  switch (layer) {
    case LinkLayer::kEthernet:
      return kLinkTypeEthernet;
    case LinkLayer::kLinuxSll:
      return kLinkTypeLinuxSll;
    case LinkLayer::kLinuxSll2:
      return kLinkTypeLinuxSll2;
    case LinkLayer::kRaw:
      return kLinkTypeRaw;
    case LinkLayer::kNull:
      return kLinkTypeNull;
  }
  return kLinkTypeEthernet;
}

Ipv6ExtHeader Ipv6ExtHeader::hopByHop(Bytes options) {
  return {kIpProtoHopByHop, std::move(options)};
}

Ipv6ExtHeader Ipv6ExtHeader::destinationOptions(Bytes options) {
  return {kIpProtoDestOpts, std::move(options)};
}

Ipv6ExtHeader Ipv6ExtHeader::routing(uint8_t routing_type, uint8_t segments_left) {
  return {kIpProtoRouting, Bytes{routing_type, segments_left, 0, 0, 0, 0}};
}

Ipv6ExtHeader Ipv6ExtHeader::fragment(uint16_t offset, bool more, uint32_t identification) {
  Ipv6ExtHeader h{kIpProtoFragment, {}};
  appendBe16(h.body, static_cast<uint16_t>((offset & 0xfff8) | (more ? 1 : 0)));
  appendBe32(h.body, identification);
  return h;
}

IcmpSpec icmpEcho(bool reply, uint16_t id, uint16_t seq) {
  return {static_cast<uint8_t>(reply ? 0 : 8), 0, (static_cast<uint32_t>(id) << 16) | seq};
}

IcmpSpec icmpv6Echo(bool reply, uint16_t id, uint16_t seq) {
  return {static_cast<uint8_t>(reply ? 129 : 128), 0, (static_cast<uint32_t>(id) << 16) | seq};
}

IcmpSpec icmpUnreachable(uint8_t code) {
  return {3, code, 0};
}

Bytes tcpOptionNop() {
  return {1};
}

Bytes tcpOptionMss(uint16_t mss) {
  Bytes b{2, 4};
  appendBe16(b, mss);
  return b;
}

Bytes tcpOptionWindowScale(uint8_t shift) {
  return {3, 3, shift};
}

Bytes tcpOptionSackPermitted() {
  return {4, 2};
}

Bytes tcpOptionTimestamps(uint32_t value, uint32_t echo_reply) {
  Bytes b{8, 10};
  appendBe32(b, value);
  appendBe32(b, echo_reply);
  return b;
}

Bytes tcpSynOptions(uint16_t mss, uint8_t window_shift, uint32_t ts_value, uint32_t ts_echo) {
  Bytes b = tcpOptionMss(mss);
  for (const Bytes& part : {tcpOptionSackPermitted(), tcpOptionTimestamps(ts_value, ts_echo),
                            tcpOptionNop(), tcpOptionWindowScale(window_shift)}) {
    b.insert(b.end(), part.begin(), part.end());
  }
  return b;
}

Bytes tcpTimestampOptions(uint32_t ts_value, uint32_t ts_echo) {
  Bytes b{1, 1};
  const Bytes ts = tcpOptionTimestamps(ts_value, ts_echo);
  b.insert(b.end(), ts.begin(), ts.end());
  return b;
}

namespace {

constexpr size_t kPatternPeriod = 1 << 16;

// 64 KiB of splitmix64 output, made once: payload bytes are copied out of it, which keeps
// the benchmark generator fast while no two nearby segments look alike.
const std::vector<uint8_t>& patternTable() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(kPatternPeriod);
    uint64_t state = 0x0ed9e5e7u;
    for (size_t i = 0; i < t.size(); i += 8) {
      uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      for (size_t j = 0; j < 8; ++j) t[i + j] = static_cast<uint8_t>(z >> (8 * j));
    }
    return t;
  }();
  return table;
}

}  // namespace

Bytes patternPayload(size_t size, uint32_t seed, uint64_t offset) {
  const std::vector<uint8_t>& table = patternTable();
  Bytes b(size);
  size_t at = static_cast<size_t>((offset + 0x9e37ULL * seed) % kPatternPeriod);
  for (size_t done = 0; done < size;) {
    const size_t n = std::min(size - done, kPatternPeriod - at);
    std::copy_n(table.begin() + static_cast<std::ptrdiff_t>(at), n,
                b.begin() + static_cast<std::ptrdiff_t>(done));
    done += n;
    at = 0;
  }
  return b;
}

uint32_t onesComplementSum(std::span<const uint8_t> data, uint32_t initial) {
  uint64_t sum = initial;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += static_cast<uint32_t>((data[i] << 8) | data[i + 1]);
  }
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

uint16_t internetChecksum(std::span<const uint8_t> data, uint32_t initial) {
  return static_cast<uint16_t>(~onesComplementSum(data, initial) & 0xffff);
}

namespace {

uint32_t pseudoHeaderSum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                         size_t l4_length) {
  uint32_t sum = onesComplementSum(src.bytes());
  sum = onesComplementSum(dst.bytes(), sum);
  const auto len = static_cast<uint32_t>(l4_length);
  uint64_t extra = static_cast<uint64_t>(sum) + protocol + (len >> 16) + (len & 0xffff);
  while (extra >> 16) extra = (extra & 0xffff) + (extra >> 16);
  return static_cast<uint32_t>(extra);
}

// Appends an IPv6 extension header; returns the offset of its next-header byte.
size_t appendExtHeader(Bytes& out, const Ipv6ExtHeader& h, uint8_t next) {
  const size_t start = out.size();
  out.push_back(next);
  if (h.type == kIpProtoFragment) {
    out.push_back(0);  // reserved, not a length
    out.insert(out.end(), h.body.begin(), h.body.end());
    out.resize(start + 8, 0);
    return start;
  }
  out.push_back(0);  // length, patched below
  out.insert(out.end(), h.body.begin(), h.body.end());
  size_t pad = (8 - (out.size() - start) % 8) % 8;
  if (h.type == kIpProtoHopByHop || h.type == kIpProtoDestOpts) {
    if (pad == 1) {
      out.push_back(0);  // Pad1
    } else if (pad >= 2) {
      out.push_back(1);  // PadN
      out.push_back(static_cast<uint8_t>(pad - 2));
      out.insert(out.end(), pad - 2, 0);
    }
  } else {
    out.insert(out.end(), pad, 0);
  }
  out[start + 1] = static_cast<uint8_t>((out.size() - start) / 8 - 1);
  return start;
}

void appendMac(Bytes& out, const MacAddress& mac) {
  out.insert(out.end(), mac.begin(), mac.end());
}

}  // namespace

// ---------------------------------------------------------------- PacketBuilder

PacketBuilder& PacketBuilder::link(LinkSpec spec) {
  link_ = std::move(spec);
  return *this;
}

PacketBuilder& PacketBuilder::ethernet(std::vector<VlanTag> vlans) {
  link_.layer = LinkLayer::kEthernet;
  link_.vlans = std::move(vlans);
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(Ipv4Spec spec) {
  network_ = std::move(spec);
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(Ipv6Spec spec) {
  network_ = std::move(spec);
  return *this;
}

PacketBuilder& PacketBuilder::ip(const IpAddress& src, const IpAddress& dst, uint8_t ttl) {
  if (src.isV6() != dst.isV6()) throw std::invalid_argument("mixed address families");
  if (src.isV6()) {
    Ipv6Spec spec;
    spec.src = src;
    spec.dst = dst;
    spec.hop_limit = ttl;
    network_ = std::move(spec);
  } else {
    Ipv4Spec spec;
    spec.src = src;
    spec.dst = dst;
    spec.ttl = ttl;
    network_ = std::move(spec);
  }
  return *this;
}

PacketBuilder& PacketBuilder::tcp(TcpSpec spec) {
  transport_ = std::move(spec);
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t src_port, uint16_t dst_port) {
  transport_ = UdpSpec{src_port, dst_port};
  return *this;
}

PacketBuilder& PacketBuilder::icmp(IcmpSpec spec) {
  transport_ = spec;
  return *this;
}

PacketBuilder& PacketBuilder::payload(Bytes bytes) {
  payload_ = std::move(bytes);
  return *this;
}

PacketBuilder& PacketBuilder::payload(size_t size, uint32_t seed) {
  payload_ = patternPayload(size, seed);
  return *this;
}

Frame PacketBuilder::build() const {
  const auto* v4 = std::get_if<Ipv4Spec>(&network_);
  const auto* v6 = std::get_if<Ipv6Spec>(&network_);
  const bool is_v6 = v6 != nullptr;

  uint8_t upper = is_v6 ? kIpProtoNoNext : kIpProtoExperimental;
  if (std::holds_alternative<TcpSpec>(transport_)) upper = kIpProtoTcp;
  if (std::holds_alternative<UdpSpec>(transport_)) upper = kIpProtoUdp;
  if (std::holds_alternative<IcmpSpec>(transport_)) upper = is_v6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
  if (v4 != nullptr && v4->protocol) upper = *v4->protocol;
  if (v6 != nullptr && v6->next_header) upper = *v6->next_header;

  Frame f;
  f.link_type = linkTypeOf(link_.layer);
  Bytes& out = f.bytes;
  out.reserve(64 + payload_.size());

  // Link layer.
  uint16_t ethertype = v4 != nullptr ? kEtherTypeIpv4 : (is_v6 ? kEtherTypeIpv6 : 0);
  if (link_.ethertype) ethertype = *link_.ethertype;
  switch (link_.layer) {
    case LinkLayer::kEthernet:
      appendMac(out, link_.dst_mac);
      appendMac(out, link_.src_mac);
      for (const VlanTag& tag : link_.vlans) {
        appendBe16(out, tag.tpid);
        appendBe16(out, static_cast<uint16_t>((tag.pcp << 13) | (tag.vid & 0x0fff)));
      }
      appendBe16(out, ethertype);
      break;
    case LinkLayer::kLinuxSll:
      appendBe16(out, link_.sll_packet_type);
      appendBe16(out, 1);  // ARPHRD_ETHER
      appendBe16(out, 6);
      appendMac(out, link_.src_mac);
      appendBe16(out, 0);  // address field is 8 bytes
      appendBe16(out, ethertype);
      break;
    case LinkLayer::kLinuxSll2:
      appendBe16(out, ethertype);
      appendBe16(out, 0);
      appendBe32(out, link_.sll2_ifindex);
      appendBe16(out, 1);  // ARPHRD_ETHER
      out.push_back(static_cast<uint8_t>(link_.sll_packet_type));
      out.push_back(6);
      appendMac(out, link_.src_mac);
      appendBe16(out, 0);
      break;
    case LinkLayer::kRaw:
      break;
    case LinkLayer::kNull:
      // Host byte order of the writing host; our files are always little-endian.
      appendLe32(out, v4 != nullptr ? kBsdAfInet : (is_v6 ? link_.null_af_inet6 : 0));
      break;
  }
  f.l3_offset = out.size();
  f.next_header_offset = f.l3_offset;

  // Network layer.
  if (v4 != nullptr) {
    const size_t options_size = (v4->options.size() + 3) / 4 * 4;
    if (options_size > 40) throw std::invalid_argument("IPv4 options longer than 40 bytes");
    out.push_back(static_cast<uint8_t>(0x40 | ((kIpv4HeaderSize + options_size) / 4)));
    out.push_back(v4->tos);
    appendBe16(out, 0);  // total length, patched below
    appendBe16(out, v4->id);
    appendBe16(out, static_cast<uint16_t>((v4->dont_fragment ? 0x4000 : 0) |
                                          (v4->more_fragments ? 0x2000 : 0) |
                                          ((v4->fragment_offset / 8) & 0x1fff)));
    out.push_back(v4->ttl);
    out.push_back(upper);
    appendBe16(out, 0);  // checksum, patched below
    out.insert(out.end(), v4->src.bytes().begin(), v4->src.bytes().end());
    out.insert(out.end(), v4->dst.bytes().begin(), v4->dst.bytes().end());
    out.insert(out.end(), v4->options.begin(), v4->options.end());
    out.insert(out.end(), options_size - v4->options.size(), 0);  // EOL padding
    f.next_header_offset = f.l3_offset + 9;
  } else if (is_v6) {
    appendBe32(out, (6u << 28) | (static_cast<uint32_t>(v6->traffic_class) << 20) |
                        (v6->flow_label & 0xfffff));
    appendBe16(out, 0);  // payload length, patched below
    out.push_back(v6->ext_headers.empty() ? upper : v6->ext_headers.front().type);
    out.push_back(v6->hop_limit);
    out.insert(out.end(), v6->src.bytes().begin(), v6->src.bytes().end());
    out.insert(out.end(), v6->dst.bytes().begin(), v6->dst.bytes().end());
    f.next_header_offset = f.l3_offset + 6;
    for (size_t i = 0; i < v6->ext_headers.size(); ++i) {
      const uint8_t next = i + 1 < v6->ext_headers.size() ? v6->ext_headers[i + 1].type : upper;
      f.next_header_offset = appendExtHeader(out, v6->ext_headers[i], next);
    }
  }
  f.l4_offset = out.size();

  // Transport layer.
  if (const auto* tcp = std::get_if<TcpSpec>(&transport_)) {
    const size_t options_size = (tcp->options.size() + 3) / 4 * 4;
    if (options_size > 40) throw std::invalid_argument("TCP options longer than 40 bytes");
    appendBe16(out, tcp->src_port);
    appendBe16(out, tcp->dst_port);
    appendBe32(out, tcp->seq);
    appendBe32(out, tcp->ack);
    out.push_back(static_cast<uint8_t>(((kTcpHeaderSize + options_size) / 4) << 4));
    out.push_back(tcp->flags);
    appendBe16(out, tcp->window);
    appendBe16(out, 0);  // checksum
    appendBe16(out, tcp->urgent);
    out.insert(out.end(), tcp->options.begin(), tcp->options.end());
    out.insert(out.end(), options_size - tcp->options.size(), 0);  // EOL padding
  } else if (const auto* udp = std::get_if<UdpSpec>(&transport_)) {
    appendBe16(out, udp->src_port);
    appendBe16(out, udp->dst_port);
    appendBe16(out, 0);  // length
    appendBe16(out, 0);  // checksum
  } else if (const auto* icmp = std::get_if<IcmpSpec>(&transport_)) {
    out.push_back(icmp->type);
    out.push_back(icmp->code);
    appendBe16(out, 0);
    appendBe32(out, icmp->rest);
  }
  f.payload_offset = out.size();
  out.insert(out.end(), payload_.begin(), payload_.end());

  // Lengths.
  std::span<uint8_t> all(out);
  if (v4 != nullptr) {
    putBe16(all, f.l3_offset + 2, static_cast<uint16_t>(out.size() - f.l3_offset));
  } else if (is_v6) {
    putBe16(all, f.l3_offset + 4,
            static_cast<uint16_t>(out.size() - f.l3_offset - kIpv6HeaderSize));
  }
  const size_t l4_length = out.size() - f.l4_offset;
  if (std::holds_alternative<UdpSpec>(transport_)) {
    putBe16(all, f.l4_offset + 4, static_cast<uint16_t>(l4_length));
  }

  // Checksums: transport first (it does not cover the IP header), then IPv4 header.
  const IpAddress* src = v4 != nullptr ? &v4->src : (is_v6 ? &v6->src : nullptr);
  const IpAddress* dst = v4 != nullptr ? &v4->dst : (is_v6 ? &v6->dst : nullptr);
  const std::span<const uint8_t> l4(out.data() + f.l4_offset, l4_length);
  if (src != nullptr && !std::holds_alternative<std::monostate>(transport_)) {
    const bool pseudo = !std::holds_alternative<IcmpSpec>(transport_) || is_v6;
    const uint32_t initial = pseudo ? pseudoHeaderSum(*src, *dst, upper, l4_length) : 0;
    uint16_t sum = internetChecksum(l4, initial);
    size_t at = f.l4_offset + 2;
    if (std::holds_alternative<TcpSpec>(transport_)) at = f.l4_offset + 16;
    if (std::holds_alternative<UdpSpec>(transport_)) {
      at = f.l4_offset + 6;
      if (sum == 0) sum = 0xffff;  // zero means "no checksum" in UDP
    }
    putBe16(all, at, sum);
  }
  if (v4 != nullptr) {
    const size_t ihl = static_cast<size_t>(out[f.l3_offset] & 0x0f) * 4;
    putBe16(all, f.l3_offset + 10,
            internetChecksum(std::span<const uint8_t>(out.data() + f.l3_offset, ihl)));
  }
  return f;
}

// ---------------------------------------------------------------- fragments, ARP

std::vector<Frame> fragmentPacket(const Frame& packet, size_t max_fragment_payload,
                                  uint32_t identification, bool ext_headers_fragmentable) {
  const Bytes& b = packet.bytes;
  const size_t l3 = packet.l3_offset;
  const size_t chunk = max_fragment_payload & ~static_cast<size_t>(7);
  if (chunk == 0) throw std::invalid_argument("fragment payload must be at least 8 bytes");
  if (l3 >= b.size()) throw std::invalid_argument("frame has no IP header");
  const unsigned version = b[l3] >> 4;
  std::vector<Frame> fragments;

  if (version == 4) {
    const size_t ihl = static_cast<size_t>(b[l3] & 0x0f) * 4;
    const size_t body_start = l3 + ihl;
    const size_t body_size = b.size() - body_start;
    const uint16_t field = getBe16(b, l3 + 6);
    const size_t base_offset = static_cast<size_t>(field & 0x1fff) * 8;
    const bool base_more = (field & 0x2000) != 0;
    for (size_t off = 0; off < body_size; off += chunk) {
      const size_t n = std::min(chunk, body_size - off);
      Frame f;
      f.link_type = packet.link_type;
      f.bytes.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(body_start));
      f.bytes.insert(f.bytes.end(), b.begin() + static_cast<std::ptrdiff_t>(body_start + off),
                     b.begin() + static_cast<std::ptrdiff_t>(body_start + off + n));
      std::span<uint8_t> all(f.bytes);
      const bool more = off + n < body_size || base_more;
      putBe16(all, l3 + 2, static_cast<uint16_t>(ihl + n));
      putBe16(all, l3 + 6,
              static_cast<uint16_t>((more ? 0x2000 : 0) | (((base_offset + off) / 8) & 0x1fff)));
      putBe16(all, l3 + 10, 0);
      putBe16(all, l3 + 10, internetChecksum(std::span<const uint8_t>(f.bytes.data() + l3, ihl)));
      f.l3_offset = l3;
      f.next_header_offset = l3 + 9;
      f.l4_offset = body_start;
      f.payload_offset = body_start;
      fragments.push_back(std::move(f));
    }
    return fragments;
  }

  if (version != 6) throw std::invalid_argument("not an IPv4 or IPv6 packet");
  // The fragment header goes where the unfragmentable part ends, and takes
  // over the next-header value that pointed there.
  const size_t unfrag_end = ext_headers_fragmentable ? l3 + kIpv6HeaderSize : packet.l4_offset;
  const size_t next_header_at = ext_headers_fragmentable ? l3 + 6 : packet.next_header_offset;
  const uint8_t upper = b[next_header_at];
  const size_t body_size = b.size() - unfrag_end;
  for (size_t off = 0; off < body_size; off += chunk) {
    const size_t n = std::min(chunk, body_size - off);
    Frame f;
    f.link_type = packet.link_type;
    f.bytes.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(unfrag_end));
    f.bytes[next_header_at] = kIpProtoFragment;
    f.bytes.push_back(upper);
    f.bytes.push_back(0);
    appendBe16(f.bytes, static_cast<uint16_t>((off & 0xfff8) | (off + n < body_size ? 1 : 0)));
    appendBe32(f.bytes, identification);
    f.bytes.insert(f.bytes.end(), b.begin() + static_cast<std::ptrdiff_t>(unfrag_end + off),
                   b.begin() + static_cast<std::ptrdiff_t>(unfrag_end + off + n));
    putBe16(f.bytes, l3 + 4, static_cast<uint16_t>(f.bytes.size() - l3 - kIpv6HeaderSize));
    f.l3_offset = l3;
    f.next_header_offset = unfrag_end;
    f.l4_offset = unfrag_end + 8;
    f.payload_offset = unfrag_end + 8;
    fragments.push_back(std::move(f));
  }
  return fragments;
}

Frame arpRequest(const MacAddress& sender_mac, const IpAddress& sender_ip,
                 const IpAddress& target_ip) {
  Bytes arp;
  appendBe16(arp, 1);  // Ethernet
  appendBe16(arp, kEtherTypeIpv4);
  arp.push_back(6);
  arp.push_back(4);
  appendBe16(arp, 1);  // request
  arp.insert(arp.end(), sender_mac.begin(), sender_mac.end());
  arp.insert(arp.end(), sender_ip.bytes().begin(), sender_ip.bytes().end());
  arp.insert(arp.end(), 6, 0);
  arp.insert(arp.end(), target_ip.bytes().begin(), target_ip.bytes().end());

  LinkSpec link;
  link.src_mac = sender_mac;
  link.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  link.ethertype = kEtherTypeArp;
  return PacketBuilder().link(link).payload(std::move(arp)).build();
}

}  // namespace edgesense::testsupport
