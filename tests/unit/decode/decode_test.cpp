// decode: every layer it knows, and a counted reason for every way a frame
// can be broken. Frames come from the project's packet builder.

#include "decode/decode.h"

#include <gtest/gtest.h>

#include <set>

#include "packet_builder.h"

namespace edgesense::decode {
namespace {

namespace ts = testsupport;

Frame view(const ts::Frame& f, LinkType link = LinkType::kEthernet) {
  Frame out;
  out.data = f.bytes.data();
  out.cap_len = static_cast<std::uint32_t>(f.bytes.size());
  out.wire_len = out.cap_len;
  out.ts_us = 1'767'225'600'000'000;
  out.link = link;
  return out;
}

std::string text(const IpAddress& a) {
  char buf[64];
  return {buf, formatAddress(a, buf, sizeof buf)};
}

ts::Frame tcpFrame(std::vector<ts::VlanTag> vlans = {}) {
  ts::PacketBuilder b;
  b.ethernet(std::move(vlans))
      .ipv4({.src = "192.0.2.1", .dst = "198.51.100.7", .ttl = 61, .id = 4242})
      .tcp({.src_port = 40000,
            .dst_port = 443,
            .seq = 1000,
            .ack = 2000,
            .flags = ts::kTcpAck | ts::kTcpPsh,
            .window = 501,
            .options = ts::tcpTimestampOptions(1, 2)})
      .payload(100);
  return b.build();
}

TEST(Decode, IpPayloadLengthIsTheSameOnAnyLinkAndIpVersion) {
  // The same TCP segment (header with options, 100 bytes of payload) in four
  // frames: the frame lengths differ, the size above IP does not.
  const ts::TcpSpec tcp{.src_port = 40000,
                        .dst_port = 443,
                        .flags = ts::kTcpAck | ts::kTcpPsh,
                        .options = ts::tcpTimestampOptions(1, 2)};
  ts::PacketBuilder v6;
  v6.ethernet().ipv6({.src = "2001:db8::1", .dst = "2001:db8::2"}).tcp(tcp).payload(100);
  const ts::Frame frames[] = {tcpFrame(), tcpFrame({{.vid = 10}}), v6.build()};
  std::set<std::uint32_t> wire, ip_payload;
  for (const ts::Frame& f : frames) {
    Packet p;
    ASSERT_EQ(decode(view(f), p), DecodeError::kNone);
    wire.insert(p.wire_len);
    ip_payload.insert(p.ip_payload_len);
  }
  EXPECT_EQ(wire.size(), 3u);
  EXPECT_EQ(ip_payload, std::set<std::uint32_t>{132});
}

TEST(Decode, EthernetIpv4Tcp) {
  const ts::Frame f = tcpFrame();
  Packet p;
  ASSERT_EQ(decode(view(f), p), DecodeError::kNone);
  EXPECT_EQ(text(p.src), "192.0.2.1");
  EXPECT_EQ(text(p.dst), "198.51.100.7");
  EXPECT_TRUE(p.src.isV4());
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.proto, ipproto::kTcp);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.tcp_seq, 1000u);
  EXPECT_EQ(p.tcp_ack, 2000u);
  EXPECT_EQ(p.tcp_flags, tcpflag::kAck | tcpflag::kPsh);
  EXPECT_EQ(p.tcp_window, 501);
  EXPECT_EQ(p.tcp_options_len, 12);
  EXPECT_EQ(p.payload_len, 100u);
  EXPECT_EQ(p.ip_payload_len, 20u + 12 + 100);  // TCP header with options, and payload
  EXPECT_EQ(p.ttl, 61);
  EXPECT_EQ(p.frag_id, 4242u);
  EXPECT_EQ(p.wire_len, f.bytes.size());
  EXPECT_EQ(p.vlan_count, 0);
  EXPECT_EQ(p.fragment, Fragment::kNone);
}

TEST(Decode, VlanAndQinQ) {
  Packet p;
  const ts::Frame one = tcpFrame({{.vid = 100}});
  ASSERT_EQ(decode(view(one), p), DecodeError::kNone);
  EXPECT_EQ(p.vlan_count, 1);
  EXPECT_EQ(p.vlan[0], 100);
  EXPECT_EQ(p.dst_port, 443);

  const ts::Frame two = tcpFrame({{.vid = 10, .tpid = ts::kEtherTypeQinQ}, {.vid = 20}});
  ASSERT_EQ(decode(view(two), p), DecodeError::kNone);
  EXPECT_EQ(p.vlan_count, 2);
  EXPECT_EQ(p.vlan[0], 10);
  EXPECT_EQ(p.vlan[1], 20);
  EXPECT_EQ(p.payload_len, 100u);

  const ts::Frame three =
      tcpFrame({{.vid = 1, .tpid = ts::kEtherTypeQinQ}, {.vid = 2}, {.vid = 3}});
  EXPECT_EQ(decode(view(three), p), DecodeError::kVlanTooDeep);
}

TEST(Decode, Ipv6ExtensionHeadersAndUdp) {
  ts::PacketBuilder b;
  b.ethernet()
      .ipv6({.src = "2001:db8::1",
             .dst = "2001:db8::2",
             .ext_headers = {ts::Ipv6ExtHeader::hopByHop(), ts::Ipv6ExtHeader::routing(),
                             ts::Ipv6ExtHeader::destinationOptions()}})
      .udp(5353, 53)
      .payload(40);
  const ts::Frame f = b.build();
  Packet p;
  ASSERT_EQ(decode(view(f), p), DecodeError::kNone);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_FALSE(p.src.isV4());
  EXPECT_EQ(text(p.src), "2001:db8::1");
  EXPECT_EQ(p.proto, ipproto::kUdp);
  EXPECT_EQ(p.src_port, 5353);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.payload_len, 40u);
  EXPECT_EQ(p.ip_payload_len, 8u + 40);  // after the extension headers: UDP header and payload
}

TEST(Decode, Ipv6ExtensionChainIsCapped) {
  std::vector<ts::Ipv6ExtHeader> chain(17, ts::Ipv6ExtHeader::destinationOptions());
  ts::PacketBuilder b;
  b.ethernet().ipv6({.src = "2001:db8::1", .dst = "2001:db8::2", .ext_headers = chain}).udp(1, 2);
  Packet p;
  EXPECT_EQ(decode(view(b.build()), p), DecodeError::kIpv6ExtHeaderChainTooLong);
}

TEST(Decode, IcmpEchoRequestAndReplyShareAKey) {
  Packet req, rep;
  ts::PacketBuilder a, b;
  a.ethernet()
      .ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"})
      .icmp(ts::icmpEcho(false, 77, 1))
      .payload(56);
  b.ethernet()
      .ipv4({.src = "192.0.2.2", .dst = "192.0.2.1"})
      .icmp(ts::icmpEcho(true, 77, 1))
      .payload(56);
  ASSERT_EQ(decode(view(a.build()), req), DecodeError::kNone);
  ASSERT_EQ(decode(view(b.build()), rep), DecodeError::kNone);
  EXPECT_EQ(req.icmp_type, 8);
  EXPECT_EQ(rep.icmp_type, 0);
  EXPECT_EQ(req.src_port, rep.src_port);  // type 8 << 8 | code 0 for both
  EXPECT_EQ(req.src_port, 8 << 8);
  EXPECT_EQ(req.dst_port, 77);
  EXPECT_EQ(rep.dst_port, 77);
  EXPECT_EQ(req.payload_len, 56u);

  ts::PacketBuilder c;
  c.ethernet().ipv6({.src = "2001:db8::1", .dst = "2001:db8::2"}).icmp(ts::icmpv6Echo(true, 9, 1));
  ASSERT_EQ(decode(view(c.build()), rep), DecodeError::kNone);
  EXPECT_EQ(rep.proto, ipproto::kIcmpv6);
  EXPECT_EQ(rep.src_port, 128 << 8);
  EXPECT_EQ(rep.dst_port, 9);
}

TEST(Decode, Ipv4FragmentsFirstCarriesPorts) {
  ts::PacketBuilder b;
  b.ethernet()
      .ipv4({.src = "192.0.2.1", .dst = "192.0.2.2", .id = 555})
      .udp(1000, 2000)
      .payload(3000);
  const std::vector<ts::Frame> frags = ts::fragmentPacket(b.build(), 1480);
  ASSERT_EQ(frags.size(), 3u);
  Packet p;
  ASSERT_EQ(decode(view(frags[0]), p), DecodeError::kNone);
  EXPECT_EQ(p.fragment, Fragment::kFirst);
  EXPECT_EQ(p.src_port, 1000);
  EXPECT_EQ(p.frag_id, 555u);
  ASSERT_EQ(decode(view(frags[1]), p), DecodeError::kNone);
  EXPECT_EQ(p.fragment, Fragment::kLater);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.frag_id, 555u);
  EXPECT_EQ(p.proto, ipproto::kUdp);
  EXPECT_EQ(p.payload_len, 1480u);
  EXPECT_EQ(p.ip_payload_len, 1480u);
}

TEST(Decode, Ipv6FragmentsFirstCarriesPorts) {
  ts::PacketBuilder b;
  b.ethernet().ipv6({.src = "2001:db8::1", .dst = "2001:db8::2"}).udp(1000, 2000).payload(3000);
  const std::vector<ts::Frame> frags = ts::fragmentPacket(b.build(), 1400, 0xabcdef);
  ASSERT_GE(frags.size(), 3u);
  Packet p;
  ASSERT_EQ(decode(view(frags[0]), p), DecodeError::kNone);
  EXPECT_EQ(p.fragment, Fragment::kFirst);
  EXPECT_EQ(p.dst_port, 2000);
  EXPECT_EQ(p.frag_id, 0xabcdefu);
  ASSERT_EQ(decode(view(frags[1]), p), DecodeError::kNone);
  EXPECT_EQ(p.fragment, Fragment::kLater);
  EXPECT_EQ(p.frag_id, 0xabcdefu);
  EXPECT_EQ(p.proto, ipproto::kUdp);
}

TEST(Decode, Ipv6FragmentWithDestinationOptionsBehindIt) {
  // RFC 8200 4.5: a destination options header for the final destination is
  // fragmentable: the first fragment holds fragment header, destination
  // options, then the transport; every fragment header names it (60).
  for (const bool tcp : {false, true}) {
    SCOPED_TRACE(tcp ? "tcp" : "udp");
    ts::PacketBuilder b;
    b.ethernet().ipv6({.src = "2001:db8::1",
                       .dst = "2001:db8::2",
                       .ext_headers = {ts::Ipv6ExtHeader::destinationOptions(ts::Bytes(14))}});
    if (tcp) {
      b.tcp({.src_port = 40000, .dst_port = 443, .seq = 7, .ack = 9, .flags = ts::kTcpAck});
    } else {
      b.udp(1000, 2000);
    }
    b.payload(3000);
    const std::vector<ts::Frame> frags = ts::fragmentPacket(b.build(), 1400, 0x1234, true);
    ASSERT_EQ(frags.size(), 3u);
    Packet p;
    ASSERT_EQ(decode(view(frags[0]), p), DecodeError::kNone);
    EXPECT_EQ(p.fragment, Fragment::kFirst);
    EXPECT_EQ(p.proto, tcp ? ipproto::kTcp : ipproto::kUdp);
    EXPECT_EQ(p.src_port, tcp ? 40000 : 1000);
    EXPECT_EQ(p.dst_port, tcp ? 443 : 2000);
    EXPECT_EQ(p.frag_id, 0x1234u);
    // Fragment header (8) and destination options (16) are not IP payload.
    EXPECT_EQ(p.ip_payload_len, frags[0].bytes.size() - 14 - 40 - 8 - 16);
    ASSERT_EQ(decode(view(frags[2]), p), DecodeError::kNone);
    EXPECT_EQ(p.fragment, Fragment::kLater);
    EXPECT_EQ(p.frag_id, 0x1234u);
    EXPECT_EQ(p.proto, 60);  // the fragment header's next header, not the transport
  }
}

struct LinkCase {
  ts::LinkLayer layer;
  LinkType link;
  const char* src;
};

class DecodeLinkTypes : public ::testing::TestWithParam<LinkCase> {};

TEST_P(DecodeLinkTypes, EveryLinkLayerReachesTheTransport) {
  const LinkCase& c = GetParam();
  ts::PacketBuilder b;
  b.link({.layer = c.layer})
      .ip(c.src, std::string(c.src).find(':') != std::string::npos ? "2001:db8::9" : "192.0.2.9")
      .tcp({.src_port = 1234, .dst_port = 80, .flags = ts::kTcpSyn})
      .payload(0);
  Packet p;
  ASSERT_EQ(decode(view(b.build(), c.link), p), DecodeError::kNone) << linkTypeName(c.link);
  EXPECT_EQ(text(p.src), c.src);
  EXPECT_EQ(p.dst_port, 80);
  EXPECT_EQ(p.tcp_flags, tcpflag::kSyn);
}

INSTANTIATE_TEST_SUITE_P(
    All, DecodeLinkTypes,
    ::testing::Values(LinkCase{ts::LinkLayer::kEthernet, LinkType::kEthernet, "192.0.2.1"},
                      LinkCase{ts::LinkLayer::kLinuxSll, LinkType::kLinuxSll, "192.0.2.1"},
                      LinkCase{ts::LinkLayer::kLinuxSll2, LinkType::kLinuxSll2, "2001:db8::1"},
                      LinkCase{ts::LinkLayer::kRaw, LinkType::kRaw, "192.0.2.1"},
                      LinkCase{ts::LinkLayer::kRaw, LinkType::kRaw, "2001:db8::1"},
                      LinkCase{ts::LinkLayer::kNull, LinkType::kNull, "192.0.2.1"},
                      LinkCase{ts::LinkLayer::kNull, LinkType::kNull, "2001:db8::1"}));

TEST(Decode, SnapLengthCutIsNotAnError) {
  // Captured 54 bytes of a 1514-byte frame: headers intact, payload cut.
  ts::PacketBuilder b;
  b.ethernet()
      .ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"})
      .tcp({.src_port = 1, .dst_port = 2})
      .payload(1460);
  const ts::Frame f = b.build();
  Frame v = view(f);
  v.cap_len = 54;
  Packet p;
  ASSERT_EQ(decode(v, p), DecodeError::kNone);
  EXPECT_EQ(p.wire_len, 1514u);
  EXPECT_EQ(p.cap_len, 54u);
  EXPECT_EQ(p.payload_len, 1460u);
  EXPECT_EQ(p.ip_payload_len, 1480u);  // from the IP header, not the snap length
}

/// Builds a good frame, patches it, and expects a reason.
struct Broken {
  const char* name;
  DecodeError expected;
  void (*patch)(ts::Frame&, Frame&);
};

class DecodeMalformed : public ::testing::TestWithParam<Broken> {};

TEST_P(DecodeMalformed, IsCountedByReason) {
  const Broken& c = GetParam();
  ts::Frame f = tcpFrame();
  Frame v = view(f);
  c.patch(f, v);
  v.data = f.bytes.data();
  Packet p;
  EXPECT_EQ(decode(v, p), c.expected) << c.name;
  EXPECT_TRUE(isMalformed(c.expected));
}

INSTANTIATE_TEST_SUITE_P(
    All, DecodeMalformed,
    ::testing::Values(Broken{"short ethernet", DecodeError::kTruncatedLink,
                             [](ts::Frame&, Frame& v) { v.cap_len = v.wire_len = 10; }},
                      Broken{"short ipv4", DecodeError::kTruncatedIpv4,
                             [](ts::Frame&, Frame& v) { v.cap_len = 14 + 12; }},
                      Broken{"ihl below 5", DecodeError::kBadIpv4HeaderLength,
                             [](ts::Frame& f, Frame&) { f.bytes[f.l3_offset] = 0x44; }},
                      Broken{"bad version", DecodeError::kBadIpVersion,
                             [](ts::Frame& f, Frame&) { f.bytes[f.l3_offset] = 0x75; }},
                      Broken{"total length beyond the frame", DecodeError::kBadIpv4TotalLength,
                             [](ts::Frame& f, Frame&) { f.bytes[f.l3_offset + 2] = 0x40; }},
                      Broken{"total length below the header", DecodeError::kBadIpv4TotalLength,
                             [](ts::Frame& f, Frame&) {
                               f.bytes[f.l3_offset + 2] = 0;
                               f.bytes[f.l3_offset + 3] = 10;
                             }},
                      Broken{"tcp data offset below 5", DecodeError::kBadTcpHeaderLength,
                             [](ts::Frame& f, Frame&) { f.bytes[f.l4_offset + 12] = 0x40; }},
                      Broken{"tcp header cut", DecodeError::kTruncatedTcp,
                             [](ts::Frame& f, Frame& v) {
                               v.cap_len = static_cast<std::uint32_t>(f.l4_offset + 10);
                             }}));

TEST(Decode, ShortUdpAndIcmpAreCounted) {
  ts::PacketBuilder b;
  b.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"}).udp(1, 2).payload(0);
  ts::Frame f = b.build();
  Frame v = view(f);
  v.cap_len = static_cast<std::uint32_t>(f.l4_offset + 4);
  Packet p;
  EXPECT_EQ(decode(v, p), DecodeError::kTruncatedUdp);
  f.bytes[f.l4_offset + 4] = 0;
  f.bytes[f.l4_offset + 5] = 4;  // UDP length 4 < 8
  EXPECT_EQ(decode(view(f), p), DecodeError::kBadUdpLength);
  f.bytes[f.l4_offset + 5] = 100;  // UDP length 100 in a 8-byte IP payload
  EXPECT_EQ(decode(view(f), p), DecodeError::kBadUdpLength);

  ts::PacketBuilder c;
  c.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"}).icmp(ts::icmpEcho(false, 1, 1));
  ts::Frame g = c.build();
  Frame w = view(g);
  w.cap_len = static_cast<std::uint32_t>(g.l4_offset + 6);
  EXPECT_EQ(decode(w, p), DecodeError::kTruncatedIcmp);
}

TEST(Decode, NonIpAndUnknownProtocolsAreSkippedNotMalformed) {
  Packet p;
  const ts::Frame arp = ts::arpRequest({2, 0, 0, 0, 0, 1}, "192.0.2.1", "192.0.2.2");
  EXPECT_EQ(decode(view(arp), p), DecodeError::kNonIp);
  EXPECT_FALSE(isMalformed(DecodeError::kNonIp));

  ts::PacketBuilder b;
  b.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2", .protocol = 47}).payload(20);
  EXPECT_EQ(decode(view(b.build()), p), DecodeError::kUnsupportedIpProto);
  EXPECT_FALSE(isMalformed(DecodeError::kUnsupportedIpProto));
}

TEST(Decode, UnsupportedLinkType) {
  const ts::Frame f = tcpFrame();
  Packet p;
  EXPECT_EQ(decode(view(f, static_cast<LinkType>(147)), p), DecodeError::kUnsupportedLinkType);
}

TEST(Decode, EveryPrefixOfAFrameIsSafe) {
  // Each truncation either decodes or yields a reason; run under ASan in CI.
  const ts::Frame f = tcpFrame({{.vid = 7}});
  for (std::size_t n = 0; n <= f.bytes.size(); ++n) {
    std::vector<std::uint8_t> copy(f.bytes.begin(),
                                   f.bytes.begin() + static_cast<std::ptrdiff_t>(n));
    Frame v;
    v.data = copy.data();
    v.cap_len = v.wire_len = static_cast<std::uint32_t>(n);
    Packet p;
    const DecodeError e = decode(v, p);
    if (n < 14 + 4 + 20 + 20) {
      EXPECT_NE(e, DecodeError::kNone) << n;
    }
  }
}

TEST(Decode, ErrorNamesAreUniqueLabels) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) {
    const std::string_view n = decodeErrorName(static_cast<DecodeError>(i));
    EXPECT_TRUE(names.insert(n).second) << n;
    for (char ch : n)
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') << n;
  }
}

}  // namespace
}  // namespace edgesense::decode
