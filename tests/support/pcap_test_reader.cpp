// libpcap reader and an independent little decoder for testsupport_test.

#include "pcap_test_reader.h"

#include <pcap/pcap.h>

#include <map>
#include <memory>
#include <tuple>

namespace edgesense::testsupport {

namespace {

uint16_t be16(const Bytes& d, size_t at) {
  return static_cast<uint16_t>((d[at] << 8) | d[at + 1]);
}

uint32_t be32(const Bytes& d, size_t at) {
  return (static_cast<uint32_t>(be16(d, at)) << 16) | be16(d, at + 2);
}

/// Folded one's-complement sum of big-endian 16-bit words over d[from, to).
uint32_t sum16(const Bytes& d, size_t from, size_t to, uint64_t acc = 0) {
  for (size_t i = from; i < to; i += 2) {
    acc += i + 1 < to ? be16(d, i) : static_cast<uint32_t>(d[i] << 8);
  }
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint32_t>(acc);
}

IpAddress addressAt(const Bytes& d, size_t at, bool v6) {
  if (!v6) return IpAddress::fromV4(be32(d, at));
  std::array<uint8_t, 16> b{};
  std::copy(d.begin() + static_cast<std::ptrdiff_t>(at),
            d.begin() + static_cast<std::ptrdiff_t>(at + 16), b.begin());
  return IpAddress::fromV6(b);
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

ReadResult readCapture(const std::string& path) {
  ReadResult result;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!pcap) {
    result.error = errbuf;
    return result;
  }
  result.opened = true;
  result.dlt = pcap_datalink(pcap.get());
  // libpcap turns LINKTYPE_RAW (101) into the platform DLT_RAW (12 on Linux).
  result.link_type = result.dlt == DLT_RAW ? 101 : result.dlt;
  result.snaplen = static_cast<uint32_t>(pcap_snapshot(pcap.get()));
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap.get(), &header, &data);
    if (rc == PCAP_ERROR_BREAK) break;
    if (rc != 1) {
      result.read_error = true;
      result.error = pcap_geterr(pcap.get());
      break;
    }
    ReadRecord r;
    r.ts_ns = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000'000 + header->ts.tv_usec;
    r.caplen = header->caplen;
    r.orig_len = header->len;
    r.data.assign(data, data + header->caplen);
    result.records.push_back(std::move(r));
  }
  return result;
}

DecodedPacket decodePacket(int link_type, const Bytes& d, uint32_t orig_len) {
  DecodedPacket p;
  size_t off = 0;
  int version = 0;
  auto fromEthertype = [](uint16_t type) { return type == 0x0800 ? 4 : (type == 0x86dd ? 6 : 0); };
  switch (link_type) {
    case 1: {
      if (d.size() < 14) return p;
      uint16_t type = be16(d, 12);
      off = 14;
      while (type == 0x8100 || type == 0x88a8) {
        if (d.size() < off + 4) return p;
        p.vlans.push_back(be16(d, off) & 0x0fff);
        type = be16(d, off + 2);
        off += 4;
      }
      version = fromEthertype(type);
      break;
    }
    case 113:
      if (d.size() < 16) return p;
      version = fromEthertype(be16(d, 14));
      off = 16;
      break;
    case 276:
      if (d.size() < 20) return p;
      version = fromEthertype(be16(d, 0));
      off = 20;
      break;
    case 101:
      if (d.empty()) return p;
      version = d[0] >> 4;
      break;
    case 0: {
      if (d.size() < 4) return p;
      const uint32_t af = d[0] | (d[1] << 8) | (d[2] << 16) | (static_cast<uint32_t>(d[3]) << 24);
      version = af == 2 ? 4 : ((af == 24 || af == 28 || af == 30) ? 6 : 0);
      off = 4;
      break;
    }
    default:
      return p;
  }
  if (version == 0 || d.size() <= off || (d[off] >> 4) != version) return p;

  size_t l4 = 0;
  size_t end = 0;  // end of the IP packet per its length fields
  uint64_t pseudo = 0;
  const bool v6 = version == 6;
  if (!v6) {
    const size_t ihl = static_cast<size_t>(d[off] & 0x0f) * 4;
    if (ihl < 20 || d.size() < off + ihl) return p;
    const size_t total = be16(d, off + 2);
    if (total < ihl) return p;
    p.src = addressAt(d, off + 12, false);
    p.dst = addressAt(d, off + 16, false);
    p.proto = d[off + 9];
    const uint16_t frag = be16(d, off + 6);
    p.fragment = (frag & 0x3fff) != 0;
    p.first_fragment = (frag & 0x1fff) == 0;
    p.fragment_id = be16(d, off + 4);
    if (sum16(d, off, off + ihl) != 0xffff) p.checksums_ok = false;
    l4 = off + ihl;
    end = off + total;
    pseudo = sum16(d, off + 12, off + 20) + p.proto + (total - ihl);
  } else {
    if (d.size() < off + 40) return p;
    p.src = addressAt(d, off + 8, true);
    p.dst = addressAt(d, off + 24, true);
    uint8_t next = d[off + 6];
    end = off + 40 + be16(d, off + 4);
    l4 = off + 40;
    while ((next == 0 || next == 43 || next == 60 || next == 44) && p.ext_headers < 64) {
      if (d.size() < l4 + 8) return p;
      ++p.ext_headers;
      if (next == 44) {
        p.fragment = true;
        p.first_fragment = (be16(d, l4 + 2) & 0xfff8) == 0;
        p.fragment_id = be32(d, l4 + 4);
        next = d[l4];
        l4 += 8;
        // A later fragment holds data only, whatever header the fragment
        // header names (the first of the fragmentable part, RFC 8200).
        if (!p.first_fragment) break;
      } else {
        next = d[l4];
        l4 += (static_cast<size_t>(d[l4 + 1]) + 1) * 8;
      }
    }
    p.proto = next;
    if (end < l4) return p;
    const uint64_t l4_len = end - l4;
    pseudo = sum16(d, off + 8, off + 40) + p.proto + (l4_len >> 16) + (l4_len & 0xffff);
  }

  p.ok = true;
  if (p.fragment && !p.first_fragment) return p;
  if (p.proto == 6 || p.proto == 17) {
    if (d.size() < l4 + 4) return p;
    p.src_port = be16(d, l4);
    p.dst_port = be16(d, l4 + 2);
  }
  if (p.proto == 6 && d.size() >= l4 + 13) {
    const size_t data_offset = static_cast<size_t>(d[l4 + 12] >> 4) * 4;
    if (end >= l4 + data_offset) p.payload_bytes = end - l4 - data_offset;
  } else if (p.proto == 17 && d.size() >= l4 + 6) {
    p.payload_bytes = be16(d, l4 + 4) >= 8 ? be16(d, l4 + 4) - 8u : 0u;
  } else if ((p.proto == 1 || p.proto == 58) && end >= l4 + 8) {
    p.payload_bytes = end - l4 - 8;
  }
  const size_t header = p.proto == 6 ? 20 : 8;  // TCP; UDP and ICMP
  if (p.fragment || d.size() != orig_len || end > d.size() || end < l4 + header) return p;
  p.checksums_checked = true;
  const bool pseudo_header = p.proto != 1;
  if (p.proto == 6 || p.proto == 17 || p.proto == 1 || p.proto == 58) {
    if (p.proto == 17 && be16(d, l4 + 6) == 0) return p;  // no UDP checksum
    if (sum16(d, l4, end, pseudo_header ? pseudo : 0) != 0xffff) p.checksums_ok = false;
  }
  return p;
}

Conversation measureConversation(int link_type, const std::vector<ReadRecord>& records,
                                 const Conversation& expected, bool by_time) {
  Conversation got;
  got.proto = expected.proto;
  got.a = expected.a;
  got.b = expected.b;
  got.a_port = expected.a_port;
  got.b_port = expected.b_port;
  got.vlans = expected.vlans;
  // First fragments of the conversation's protocol, by (source, destination, id): their
  // later fragments need not name the transport (IPv6 names the next header behind the
  // fragment header, which may be a destination options header).
  std::map<std::tuple<IpAddress, IpAddress, uint32_t>, std::pair<uint16_t, uint16_t>> datagrams;
  for (const ReadRecord& r : records) {
    const DecodedPacket p = decodePacket(link_type, r.data, r.orig_len);
    const bool later = p.fragment && !p.first_fragment;
    if (!p.ok || (!later && p.proto != expected.proto) || p.vlans != expected.vlans) continue;
    uint16_t sport = p.src_port;
    uint16_t dport = p.dst_port;
    const auto key = std::make_tuple(p.src, p.dst, p.fragment_id);
    if (p.fragment && p.first_fragment) datagrams[key] = {sport, dport};
    if (later) {
      const auto it = datagrams.find(key);
      if (it == datagrams.end()) continue;  // orphan, or another protocol's
      std::tie(sport, dport) = it->second;
    }
    if (by_time && (r.ts_ns < expected.first_ns || r.ts_ns > expected.last_ns)) continue;

    Direction dir;
    if (p.src == expected.a && p.dst == expected.b && sport == expected.a_port &&
        dport == expected.b_port) {
      dir = Direction::kToServer;
    } else if (p.src == expected.b && p.dst == expected.a && sport == expected.b_port &&
               dport == expected.a_port) {
      dir = Direction::kToClient;
    } else {
      continue;
    }
    got.count(dir, r.ts_ns, r.orig_len, p.payload_bytes);
  }
  return got;
}

}  // namespace edgesense::testsupport
