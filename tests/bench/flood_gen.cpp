// edgesense-flood-gen: a real capture with a spoofed-source SYN flood spread
// evenly through its time span, for scripts/bench-flood.
//
//   edgesense-flood-gen --packets N --out MIXED.pcap [--target IP:PORT]
//                       [--sources NET] CAPTURE
//
// The flood is N TCP SYNs, each from its own source: addresses of one /15,
// by default 198.18.0.0/15 (RFC 2544's benchmarking range; --sources names
// another where a capture uses that one), which the capture must not use
// (checked), and ports 1024-33791, every (address, port) pair at most
// once, so each SYN is a flow of one packet. They go to one target (default:
// the destination of the capture's first SYN, as a flood aims at a real
// server). Their times are spread evenly over the capture's first to last
// packet and merged with its packets in time order. Ethernet captures only.
// Frames are patched from one template, so 10M packets take seconds.

#include <pcap/pcap.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "packet_builder.h"
#include "pcap_writer.h"

namespace ts = edgesense::testsupport;

namespace {

constexpr std::uint32_t kFloodMask = 0xfffe0000u;  // a /15

struct Pcap {
  pcap_t* p = nullptr;
  explicit Pcap(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE] = {};
    p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, err);
    if (p == nullptr) throw std::runtime_error(path + ": " + err);
  }
  ~Pcap() {
    if (p != nullptr) pcap_close(p);
  }
  Pcap(const Pcap&) = delete;
  Pcap& operator=(const Pcap&) = delete;
};

std::int64_t micros(const pcap_pkthdr& h) {
  return static_cast<std::int64_t>(h.ts.tv_sec) * 1'000'000 + h.ts.tv_usec;
}

std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

/// The IPv4 header of an Ethernet frame (up to two VLAN tags), or nullptr.
const std::uint8_t* ipv4Header(const std::uint8_t* d, std::uint32_t len) {
  std::uint32_t off = 12;
  for (int tags = 0; tags < 3 && off + 2 <= len; ++tags) {
    const std::uint16_t type = be16(d + off);
    if (type == 0x8100 || type == 0x88a8) {
      off += 4;
      continue;
    }
    if (type != 0x0800 || off + 2 + 20 > len) return nullptr;
    return d + off + 2;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A capture with a spoofed-source SYN flood spread through it"};
  std::string capture, out, target, sources = "198.18.0.0";
  std::uint64_t packets = 10'000'000;
  app.add_option("capture", capture, "The real capture (Ethernet)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--out", out, "The mixed capture to write")->required();
  app.add_option("--packets", packets, "Flood SYNs")->check(CLI::Range(1ull, 1ull << 32));
  app.add_option("--target", target,
                 "IP:PORT the SYNs go to (default: the capture's first SYN's destination)");
  app.add_option("--sources", sources,
                 "The /15 network the SYNs come from, as its first address (default 198.18.0.0)");
  CLI11_PARSE(app, argc, argv);

  try {
    const ts::IpAddress net = ts::IpAddress::parse(sources);
    if (net.isV6()) throw std::runtime_error("--sources: expected an IPv4 address");
    const std::uint32_t flood_net = be32(net.bytes().data());
    if ((flood_net & ~kFloodMask) != 0)
      throw std::runtime_error("--sources: " + sources + " is not the first address of a /15");
    // Pass 1: time span, snap length, the flood range unused, a target.
    std::int64_t first = -1, last = -1;
    std::uint64_t records = 0;
    std::uint32_t snaplen = 0;
    std::uint32_t target_ip = 0;
    std::uint16_t target_port = 0;
    {
      Pcap in(capture);
      if (pcap_datalink(in.p) != DLT_EN10MB)
        throw std::runtime_error(capture + ": not an Ethernet capture");
      snaplen = static_cast<std::uint32_t>(pcap_snapshot(in.p));
      pcap_pkthdr* h = nullptr;
      const std::uint8_t* d = nullptr;
      int rc = 0;
      while ((rc = pcap_next_ex(in.p, &h, &d)) == 1) {
        const std::int64_t t = micros(*h);
        if (first < 0) first = t;
        last = std::max(last, t);
        ++records;
        const std::uint8_t* ip = ipv4Header(d, h->caplen);
        if (ip == nullptr) continue;
        const std::uint32_t src = be32(ip + 12), dst = be32(ip + 16);
        if ((src & kFloodMask) == flood_net || (dst & kFloodMask) == flood_net) {
          throw std::runtime_error(capture + " uses " + sources +
                                   "/15, the flood's sources: pick another with --sources");
        }
        const std::uint32_t ihl = (ip[0] & 15u) * 4;
        if (target_ip == 0 && ip[9] == 6 && ip + ihl + 14 <= d + h->caplen &&
            (ip[ihl + 13] & 0x12) == 0x02) {
          target_ip = dst;
          target_port = be16(ip + ihl + 2);
        }
      }
      if (rc == -1) throw std::runtime_error(capture + ": " + pcap_geterr(in.p));
      if (records == 0) throw std::runtime_error(capture + ": no packets");
    }
    if (!target.empty()) {
      const auto colon = target.rfind(':');
      if (colon == std::string::npos) throw std::runtime_error("--target: expected IP:PORT");
      const ts::IpAddress a = ts::IpAddress::parse(target.substr(0, colon));
      std::array<std::uint8_t, 4> b{};
      std::memcpy(b.data(), a.bytes().data(), 4);
      target_ip = be32(b.data());
      target_port = static_cast<std::uint16_t>(std::stoul(target.substr(colon + 1)));
    } else if (target_ip == 0) {
      target_ip = 0xc000020au;  // 192.0.2.10:80, when the capture has no SYN
      target_port = 80;
    }

    // The template SYN; each flood packet patches address, port, sequence
    // number and both checksums.
    ts::PacketBuilder b;
    b.ethernet();
    b.ipv4({.src = ts::IpAddress::fromV4(flood_net), .dst = ts::IpAddress::fromV4(target_ip)});
    b.tcp({.src_port = 1024,
           .dst_port = target_port,
           .seq = 0,
           .flags = ts::kTcpSyn,
           .window = 64240});
    ts::Frame syn = b.build();
    std::uint8_t* ip = syn.bytes.data() + syn.l3_offset;
    std::uint8_t* tcp = syn.bytes.data() + syn.l4_offset;
    const std::size_t tcp_len = syn.bytes.size() - syn.l4_offset;

    ts::PcapWriter w(out, ts::PcapWriterOptions{.snaplen = std::max<std::uint32_t>(snaplen, 128)});
    Pcap in(capture);
    const std::int64_t span = last - first;
    std::uint64_t i = 0;
    auto flood_time = [&](std::uint64_t k) {
      // Evenly through [first, last]: the middle of the k-th of N slices.
      return first + static_cast<std::int64_t>(static_cast<long double>(span) *
                                               static_cast<long double>(2 * k + 1) /
                                               (2.0L * static_cast<long double>(packets)));
    };
    auto write_syn = [&](std::uint64_t k) {
      // An odd multiplier permutes 32-bit numbers: every (address, port) once.
      const std::uint32_t x = static_cast<std::uint32_t>(k) * 2654435761u;
      put32(ip + 12, flood_net | (x & 0x1ffffu));
      put16(ip + 4, static_cast<std::uint16_t>(x));  // IP id
      put16(ip + 10, 0);
      put16(ip + 10, ts::internetChecksum({ip, 20}));
      put16(tcp, static_cast<std::uint16_t>(1024 + (x >> 17)));
      put32(tcp + 4, x ^ 0x5bd1e995u);
      put16(tcp + 16, 0);
      std::array<std::uint8_t, 12> pseudo{};
      std::memcpy(pseudo.data(), ip + 12, 8);
      pseudo[9] = 6;
      put16(pseudo.data() + 10, static_cast<std::uint16_t>(tcp_len));
      put16(tcp + 16, ts::internetChecksum({tcp, tcp_len}, ts::onesComplementSum(pseudo)));
      w.appendUs(flood_time(k), syn.bytes);
    };
    pcap_pkthdr* h = nullptr;
    const std::uint8_t* d = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(in.p, &h, &d)) == 1) {
      const std::int64_t t = micros(*h);
      while (i < packets && flood_time(i) < t) write_syn(i++);
      w.appendUs(t, {d, h->caplen}, h->len);
    }
    if (rc == -1) throw std::runtime_error(capture + ": " + pcap_geterr(in.p));
    while (i < packets) write_syn(i++);
    w.close();
    std::printf("%llu capture packets, %llu flood SYNs to %u.%u.%u.%u:%u over %.3f s\n",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(packets),
                target_ip >> 24, (target_ip >> 16) & 255, (target_ip >> 8) & 255, target_ip & 255,
                target_port, static_cast<double>(span) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgesense-flood-gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
