// Attacks for the labelled capture: port scans and host sweeps, SYN and UDP floods, SSH
// brute force and slowloris. Each is one activity with its label rows, and draws its
// variant, rate and timing from its own fork of the seed.

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app_payload.h"
#include "flow_scripts.h"
#include "labelled_world.h"

namespace edgesense::testsupport::labelled {

namespace {

constexpr uint16_t kTopTcpPorts[] = {
    21,   22,   23,   25,   53,   80,   81,   88,   110,  111,  135,  139,  143,   389,
    443,  445,  465,  587,  993,  995,  1025, 1433, 1521, 1723, 2049, 3128, 3306,  3389,
    5060, 5432, 5900, 6379, 8000, 8008, 8080, 8443, 8888, 9000, 9090, 9200, 10000, 27017};
constexpr uint16_t kTopUdpPorts[] = {53,  67,   68,   69,   111,  123,  135,   137,
                                     138, 139,  161,  162,  445,  500,  514,   520,
                                     631, 1434, 1900, 4500, 5060, 5353, 11211, 49152};

/// `n` distinct ports: the well-known ones, then random ones, in a random order.
std::vector<uint16_t> scanPorts(Rng& r, size_t n, const uint16_t* top, size_t top_count,
                                int64_t max_port) {
  std::vector<uint16_t> ports(top, top + std::min(n, top_count));
  while (ports.size() < n) {
    const auto p = static_cast<uint16_t>(r.between(1, max_port));
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  for (size_t i = ports.size() - 1; i > 0; --i) std::swap(ports[i], ports[r.below(i + 1)]);
  return ports;
}

/// The ports a target answers on.
std::vector<uint16_t> openPorts(Rng& r) {
  std::vector<uint16_t> open;
  if (r.chance(0.6)) open.push_back(22);
  if (r.chance(0.5)) open.push_back(80);
  if (r.chance(0.6)) open.push_back(443);
  for (int64_t i = 0, n = r.between(0, 3); i < n; ++i) {
    open.push_back(kTopTcpPorts[r.below(std::size(kTopTcpPorts))]);
  }
  return open;
}

bool contains(const std::vector<uint16_t>& v, uint16_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Host attacker(World& w, Rng& r, double internal_share) {
  return r.chance(internal_share) ? w.internalHost(r) : w.externalHost(r);
}

/// Scan targets: our DMZ servers from outside; LAN clients or DMZ servers from inside.
std::vector<Host> scanTargets(World& w, Rng& r, const Host& from, size_t n) {
  std::vector<Host> all;
  for (const auto* pool : {&w.dmz_web, &w.dmz_ssh, &w.dmz_other}) {
    all.insert(all.end(), pool->begin(), pool->end());
  }
  if (from.local) all.insert(all.end(), w.lanClients().begin(), w.lanClients().end());
  for (size_t i = all.size() - 1; i > 0; --i) std::swap(all[i], all[r.below(i + 1)]);
  all.resize(std::min(n, all.size()));
  return all;
}

/// A start in [5 s, end - length - 5 s] of the capture.
double startFor(World& w, Rng& r, double length) {
  return 5.0 + r.uniform() * std::max(0.0, w.seconds() - length - 10.0);
}

TcpSessionOptions scannerOptions(Rng& r) {
  TcpSessionOptions o = tcpOptions(r, PayloadStyle::kPattern);
  o.timestamps = false;  // raw-socket probes carry an MSS, no timestamps
  return o;
}

// ---------------------------------------------------------------- scans

/// nmap -sS: one source port, many ports on one to three hosts; closed ports answer RST,
/// open ones SYN/ACK and the scanner resets; a firewalled host stays silent.
void synScan(World& w, Rng r) {
  Host scanner = attacker(w, r, 0.3);
  const std::vector<Host> targets =
      scanTargets(w, r, scanner, static_cast<size_t>(r.between(1, 3)));
  size_t ports_n = r.chance(0.4) ? 100 : static_cast<size_t>(r.between(200, 600));
  ports_n = std::min(ports_n, 600 / targets.size());
  const std::vector<uint16_t> ports =
      scanPorts(r, ports_n, kTopTcpPorts, std::size(kTopTcpPorts), 10000);
  const int64_t interval = ns(std::clamp(r.lognormal(0.002, 0.7), 0.0002, 0.025));
  const auto source_port = static_cast<uint16_t>(r.between(32768, 65000));
  std::vector<std::vector<uint16_t>> open;
  std::vector<bool> firewalled;
  for (size_t i = 0; i < targets.size(); ++i) {
    open.push_back(openPorts(r));
    firewalled.push_back(r.chance(0.2));
  }
  const double begin = startFor(
      w, r, static_cast<double>(interval * static_cast<int64_t>(ports_n * targets.size())) / 1e9);
  const size_t activity = w.activity();
  int64_t t = w.at(begin);
  for (const uint16_t port : ports) {
    for (size_t h = 0; h < targets.size(); ++h) {
      TcpProgram p;
      p.spec = w.spec(scanner, targets[h], port, t, r);
      p.spec.client_port = source_port;
      p.options = scannerOptions(r);
      p.add({.kind = TcpOpKind::kSyn});
      if (contains(open[h], port)) {
        p.add({.kind = TcpOpKind::kSynAck, .after_ns = p.spec.rtt_ns});
        p.add({.kind = TcpOpKind::kBareRst, .after_ns = r.between(30, 200) * kNsPerUs});
      } else if (firewalled[h] && r.chance(0.9)) {
        p.add({.kind = TcpOpKind::kRetransmit, .after_ns = ns(0.3 + 0.9 * r.uniform())});
      } else {
        p.add({.kind = TcpOpKind::kRst, .dir = Direction::kToClient, .after_ns = p.spec.rtt_ns});
      }
      w.add(std::move(p), activity);
      t += interval + r.between(0, 200) * kNsPerUs;
    }
  }
  for (const Host& target : targets) {
    w.label(activity, Category::kScan, scanner.ip.toString(), target.ip.toString(), -1,
            LabelProto::kTcp);
  }
}

/// nmap -sT: the OS's connect(), so a fresh source port per probe, a full handshake on
/// open ports and then a reset.
void connectScan(World& w, Rng r) {
  Host scanner = attacker(w, r, 0.4);
  const Host target = scanTargets(w, r, scanner, 1).front();
  const auto ports_n = static_cast<size_t>(r.between(100, 400));
  const std::vector<uint16_t> ports =
      scanPorts(r, ports_n, kTopTcpPorts, std::size(kTopTcpPorts), 10000);
  const std::vector<uint16_t> open = openPorts(r);
  const int64_t interval = ns(std::clamp(r.lognormal(0.006, 0.7), 0.0005, 0.06));
  const double begin =
      startFor(w, r, static_cast<double>(interval * static_cast<int64_t>(ports_n)) / 1e9);
  const size_t activity = w.activity();
  int64_t t = w.at(begin);
  for (const uint16_t port : ports) {
    TcpProgram p;
    p.spec = w.spec(scanner, target, port, t, r);
    p.options = tcpOptions(r, PayloadStyle::kPattern);
    if (contains(open, port)) {
      p.add({.kind = TcpOpKind::kHandshake});
      p.add({.kind = TcpOpKind::kRst, .after_ns = r.between(100, 1000) * kNsPerUs});
    } else {
      p.add({.kind = TcpOpKind::kSyn});
      p.add({.kind = TcpOpKind::kRst, .dir = Direction::kToClient, .after_ns = p.spec.rtt_ns});
    }
    w.add(std::move(p), activity);
    t += interval + r.between(0, 500) * kNsPerUs;
  }
  w.label(activity, Category::kScan, scanner.ip.toString(), target.ip.toString(), -1,
          LabelProto::kTcp);
}

/// nmap -sU: closed ports answer ICMP port unreachable (a flow of its own, from the
/// target), rate-limited on fast scans; a few services answer; the rest stay silent and
/// are probed again.
void udpScan(World& w, Rng r) {
  Host scanner = attacker(w, r, 0.4);
  const Host target = scanTargets(w, r, scanner, 1).front();
  const auto ports_n = static_cast<size_t>(r.between(20, 150));
  const std::vector<uint16_t> ports =
      scanPorts(r, ports_n, kTopUdpPorts, std::size(kTopUdpPorts), 49151);
  const bool fast = r.chance(0.5);
  const double answered = fast ? 0.1 + 0.3 * r.uniform() : 1.0;  // ICMP rate limit
  const int64_t interval = fast ? ns(0.005 + 0.035 * r.uniform()) : ns(0.8 + 0.5 * r.uniform());
  const auto source_port = static_cast<uint16_t>(r.between(32768, 65000));
  const double begin =
      startFor(w, r, static_cast<double>(interval * static_cast<int64_t>(ports_n)) / 1e9);
  const size_t activity = w.activity();
  int64_t t = w.at(begin);
  for (const uint16_t port : ports) {
    UdpProbePlan p;
    p.spec = w.spec(scanner, target, port, t, r);
    p.spec.client_port = source_port;
    const bool service = port == 53 || port == 123 || port == 161;
    p.probe_bytes = port == 53 ? 22 : port == 123 ? 48 : port == 161 ? 40 : 0;
    if (service && r.chance(0.5)) {
      p.reply = UdpReply::kDatagram;
      p.reply_bytes = port == 123 ? 48 : static_cast<size_t>(r.between(40, 120));
    } else if (!service && r.chance(answered)) {
      p.reply = UdpReply::kPortUnreachable;
    } else {
      p.retries = 1;
      p.retry_gap_ns = ns(0.5 + r.uniform());
    }
    w.add(std::make_unique<UdpProbeScript>(std::move(p), w.snaplen()), activity);
    t += interval;
  }
  w.label(activity, Category::kScan, scanner.ip.toString(), target.ip.toString(), -1,
          LabelProto::kUdp);
  w.label(activity, Category::kScan, target.ip.toString(), scanner.ip.toString(), -1,
          LabelProto::kIcmp);
}

/// A sweep of a whole /24 for live hosts: ICMP echo, or a SYN to one port.
void hostSweep(World& w, Rng r) {
  Host scanner = attacker(w, r, 0.6);
  const bool lan = scanner.local;
  const uint32_t net = lan ? w.lanNetwork() : w.dmz_net;
  std::vector<const Host*> live;
  if (lan) {
    for (const Host& h : w.lanClients()) live.push_back(&h);
  } else {
    for (const auto* pool : {&w.dmz_web, &w.dmz_ssh, &w.dmz_other}) {
      for (const Host& h : *pool) live.push_back(&h);
    }
  }
  const bool icmp = r.chance(0.55);
  static const uint16_t kSweepPorts[] = {22, 80, 443, 445, 3389, 23};
  const uint16_t port = kSweepPorts[r.below(std::size(kSweepPorts))];
  std::vector<uint32_t> order;
  for (uint32_t b = 1; b <= 254; ++b) order.push_back(b);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[r.below(i + 1)]);
  const int64_t interval = ns(0.001 + 0.014 * r.uniform());
  const double begin = startFor(w, r, 254.0 * static_cast<double>(interval) / 1e9 + 2.0);
  const size_t activity = w.activity();
  int64_t t = w.at(begin);
  for (const uint32_t b : order) {
    const IpAddress ip = IpAddress::fromV4(net | b);
    if (ip == scanner.ip) continue;
    const Host* found = nullptr;
    for (const Host* h : live) {
      if (h->ip == ip) found = h;
    }
    const Host target = found != nullptr ? *found : w.localHost(ip, r);
    if (icmp) {
      PingPlan p;
      p.spec = w.spec(scanner, target, 0, t, r);
      p.id = static_cast<uint16_t>(r.next());
      p.answered = found != nullptr;
      p.count = p.answered ? 1 : 2;
      p.interval_ns = ns(0.5 + 0.5 * r.uniform());
      p.data_bytes = 0;
      w.add(std::make_unique<PingScript>(std::move(p), w.snaplen()), activity);
    } else {
      TcpProgram p;
      p.spec = w.spec(scanner, target, port, t, r);
      p.options = scannerOptions(r);
      p.add({.kind = TcpOpKind::kSyn});
      if (found == nullptr) {
        p.add({.kind = TcpOpKind::kRetransmit, .after_ns = ns(0.5 + 0.7 * r.uniform())});
      } else if (r.chance(0.4)) {
        p.add({.kind = TcpOpKind::kSynAck, .after_ns = p.spec.rtt_ns});
        p.add({.kind = TcpOpKind::kBareRst, .after_ns = r.between(30, 200) * kNsPerUs});
      } else {
        p.add({.kind = TcpOpKind::kRst, .dir = Direction::kToClient, .after_ns = p.spec.rtt_ns});
      }
      w.add(std::move(p), activity);
    }
    t += interval;
  }
  w.label(activity, Category::kScan, scanner.ip.toString(), World::cidr(net, 24), icmp ? -1 : port,
          icmp ? LabelProto::kIcmp : LabelProto::kTcp);
}

// ---------------------------------------------------------------- floods

/// SYNs to one port at hundreds a second. From one source (hping3: the source port counts
/// up; the victim's SYN/ACKs are reset by the attacker's kernel, retransmitted when its
/// firewall drops them, or missing when the victim is overwhelmed), or from random spoofed
/// sources (SYN/ACKs go nowhere: one with SYN cookies, else retransmitted).
void synFlood(World& w, Rng r, bool spoofed) {
  const std::vector<Host>& pool = spoofed || r.chance(0.4) ? w.dmz_other : w.dmz_web;
  const Host& victim = pool[r.below(pool.size())];
  static const uint16_t kPorts[] = {80, 443, 25, 8080, 3389};
  const uint16_t port = &pool == &w.dmz_web ? (r.chance(0.5) ? 80 : 443) : kPorts[r.below(5)];
  const double pps = std::clamp(r.lognormal(300.0, 0.4), 100.0, 900.0);
  const double duration = std::clamp(r.lognormal(3.5, 0.4), 1.5, 8.0);
  const auto syns = static_cast<int>(std::min(pps * duration, 400.0));
  const double mode = r.uniform();
  const double answered = mode < 0.75 ? 1.0 : 0.3 + 0.4 * r.uniform();
  const int synack_retries = spoofed ? (r.chance(0.5) ? 0 : static_cast<int>(r.between(2, 5)))
                                     : (mode < 0.45 ? -1 : 2);  // -1: the attacker resets
  Host source = spoofed ? Host{} : attacker(w, r, 0.2);
  uint16_t source_port = static_cast<uint16_t>(r.between(1024, 60000));
  const double begin = startFor(w, r, duration + 20.0);
  const size_t activity = w.activity();
  for (int i = 0; i < syns; ++i) {
    const int64_t t = w.at(begin) + ns(static_cast<double>(i) / pps * (0.9 + 0.2 * r.uniform()));
    Host from = spoofed ? w.externalHost(r) : source;
    TcpProgram p;
    p.spec = w.spec(from, victim, port, t, r);
    p.spec.client_port = spoofed ? static_cast<uint16_t>(r.between(1024, 65535)) : source_port++;
    p.options = scannerOptions(r);
    p.add({.kind = TcpOpKind::kSyn});
    if (r.chance(answered)) {
      p.add({.kind = TcpOpKind::kSynAck, .after_ns = p.spec.rtt_ns});
      if (synack_retries < 0) {
        p.add({.kind = TcpOpKind::kBareRst, .after_ns = r.between(30, 300) * kNsPerUs});
      }
      int64_t backoff = kSec;
      for (int k = 0; k < synack_retries; ++k, backoff *= 2) {
        p.add({.kind = TcpOpKind::kRetransmit, .dir = Direction::kToClient, .after_ns = backoff});
      }
    }
    w.add(std::move(p), activity);
    if (source_port == 0) source_port = 1024;
  }
  w.label(activity, Category::kDos, spoofed ? "*" : source.ip.toString(), victim.ip.toString(),
          port, LabelProto::kTcp);
}

/// Datagrams at thousands a second to one destination: one socket, several sockets, a
/// fresh source port every few datagrams, or spoofed sources.
void udpFlood(World& w, Rng r) {
  const double variant = r.uniform();
  const bool spoofed = variant >= 0.8;
  const std::vector<Host>& pool = spoofed || r.chance(0.5) ? w.dmz_other : w.dmz_web;
  const Host& victim = pool[r.below(pool.size())];
  static const uint16_t kPorts[] = {53, 123, 80, 443, 27015, 5060};
  const uint16_t port = r.chance(0.2) ? static_cast<uint16_t>(r.between(1024, 65535))
                                      : kPorts[r.below(std::size(kPorts))];
  const auto size = static_cast<uint16_t>(r.chance(0.5) ? r.between(0, 64) : r.between(512, 1400));
  const double duration = 2.0 + 4.0 * r.uniform();
  const double begin = startFor(w, r, duration + 2.0);
  Host source = spoofed ? Host{} : attacker(w, r, 0.25);
  const size_t activity = w.activity();
  auto stream = [&](Host& from, int64_t start, uint32_t count, int64_t spacing) {
    UdpPlan p;
    p.spec = w.spec(from, victim, port, start, r);
    UdpTrain train;
    train.count = std::max<uint32_t>(count, 1);
    train.size = size;
    train.spacing_ns = spacing;
    p.trains = {train};
    w.add(std::make_unique<UdpScript>(std::move(p), w.snaplen()), activity);
  };
  if (variant < 0.6) {  // one socket, or a thread per socket
    const double pps = 1500.0 + 3500.0 * r.uniform();
    const auto sockets = static_cast<int>(variant < 0.3 ? 1 : r.between(4, 32));
    for (int i = 0; i < sockets; ++i) {
      stream(source, w.at(begin) + r.between(0, 20) * kMs,
             static_cast<uint32_t>(pps * duration / sockets), ns(sockets / pps));
    }
  } else {  // a new source port (or spoofed source) for each few datagrams
    const double pps = 200.0 + 400.0 * r.uniform();
    const auto flows = static_cast<int>(std::min(pps * duration / 2.0, 400.0));
    for (int i = 0; i < flows; ++i) {
      Host spoofed_source = spoofed ? w.externalHost(r) : Host{};
      stream(spoofed ? spoofed_source : source, w.at(begin) + ns(duration * i / flows),
             static_cast<uint32_t>(r.between(1, 3)), ns(1.0 / pps));
    }
  }
  w.label(activity, Category::kDos, spoofed ? "*" : source.ip.toString(), victim.ip.toString(),
          port, LabelProto::kUdp);
}

// ---------------------------------------------------------------- brute force

/// Password guessing against SSH: a new connection every 1-3 s, each with the key exchange,
/// one to six failed passwords (answered after the server's failure delay) and a close
/// (the tool's FIN, its RST, or the server giving up after too many failures). sshd's
/// MaxStartups drops a few connections right away.
void bruteforce(World& w, Rng r) {
  Host source = attacker(w, r, 0.25);
  const std::vector<Host>& pool = source.local && r.chance(0.4) ? w.lanClients() : w.dmz_ssh;
  const Host& victim = pool[r.below(pool.size())];
  const double every = 1.0 + 2.0 * r.uniform();
  const double duration =
      std::min(std::clamp(r.lognormal(180.0, 0.4), 60.0, 360.0), w.seconds() * 0.6);
  const int64_t max_attempts = r.between(1, 6);
  const double close = r.uniform();
  const double fail_delay = r.chance(0.7) ? 1.5 + 1.5 * r.uniform() : 0.05 + 0.1 * r.uniform();
  const double begin = startFor(w, r, duration + 15.0);
  const size_t activity = w.activity();
  for (double t = begin; t < begin + duration; t += every * (0.7 + 0.6 * r.uniform())) {
    TcpProgram p;
    p.spec = w.spec(source, victim, 22, w.at(t), r);
    p.options = tcpOptions(r, PayloadStyle::kPattern);
    if (r.chance(0.08)) {  // MaxStartups: dropped before the banner
      p.add({.kind = TcpOpKind::kHandshake});
      p.add({.kind = TcpOpKind::kFin,
             .dir = Direction::kToClient,
             .after_ns = r.between(1, 5) * kMs});
      w.add(std::move(p), activity);
      continue;
    }
    sshOpen(p, r);
    const int64_t rtt = p.spec.rtt_ns;
    p.exchange(0, 1 * kMs, 52, rtt + 1 * kMs, 52);  // service request
    p.exchange(0, 1 * kMs, static_cast<size_t>(r.between(40, 64)), rtt + 1 * kMs,  // "none"
               static_cast<size_t>(r.between(40, 70)));
    const int64_t attempts = r.between(1, max_attempts);
    for (int64_t a = 0; a < attempts; ++a) {
      p.exchange(0, r.between(1, 20) * kMs, static_cast<size_t>(r.between(84, 148)),
                 rtt + ns(fail_delay * (0.9 + 0.2 * r.uniform())),
                 static_cast<size_t>(r.between(36, 68)));
    }
    if (close < 0.55) {
      p.add({.kind = TcpOpKind::kFin, .after_ns = r.between(1, 20) * kMs});
    } else if (close < 0.8) {
      p.add({.kind = TcpOpKind::kRst, .after_ns = r.between(1, 20) * kMs});
    } else {
      p.add({.kind = TcpOpKind::kFin,
             .dir = Direction::kToClient,
             .after_ns = r.between(1, 5) * kMs});
    }
    w.add(std::move(p), activity);
  }
  w.label(activity, Category::kBruteforce, source.ip.toString(), victim.ip.toString(), 22,
          LabelProto::kTcp);
}

// ---------------------------------------------------------------- slowloris

/// Slowloris: tens of connections to port 80, each sending a partial request and then a
/// few bytes of header every 10-15 s, never finishing; the server only ACKs. The attack ends
/// with the tool's FIN or RST, or the server times connections out and the tool opens new
/// ones.
void slowloris(World& w, Rng r) {
  Host source = attacker(w, r, 0.2);
  const Host& victim = w.dmz_web[r.below(w.dmz_web.size())];
  const auto sockets = static_cast<int>(r.between(30, 120));
  const bool burst = r.chance(0.5);
  const double ramp = burst ? 0.5 + 2.5 * r.uniform() : sockets * (0.05 + 0.45 * r.uniform());
  const double duration =
      std::min(std::clamp(r.lognormal(180.0, 0.4), 90.0, 400.0), w.seconds() * 0.7);
  const double end_mode = r.uniform();
  const double server_timeout = end_mode >= 0.65 ? 60.0 + 90.0 * r.uniform() : 1e9;
  const double begin = startFor(w, r, duration + 5.0);
  const double end = begin + duration;
  const size_t activity = w.activity();
  for (int i = 0; i < sockets; ++i) {
    for (double t = begin + ramp * i / sockets; t < end - 5.0;) {
      TcpProgram p;
      p.spec = w.spec(source, victim, 80, w.at(t), r);
      p.options = tcpOptions(r, PayloadStyle::kPattern);
      p.add({.kind = TcpOpKind::kHandshake});
      p.add({.after_ns = r.between(1, 5) * kMs, .bytes = static_cast<size_t>(r.between(80, 250))});
      const double closes = std::min(end, t + server_timeout);
      double u = t + 10.0 + 5.0 * r.uniform();
      for (; u < closes; u += 10.0 + 5.0 * r.uniform()) {
        p.add({.at_ns = w.at(u), .bytes = static_cast<size_t>(r.between(5, 20))});
      }
      if (closes < end) {  // the server times out; the tool reconnects
        p.add({.kind = TcpOpKind::kFin, .dir = Direction::kToClient, .at_ns = w.at(closes)});
        t = closes + 0.5 + 2.5 * r.uniform();
      } else {
        p.add({.kind = end_mode < 0.45 ? TcpOpKind::kFin : TcpOpKind::kRst,
               .at_ns = w.at(end) + r.between(0, 50) * kMs});
        t = end;
      }
      w.add(std::move(p), activity);
    }
  }
  w.label(activity, Category::kSlowDos, source.ip.toString(), victim.ip.toString(), 80,
          LabelProto::kTcp);
}

}  // namespace

void addAttacks(World& w) {
  Rng r = w.fork(300);
  // Each kind at least once, so every capture has every class; the rest of the mix varies.
  for (int i = 0, n = w.count(r, 4, 1); i < n; ++i) {
    Rng s = r.fork(static_cast<uint64_t>(i));
    const double kind = s.uniform();
    if (kind < 0.35) {
      synScan(w, s);
    } else if (kind < 0.55) {
      connectScan(w, s);
    } else if (kind < 0.75) {
      udpScan(w, s);
    } else {
      hostSweep(w, s);
    }
  }
  r = w.fork(301);
  for (int i = 0, n = w.count(r, 2.5, 1); i < n; ++i) {
    Rng s = r.fork(static_cast<uint64_t>(i));
    const double kind = s.uniform();
    if (kind < 0.35) {
      synFlood(w, s, false);
    } else if (kind < 0.6) {
      synFlood(w, s, true);
    } else {
      udpFlood(w, s);
    }
  }
  r = w.fork(302);
  for (int i = 0, n = w.count(r, 3, 1); i < n; ++i) bruteforce(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(303);
  for (int i = 0, n = w.count(r, 1.5, 1); i < n; ++i)
    slowloris(w, r.fork(static_cast<uint64_t>(i)));
}

}  // namespace edgesense::testsupport::labelled
