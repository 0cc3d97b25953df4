// `edgesense-pcapgen bench`: draws many flows with heavy-tailed sizes, scales their
// volumes so the packet total meets the target, then interleaves them in time.

#include "bench_capture.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app_payload.h"
#include "flow_scripts.h"
#include "pcap_writer.h"
#include "rng.h"

namespace edgesense::testsupport {

namespace {

constexpr int64_t kMs = kNsPerMs;
constexpr uint32_t kClients = 4096;
constexpr uint32_t kServers = 1024;
constexpr double kTargetPacketsPerSecond = 30000.0;
constexpr uint16_t kQuicInitial = 1252;   // padded client and server Initial packets
constexpr uint16_t kQuicDatagram = 1350;  // data packets, as Chrome sends them
constexpr uint16_t kRtpDatagram = 172;
constexpr int64_t kRtpSpacing = 20 * kMs;
const MacAddress kRouterMac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};

enum class Kind { kTcp, kTcpRefused, kTcpUnanswered, kDns, kQuic, kRtp };

struct DrawnExchange {
  int64_t think_ns;
  uint32_t request_bytes;  // fixed part
  double weight;           // share of the flow's scaled volume
};

/// A flow before its volume is scaled to meet the packet target.
struct DrawnFlow {
  Kind kind = Kind::kTcp;
  int64_t start_ns = 0;
  uint32_t client = 0;
  uint32_t server = 0;
  bool v6 = false;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  int64_t rtt_ns = 0;
  double rate = 0;    // bytes per second of bulk transfers
  double volume = 0;  // TCP/QUIC bytes, RTP seconds (scaled)
  bool timestamps = true;
  bool upload = false;  // the volume goes client -> server
  bool answered = true;
  TcpClose close = TcpClose::kFinByClient;
  int64_t close_gap_ns = 0;
  uint32_t isn[2] = {0, 0};
  uint8_t server_ttl = 56;
  std::vector<DrawnExchange> exchanges;
};

uint64_t ceilDiv(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

size_t scaled(double volume, double weight, double scale) {
  return static_cast<size_t>(std::max(1.0, std::round(volume * weight * scale)));
}

size_t segmentPayload(const DrawnFlow& f) {
  return (f.v6 ? 1440u : 1460u) - (f.timestamps ? 12u : 0u);
}

uint64_t transferPackets(size_t bytes, size_t per_segment) {
  if (bytes == 0) return 0;
  const uint64_t segments = ceilDiv(bytes, per_segment);
  return segments + ceilDiv(segments, 2);
}

uint32_t quicCount(const DrawnFlow& f, double scale) {
  return static_cast<uint32_t>(ceilDiv(scaled(f.volume, 1.0, scale), kQuicDatagram));
}

uint32_t rtpCount(const DrawnFlow& f, double scale) {
  return static_cast<uint32_t>(std::max(10.0, std::round(f.volume * scale * 50.0)));
}

/// Packets the flow will produce at volume scale `scale` (matches the scripts).
uint64_t packetsAt(const DrawnFlow& f, double scale) {
  switch (f.kind) {
    case Kind::kTcpRefused:
      return 2;
    case Kind::kTcpUnanswered:
      return 3;
    case Kind::kDns:
      return f.answered ? 2 : 1;
    case Kind::kQuic: {
      const uint64_t n = quicCount(f, scale);
      return 5 + n + n / 2 + 1;
    }
    case Kind::kRtp:
      return 2ull * rtpCount(f, scale);
    case Kind::kTcp:
      break;
  }
  const size_t per = segmentPayload(f);
  uint64_t n = 3;
  for (const DrawnExchange& ex : f.exchanges) {
    const size_t bulk = scaled(f.volume, ex.weight, scale);
    n += transferPackets(f.upload ? bulk : ex.request_bytes, per);
    n += transferPackets(f.upload ? ex.request_bytes : bulk, per);
  }
  if (f.close == TcpClose::kFinByClient || f.close == TcpClose::kFinByServer) n += 3;
  if (f.close == TcpClose::kRstByClient || f.close == TcpClose::kRstByServer) n += 1;
  return n;
}

IpAddress clientAddress(uint32_t i, bool v6) {
  if (v6) {
    std::array<uint8_t, 16> b = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c};
    b[14] = static_cast<uint8_t>(i >> 8);
    b[15] = static_cast<uint8_t>(i);
    return IpAddress::fromV6(b);
  }
  return IpAddress::fromV4(0x0a000000u + ((i / 250) << 8) + i % 250 + 1);
}

IpAddress serverAddress(uint32_t j, bool v6) {
  if (v6) {
    std::array<uint8_t, 16> b = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e};
    b[14] = static_cast<uint8_t>(j >> 8);
    b[15] = static_cast<uint8_t>(j);
    return IpAddress::fromV6(b);
  }
  return IpAddress::fromV4(0xc6120000u + ((j / 250) << 8) + j % 250 + 1);  // 198.18.0.0/15
}

class BenchDraw {
 public:
  explicit BenchDraw(const BenchOptions& options) : options_(options), rng_(options.seed) {
    next_port_.resize(kClients);
    for (uint16_t& p : next_port_) p = static_cast<uint16_t>(rng_.between(32768, 60999));
  }

  std::vector<DrawnFlow> draw() {
    const double duration =
        std::max(10.0, static_cast<double>(options_.packets) / kTargetPacketsPerSecond);
    const double mean_gap = duration / static_cast<double>(std::max<uint64_t>(options_.flows, 1));
    std::vector<DrawnFlow> flows(options_.flows);
    double t = 0;
    for (DrawnFlow& f : flows) {
      t += rng_.exponential(mean_gap);
      f.start_ns = options_.start_ns + static_cast<int64_t>(t * 1e9);
      drawOne(f);
    }
    return flows;
  }

 private:
  void drawOne(DrawnFlow& f) {
    Rng& r = rng_;
    f.client = static_cast<uint32_t>(r.below(kClients));
    // A few busy servers and a long tail of quiet ones.
    f.server = static_cast<uint32_t>(std::min<double>(r.pareto(1.0, 0.8) - 1.0, kServers - 1));
    f.v6 = r.chance(0.15);
    uint16_t& port = next_port_[f.client];
    f.client_port = port;
    port = port >= 60999 ? 32768 : static_cast<uint16_t>(port + 1);
    f.rtt_ns = static_cast<int64_t>(std::clamp(r.lognormal(25e6, 0.8), 5e5, 4e8));
    f.server_ttl = static_cast<uint8_t>(r.between(40, 60));
    f.isn[0] = static_cast<uint32_t>(r.next());
    f.isn[1] = static_cast<uint32_t>(r.next());

    const double kind = r.uniform();
    if (kind < 0.74) {
      f.kind = Kind::kTcp;
    } else if (kind < 0.75) {
      f.kind = Kind::kTcpRefused;
    } else if (kind < 0.76) {
      f.kind = Kind::kTcpUnanswered;
    } else if (kind < 0.91) {
      f.kind = Kind::kDns;
    } else if (kind < 0.99) {
      f.kind = Kind::kQuic;
    } else {
      f.kind = Kind::kRtp;
    }

    switch (f.kind) {
      case Kind::kTcp:
      case Kind::kTcpRefused:
      case Kind::kTcpUnanswered: {
        const double p = r.uniform();
        f.server_port = p < 0.7 ? 443 : p < 0.9 ? 80 : p < 0.95 ? 8080 : p < 0.98 ? 993 : 22;
        f.timestamps = r.chance(0.7);
        f.rate = std::clamp(r.lognormal(1.5e6, 1.0), 5e4, 6e7);
        // Mice: lognormal around a few KB; elephants: Pareto tail.
        f.volume = r.chance(0.75) ? std::clamp(r.lognormal(1e4, 1.3), 200.0, 5e6)
                                  : std::min(r.pareto(6e4, 1.1), 5e8);
        f.upload = r.chance(0.05);
        const auto n = 1 + static_cast<int>(std::min(r.exponential(1.5), 30.0));
        double total_weight = 0;
        for (int i = 0; i < n; ++i) {
          DrawnExchange ex;
          ex.think_ns =
              i == 0 ? 1 * kMs : static_cast<int64_t>(std::min(r.exponential(1.0), 10.0) * 1e9);
          ex.request_bytes = static_cast<uint32_t>(std::clamp(r.lognormal(400, 0.7), 40.0, 8000.0));
          ex.weight = 0.2 + r.uniform();
          total_weight += ex.weight;
          f.exchanges.push_back(ex);
        }
        for (DrawnExchange& ex : f.exchanges) ex.weight /= total_weight;
        const double c = r.uniform();
        f.close = c < 0.55   ? TcpClose::kFinByClient
                  : c < 0.8  ? TcpClose::kFinByServer
                  : c < 0.88 ? TcpClose::kRstByClient
                  : c < 0.92 ? TcpClose::kRstByServer
                             : TcpClose::kNone;
        f.close_gap_ns = static_cast<int64_t>(std::min(r.exponential(0.5), 15.0) * 1e9);
        break;
      }
      case Kind::kDns:
        f.server_port = 53;
        f.answered = r.chance(0.97);
        break;
      case Kind::kQuic:
        f.server_port = 443;
        f.rate = std::clamp(r.lognormal(2e6, 0.9), 1e5, 5e7);
        f.volume = r.chance(0.85) ? std::clamp(r.lognormal(2e4, 1.2), 2e3, 5e6)
                                  : std::min(r.pareto(2e5, 1.2), 2e8);
        break;
      case Kind::kRtp:
        f.server_port = static_cast<uint16_t>(20000 + 2 * r.below(500));
        f.volume = std::clamp(r.lognormal(2.0, 1.0), 0.5, 60.0);  // seconds
        break;
    }
  }

  const BenchOptions& options_;
  Rng rng_;
  std::vector<uint16_t> next_port_;
};

FlowSpec flowSpec(const DrawnFlow& f) {
  FlowSpec s;
  s.client = clientAddress(f.client, f.v6);
  s.server = serverAddress(f.server, f.v6);
  s.client_port = f.client_port;
  s.server_port = f.server_port;
  s.client_mac = {
      0x02, 0x00, 0x5e, 0x20, static_cast<uint8_t>(f.client >> 8), static_cast<uint8_t>(f.client)};
  s.server_mac = kRouterMac;
  s.server_ttl = f.server_ttl;
  s.start_ns = f.start_ns;
  s.rtt_ns = f.rtt_ns;
  return s;
}

std::unique_ptr<FlowScript> makeScript(const DrawnFlow& f, double scale, uint32_t snaplen) {
  if (f.kind == Kind::kTcp || f.kind == Kind::kTcpRefused || f.kind == Kind::kTcpUnanswered) {
    TcpPlan p;
    p.spec = flowSpec(f);
    p.options.timestamps = f.timestamps;
    p.options.client_isn = f.isn[0];
    p.options.server_isn = f.isn[1];
    const size_t per = segmentPayload(f);
    p.options.segment_gap_ns =
        std::max<int64_t>(static_cast<int64_t>(static_cast<double>(per) / f.rate * 1e9), 2000);
    p.opening = f.kind == Kind::kTcpRefused      ? TcpOpening::kRefused
                : f.kind == Kind::kTcpUnanswered ? TcpOpening::kUnanswered
                                                 : TcpOpening::kHandshake;
    p.syn_retries = 2;
    for (const DrawnExchange& d : f.exchanges) {
      TcpExchange ex;
      ex.gap_before_ns = d.think_ns;
      const size_t bulk = scaled(f.volume, d.weight, scale);
      ex.request_bytes = f.upload ? bulk : d.request_bytes;
      ex.response_bytes = f.upload ? d.request_bytes : bulk;
      ex.server_time_ns = f.rtt_ns + 2 * kMs;
      p.exchanges.push_back(ex);
    }
    p.close = f.close;
    p.close_gap_ns = f.close_gap_ns;
    return std::make_unique<TcpScript>(std::move(p), snaplen);
  }

  UdpPlan p;
  p.spec = flowSpec(f);
  if (f.kind == Kind::kDns) {
    // Real DNS messages, so DNS-aware decoders see no garbage on port 53.
    std::string name = "h";
    name.append(std::to_string(f.isn[0] % 50000)).append(".cdn");
    name.append(std::to_string(f.server % 97)).append(".example.net");
    const bool aaaa = f.isn[1] % 4 == 0;
    const uint16_t qtype = aaaa ? kDnsTypeAaaa : kDnsTypeA;
    const auto id = static_cast<uint16_t>(f.isn[0]);
    UdpTrain query;
    query.payload = dnsQuery(id, name, qtype);
    UdpTrain response;
    response.dir = Direction::kToClient;
    response.gap_before_ns = f.rtt_ns;
    response.payload = dnsResponse(id, name, qtype, {serverAddress(f.isn[1] % kServers, aaaa)});
    p.trains.push_back(query);
    if (f.answered) p.trains.push_back(response);
  } else if (f.kind == Kind::kQuic) {
    // Initial, server handshake flight, client handshake, data with client ACKs, close.
    const uint32_t n = quicCount(f, scale);
    const int64_t spacing =
        std::max<int64_t>(static_cast<int64_t>(kQuicDatagram / f.rate * 1e9), 4000);
    p.trains.push_back({0, Direction::kToServer, 1, kQuicInitial, 0, 0, 0, false, {}});
    p.trains.push_back({f.rtt_ns, Direction::kToClient, 3, kQuicInitial, 100'000, 0, 0, false, {}});
    p.trains.push_back({f.rtt_ns / 4, Direction::kToServer, 1, 90, 0, 0, 0, false, {}});
    p.trains.push_back(
        {f.rtt_ns, Direction::kToClient, n, kQuicDatagram, spacing, 2, 45, false, {}});
    p.trains.push_back({f.rtt_ns, Direction::kToServer, 1, 40, 0, 0, 0, false, {}});
  } else {
    p.trains.push_back(
        {0, Direction::kToServer, rtpCount(f, scale), kRtpDatagram, kRtpSpacing, 0, 0, true, {}});
  }
  return std::make_unique<UdpScript>(std::move(p), snaplen);
}

}  // namespace

CaptureSummary writeBenchCapture(const std::filesystem::path& path, const BenchOptions& options) {
  const std::vector<DrawnFlow> flows = BenchDraw(options).draw();

  // Scale volumes so the flows hold slightly more packets than asked for; the capture
  // then ends at exactly options.packets, mid-flow for the longest ones, as a real one does.
  const auto target = static_cast<double>(options.packets) * 1.02;
  auto total = [&flows](double scale) {
    double n = 0;
    for (const DrawnFlow& f : flows) n += static_cast<double>(packetsAt(f, scale));
    return n;
  };
  double lo = 1e-6;
  double hi = 1e6;
  for (int i = 0; i < 60; ++i) {
    const double mid = std::sqrt(lo * hi);
    (total(mid) < target ? lo : hi) = mid;
  }
  const double scale = hi;

  PcapWriterOptions writer_options;
  writer_options.snaplen = options.snaplen;
  writer_options.buffer_bytes = 8 << 20;
  PcapWriter writer(path, writer_options);
  CountingSink counter(writer);
  Interleaver mix(counter);
  for (const DrawnFlow& f : flows) mix.add(makeScript(f, scale, options.snaplen));
  mix.run(options.packets);
  writer.close();

  return summarize(counter, writer, mix.flowsStarted());
}

}  // namespace edgesense::testsupport
