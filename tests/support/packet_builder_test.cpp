// PacketBuilder, fragments, sessions and the PRNG, checked with the independent decoder.

#include <gtest/gtest.h>

#include <set>

#include "byte_io.h"
#include "interleaver.h"
#include "packet_builder.h"
#include "pcap_test_reader.h"
#include "rng.h"
#include "sessions.h"

namespace edgesense::testsupport {
namespace {

/// Keeps every packet a session emits.
class CollectingSink final : public PacketSink {
 public:
  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) override {
    records.push_back(
        {ts_ns, static_cast<uint32_t>(frame.size()), orig_len, Bytes(frame.begin(), frame.end())});
  }
  std::vector<ReadRecord> records;
};

TEST(IpAddressTest, ParsesAndFormatsBothFamilies) {
  EXPECT_EQ(IpAddress("192.0.2.1").toString(), "192.0.2.1");
  EXPECT_FALSE(IpAddress("192.0.2.1").isV6());
  EXPECT_EQ(IpAddress("2001:db8:0::1").toString(), "2001:db8::1");
  EXPECT_TRUE(IpAddress("2001:db8::1").isV6());
  EXPECT_EQ(IpAddress::fromV4(0xc0000201), IpAddress("192.0.2.1"));
  EXPECT_THROW(IpAddress::parse("192.0.2.256"), std::invalid_argument);
  EXPECT_THROW(IpAddress::parse("example.com"), std::invalid_argument);
}

TEST(PacketBuilderTest, QinQTagsAreOutermostFirst) {
  const Frame f = PacketBuilder()
                      .ethernet({{100, kEtherTypeQinQ, 3}, {10, kEtherTypeVlan, 0}})
                      .ip("192.0.2.1", "198.51.100.2")
                      .udp(1000, 2000)
                      .payload(10)
                      .build();
  ASSERT_EQ(f.l3_offset, 22u);
  EXPECT_EQ(getBe16(f.bytes, 12), 0x88a8);
  EXPECT_EQ(getBe16(f.bytes, 14), (3 << 13) | 100);
  EXPECT_EQ(getBe16(f.bytes, 16), 0x8100);
  EXPECT_EQ(getBe16(f.bytes, 18), 10);
  EXPECT_EQ(getBe16(f.bytes, 20), 0x0800);
  const DecodedPacket p = decodePacket(kLinkTypeEthernet, f.bytes, static_cast<uint32_t>(f.size()));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.vlans, (std::vector<uint16_t>{100, 10}));
  EXPECT_EQ(p.src_port, 1000);
  EXPECT_EQ(p.payload_bytes, 10u);
  EXPECT_TRUE(p.checksums_checked);
  EXPECT_TRUE(p.checksums_ok);
}

TEST(PacketBuilderTest, Ipv4HeaderFieldsOptionsAndTcpChecksum) {
  Ipv4Spec ip;
  ip.src = "192.0.2.1";
  ip.dst = "198.51.100.2";
  ip.ttl = 33;
  ip.id = 0xbeef;
  ip.dont_fragment = true;
  ip.options = {0x94, 0x04, 0x00, 0x00, 0x01};  // router alert + NOP, padded to 8
  TcpSpec tcp;
  tcp.src_port = 40000;
  tcp.dst_port = 443;
  tcp.seq = 0x01020304;
  tcp.ack = 0x0a0b0c0d;
  tcp.flags = kTcpSyn | kTcpAck;
  tcp.window = 1234;
  tcp.options = tcpSynOptions(1460, 7, 1, 2);
  const Frame f = PacketBuilder().ipv4(ip).tcp(tcp).payload(101).build();
  const size_t l3 = f.l3_offset;
  EXPECT_EQ(f.bytes[l3], 0x47);  // IHL 7: 20 + 8 bytes of options
  EXPECT_EQ(getBe16(f.bytes, l3 + 2), f.size() - l3);
  EXPECT_EQ(getBe16(f.bytes, l3 + 4), 0xbeef);
  EXPECT_EQ(getBe16(f.bytes, l3 + 6), 0x4000);
  EXPECT_EQ(f.bytes[l3 + 8], 33);
  EXPECT_EQ(f.bytes[l3 + 9], kIpProtoTcp);
  EXPECT_EQ(f.l4_offset, l3 + 28);
  EXPECT_EQ(getBe32(f.bytes, f.l4_offset + 4), 0x01020304u);
  EXPECT_EQ(getBe32(f.bytes, f.l4_offset + 8), 0x0a0b0c0du);
  EXPECT_EQ(f.bytes[f.l4_offset + 12] >> 4, 10);  // 20 + 20 bytes of options
  EXPECT_EQ(f.bytes[f.l4_offset + 13], kTcpSyn | kTcpAck);
  EXPECT_EQ(f.payloadSize(), 101u);
  const DecodedPacket p = decodePacket(kLinkTypeEthernet, f.bytes, static_cast<uint32_t>(f.size()));
  ASSERT_TRUE(p.checksums_checked);
  EXPECT_TRUE(p.checksums_ok);
  EXPECT_EQ(p.payload_bytes, 101u);

  Frame broken = f;
  broken.bytes.back() ^= 0x01;
  EXPECT_FALSE(
      decodePacket(kLinkTypeEthernet, broken.bytes, static_cast<uint32_t>(f.size())).checksums_ok);
}

TEST(PacketBuilderTest, FragmentFieldsAreEncoded) {
  Ipv4Spec ip;
  ip.src = "192.0.2.1";
  ip.dst = "198.51.100.2";
  ip.more_fragments = true;
  ip.fragment_offset = 1480;
  ip.protocol = kIpProtoUdp;
  const Frame f = PacketBuilder().ipv4(ip).payload(64).build();
  EXPECT_EQ(getBe16(f.bytes, f.l3_offset + 6), 0x2000 | (1480 / 8));
}

TEST(PacketBuilderTest, Ipv6ExtensionChainIsLinkedAndPadded) {
  Ipv6Spec ip;
  ip.src = "2001:db8::1";
  ip.dst = "2001:db8::2";
  ip.ext_headers = {Ipv6ExtHeader::hopByHop({0x05, 0x02, 0x00, 0x00}), Ipv6ExtHeader::routing(0, 0),
                    Ipv6ExtHeader::destinationOptions(Bytes(10)),
                    Ipv6ExtHeader::fragment(0, false, 7)};
  const Frame f = PacketBuilder().ipv6(ip).tcp({}).build();
  const size_t l3 = f.l3_offset;
  EXPECT_EQ(f.bytes[l3 + 6], kIpProtoHopByHop);
  size_t at = l3 + 40;
  const uint8_t expected_next[] = {kIpProtoRouting, kIpProtoDestOpts, kIpProtoFragment,
                                   kIpProtoTcp};
  const size_t expected_len[] = {8, 8, 16, 8};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(f.bytes[at], expected_next[i]) << "header " << i;
    const size_t len = i == 3 ? 8 : (static_cast<size_t>(f.bytes[at + 1]) + 1) * 8;
    EXPECT_EQ(len, expected_len[i]) << "header " << i;
    at += len;
  }
  EXPECT_EQ(at, f.l4_offset);
  EXPECT_EQ(f.next_header_offset, f.l4_offset - 8);
  EXPECT_EQ(getBe16(f.bytes, l3 + 4), f.size() - l3 - 40);
  const DecodedPacket p = decodePacket(kLinkTypeEthernet, f.bytes, static_cast<uint32_t>(f.size()));
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.ext_headers, 4u);
  EXPECT_EQ(p.proto, kIpProtoTcp);
}

Bytes reassemble(const std::vector<Frame>& fragments, bool v6) {
  Bytes out;
  for (const Frame& f : fragments) {
    const size_t offset = v6 ? (getBe16(f.bytes, f.l4_offset - 6) & 0xfff8)
                             : (getBe16(f.bytes, f.l3_offset + 6) & 0x1fff) * 8u;
    EXPECT_EQ(offset, out.size());
    out.insert(out.end(), f.bytes.begin() + static_cast<std::ptrdiff_t>(f.l4_offset),
               f.bytes.end());
  }
  return out;
}

TEST(FragmentTest, Ipv4FragmentsReassembleToTheDatagram) {
  Ipv4Spec ip;
  ip.src = "192.0.2.1";
  ip.dst = "198.51.100.2";
  ip.id = 77;
  const Frame whole = PacketBuilder().ipv4(ip).udp(5000, 6000).payload(3000).build();
  const std::vector<Frame> parts = fragmentPacket(whole, 1485);  // rounded down to 1480
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].size(), 14u + 20 + 1480);
  EXPECT_EQ(parts[2].size(), 14u + 20 + 48);
  for (size_t i = 0; i < parts.size(); ++i) {
    const uint16_t field = getBe16(parts[i].bytes, parts[i].l3_offset + 6);
    EXPECT_EQ((field & 0x2000) != 0, i < 2);
    EXPECT_EQ(getBe16(parts[i].bytes, parts[i].l3_offset + 4), 77);
    const DecodedPacket p =
        decodePacket(kLinkTypeEthernet, parts[i].bytes, static_cast<uint32_t>(parts[i].size()));
    EXPECT_TRUE(p.ok && p.fragment);
    EXPECT_EQ(p.first_fragment, i == 0);
    EXPECT_TRUE(p.checksums_ok);  // the IPv4 header checksum of each fragment
  }
  const Bytes body = reassemble(parts, false);
  EXPECT_TRUE(std::equal(body.begin(), body.end(),
                         whole.bytes.begin() + static_cast<std::ptrdiff_t>(whole.l4_offset)));
}

TEST(FragmentTest, Ipv6FragmentsKeepUnfragmentableHeaders) {
  Ipv6Spec ip;
  ip.src = "2001:db8::1";
  ip.dst = "2001:db8::2";
  ip.ext_headers = {Ipv6ExtHeader::hopByHop()};
  const Frame whole = PacketBuilder().ipv6(ip).udp(5000, 6000).payload(3000).build();
  const std::vector<Frame> parts = fragmentPacket(whole, 1448, 0xabcdef);
  ASSERT_EQ(parts.size(), 3u);
  for (const Frame& f : parts) {
    EXPECT_EQ(f.bytes[f.l3_offset + 6], kIpProtoHopByHop);
    EXPECT_EQ(f.bytes[f.l3_offset + 40], kIpProtoFragment);
    EXPECT_EQ(f.bytes[f.l4_offset - 8], kIpProtoUdp);
    EXPECT_EQ(getBe32(f.bytes, f.l4_offset - 4), 0xabcdefu);
    EXPECT_EQ(getBe16(f.bytes, f.l3_offset + 4), f.size() - f.l3_offset - 40);
  }
  EXPECT_EQ(getBe16(parts[0].bytes, parts[0].l4_offset - 6), 1);     // M set, offset 0
  EXPECT_EQ(getBe16(parts[2].bytes, parts[2].l4_offset - 6), 2896);  // M clear
  const Bytes body = reassemble(parts, true);
  EXPECT_TRUE(std::equal(body.begin(), body.end(),
                         whole.bytes.begin() + static_cast<std::ptrdiff_t>(whole.l4_offset)));
}

TEST(PacketBuilderTest, LinkLayersHaveTheirHeaders) {
  for (const auto& [layer, size, link_type] :
       {std::tuple{LinkLayer::kEthernet, kEthernetHeaderSize, kLinkTypeEthernet},
        std::tuple{LinkLayer::kLinuxSll, kLinuxSllHeaderSize, kLinkTypeLinuxSll},
        std::tuple{LinkLayer::kLinuxSll2, kLinuxSll2HeaderSize, kLinkTypeLinuxSll2},
        std::tuple{LinkLayer::kRaw, size_t{0}, kLinkTypeRaw},
        std::tuple{LinkLayer::kNull, kNullHeaderSize, kLinkTypeNull}}) {
    for (const char* dst : {"198.51.100.2", "2001:db8::2"}) {
      LinkSpec link;
      link.layer = layer;
      link.null_af_inet6 = kBsdAfInet6FreeBsd;
      const IpAddress d(dst);
      const IpAddress s = d.isV6() ? IpAddress("2001:db8::1") : IpAddress("192.0.2.1");
      const Frame f = PacketBuilder().link(link).ip(s, d).udp(1, 2).payload(4).build();
      EXPECT_EQ(f.link_type, link_type);
      EXPECT_EQ(f.l3_offset, size);
      const DecodedPacket p =
          decodePacket(static_cast<int>(link_type), f.bytes, static_cast<uint32_t>(f.size()));
      EXPECT_TRUE(p.ok && p.checksums_ok) << dst << " over link type " << link_type;
      EXPECT_EQ(p.dst, d);
    }
  }
}

TEST(PacketBuilderTest, IcmpChecksumsVerify) {
  const Frame v4 =
      PacketBuilder().ip("192.0.2.1", "192.0.2.2").icmp(icmpEcho(false, 9, 1)).payload(56).build();
  const Frame v6 = PacketBuilder()
                       .ip("2001:db8::1", "2001:db8::2")
                       .icmp(icmpv6Echo(true, 9, 1))
                       .payload(56)
                       .build();
  for (const Frame* f : {&v4, &v6}) {
    const DecodedPacket p = decodePacket(1, f->bytes, static_cast<uint32_t>(f->size()));
    EXPECT_TRUE(p.checksums_checked && p.checksums_ok);
    EXPECT_EQ(p.payload_bytes, 56u);
  }
  EXPECT_EQ(v4.bytes[v4.l4_offset], 8);
  EXPECT_EQ(v6.bytes[v6.l4_offset], 129);
  EXPECT_EQ(v6.bytes[v6.next_header_offset], kIpProtoIcmpv6);
}

TEST(PacketBuilderTest, ArpIsNotIp) {
  const Frame arp = arpRequest({2, 0, 0, 0, 0, 1}, "192.0.2.1", "192.0.2.2");
  EXPECT_EQ(arp.size(), 42u);
  EXPECT_EQ(getBe16(arp.bytes, 12), kEtherTypeArp);
  EXPECT_FALSE(decodePacket(1, arp.bytes, 42).ok);
}

FlowSpec testFlow(const char* client, const char* server) {
  FlowSpec f;
  f.client = client;
  f.server = server;
  f.client_port = 40000;
  f.server_port = 80;
  return f;
}

TEST(TcpSessionTest, SequenceAndAckNumbersFollowTheData) {
  CollectingSink sink;
  TcpSession s(sink, testFlow("192.0.2.1", "198.51.100.2"));
  s.handshake();
  s.exchange(100, 5000);
  s.retransmit(Direction::kToClient);
  s.closeFin(Direction::kToClient);
  const uint32_t client_isn = s.options().client_isn;
  const uint32_t server_isn = s.options().server_isn;
  EXPECT_EQ(s.nextSeq(Direction::kToServer), client_isn + 1 + 100 + 1);
  EXPECT_EQ(s.nextSeq(Direction::kToClient), server_isn + 1 + 5000 + 1);

  uint64_t payload[2] = {0, 0};
  int64_t last_ts = 0;
  for (const ReadRecord& r : sink.records) {
    const DecodedPacket p = decodePacket(1, r.data, r.orig_len);
    ASSERT_TRUE(p.ok && p.checksums_checked && p.checksums_ok);
    EXPECT_GE(r.ts_ns, last_ts);
    last_ts = r.ts_ns;
    const bool up = p.src_port == 40000;
    payload[up ? 0 : 1] += p.payload_bytes;
    const size_t l4 = 14 + 20;
    const uint32_t seq = getBe32(r.data, l4 + 4);
    const uint32_t ack = getBe32(r.data, l4 + 8);
    const uint8_t flags = r.data[l4 + 13];
    if (flags & kTcpSyn) {
      EXPECT_EQ(seq, up ? client_isn : server_isn);
    }
    if (flags & kTcpAck) {
      // Acknowledges no more than the peer has sent.
      const uint32_t peer_next = up ? server_isn + 1 + 5000 + 1 : client_isn + 1 + 100 + 1;
      EXPECT_LE(ack - (up ? server_isn : client_isn), peer_next - (up ? server_isn : client_isn));
    }
  }
  EXPECT_EQ(payload[0], s.conversation().ab.payload_bytes);
  EXPECT_EQ(payload[1], s.conversation().ba.payload_bytes);
  EXPECT_EQ(s.conversation().ab.payload_bytes, 100u);
  EXPECT_EQ(s.conversation().ba.payload_bytes, 5000u + 5000 % 1448);  // + the retransmission
  EXPECT_EQ(s.conversation().packets(), sink.records.size());
}

TEST(TcpSessionTest, SegmentsAtTheMssAndAcksEverySecond) {
  CollectingSink sink;
  TcpSession s(sink, testFlow("192.0.2.1", "198.51.100.2"));
  s.handshake();
  s.send(Direction::kToClient, 1448 * 5);
  // 3 handshake + 5 full segments + ACKs after segments 2, 4 and 5.
  ASSERT_EQ(sink.records.size(), 3u + 5 + 3);
  size_t full = 0;
  for (const ReadRecord& r : sink.records) full += r.orig_len == 1514 ? 1 : 0;
  EXPECT_EQ(full, 5u);
  EXPECT_EQ(s.conversation().ba.packets, 1u + 5);
  EXPECT_EQ(s.conversation().ab.packets, 2u + 3);

  CollectingSink sink6;
  TcpSession v6(sink6, testFlow("2001:db8::1", "2001:db8::2"));
  v6.send(Direction::kToClient, 10000);
  EXPECT_EQ(sink6.records.front().orig_len, 1514u);  // MSS 1440 over IPv6
}

TEST(UdpSessionTest, FragmentedDatagramCountsEveryFragment) {
  CollectingSink sink;
  UdpSession u(sink, testFlow("192.0.2.1", "198.51.100.2"));
  u.send(Direction::kToServer, patternPayload(4000), 1480);
  EXPECT_EQ(u.conversation().ab.packets, 3u);
  EXPECT_EQ(u.conversation().ab.payload_bytes, 4000u);
  uint64_t wire = 0;
  for (const ReadRecord& r : sink.records) wire += r.orig_len;
  EXPECT_EQ(u.conversation().ab.wire_bytes, wire);
  EXPECT_EQ(wire, 3u * (14 + 20) + 4008);
}

TEST(IcmpEchoSessionTest, PairsRequestsAndReplies) {
  CollectingSink sink;
  IcmpEchoSession p(sink, testFlow("2001:db8::1", "2001:db8::2"), 0x77);
  p.ping(56);
  p.wait(kNsPerSec);
  p.ping(56, false);
  EXPECT_EQ(p.conversation().proto, kIpProtoIcmpv6);
  EXPECT_EQ(p.conversation().ab.packets, 2u);
  EXPECT_EQ(p.conversation().ba.packets, 1u);
  EXPECT_EQ(p.conversation().a_port, 0);
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[1].ts_ns - sink.records[0].ts_ns, p.spec().rtt_ns);
}

TEST(InterleaverTest, MergesQueuesInTimeOrderAndCapsStoredBytes) {
  class Script final : public FlowScript {
   public:
    Script(int64_t start, int64_t step) : FlowScript(start, 16), step_(step) {}
    bool step() override {
      for (int i = 0; i < 3; ++i) queue_.append(startNs() + (n_++) * step_, Bytes(40, 1), 0);
      return n_ < 9;
    }

   private:
    int64_t step_;
    int64_t n_ = 0;
  };
  CollectingSink out;
  Interleaver mix(out);
  mix.add(std::make_unique<Script>(100, 10));
  mix.add(std::make_unique<Script>(105, 7));
  mix.add(std::make_unique<Script>(0, 50));
  EXPECT_EQ(mix.run(), 27u);
  EXPECT_EQ(mix.flowsStarted(), 3u);
  for (size_t i = 1; i < out.records.size(); ++i) {
    EXPECT_LE(out.records[i - 1].ts_ns, out.records[i].ts_ns);
  }
  EXPECT_EQ(out.records.front().data.size(), 16u);
  EXPECT_EQ(out.records.front().orig_len, 40u);

  CollectingSink limited;
  Interleaver capped(limited);
  capped.add(std::make_unique<Script>(0, 1));
  EXPECT_EQ(capped.run(5), 5u);
}

TEST(RngTest, SameSeedSameStreamAndSamplersStayInRange) {
  Rng a(42);
  Rng b(42);
  Rng c(43);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_NE(Rng(42).next(), c.next());
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = a.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const int64_t k = a.between(-3, 3);
    ASSERT_GE(k, -3);
    ASSERT_LE(k, 3);
    sum += a.exponential(2.0);
    ASSERT_GE(a.pareto(5.0, 1.2), 5.0);
  }
  EXPECT_NEAR(sum / 100000, 2.0, 0.05);
}

}  // namespace
}  // namespace edgesense::testsupport
