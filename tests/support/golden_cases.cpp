// The golden capture cases behind `edgesense-pcapgen cases`: each function writes one
// small file with sessions whose counts are the expected conversations.

#include "golden_cases.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "app_payload.h"
#include "byte_io.h"
#include "interleaver.h"
#include "pcap_writer.h"

namespace edgesense::testsupport {

namespace {

namespace fs = std::filesystem;

const IpAddress kClient4("192.0.2.10");
const IpAddress kServer4("198.51.100.20");
const IpAddress kPingServer4("198.51.100.30");
const IpAddress kDns4("192.0.2.53");
const IpAddress kClient6("2001:db8::10");
const IpAddress kServer6("2001:db8:5::20");
const IpAddress kPingServer6("2001:db8:5::30");
const IpAddress kDns6("2001:db8::53");

constexpr int64_t kMs = kNsPerMs;
constexpr int64_t kSec = kNsPerSec;

FlowSpec flow(const IpAddress& client, uint16_t client_port, const IpAddress& server,
              uint16_t server_port, int64_t start_ns) {
  FlowSpec f;
  f.client = client;
  f.server = server;
  f.client_port = client_port;
  f.server_port = server_port;
  f.start_ns = start_ns;
  return f;
}

/// Handshake, one request/response, FIN close: 13 packets.
void webFlow(TcpSession& s, size_t request = 350, size_t response = 4000) {
  s.handshake();
  s.wait(2 * kMs);
  s.exchange(request, response);
  s.wait(50 * kMs);
  s.closeFin();
}

/// One DNS query and its answer (or none).
void dnsExchange(UdpSession& u, uint16_t id, const char* name, uint16_t qtype,
                 std::vector<IpAddress> answers, bool answered = true) {
  Bytes response = answered ? dnsResponse(id, name, qtype, answers) : Bytes{};
  u.exchange(dnsQuery(id, name, qtype), std::move(response), 12 * kMs);
}

/// Writes records of several queues into `out` in time order (ties: earlier queue).
void writeMerged(PacketSink& out, std::vector<RecordQueue*> queues) {
  for (;;) {
    RecordQueue* best = nullptr;
    for (RecordQueue* q : queues) {
      if (!q->empty() && (best == nullptr || q->frontTs() < best->frontTs())) best = q;
    }
    if (best == nullptr) return;
    best->popTo(out);
  }
}

/// Forwards to `out`, or keeps frames aside while `divert` is set.
class DivertingSink final : public PacketSink {
 public:
  explicit DivertingSink(PacketSink& out) : out_(out) {}
  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) override {
    if (divert) {
      kept.emplace_back(ts_ns, Bytes(frame.begin(), frame.end()));
    } else {
      out_.append(ts_ns, frame, orig_len);
    }
  }
  bool divert = false;
  std::vector<std::pair<int64_t, Bytes>> kept;

 private:
  PacketSink& out_;
};

/// One case file being written.
class CaseFile {
 public:
  CaseFile(const fs::path& dir, std::string name, PcapWriterOptions options = {},
           const char* extension = ".pcap")
      : case_(makeCase(std::move(name), options, extension)), writer_(dir / case_.file, options) {}

  PcapWriter& writer() { return writer_; }
  GoldenCase& info() { return case_; }
  void add(const Session& s) { case_.conversations.push_back(s.conversation()); }
  void add(const Conversation& c) { case_.conversations.push_back(c); }
  void malformed(int64_t ts_ns, const Bytes& frame, std::string defect) {
    case_.malformed.push_back({writer_.records(), std::move(defect)});
    writer_.append(ts_ns, frame);
  }

  GoldenCase finish() {
    writer_.close();
    if (case_.records == 0 && case_.readable) case_.records = writer_.records();
    std::stable_sort(
        case_.conversations.begin(), case_.conversations.end(),
        [](const Conversation& x, const Conversation& y) { return x.first_ns < y.first_ns; });
    return std::move(case_);
  }

 private:
  static GoldenCase makeCase(std::string name, const PcapWriterOptions& options,
                             const char* extension) {
    GoldenCase c;
    c.file = name + extension;
    c.name = std::move(name);
    c.link_type = options.link_type;
    c.nanosecond = options.format == CaptureFormat::kPcapNano;
    c.has_expect = true;
    return c;
  }

  GoldenCase case_;
  PcapWriter writer_;
};

// ---------------------------------------------------------------- TCP

GoldenCase tcpHandshakeFin(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_handshake_fin");
  TcpSession s(c.writer(), flow(kClient4, 40001, kServer4, 80, base));
  webFlow(s);
  c.add(s);
  c.info().notes =
      "SYN, SYN/ACK, ACK; 350-byte request; 4000-byte response in 3 segments "
      "(MSS 1460 with timestamps: 1448 per segment); FIN, FIN/ACK, ACK.";
  return c.finish();
}

GoldenCase tcpSimultaneousClose(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_simultaneous_close");
  TcpSession both(c.writer(), flow(kClient4, 40006, kServer4, 80, base));
  both.handshake();
  both.wait(2 * kMs);
  both.exchange(300, 2000);
  both.wait(20 * kMs);
  both.closeSimultaneous();
  c.add(both);

  TcpSession lost(c.writer(), flow(kClient4, 40007, kServer4, 80, both.now() + 100 * kMs));
  lost.handshake();
  lost.wait(2 * kMs);
  lost.exchange(300, 2000);
  lost.wait(20 * kMs);
  lost.closeSimultaneous(Direction::kToClient, /*lose_last_ack=*/true);
  c.add(lost);
  c.info().notes =
      "Two connections closed simultaneously: both FINs cross (neither "
      "acknowledges the other), then each side ACKs the other's FIN; one flow "
      "each. In the second the server closes first and the client's final ACK "
      "is lost: still one flow, reason tcp_fin, ended by the close linger (here "
      "the end of the capture) rather than by a final ACK.";
  return c.finish();
}

GoldenCase tcpRst(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_rst");
  TcpSession aborted(c.writer(), flow(kClient4, 40002, kServer4, 80, base));
  aborted.handshake();
  aborted.exchange(200, 600);
  aborted.wait(5 * kMs);
  aborted.reset(Direction::kToClient);
  c.add(aborted);

  TcpSession refused(c.writer(), flow(kClient4, 40003, kServer4, 81, aborted.now() + 100 * kMs));
  refused.segment(Direction::kToServer, kTcpSyn);
  refused.wait(refused.spec().rtt_ns);
  refused.reset(Direction::kToClient);
  c.add(refused);

  TcpSession client_abort(c.writer(),
                          flow(kClient4, 40004, kServer4, 80, refused.now() + 100 * kMs));
  client_abort.handshake();
  client_abort.exchange(300, 1000);
  client_abort.wait(10 * kMs);
  client_abort.reset(Direction::kToServer, false);
  c.add(client_abort);
  c.info().notes =
      "Server RST/ACK after an exchange; SYN to a closed port answered by "
      "RST/ACK; client bare RST after an exchange.";
  return c.finish();
}

GoldenCase tcpRetransmission(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_retransmission");
  TcpSession s(c.writer(), flow(kClient4, 40005, kServer4, 80, base));
  s.handshake();
  s.wait(2 * kMs);
  s.segment(Direction::kToServer, kTcpAck | kTcpPsh, 300);  // its ACK is lost
  s.wait(200 * kMs);
  s.retransmit(Direction::kToServer);  // RTO
  s.wait(s.spec().rtt_ns);
  s.pureAck(Direction::kToClient);
  s.wait(1 * kMs);
  s.send(Direction::kToClient, 3000);
  s.wait(30 * kMs);
  s.retransmit(Direction::kToClient);  // spurious: the client already has it
  s.wait(s.spec().ack_delay_ns);
  s.pureAck(Direction::kToServer);  // duplicate ACK
  s.wait(20 * kMs);
  s.closeFin();
  c.add(s);
  c.info().notes =
      "Request retransmitted after 200 ms (RTO); last response segment "
      "retransmitted spuriously and answered by a duplicate ACK. Retransmitted "
      "packets count in packets, bytes and payload.";
  return c.finish();
}

// ---------------------------------------------------------------- VLAN, IPv6 headers

GoldenCase vlanQinq(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "vlan_qinq");
  RecordQueue q1(kMaxSnaplen);
  RecordQueue q2(kMaxSnaplen);
  FlowSpec f1 = flow("10.1.0.1", 40010, "10.2.0.1", 8000, base);
  f1.link.vlans = {{100, kEtherTypeQinQ, 0}, {10, kEtherTypeVlan, 0}};
  FlowSpec f2 = f1;
  f2.link.vlans = {{100, kEtherTypeQinQ, 0}, {20, kEtherTypeVlan, 0}};
  f2.start_ns = base + 5 * kMs;
  TcpSession s1(q1, f1);
  TcpSessionOptions other_isn;
  other_isn.client_isn = 0x0badcafe;
  other_isn.server_isn = 0x5eedf00d;
  TcpSession s2(q2, f2, other_isn);
  webFlow(s1, 300, 2000);
  webFlow(s2, 400, 5000);
  writeMerged(c.writer(), {&q1, &q2});
  c.add(s1);
  c.add(s2);
  c.info().notes =
      "The same TCP 5-tuple on QinQ (outer 0x88a8 vid 100) inner vid 10 and inner "
      "vid 20, overlapping in time: two flows.";
  return c.finish();
}

GoldenCase ipv6ExtHeaders(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "ipv6_ext_headers");
  const Bytes router_alert = {0x05, 0x02, 0x00, 0x00};
  FlowSpec tcp = flow(kClient6, 40020, kServer6, 8000, base);
  tcp.ipv6_ext_headers = {Ipv6ExtHeader::hopByHop(router_alert), Ipv6ExtHeader::routing(0, 0),
                          Ipv6ExtHeader::destinationOptions()};
  TcpSessionOptions small_mss;
  small_mss.mss = 1400;  // room for the 40 bytes of extension headers in 1514-byte frames
  TcpSession s(c.writer(), tcp, small_mss);
  webFlow(s, 300, 3000);
  c.add(s);

  FlowSpec udp = flow(kClient6, 40021, kServer6, 9000, s.now() + 50 * kMs);
  udp.ipv6_ext_headers = {Ipv6ExtHeader::hopByHop(), Ipv6ExtHeader::destinationOptions(Bytes(10))};
  UdpSession u(c.writer(), udp);
  u.exchange(100, 200);
  c.add(u);

  FlowSpec ping = flow(kClient6, 0, kPingServer6, 0, u.now() + 50 * kMs);
  ping.ipv6_ext_headers = {Ipv6ExtHeader::destinationOptions()};
  IcmpEchoSession p(c.writer(), ping, 0x0606);
  p.ping();
  p.wait(1 * kSec);
  p.ping();
  c.add(p);
  c.info().notes =
      "TCP with hop-by-hop (router alert), routing (type 0, segments left 0) and "
      "destination options; UDP with hop-by-hop and a 16-byte destination options "
      "header; ICMPv6 echo with destination options.";
  return c.finish();
}

// ---------------------------------------------------------------- fragments

GoldenCase ipv4Fragments(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "ipv4_fragments");
  UdpSession u(c.writer(), flow(kClient4, 40030, kServer4, 9000, base));
  u.send(Direction::kToServer, patternPayload(3000, 7), 1480);
  u.wait(u.spec().rtt_ns);
  u.send(Direction::kToClient, 200);
  c.add(u);

  // A later fragment whose first fragment never arrives.
  PacketBuilder orphan_builder = u.builder(Direction::kToServer);
  orphan_builder.ipv4Spec()->dont_fragment = false;
  const Frame whole = orphan_builder.udp(40031, 9000).payload(2000, 9).build();
  const Frame orphan = fragmentPacket(whole, 1480).at(1);
  c.malformed(u.now() + 100 * kMs, orphan.bytes, "ipv4_orphan_fragment");
  c.info().notes =
      "A 3008-byte UDP datagram in 3 fragments (1480, 1480, 48 bytes; only the "
      "first carries the ports), an unfragmented reply, then an orphan later "
      "fragment (offset 1480, a different id, ports 40031->9000 never seen): it "
      "belongs to no listed conversation.";
  return c.finish();
}

GoldenCase ipv6Fragments(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "ipv6_fragments");
  UdpSession u(c.writer(), flow(kClient6, 40040, kServer6, 9000, base));
  u.send(Direction::kToServer, patternPayload(3000, 8), 1448);
  u.wait(u.spec().rtt_ns);
  u.send(Direction::kToClient, 200);
  c.add(u);
  c.info().notes =
      "A 3008-byte UDP datagram over IPv6 in 3 fragments (fragment header, 1448, "
      "1448, 112 bytes; only the first carries the ports) and an unfragmented reply.";
  return c.finish();
}

GoldenCase ipv6FragmentsDestOpts(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "ipv6_fragments_dest_opts");
  FlowSpec spec = flow(kClient6, 40042, kServer6, 9000, base);
  spec.ipv6_ext_headers = {Ipv6ExtHeader::destinationOptions()};
  spec.ipv6_ext_headers_fragmentable = true;
  UdpSession u(c.writer(), spec);
  u.send(Direction::kToServer, patternPayload(3000, 9), 1448);
  u.wait(u.spec().rtt_ns);
  u.send(Direction::kToClient, 200);
  u.wait(u.spec().rtt_ns);
  u.send(Direction::kToServer, patternPayload(2000, 10), 1448);
  c.add(u);
  c.info().notes =
      "UDP over IPv6 with a destination options header for the final destination: "
      "a 3008-byte datagram in 3 fragments and a 2008-byte one in 2, each first "
      "fragment holding fragment header, destination options, UDP header (the "
      "fragment header names destination options, 60, as next header in every "
      "fragment, RFC 8200 section 4.5), and an unfragmented reply with the same "
      "destination options header. Later fragments belong to the flow.";
  return c.finish();
}

// ---------------------------------------------------------------- UDP, ICMP

GoldenCase udpDns(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "udp_dns");
  UdpSession a(c.writer(), flow(kClient4, 53001, kDns4, 53, base));
  dnsExchange(a, 0x1001, "www.example.com", kDnsTypeA, {"93.184.216.34"});
  c.add(a);
  UdpSession aaaa(c.writer(), flow(kClient4, 53002, kDns4, 53, a.now() + 5 * kMs));
  dnsExchange(aaaa, 0x1002, "www.example.com", kDnsTypeAaaa,
              {"2606:2800:220:1:248:1893:25c8:1946"});
  c.add(aaaa);
  UdpSession v6(c.writer(), flow(kClient6, 53003, kDns6, 53, aaaa.now() + 5 * kMs));
  dnsExchange(v6, 0x1003, "example.org", kDnsTypeA, {"192.0.2.80", "192.0.2.81"});
  c.add(v6);
  UdpSession lost(c.writer(), flow(kClient4, 53004, kDns4, 53, v6.now() + 5 * kMs));
  dnsExchange(lost, 0x1004, "unanswered.example.net", kDnsTypeA, {}, false);
  c.add(lost);
  c.info().notes = "DNS A and AAAA over IPv4, A over IPv6, one unanswered query.";
  return c.finish();
}

GoldenCase icmpEcho(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "icmp_echo");
  IcmpEchoSession v4(c.writer(), flow(kClient4, 0, kPingServer4, 0, base), 0x1234);
  for (int i = 0; i < 4; ++i) {
    v4.ping(56, i < 3);
    v4.wait(1 * kSec);
  }
  c.add(v4);
  IcmpEchoSession v6(c.writer(), flow(kClient6, 0, kPingServer6, 0, v4.now()), 0x4321);
  for (int i = 0; i < 3; ++i) {
    v6.ping();
    v6.wait(1 * kSec);
  }
  c.add(v6);

  // A UDP probe to a closed port and the ICMP port unreachable it draws.
  UdpSession probe(c.writer(), flow(kClient4, 40050, kServer4, 33434, v6.now()));
  const Frame datagram =
      probe.builder(Direction::kToServer).udp(40050, 33434).payload(32, 3).build();
  probe.emitFrame(Direction::kToServer, datagram, 32);
  c.add(probe);
  IcmpEchoSession unreachable(c.writer(), flow(kServer4, 0, kClient4, 0, probe.now() + 20 * kMs),
                              0);
  const Bytes quoted(datagram.bytes.begin() + static_cast<std::ptrdiff_t>(datagram.l3_offset),
                     datagram.bytes.begin() + static_cast<std::ptrdiff_t>(datagram.l4_offset + 8));
  const Frame icmp =
      unreachable.builder(Direction::kToServer).icmp(icmpUnreachable(3)).payload(quoted).build();
  unreachable.emitFrame(Direction::kToServer, icmp, quoted.size());
  c.add(unreachable);
  c.info().notes =
      "ICMPv4 echo id 0x1234: 3 answered, 1 unanswered; ICMPv6 echo id 0x4321: 3 "
      "answered; a UDP probe and the ICMP port unreachable (type 3 code 3) its "
      "target returns, a conversation initiated by 198.51.100.20. ICMP ports are 0; "
      "payload is the ICMP data after the 8-byte header.";
  return c.finish();
}

// ---------------------------------------------------------------- link types, formats

/// A TCP flow, a DNS exchange and (for IPv6-capable links) a UDP exchange over IPv6.
void mixedFlows(CaseFile& c, const LinkSpec& link, int64_t base) {
  FlowSpec tcp = flow(kClient4, 40060, kServer4, 80, base);
  tcp.link = link;
  TcpSession s(c.writer(), tcp);
  webFlow(s, 320, 3500);
  c.add(s);
  FlowSpec dns = flow(kClient4, 53010, kDns4, 53, s.now() + 20 * kMs);
  dns.link = link;
  UdpSession d(c.writer(), dns);
  dnsExchange(d, 0x2001, "www.example.com", kDnsTypeA, {"93.184.216.34"});
  c.add(d);
  FlowSpec udp6 = flow(kClient6, 40061, kServer6, 9000, d.now() + 20 * kMs);
  udp6.link = link;
  UdpSession u(c.writer(), udp6);
  u.exchange(120, 800);
  c.add(u);
}

GoldenCase linktypeSll(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.link_type = kLinkTypeLinuxSll;
  CaseFile c(dir, "linktype_sll", options);
  LinkSpec link;
  link.layer = LinkLayer::kLinuxSll;
  mixedFlows(c, link, base);
  c.info().notes =
      "Linux cooked v1 (16-byte header): TCP over IPv4, DNS, UDP over IPv6. "
      "Client packets are 'outgoing' (4), server packets 'to us' (0).";
  return c.finish();
}

GoldenCase linktypeSll2(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.link_type = kLinkTypeLinuxSll2;
  CaseFile c(dir, "linktype_sll2", options);
  LinkSpec link;
  link.layer = LinkLayer::kLinuxSll2;
  link.sll2_ifindex = 3;
  mixedFlows(c, link, base);
  c.info().notes =
      "Linux cooked v2 (20-byte header, ifindex 3): TCP over IPv4, DNS, UDP over "
      "IPv6.";
  return c.finish();
}

GoldenCase linktypeRaw(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.link_type = kLinkTypeRaw;
  CaseFile c(dir, "linktype_raw", options);
  LinkSpec link;
  link.layer = LinkLayer::kRaw;
  mixedFlows(c, link, base);
  FlowSpec ping = flow(kClient6, 0, kPingServer6, 0, base + 2 * kSec);
  ping.link = link;
  IcmpEchoSession p(c.writer(), ping, 0x0101);
  p.ping();
  c.add(p);
  c.info().notes =
      "LINKTYPE_RAW (101): no link header, IP version from the first nibble. TCP "
      "over IPv4, DNS, UDP over IPv6, ICMPv6 echo.";
  return c.finish();
}

GoldenCase linktypeNull(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.link_type = kLinkTypeNull;
  CaseFile c(dir, "linktype_null", options);
  LinkSpec link;
  link.layer = LinkLayer::kNull;
  FlowSpec tcp = flow(kClient4, 40070, kServer4, 80, base);
  tcp.link = link;
  TcpSession s(c.writer(), tcp);
  webFlow(s, 300, 2000);
  c.add(s);
  int64_t t = s.now() + 50 * kMs;
  uint16_t port = 40071;
  for (const uint32_t af : {kBsdAfInet6NetBsd, kBsdAfInet6FreeBsd, kBsdAfInet6Darwin}) {
    FlowSpec udp = flow(kClient6, port++, kServer6, 9000, t);
    udp.link = link;
    udp.link.null_af_inet6 = af;
    UdpSession u(c.writer(), udp);
    u.exchange(64, 256);
    c.add(u);
    t = u.now() + 50 * kMs;
  }
  c.info().notes =
      "BSD loopback (DLT 0), 4-byte little-endian (the file's byte order) address "
      "family: TCP over IPv4 with AF 2; three UDP over IPv6 flows with AF 24 "
      "(NetBSD/OpenBSD), 28 (FreeBSD) and 30 (Darwin).";
  return c.finish();
}

GoldenCase pcapngBasic(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.format = CaptureFormat::kPcapng;
  options.pcapng_tsresol = 6;
  CaseFile c(dir, "pcapng_basic", options, ".pcapng");
  mixedFlows(c, LinkSpec{}, base);
  IcmpEchoSession p(c.writer(), flow(kClient4, 0, kPingServer4, 0, base + 3 * kSec), 0x0202);
  p.ping();
  c.add(p);
  c.info().notes = "pcapng: SHB, one Ethernet IDB with if_tsresol 6 (microseconds), EPBs.";
  return c.finish();
}

GoldenCase pcapNanosecond(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.format = CaptureFormat::kPcapNano;
  CaseFile c(dir, "pcap_nanosecond", options);
  FlowSpec tcp = flow(kClient4, 40080, kServer4, 80, base + 123'456'789);
  tcp.rtt_ns = 20'000'123;
  tcp.ack_delay_ns = 40'017;
  TcpSessionOptions tcp_options;
  tcp_options.segment_gap_ns = 12'345;
  TcpSession s(c.writer(), tcp, tcp_options);
  webFlow(s);
  c.add(s);
  FlowSpec dns = flow(kClient4, 53020, kDns4, 53, s.now() + 1'000'001);
  UdpSession d(c.writer(), dns);
  dnsExchange(d, 0x3001, "ns.example.com", kDnsTypeA, {"192.0.2.99"});
  c.add(d);
  c.info().notes = "Nanosecond pcap (magic 0xa1b23c4d); timestamps are not whole microseconds.";
  return c.finish();
}

// ---------------------------------------------------------------- broken files

GoldenCase truncatedFile(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "truncated_file");
  DivertingSink sink(c.writer());
  TcpSession a(sink, flow(kClient4, 40090, kServer4, 80, base));
  webFlow(a);
  c.add(a);
  UdpSession d(sink, flow(kClient4, 53030, kDns4, 53, a.now() + 10 * kMs));
  dnsExchange(d, 0x4001, "www.example.com", kDnsTypeA, {"93.184.216.34"});
  c.add(d);
  TcpSession b(sink, flow(kClient4, 40091, kServer4, 80, d.now() + 10 * kMs));
  b.handshake();
  b.exchange(300, 1000);
  b.wait(5 * kMs);
  c.add(b.conversation());  // the cut record below is not a packet a reader gets
  sink.divert = true;
  b.send(Direction::kToServer, 800);
  const auto& [ts, frame] = sink.kept.front();
  c.writer().appendCut(ts, frame, 30);
  c.info().records = c.writer().records() - 1;
  c.info().read_error = true;
  c.info().notes =
      "Two complete flows and the start of a third, then a record whose header "
      "promises an 866-byte frame but whose body stops after 30 bytes (end of file).";
  return c.finish();
}

GoldenCase malformedPackets(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "malformed_packets");
  c.info().well_formed = false;
  TcpSession good(c.writer(), flow(kClient4, 40100, kServer4, 80, base));
  webFlow(good);
  c.add(good);

  int64_t t = good.now() + 10 * kMs;
  auto next = [&t] { return t += 1 * kMs; };
  PacketBuilder udp4;
  udp4.ip(kClient4, kServer4).udp(40101, 9000).payload(32, 4);
  auto fixIpv4Checksum = [](Frame& f) {
    const size_t ihl = static_cast<size_t>(f.bytes[f.l3_offset] & 0x0f) * 4;
    putBe16(f.bytes, f.l3_offset + 10, 0);
    putBe16(f.bytes, f.l3_offset + 10,
            internetChecksum(std::span<const uint8_t>(f.bytes.data() + f.l3_offset,
                                                      std::max<size_t>(ihl, kIpv4HeaderSize))));
  };

  const Frame base_frame = udp4.build();
  c.malformed(next(), Bytes(base_frame.bytes.begin(), base_frame.bytes.begin() + 10),
              "frame_shorter_than_ethernet");

  Frame ihl = base_frame;
  ihl.bytes[ihl.l3_offset] = 0x44;
  c.malformed(next(), ihl.bytes, "ipv4_ihl_below_5");

  Frame long_total = base_frame;
  putBe16(long_total.bytes, long_total.l3_offset + 2,
          static_cast<uint16_t>(long_total.size() - long_total.l3_offset + 200));
  fixIpv4Checksum(long_total);
  c.malformed(next(), long_total.bytes, "ipv4_total_length_beyond_capture");

  Frame version = base_frame;
  version.bytes[version.l3_offset] = 0x75;
  c.malformed(next(), version.bytes, "ip_bad_version");

  TcpSpec ack;
  ack.src_port = 40102;
  ack.dst_port = 80;
  ack.seq = 1000;
  ack.ack = 2000;
  Frame tcp = PacketBuilder().ip(kClient4, kServer4).tcp(ack).build();
  tcp.bytes[tcp.l4_offset + 12] = 0x30;
  c.malformed(next(), tcp.bytes, "tcp_data_offset_below_5");

  Frame udp_short = PacketBuilder().ip(kClient4, kServer4).udp(40103, 9000).build();
  udp_short.bytes.resize(udp_short.l4_offset + 4);
  putBe16(udp_short.bytes, udp_short.l3_offset + 2, static_cast<uint16_t>(kIpv4HeaderSize + 4));
  fixIpv4Checksum(udp_short);
  c.malformed(next(), udp_short.bytes, "udp_shorter_than_header");

  Ipv6Spec chain;
  chain.src = kClient6;
  chain.dst = kServer6;
  chain.ext_headers.assign(20, Ipv6ExtHeader::destinationOptions());
  const Frame deep = PacketBuilder().ipv6(chain).udp(40104, 9000).payload(16, 5).build();
  c.malformed(next(), deep.bytes, "ipv6_too_many_extension_headers");

  const Frame arp = arpRequest({0x02, 0x00, 0x5e, 0x00, 0x00, 0x0c}, kClient4, "192.0.2.1");
  c.malformed(next(), arp.bytes, "not_ip_arp");

  UdpSession after(c.writer(), flow(kClient4, 40105, kServer4, 9000, next() + 10 * kMs));
  after.exchange(40, 80);
  c.add(after);
  c.info().notes =
      "A good TCP flow, eight bad or non-IP frames (see malformed: a 10-byte frame, "
      "IPv4 IHL 4, IPv4 total length 200 bytes beyond the frame, IP version 7, TCP "
      "data offset 3, UDP with 4 of its 8 header bytes, IPv6 with 20 destination "
      "options headers before UDP, an ARP request), then a good UDP flow: decoding "
      "goes on after each bad frame.";
  return c.finish();
}

GoldenCase snaplenTruncated(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.snaplen = 96;
  CaseFile c(dir, "snaplen_truncated", options);
  TcpSession s(c.writer(), flow(kClient4, 40110, kServer4, 80, base));
  webFlow(s, 400, 20000);
  c.add(s);
  UdpSession u(c.writer(), flow(kClient4, 40111, kServer4, 9000, s.now() + 10 * kMs));
  u.exchange(500, 1200);
  c.add(u);
  c.info().notes =
      "Snaplen 96: large frames are captured as their first 96 bytes (caplen < "
      "orig_len); bytes_* count orig_len.";
  return c.finish();
}

GoldenCase longFlow(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "long_flow");
  TcpSession s(c.writer(), flow(kClient4, 40120, kServer4, 5001, base));
  s.handshake();
  for (int i = 1; i < 200; ++i) {
    s.at(base + i * 500 * kMs);
    s.segment(i % 2 ? Direction::kToServer : Direction::kToClient, kTcpAck | kTcpPsh, 64);
  }
  s.at(base + 100 * kSec);
  s.closeFin();
  c.add(s);
  c.info().notes =
      "One TCP flow lasting 100 s: a 64-byte segment every 0.5 s, alternating "
      "directions (each acknowledges the other's last one); crosses a 30 s active "
      "timeout three times.";
  return c.finish();
}

GoldenCase idleGap(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "idle_gap");
  const FlowSpec spec = flow(kClient4, 40130, kServer4, 9000, base);
  UdpSession first(c.writer(), spec);
  for (int i = 0; i < 3; ++i) {
    first.exchange(48, 96);
    first.wait(1 * kSec);
  }
  c.add(first);
  FlowSpec later = spec;
  later.start_ns = first.conversation().last_ns + 200 * kSec;
  UdpSession second(c.writer(), later);
  for (int i = 0; i < 3; ++i) {
    second.exchange(48, 96);
    second.wait(1 * kSec);
  }
  c.add(second);
  c.info().notes =
      "The same UDP 5-tuple used twice, 200 s apart: with a 120 s idle timeout these "
      "are two flows (listed separately).";
  return c.finish();
}

/// Forwards to `out`, the `index`th frame (from 0) stamped `shift_ns` off.
class JumpingSink final : public PacketSink {
 public:
  JumpingSink(PacketSink& out, uint64_t index, int64_t shift_ns)
      : out_(out), index_(index), shift_ns_(shift_ns) {}
  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) override {
    out_.append(seen_++ == index_ ? ts_ns + shift_ns_ : ts_ns, frame, orig_len);
  }

 private:
  PacketSink& out_;
  uint64_t index_;
  int64_t shift_ns_;
  uint64_t seen_ = 0;
};

GoldenCase clockJump(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "clock_jump");
  constexpr int64_t kTenYears = 3652LL * 86400 * kSec;
  // Frame 5 of the first connection (the request's first segment) ten years
  // ahead; a DNS exchange's query ten years behind.
  JumpingSink ahead(c.writer(), 4, kTenYears);
  TcpSession web(ahead, flow(kClient4, 40140, kServer4, 80, base));
  webFlow(web);
  c.add(web);
  JumpingSink behind(c.writer(), 0, -kTenYears);
  UdpSession dns(behind, flow(kClient4, 53140, kDns4, 53, web.now() + 50 * kMs));
  dnsExchange(dns, 0x4a4a, "example.org", kDnsTypeA, {"93.184.216.34"});
  c.add(dns);
  TcpSession after(c.writer(), flow(kClient4, 40141, kServer4, 80, dns.now() + 50 * kMs));
  webFlow(after);
  c.add(after);
  c.info().notes =
      "A web connection whose fifth frame is stamped ten years ahead, a DNS "
      "exchange whose query is stamped ten years behind, then another web "
      "connection: three flows, each with all its packets; the summary counts "
      "one jump ahead and one behind.";
  c.info().time_jumps = 2;  // after the frame ahead, and at the frame behind
  return c.finish();
}

GoldenCase tcpRstOutOfWindow(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_rst_out_of_window");
  TcpSession s(c.writer(), flow(kClient4, 40150, kServer4, 80, base));
  s.handshake();
  s.exchange(300, 3000);
  s.wait(5 * kMs);
  s.forgedReset(Direction::kToClient, 0x80000000u);  // half the sequence space off
  s.wait(5 * kMs);
  s.exchange(300, 3000);
  s.wait(5 * kMs);
  s.closeFin();
  c.add(s);
  TcpSession aborted(c.writer(), flow(kClient4, 40151, kServer4, 80, s.now() + 100 * kMs));
  aborted.handshake();
  aborted.exchange(200, 600);
  aborted.wait(5 * kMs);
  aborted.reset(Direction::kToClient);
  c.add(aborted);
  c.info().notes =
      "A forged RST, as from the server with a sequence number half the sequence "
      "space away from the server's next one, in the middle of a connection: "
      "ignored, the connection goes on and closes with FINs, one flow (tcp_fin) "
      "holding the RST. Then a genuine server RST ends a second connection (tcp_rst).";
  return c.finish();
}

GoldenCase tcpFirstSeenAtSynAck(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_first_seen_at_syn_ack");
  TcpSession s(c.writer(), flow(kClient4, 40160, kServer4, 80, base));
  s.handshake(/*syn_captured=*/false);
  s.wait(2 * kMs);
  s.exchange(350, 4000);
  s.wait(50 * kMs);
  s.closeFin();
  c.add(s);
  // Backscatter: a server answering a SYN that bore a spoofed source.
  TcpSession lone(c.writer(), flow("203.0.113.7", 31337, kServer4, 443, s.now() + 100 * kMs));
  lone.handshake(/*syn_captured=*/false, /*ack_captured=*/false);
  c.add(lone);
  c.info().notes =
      "A web connection whose SYN the capture missed: it opens at the server's "
      "SYN/ACK (from port 80), then ACK, request, response, FIN close; the "
      "initiator is the SYN/ACK's receiver, the client. Then a lone SYN/ACK "
      "from port 443 to 203.0.113.7:31337 (backscatter of a spoofed SYN): one "
      "flow whose initiator, 203.0.113.7, sent nothing.";
  return c.finish();
}

GoldenCase tcpMidStream(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "tcp_mid_stream");
  // The capture starts inside a download: the server's data comes first.
  TcpSession download(c.writer(), flow(kClient4, 50432, kServer4, 443, base));
  download.joinMidStream();
  download.send(Direction::kToClient, 6000);
  download.wait(5 * kMs);
  download.exchange(300, 2000);
  download.wait(20 * kMs);
  download.closeFin();
  c.add(download);
  // ... and inside an upload, whose client speaks first.
  TcpSession upload(c.writer(), flow(kClient4, 40161, kServer4, 8080, download.now() + 10 * kMs));
  upload.joinMidStream();
  upload.exchange(3000, 200);
  upload.wait(20 * kMs);
  upload.closeFin(Direction::kToClient);
  c.add(upload);
  // BGP between two routers (port 179 both ends), from the higher address.
  TcpSession bgp(c.writer(), flow(kServer4, 179, kClient4, 179, upload.now() + 10 * kMs));
  bgp.joinMidStream();
  bgp.send(Direction::kToServer, 19);  // a keepalive
  bgp.wait(bgp.spec().rtt_ns);
  bgp.send(Direction::kToClient, 19);
  c.add(bgp);
  c.info().notes =
      "Three TCP connections already established when the capture began. A "
      "download whose first captured packet is the server's data from port 443 "
      "to 50432: the lower port is the server's, so the client is the initiator. "
      "An upload whose client (40161) speaks first to port 8080. BGP keepalives "
      "between 198.51.100.20:179 and 192.0.2.10:179: equal ports, so the first "
      "sender, 198.51.100.20, is the initiator.";
  return c.finish();
}

GoldenCase unknownLinktype(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.link_type = kLinkTypeUser0;
  CaseFile c(dir, "unknown_linktype", options);
  TcpSession s(c.writer(), flow(kClient4, 40140, kServer4, 80, base));
  webFlow(s);
  c.info().has_expect = false;
  c.info().well_formed = false;
  c.info().conversations.clear();
  c.info().notes = "Ethernet frames under link type 147 (USER0), which a sensor cannot decode.";
  return c.finish();
}

GoldenCase badMagic(const fs::path& dir, int64_t base) {
  PcapWriterOptions options;
  options.magic = 0x0a0b0c0d;
  CaseFile c(dir, "bad_magic", options);
  TcpSession s(c.writer(), flow(kClient4, 40150, kServer4, 80, base));
  webFlow(s);
  c.info().has_expect = false;
  c.info().readable = false;
  c.info().well_formed = false;
  c.info().notes = "A valid pcap body behind the magic 0x0a0b0c0d.";
  return c.finish();
}

GoldenCase oversizedCaplen(const fs::path& dir, int64_t base) {
  CaseFile c(dir, "oversized_caplen");
  UdpSession d(c.writer(), flow(kClient4, 53040, kDns4, 53, base));
  dnsExchange(d, 0x5001, "www.example.com", kDnsTypeA, {"93.184.216.34"});
  c.add(d);
  c.info().records = c.writer().records();
  c.writer().appendWithCaplen(d.now() + 10 * kMs, 300000, 300000, patternPayload(64));
  UdpSession after(c.writer(), flow(kClient4, 53041, kDns4, 53, d.now() + 20 * kMs));
  dnsExchange(after, 0x5002, "www.example.org", kDnsTypeA, {"192.0.2.80"});
  c.info().read_error = true;
  c.info().notes =
      "A DNS exchange, then a record claiming caplen 300000 (> 256 KiB) with 64 "
      "bytes behind it, then records a reader never reaches.";
  return c.finish();
}

GoldenCase emptyFile(const fs::path& dir, int64_t /*base*/) {
  PcapWriter::writeEmptyFile(dir / "empty_file.pcap");
  GoldenCase c;
  c.name = "empty_file";
  c.file = "empty_file.pcap";
  c.readable = false;
  c.well_formed = false;
  c.notes = "Zero bytes.";
  return c;
}

using CaseFn = GoldenCase (*)(const fs::path&, int64_t);

const std::vector<std::pair<const char*, CaseFn>>& caseTable() {
  static const std::vector<std::pair<const char*, CaseFn>> table = {
      {"tcp_handshake_fin", tcpHandshakeFin},
      {"tcp_rst", tcpRst},
      {"tcp_retransmission", tcpRetransmission},
      {"vlan_qinq", vlanQinq},
      {"ipv6_ext_headers", ipv6ExtHeaders},
      {"ipv4_fragments", ipv4Fragments},
      {"ipv6_fragments", ipv6Fragments},
      {"udp_dns", udpDns},
      {"icmp_echo", icmpEcho},
      {"linktype_sll", linktypeSll},
      {"linktype_sll2", linktypeSll2},
      {"linktype_raw", linktypeRaw},
      {"linktype_null", linktypeNull},
      {"pcapng_basic", pcapngBasic},
      {"pcap_nanosecond", pcapNanosecond},
      {"truncated_file", truncatedFile},
      {"malformed_packets", malformedPackets},
      {"snaplen_truncated", snaplenTruncated},
      {"long_flow", longFlow},
      {"idle_gap", idleGap},
      {"unknown_linktype", unknownLinktype},
      {"bad_magic", badMagic},
      {"empty_file", emptyFile},
      {"oversized_caplen", oversizedCaplen},
      {"tcp_simultaneous_close", tcpSimultaneousClose},
      {"clock_jump", clockJump},
      {"tcp_rst_out_of_window", tcpRstOutOfWindow},
      {"tcp_first_seen_at_syn_ack", tcpFirstSeenAtSynAck},
      {"tcp_mid_stream", tcpMidStream},
      {"ipv6_fragments_dest_opts", ipv6FragmentsDestOpts},
  };
  return table;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::string> goldenCaseNames() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : caseTable()) names.emplace_back(name);
  return names;
}

std::string toJson(const GoldenCase& c) {
  std::ostringstream out;
  out << "{\n  \"case\": " << jsonString(c.name) << ",\n  \"file\": " << jsonString(c.file)
      << ",\n  \"link_type\": " << c.link_type << ",\n  \"records\": " << c.records
      << ",\n  \"read_error\": " << (c.read_error ? "true" : "false")
      << ",\n  \"conversations\": [";
  for (size_t i = 0; i < c.conversations.size(); ++i) {
    out << (i ? ",\n    " : "\n    ") << toJson(c.conversations[i]);
  }
  out << (c.conversations.empty() ? "]" : "\n  ]") << ",\n  \"malformed\": [";
  for (size_t i = 0; i < c.malformed.size(); ++i) {
    out << (i ? ",\n    " : "\n    ") << "{\"index\": " << c.malformed[i].index
        << ", \"defect\": " << jsonString(c.malformed[i].defect) << "}";
  }
  out << (c.malformed.empty() ? "]" : "\n  ]") << ",\n  \"notes\": " << jsonString(c.notes)
      << "\n}\n";
  return out.str();
}

std::vector<GoldenCase> writeGoldenCases(const std::filesystem::path& dir, int64_t base_ns) {
  fs::create_directories(dir);
  std::vector<GoldenCase> cases;
  for (const auto& [name, fn] : caseTable()) {
    GoldenCase c = fn(dir, base_ns);
    if (c.has_expect) {
      std::ofstream out(dir / (c.name + ".expect.json"), std::ios::binary | std::ios::trunc);
      out << toJson(c);
      if (!out) throw std::runtime_error("cannot write " + c.name + ".expect.json");
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace edgesense::testsupport
