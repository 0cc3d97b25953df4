// `edgesense-pcapgen sample`: draws a small network's few minutes of traffic as flow
// plans, then plays them through the Interleaver into one time-ordered pcap.

#include "sample_capture.h"

#include <algorithm>
#include <array>
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
constexpr int64_t kSec = kNsPerSec;

const MacAddress kRouterMac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};

struct Host {
  IpAddress ip;
  MacAddress mac;
  uint16_t next_port;
};

int64_t ns(double seconds) {
  return static_cast<int64_t>(seconds * 1e9);
}

size_t clampSize(double v, double lo, double hi) {
  return static_cast<size_t>(std::clamp(v, lo, hi));
}

uint16_t ephemeralPort(Host& h) {
  const uint16_t port = h.next_port;
  h.next_port = h.next_port >= 60999 ? 32768 : static_cast<uint16_t>(h.next_port + 1);
  return port;
}

class SampleBuilder {
 public:
  SampleBuilder(const SampleOptions& options, Interleaver& mix)
      : options_(options), mix_(mix), rng_(options.seed) {
    for (int i = 0; i < 5; ++i) {
      clients_.push_back(makeHost(IpAddress::fromV4(0xc0a8010a + static_cast<uint32_t>(i)),
                                  static_cast<uint8_t>(0x10 + i)));
    }
    clients_.push_back(makeHost("2001:db8:1::20", 0x20));
    clients_.push_back(makeHost("2001:db8:1::21", 0x21));
    for (uint32_t i = 0; i < 8; ++i) web4_.push_back(IpAddress::fromV4(0xcb00710a + i));
    for (uint32_t i = 0; i < 4; ++i) web4_.push_back(IpAddress::fromV4(0xc6336432 + i));
    for (const char* a :
         {"2001:db8:ffff::10", "2001:db8:ffff::11", "2001:db8:ffff::12", "2001:db8:ffff::13"}) {
      web6_.emplace_back(a);
    }
  }

  void build() {
    for (size_t c = 0; c < clients_.size(); ++c) browsing(clients_[c], c);
    reels(clients_[2], 0);
    reels(clients_[3], 1);
    reels(clients_[6], 2);
    bulkDownload(clients_[1]);
    pings();
    portScan();
    unansweredSyns();
  }

 private:
  Host makeHost(const IpAddress& ip, uint8_t mac_tail) {
    return {ip,
            {0x02, 0x00, 0x5e, 0x10, 0x00, mac_tail},
            static_cast<uint16_t>(rng_.between(40000, 59000))};
  }

  int64_t at(double seconds) const { return options_.start_ns + ns(seconds); }
  double duration() const { return static_cast<double>(options_.duration_ns) / 1e9; }

  FlowSpec spec(Host& client, const IpAddress& server, uint16_t server_port, int64_t start, Rng& r,
                bool lan = false) {
    FlowSpec f;
    f.client = client.ip;
    f.server = server;
    f.client_port = ephemeralPort(client);
    f.server_port = server_port;
    f.client_mac = client.mac;
    f.server_mac = lan ? MacAddress{0x02, 0x00, 0x5e, 0x10, 0x00, 0x99} : kRouterMac;
    f.server_ttl = lan ? 64 : static_cast<uint8_t>(r.between(48, 58));
    f.start_ns = start;
    f.rtt_ns =
        lan ? 300 * kNsPerUs : static_cast<int64_t>(std::clamp(r.lognormal(25e6, 0.5), 4e6, 250e6));
    return f;
  }

  TcpSessionOptions tlsOptions(Rng& r, double rate_bytes_per_s) {
    TcpSessionOptions o;
    o.client_isn = static_cast<uint32_t>(r.next());
    o.server_isn = static_cast<uint32_t>(r.next());
    o.payload = PayloadStyle::kTls;
    o.segment_gap_ns = std::max<int64_t>(ns(1448.0 / rate_bytes_per_s), 2 * kNsPerUs);
    return o;
  }

  static TcpExchange tlsHandshake(Rng& r, int64_t rtt) {
    TcpExchange ex;
    ex.gap_before_ns = 1 * kMs;
    ex.request_bytes = static_cast<size_t>(r.between(517, 600));
    ex.server_time_ns = rtt + r.between(1, 5) * kMs;
    ex.response_bytes = static_cast<size_t>(r.between(2800, 5200));
    return ex;
  }

  void dns(Host& client, const std::string& name, int64_t start, Rng& r) {
    const bool v6 = client.ip.isV6();
    const IpAddress resolver = v6 ? IpAddress("2001:db8:1::1") : IpAddress("192.168.1.1");
    for (const uint16_t qtype : {kDnsTypeA, kDnsTypeAaaa}) {
      if (!v6 && qtype == kDnsTypeAaaa && r.chance(0.5)) continue;
      UdpPlan p;
      p.spec = spec(client, resolver, 53, start, r, true);
      p.spec.server_mac = kRouterMac;  // the resolver is the router
      const auto id = static_cast<uint16_t>(r.next());
      std::vector<IpAddress> answers;
      if (qtype == kDnsTypeA) {
        answers.push_back(web4_[r.below(web4_.size())]);
      } else {
        answers.push_back(web6_[r.below(web6_.size())]);
      }
      UdpTrain query;
      query.payload = dnsQuery(id, name, qtype);
      UdpTrain response;
      response.dir = Direction::kToClient;
      response.gap_before_ns = static_cast<int64_t>(std::clamp(r.lognormal(12e6, 0.8), 1e6, 2e8));
      response.payload = dnsResponse(id, name, qtype, answers);
      p.trains = {query, response};
      add(std::make_unique<UdpScript>(std::move(p), options_.snaplen));
      start += 200 * kNsPerUs;
    }
  }

  void browsing(Host& client, size_t index) {
    static const std::array<const char*, 8> kSites = {
        "www.example.com",  "news.example.org", "cdn.example.net",    "mail.example.com",
        "shop.example.org", "api.example.net",  "static.example.com", "docs.example.org"};
    Rng r = rng_.fork(100 + index);
    double t = index == 0 ? 0.0 : r.uniform() * 15.0;  // the capture opens with a lookup
    while (t < duration() - 10.0) {
      dns(client, kSites[r.below(kSites.size())], at(t), r);
      const double dns_time = 0.04;
      const auto connections = r.between(1, 4);
      for (int64_t j = 0; j < connections; ++j) {
        const std::vector<IpAddress>& pool = client.ip.isV6() ? web6_ : web4_;
        const int64_t start =
            at(t + dns_time + 0.002 + static_cast<double>(j) * r.uniform() * 0.08);
        TcpPlan p;
        p.spec = spec(client, pool[r.below(pool.size())], 443, start, r);
        p.options = tlsOptions(r, std::clamp(r.lognormal(2.5e6, 0.8), 2e5, 2e7));
        p.exchanges.push_back(tlsHandshake(r, p.spec.rtt_ns));
        const auto requests = 1 + static_cast<int>(std::min(r.exponential(3.0), 12.0));
        for (int k = 0; k < requests; ++k) {
          TcpExchange ex;
          ex.gap_before_ns = k == 0 ? 1 * kMs : ns(std::min(r.exponential(4.0), 30.0));
          ex.request_bytes = clampSize(r.lognormal(450, 0.5), 120, 1500);
          ex.server_time_ns = p.spec.rtt_ns + ns(std::clamp(r.lognormal(0.02, 0.7), 0.001, 0.5));
          ex.response_bytes = clampSize(r.lognormal(15000, 1.3), 300, 3e6);
          p.exchanges.push_back(ex);
        }
        const double close = r.uniform();
        p.close = close < 0.6    ? TcpClose::kFinByClient
                  : close < 0.75 ? TcpClose::kFinByServer
                  : close < 0.85 ? TcpClose::kRstByClient
                                 : TcpClose::kNone;
        p.close_gap_ns = ns(std::min(r.exponential(5.0), 60.0));
        add(std::make_unique<TcpScript>(std::move(p), options_.snaplen));
      }
      t += 2.0 + r.exponential(28.0);
    }
  }

  void reels(Host& client, uint64_t index) {
    Rng r = rng_.fork(200 + index);
    const IpAddress cdn =
        client.ip.isV6() ? IpAddress("2001:db8:ffff::80") : IpAddress("203.0.113.80");
    const double begin = 30.0 + r.uniform() * 60.0;
    const double end = std::min(duration(), begin + 120.0);  // a couple of minutes of scrolling
    TcpPlan p;
    p.spec = spec(client, cdn, 443, at(begin), r);
    p.options = tlsOptions(r, 5e6);
    p.exchanges.push_back(tlsHandshake(r, p.spec.rtt_ns));
    double t = begin + 0.5;
    bool first = true;
    while (t < end) {
      TcpExchange ex;
      const double wait = first ? 0.2 : 5.0 + r.uniform() * 35.0;
      first = false;
      ex.gap_before_ns = ns(wait);
      ex.request_bytes = static_cast<size_t>(r.between(300, 700));
      ex.server_time_ns = p.spec.rtt_ns + r.between(5, 40) * kMs;
      ex.response_bytes = static_cast<size_t>(r.between(1'000'000, 6'000'000));
      const double burst_seconds = 1.5 + r.uniform() * 3.0;
      const double segments = static_cast<double>(ex.response_bytes) / 1448.0;
      ex.response_gap_ns = ns(burst_seconds / segments);
      p.exchanges.push_back(ex);
      t += wait + burst_seconds;
    }
    p.close = TcpClose::kFinByClient;
    p.close_gap_ns = 2 * kSec;
    add(std::make_unique<TcpScript>(std::move(p), options_.snaplen));
  }

  void bulkDownload(Host& client) {
    Rng r = rng_.fork(300);
    TcpPlan p;
    p.spec = spec(client, "198.51.100.200", 443, at(20.0 + r.uniform() * 10.0), r);
    const double rate = 180e3 + r.uniform() * 70e3;
    p.options = tlsOptions(r, rate);
    p.exchanges.push_back(tlsHandshake(r, p.spec.rtt_ns));
    TcpExchange get;
    get.gap_before_ns = 2 * kMs;
    get.request_bytes = 420;
    get.server_time_ns = p.spec.rtt_ns + 15 * kMs;
    get.response_bytes = static_cast<size_t>(rate * (70.0 + r.uniform() * 20.0));
    p.exchanges.push_back(get);
    p.close = TcpClose::kFinByServer;
    p.close_gap_ns = 50 * kMs;
    add(std::make_unique<TcpScript>(std::move(p), options_.snaplen));
  }

  void pings() {
    Rng r = rng_.fork(400);
    PingPlan v4;
    v4.spec = spec(clients_[0], "198.51.100.1", 0, at(5.0), r);
    v4.id = 0x0b1d;
    v4.count = 60;
    add(std::make_unique<PingScript>(std::move(v4), options_.snaplen));
    PingPlan v6;
    v6.spec = spec(clients_[5], "2001:db8:ffff::1", 0, at(90.0), r);
    v6.id = 0x0b1e;
    v6.count = 30;
    add(std::make_unique<PingScript>(std::move(v6), options_.snaplen));
  }

  void portScan() {
    Rng r = rng_.fork(500);
    Host scanner = makeHost("192.168.1.66", 0x66);
    const IpAddress target("192.168.1.20");
    std::vector<uint16_t> ports = {21,  22,  23,  25,  53,  80,   110,  111,  135,  139,
                                   143, 443, 445, 993, 995, 1723, 3306, 3389, 5900, 8080};
    for (uint16_t p = 1; p <= 40; ++p) {
      if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
    }
    for (size_t i = ports.size() - 1; i > 0; --i) std::swap(ports[i], ports[r.below(i + 1)]);
    const uint16_t source_port = 61234;
    double t = 150.0;
    for (const uint16_t port : ports) {
      TcpPlan p;
      p.spec = spec(scanner, target, port, at(t), r, true);
      p.spec.client_port = source_port;
      p.options.client_isn = static_cast<uint32_t>(r.next());
      p.options.timestamps = false;
      const bool open = port == 22 || port == 80 || port == 443;
      p.opening = open ? TcpOpening::kProbeOpen : TcpOpening::kRefused;
      add(std::make_unique<TcpScript>(std::move(p), options_.snaplen));
      t += 0.0015;
    }
  }

  void unansweredSyns() {
    Rng r = rng_.fork(600);
    struct Target {
      size_t client;
      const char* server;
      uint16_t port;
      double at;
      int retries;
    };
    for (const Target& target :
         {Target{4, "203.0.113.99", 8443, 40.0, 3}, Target{5, "2001:db8:ffff::99", 443, 120.0, 2},
          Target{0, "198.51.100.77", 22, 200.0, 2}}) {
      TcpPlan p;
      p.spec = spec(clients_[target.client], target.server, target.port, at(target.at), r);
      p.options.client_isn = static_cast<uint32_t>(r.next());
      p.opening = TcpOpening::kUnanswered;
      p.syn_retries = target.retries;
      add(std::make_unique<TcpScript>(std::move(p), options_.snaplen));
    }
  }

  void add(std::unique_ptr<FlowScript> script) { mix_.add(std::move(script)); }

  const SampleOptions& options_;
  Interleaver& mix_;
  Rng rng_;
  std::vector<Host> clients_;
  std::vector<IpAddress> web4_;
  std::vector<IpAddress> web6_;
};

}  // namespace

CaptureSummary summarize(const CountingSink& counter, const PcapWriter& writer, uint64_t flows) {
  CaptureSummary s;
  s.packets = counter.packets();
  s.flows = flows;
  s.wire_bytes = counter.wireBytes();
  s.file_bytes = writer.bytesWritten();
  s.first_ns = counter.firstNs();
  s.last_ns = counter.lastNs();
  return s;
}

CaptureSummary writeSampleCapture(const std::filesystem::path& path, const SampleOptions& options) {
  PcapWriterOptions writer_options;
  writer_options.snaplen = options.snaplen;
  PcapWriter writer(path, writer_options);
  CountingSink counter(writer);
  Interleaver mix(counter);
  SampleBuilder(options, mix).build();
  mix.run();
  writer.close();

  return summarize(counter, writer, mix.flowsStarted());
}

}  // namespace edgesense::testsupport
