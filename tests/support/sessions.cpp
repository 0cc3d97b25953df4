// Conversation builders: each public call queues the frames of one exchange with their
// times, sorts them, and hands them to the sink while counting them per direction.

#include "sessions.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace edgesense::testsupport {

// ---------------------------------------------------------------- Conversation

void Conversation::count(Direction dir, int64_t ts_ns, uint64_t wire_bytes,
                         uint64_t payload_bytes) {
  DirectionCounts& c = dir == Direction::kToServer ? ab : ba;
  ++c.packets;
  c.wire_bytes += wire_bytes;
  c.payload_bytes += payload_bytes;
  if (first_ns < 0 || ts_ns < first_ns) first_ns = ts_ns;
  if (ts_ns > last_ns) last_ns = ts_ns;
}

std::string toJson(const Conversation& c) {
  std::ostringstream out;
  out << "{\"proto\": " << static_cast<int>(c.proto) << ", \"a\": \"" << c.a.toString()
      << "\", \"a_port\": " << c.a_port << ", \"b\": \"" << c.b.toString()
      << "\", \"b_port\": " << c.b_port << ", \"vlan\": [";
  for (size_t i = 0; i < c.vlans.size(); ++i) out << (i ? ", " : "") << c.vlans[i];
  out << "], \"pkts_ab\": " << c.ab.packets << ", \"pkts_ba\": " << c.ba.packets
      << ", \"bytes_ab\": " << c.ab.wire_bytes << ", \"bytes_ba\": " << c.ba.wire_bytes
      << ", \"payload_ab\": " << c.ab.payload_bytes << ", \"payload_ba\": " << c.ba.payload_bytes
      << ", \"first_ns\": " << c.first_ns << ", \"last_ns\": " << c.last_ns << "}";
  return out.str();
}

// ---------------------------------------------------------------- Session

Session::Session(PacketSink& sink, FlowSpec spec, uint8_t proto)
    : sink_(sink), spec_(std::move(spec)), now_ns_(spec_.start_ns) {
  if (spec_.client.isV6() != spec_.server.isV6()) {
    throw std::invalid_argument("client and server address families differ");
  }
  const bool icmp = proto == kIpProtoIcmp || proto == kIpProtoIcmpv6;
  conv_.proto = proto;
  conv_.a = spec_.client;
  conv_.b = spec_.server;
  conv_.a_port = icmp ? 0 : spec_.client_port;
  conv_.b_port = icmp ? 0 : spec_.server_port;
  if (spec_.link.layer == LinkLayer::kEthernet) {
    for (const VlanTag& tag : spec_.link.vlans) conv_.vlans.push_back(tag.vid);
  }
  // Distinct, port-derived starting ids so flows between the same hosts differ.
  ip_id_[0] = static_cast<uint16_t>(0x1000 + spec_.client_port * 7);
  ip_id_[1] = static_cast<uint16_t>(0x8000 + spec_.server_port * 13 + spec_.client_port);
}

PacketBuilder Session::builder(Direction dir) {
  const bool up = dir == Direction::kToServer;
  LinkSpec link = spec_.link;
  link.src_mac = up ? spec_.client_mac : spec_.server_mac;
  link.dst_mac = up ? spec_.server_mac : spec_.client_mac;
  // Captured on the client: its packets are outgoing (4), the server's are to us (0).
  if (link.layer == LinkLayer::kLinuxSll || link.layer == LinkLayer::kLinuxSll2) {
    link.sll_packet_type = up ? 4 : 0;
  }
  PacketBuilder b;
  b.link(std::move(link));
  const IpAddress& src = up ? spec_.client : spec_.server;
  const IpAddress& dst = up ? spec_.server : spec_.client;
  const uint8_t ttl = up ? spec_.client_ttl : spec_.server_ttl;
  if (src.isV6()) {
    Ipv6Spec ip;
    ip.src = src;
    ip.dst = dst;
    ip.hop_limit = ttl;
    ip.ext_headers = spec_.ipv6_ext_headers;
    b.ipv6(std::move(ip));
  } else {
    Ipv4Spec ip;
    ip.src = src;
    ip.dst = dst;
    ip.ttl = ttl;
    ip.id = ip_id_[up ? 0 : 1]++;
    ip.dont_fragment = spec_.dont_fragment;
    b.ipv4(std::move(ip));
  }
  return b;
}

void Session::queue(Direction dir, int64_t ts_ns, Frame frame, uint64_t payload_bytes) {
  pending_.push_back({ts_ns, dir, std::move(frame), payload_bytes});
}

void Session::flush() {
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const Pending& x, const Pending& y) { return x.ts_ns < y.ts_ns; });
  for (const Pending& p : pending_) {
    conv_.count(p.dir, p.ts_ns, p.frame.bytes.size(), p.payload_bytes);
    sink_.append(p.ts_ns, p.frame.bytes, static_cast<uint32_t>(p.frame.bytes.size()));
    now_ns_ = std::max(now_ns_, p.ts_ns);
  }
  pending_.clear();
}

void Session::emitFrame(Direction dir, const Frame& frame, uint64_t payload_bytes) {
  queue(dir, now_ns_, frame, payload_bytes);
  flush();
}

// ---------------------------------------------------------------- TcpSession

namespace {

constexpr size_t kTlsRecordHeader = 5;
constexpr size_t kTlsMaxRecordBody = 16401;  // 2^14 plus a typical AEAD overhead

}  // namespace

TcpSession::TcpSession(PacketSink& sink, FlowSpec spec, TcpSessionOptions options)
    : Session(sink, std::move(spec), kIpProtoTcp), options_(options) {
  if (options_.mss == 0) options_.mss = this->spec().client.isV6() ? 1440 : 1460;
  Side& c = side(Direction::kToServer);
  Side& s = side(Direction::kToClient);
  c.isn = c.next_seq = options_.client_isn;
  s.isn = s.next_seq = options_.server_isn;
  c.ts_base = options_.client_isn ^ 0x5a5a5a5au;
  s.ts_base = options_.server_isn ^ 0x3c3c3c3cu;
}

size_t TcpSession::maxSegmentPayload() const {
  return options_.mss - (options_.timestamps ? 12u : 0u);
}

Bytes TcpSession::makePayload(Direction dir, size_t bytes) {
  Side& s = side(dir);
  const uint32_t seed = dir == Direction::kToServer ? 1 : 2;
  Bytes out;
  if (options_.payload == PayloadStyle::kTls && bytes >= kTlsRecordHeader + 1) {
    out.reserve(bytes);
    size_t remaining = bytes;
    while (remaining > 0) {
      size_t body = remaining - kTlsRecordHeader;
      if (body > kTlsMaxRecordBody) {
        body = kTlsMaxRecordBody;
        const size_t rest = remaining - kTlsRecordHeader - body;
        if (rest > 0 && rest < kTlsRecordHeader + 1) body -= kTlsRecordHeader + 1;
      }
      out.push_back(23);  // application_data
      out.push_back(3);
      out.push_back(3);
      out.push_back(static_cast<uint8_t>(body >> 8));
      out.push_back(static_cast<uint8_t>(body));
      const Bytes fill = patternPayload(body, seed, s.stream_offset + out.size());
      out.insert(out.end(), fill.begin(), fill.end());
      remaining -= kTlsRecordHeader + body;
    }
  } else {
    out = patternPayload(bytes, seed, s.stream_offset);
  }
  s.stream_offset += bytes;
  return out;
}

void TcpSession::queueSegment(Direction dir, int64_t ts_ns, uint8_t flags, uint32_t seq,
                              Bytes payload) {
  Side& me = side(dir);
  const Side& peer = side(reverse(dir));
  const bool up = dir == Direction::kToServer;
  const bool syn = (flags & kTcpSyn) != 0;
  const bool rst = (flags & kTcpRst) != 0;

  TcpSpec t;
  t.src_port = up ? spec().client_port : spec().server_port;
  t.dst_port = up ? spec().server_port : spec().client_port;
  t.seq = seq;
  t.ack = (flags & kTcpAck) != 0 ? peer.next_seq : 0;
  t.flags = flags;
  if (syn) {
    t.window = up ? 64240 : 65160;
  } else if (rst) {
    t.window = 0;
  } else {
    t.window = up ? 502 : 509;  // scaled by 2^window_shift
  }
  const auto tsval = static_cast<uint32_t>(
      me.ts_base + static_cast<uint64_t>((ts_ns - spec().start_ns) / kNsPerMs));
  if (syn) {
    if (options_.timestamps) {
      t.options =
          tcpSynOptions(options_.mss, options_.window_shift, tsval, up ? 0 : peer.last_tsval);
    } else {
      t.options = tcpOptionMss(options_.mss);
      for (const Bytes& part : {tcpOptionNop(), tcpOptionWindowScale(options_.window_shift),
                                tcpOptionNop(), tcpOptionNop(), tcpOptionSackPermitted()}) {
        t.options.insert(t.options.end(), part.begin(), part.end());
      }
    }
  } else if (options_.timestamps && !rst) {
    t.options = tcpTimestampOptions(tsval, peer.last_tsval);
  }
  if (!rst) me.last_tsval = tsval;
  if (syn) me.sent_syn = true;
  if (syn || (flags & kTcpFin) != 0 || !payload.empty()) {
    me.last_seq = seq;
    me.last_flags = flags;
    me.last_payload = payload;
  }
  const size_t payload_size = payload.size();
  Frame f = builder(dir).tcp(std::move(t)).payload(std::move(payload)).build();
  queue(dir, ts_ns, std::move(f), payload_size);
}

void TcpSession::segment(Direction dir, uint8_t flags, size_t payload_bytes) {
  Side& me = side(dir);
  uint32_t seq = me.next_seq;
  if ((flags & kTcpRst) != 0 && !me.sent_syn) seq = 0;  // RST answering a SYN
  queueSegment(dir, now(), flags, seq, makePayload(dir, payload_bytes));
  me.next_seq += static_cast<uint32_t>(payload_bytes) + ((flags & kTcpSyn) ? 1u : 0u) +
                 ((flags & kTcpFin) ? 1u : 0u);
  flush();
}

void TcpSession::handshake(bool syn_captured, bool ack_captured) {
  const int64_t t0 = now();
  Side& c = side(Direction::kToServer);
  Side& s = side(Direction::kToClient);
  if (syn_captured) {
    queueSegment(Direction::kToServer, t0, kTcpSyn, c.next_seq, {});
  } else {
    c.sent_syn = true;
    c.last_tsval = c.ts_base;  // the SYN/ACK echoes the lost SYN's timestamp
  }
  c.next_seq += 1;
  queueSegment(Direction::kToClient, t0 + spec().rtt_ns, kTcpSyn | kTcpAck, s.next_seq, {});
  s.next_seq += 1;
  if (ack_captured) {
    queueSegment(Direction::kToServer, t0 + spec().rtt_ns + spec().ack_delay_ns, kTcpAck,
                 c.next_seq, {});
  }
  flush();
}

void TcpSession::joinMidStream() {
  for (Side& side : sides_) {
    side.sent_syn = true;
    side.next_seq += 1;
    side.last_tsval = side.ts_base;
  }
}

void TcpSession::send(Direction dir, size_t bytes, int64_t segment_gap_ns) {
  if (bytes == 0) return;
  const int64_t gap = segment_gap_ns < 0 ? options_.segment_gap_ns : segment_gap_ns;
  const size_t max_payload = maxSegmentPayload();
  const Direction back = reverse(dir);
  const Bytes message = makePayload(dir, bytes);
  Side& me = side(dir);
  int64_t t = now();
  int unacked = 0;
  for (size_t off = 0; off < bytes; off += max_payload) {
    const size_t n = std::min(max_payload, bytes - off);
    const bool last = off + n == bytes;
    const auto first = message.begin() + static_cast<std::ptrdiff_t>(off);
    queueSegment(dir, t, static_cast<uint8_t>(kTcpAck | (last ? kTcpPsh : 0)), me.next_seq,
                 Bytes(first, first + static_cast<std::ptrdiff_t>(n)));
    me.next_seq += static_cast<uint32_t>(n);
    if (++unacked >= options_.ack_every || last) {
      queueSegment(back, t + spec().ack_delay_ns, kTcpAck, side(back).next_seq, {});
      unacked = 0;
    }
    t += gap;
  }
  flush();
}

void TcpSession::exchange(size_t request_bytes, size_t response_bytes, int64_t server_time_ns) {
  send(Direction::kToServer, request_bytes);
  wait(server_time_ns < 0 ? spec().rtt_ns : server_time_ns);
  send(Direction::kToClient, response_bytes);
}

void TcpSession::retransmit(Direction dir) {
  const Side& me = side(dir);
  queueSegment(dir, now(), me.last_flags, me.last_seq, me.last_payload);
  flush();
}

void TcpSession::closeFin(Direction first) {
  const Direction second = reverse(first);
  const int64_t t0 = now();
  const uint8_t fin_ack = kTcpFin | kTcpAck;
  queueSegment(first, t0, fin_ack, side(first).next_seq, {});
  side(first).next_seq += 1;
  const int64_t t1 = t0 + spec().rtt_ns / 2;
  queueSegment(second, t1, fin_ack, side(second).next_seq, {});
  side(second).next_seq += 1;
  queueSegment(first, t1 + spec().ack_delay_ns, kTcpAck, side(first).next_seq, {});
  flush();
}

void TcpSession::closeSimultaneous(Direction first, bool lose_last_ack) {
  const Direction second = reverse(first);
  const int64_t t0 = now();
  const int64_t t1 = t0 + spec().rtt_ns / 4;
  const uint8_t fin_ack = kTcpFin | kTcpAck;
  // Both FINs go out before either side has seen the other's: each one's ACK
  // number is the peer's sequence number before its FIN.
  queueSegment(first, t0, fin_ack, side(first).next_seq, {});
  queueSegment(second, t1, fin_ack, side(second).next_seq, {});
  side(first).next_seq += 1;
  side(second).next_seq += 1;
  // Each FIN reaches the other side; the second FIN is seen here first.
  queueSegment(first, t1 + spec().ack_delay_ns, kTcpAck, side(first).next_seq, {});
  if (!lose_last_ack) {
    queueSegment(second, t0 + spec().rtt_ns / 2 + spec().ack_delay_ns, kTcpAck,
                 side(second).next_seq, {});
  }
  flush();
}

void TcpSession::reset(Direction from, bool with_ack) {
  segment(from, static_cast<uint8_t>(kTcpRst | (with_ack ? kTcpAck : 0)));
}

void TcpSession::forgedReset(Direction from, uint32_t seq_offset) {
  queueSegment(from, now(), kTcpRst, side(from).next_seq + seq_offset, {});
  flush();
}

// ---------------------------------------------------------------- UdpSession

UdpSession::UdpSession(PacketSink& sink, FlowSpec spec)
    : Session(sink, std::move(spec), kIpProtoUdp) {}

void UdpSession::send(Direction dir, Bytes payload, size_t fragment_payload) {
  const bool up = dir == Direction::kToServer;
  const size_t payload_size = payload.size();
  PacketBuilder b = builder(dir);
  b.udp(up ? spec().client_port : spec().server_port, up ? spec().server_port : spec().client_port);
  b.payload(std::move(payload));
  if (fragment_payload == 0) {
    queue(dir, now(), b.build(), payload_size);
  } else {
    if (Ipv4Spec* ip = b.ipv4Spec()) ip->dont_fragment = false;
    const std::vector<Frame> fragments = fragmentPacket(b.build(), fragment_payload, fragment_id_++,
                                                        spec().ipv6_ext_headers_fragmentable);
    int64_t t = now();
    for (size_t i = 0; i < fragments.size(); ++i) {
      queue(dir, t, fragments[i], i == 0 ? payload_size : 0);
      t += 5 * kNsPerUs;
    }
  }
  flush();
}

void UdpSession::exchange(Bytes request, Bytes response, int64_t server_time_ns) {
  send(Direction::kToServer, std::move(request));
  if (response.empty()) return;
  wait(server_time_ns < 0 ? spec().rtt_ns : server_time_ns);
  send(Direction::kToClient, std::move(response));
}

void UdpSession::exchange(size_t request_bytes, size_t response_bytes, int64_t server_time_ns) {
  Bytes request = patternPayload(request_bytes, seed_++);
  Bytes response = response_bytes ? patternPayload(response_bytes, seed_++) : Bytes{};
  exchange(std::move(request), std::move(response), server_time_ns);
}

// ---------------------------------------------------------------- IcmpEchoSession

IcmpEchoSession::IcmpEchoSession(PacketSink& sink, FlowSpec spec, uint16_t id)
    : Session(sink, spec, spec.client.isV6() ? kIpProtoIcmpv6 : kIpProtoIcmp), id_(id) {}

void IcmpEchoSession::ping(size_t data_bytes, bool answered) {
  const bool v6 = spec().client.isV6();
  const Bytes data = patternPayload(data_bytes, seq_);
  const IcmpSpec request = v6 ? icmpv6Echo(false, id_, seq_) : icmpEcho(false, id_, seq_);
  queue(Direction::kToServer, now(),
        builder(Direction::kToServer).icmp(request).payload(data).build(), data_bytes);
  if (answered) {
    const IcmpSpec reply = v6 ? icmpv6Echo(true, id_, seq_) : icmpEcho(true, id_, seq_);
    queue(Direction::kToClient, now() + spec().rtt_ns,
          builder(Direction::kToClient).icmp(reply).payload(data).build(), data_bytes);
  }
  ++seq_;
  flush();
}

}  // namespace edgesense::testsupport
