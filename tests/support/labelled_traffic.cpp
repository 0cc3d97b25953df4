// What the site's people and devices do, for the labelled capture: benign web, API, bulk,
// speed-test, DNS, NTP, ping, SSH, video and image-feed traffic, and the short-form video
// ("reel") sessions the reel model must find among them.

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "flow_scripts.h"
#include "labelled_world.h"

namespace edgesense::testsupport::labelled {

namespace {

constexpr size_t kSegment = 1448;

/// Time to send `bytes` at one segment per `gap_ns`.
int64_t transferNs(size_t bytes, int64_t gap_ns) {
  return static_cast<int64_t>((bytes + kSegment - 1) / kSegment) * gap_ns;
}

int64_t serverTime(const TcpProgram& p, Rng& r, double median_s = 0.025) {
  return p.spec.rtt_ns + ns(std::clamp(r.lognormal(median_s, 0.8), 0.001, 1.5));
}

/// A connection being planned: its program and when its last planned transfer ends.
struct Conn {
  TcpProgram program;
  int64_t busy_until = 0;
  int64_t gap_ns = 0;  // response segment spacing
};

Conn openTls(World& w, Rng& r, Host& client, const Host& server, uint16_t port, int64_t start,
             double rate_bytes_per_s) {
  Conn c;
  c.program.spec = w.spec(client, server, port, start, r);
  c.program.options = tcpOptions(r);
  c.gap_ns = gapForRate(rate_bytes_per_s);
  c.program.options.segment_gap_ns = std::min<int64_t>(c.gap_ns, 100 * kNsPerUs);
  tlsOpen(c.program, r, start);
  c.busy_until = start + 3 * c.program.spec.rtt_ns + 10 * kMs;
  return c;
}

/// Adds a request/response to `c`, not before `at_ns`; returns when it should be done.
int64_t fetch(Conn& c, Rng& r, int64_t at_ns, size_t request, size_t response,
              double server_median_s = 0.025) {
  const int64_t server = serverTime(c.program, r, server_median_s);
  const int64_t start = std::max(at_ns, c.busy_until);
  c.program.exchange(at_ns, r.between(1, 20) * kMs, request, server, response, c.gap_ns);
  c.busy_until = start + 20 * kMs + server + transferNs(response, c.gap_ns);
  return c.busy_until;
}

void closeConn(Conn& c, Rng& r, double idle_median_s, double p_none = 0.1) {
  const double u = r.uniform();
  if (u < p_none) return;  // left open: ends by idle timeout or at the end of the capture
  const int64_t idle = ns(std::clamp(r.lognormal(idle_median_s, 0.7), 0.05, 60.0));
  if (u < p_none + 0.55) {
    c.program.add({.kind = TcpOpKind::kFin, .after_ns = idle});
  } else if (u < p_none + 0.85) {
    c.program.add({.kind = TcpOpKind::kFin, .dir = Direction::kToClient, .after_ns = idle});
  } else {
    c.program.add({.kind = TcpOpKind::kRst, .after_ns = idle});
  }
}

// ---------------------------------------------------------------- benign

/// Pages of HTML, CSS, JS and images from an origin and a few third parties, over
/// keep-alive HTTPS connections, with think times between pages.
void browsing(World& w, Rng r, Host& client, double begin, double length) {
  const std::vector<Host>& pool = client.ip.isV6() ? w.web6 : w.web;
  struct Open {
    const Host* server;
    Conn conn;
  };
  std::vector<Open> conns;
  const double rate = std::clamp(r.lognormal(2.5e6, 0.7), 2e5, 2e7);
  const int64_t keepalive = ns(r.uniform() * 90.0 + 30.0);
  const double end = std::min(begin + length, w.seconds() - 5.0);
  for (double t = begin; t < end;) {
    const int64_t page = w.at(t);
    std::vector<const Host*> hosts = {&pool[r.below(pool.size())]};
    for (int64_t k = 0, n = r.between(0, 3); k < n; ++k)
      hosts.push_back(&pool[r.below(pool.size())]);
    for (size_t k = 0; k < hosts.size(); ++k) {
      const Host& server = *hosts[k];
      Open* open = nullptr;
      for (Open& o : conns) {
        if (o.server == &server && o.conn.busy_until + keepalive > page) open = &o;
      }
      int64_t ready = page;
      if (open == nullptr) {
        if (r.chance(0.7)) dnsLookup(w, client, server, page, r);
        const int64_t start =
            page + ns(0.02 + 0.06 * r.uniform()) + static_cast<int64_t>(k) * 30 * kMs;
        conns.push_back({&server, openTls(w, r, client, server, 443, start, rate)});
        open = &conns.back();
        ready = open->conn.busy_until;
      }
      const bool origin = k == 0;
      int64_t at = origin ? ready : ready + ns(0.05 + 0.2 * r.uniform());
      if (origin) {
        at = fetch(open->conn, r, at, clampBytes(r.lognormal(520, 0.4), 150, 1500),
                   clampBytes(r.lognormal(32e3, 0.9), 2e3, 400e3), 0.06);
      }
      for (int64_t i = 0, n = origin ? r.between(2, 10) : r.between(1, 5); i < n; ++i) {
        const bool image = r.chance(0.5);
        const size_t bytes = image ? clampBytes(r.lognormal(24e3, 1.1), 300, 900e3)
                                   : clampBytes(r.lognormal(18e3, 1.0), 400, 450e3);
        fetch(open->conn, r, at, clampBytes(r.lognormal(430, 0.4), 120, 1500), bytes);
      }
    }
    t += std::clamp(r.lognormal(14.0, 0.9), 2.0, 120.0);
  }
  for (Open& o : conns) {
    closeConn(o.conn, r, 15.0, 0.15);
    w.add(std::move(o.conn.program));
  }
}

/// Devices and apps asking an API for news at a fixed period: over one kept-alive HTTPS
/// connection, a new connection per poll, plain HTTP, or MQTT keep-alives.
void apiPolling(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server = w.api[r.below(w.api.size())];
  static const double kPeriods[] = {5, 10, 15, 20, 30, 60};
  const double period = kPeriods[r.below(std::size(kPeriods))] * (0.9 + 0.2 * r.uniform());
  const double begin = r.uniform() * w.seconds() * 0.3;
  const double end = std::min(w.seconds() - 2.0, begin + w.seconds() * (0.4 + 0.6 * r.uniform()));
  const double variant = r.uniform();
  if (variant < 0.4) {  // one connection, kept alive
    Conn c = openTls(w, r, client, server, 443, w.at(begin), 1e6);
    for (double t = begin + 0.2; t < end; t += period * (0.97 + 0.06 * r.uniform())) {
      fetch(c, r, w.at(t), clampBytes(r.lognormal(380, 0.3), 150, 900),
            clampBytes(r.lognormal(700, 0.9), 120, 8000));
    }
    closeConn(c, r, 1.0, 0.3);
    w.add(std::move(c.program));
  } else if (variant < 0.85) {  // a connection per poll (HTTPS, or plain HTTP on port 80)
    const bool plain = variant > 0.72;
    for (double t = begin; t < end; t += period * (0.95 + 0.1 * r.uniform())) {
      if (r.chance(0.15)) dnsLookup(w, client, server, w.at(t), r);
      Conn c;
      if (plain) {
        c.program.spec = w.spec(client, server, 80, w.at(t) + 30 * kMs, r);
        c.program.options = tcpOptions(r, PayloadStyle::kPattern);
        c.gap_ns = gapForRate(1e6);
        c.program.add({.kind = TcpOpKind::kHandshake});
        c.busy_until = w.at(t) + 30 * kMs + 2 * c.program.spec.rtt_ns;
      } else {
        c = openTls(w, r, client, server, 443, w.at(t) + 30 * kMs, 1e6);
      }
      fetch(c, r, 0, clampBytes(r.lognormal(350, 0.3), 120, 900),
            clampBytes(r.lognormal(600, 0.9), 100, 6000));
      closeConn(c, r, 0.02, 0.0);
      w.add(std::move(c.program));
    }
  } else {  // MQTT over TLS: CONNECT, then PINGREQ/PINGRESP and the odd PUBLISH
    Conn c = openTls(w, r, client, server, 8883, w.at(begin), 1e6);
    fetch(c, r, 0, clampBytes(r.lognormal(120, 0.3), 40, 300), 26);
    const double keepalive = r.chance(0.5) ? 30.0 : 60.0;
    for (double t = begin + keepalive; t < end; t += keepalive) {
      c.program.exchange(w.at(t), 0, 24, c.program.spec.rtt_ns, 24);
      if (r.chance(0.3)) {
        c.program.add({.dir = Direction::kToClient,
                       .at_ns = w.at(t + keepalive * r.uniform() * 0.8),
                       .bytes = clampBytes(r.lognormal(180, 0.6), 40, 1200)});
      }
    }
    w.add(std::move(c.program));
  }
}

/// Long, steady, MTU-sized transfers: HTTPS downloads and backups, SFTP both ways, HTTP.
void bulkTransfer(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server = w.bulk[r.below(w.bulk.size())];
  const double rate = std::clamp(r.lognormal(0.9e6, 0.6), 0.25e6, 6e6);
  const double duration = std::clamp(r.lognormal(25.0, 0.5), 10.0, 120.0);
  const double begin = r.uniform() * std::max(1.0, w.seconds() - duration - 10.0);
  const auto size = static_cast<size_t>(std::min(rate * duration, 40e6));
  const int64_t gap = gapForRate(rate);
  const double variant = r.uniform();
  const size_t activity = w.activity();
  TcpProgram p;
  uint16_t port = 443;
  if (variant < 0.75) {
    const bool upload = variant >= 0.4 && variant < 0.65;
    port = variant >= 0.65 ? 80 : 443;
    dnsLookup(w, client, server, w.at(begin), r);
    p.spec = w.spec(client, server, port, w.at(begin) + 40 * kMs, r);
    p.options = tcpOptions(r, port == 80 ? PayloadStyle::kPattern : PayloadStyle::kTls);
    if (port == 80) {
      p.add({.kind = TcpOpKind::kHandshake});
    } else {
      tlsOpen(p, r);
    }
    if (upload) {
      p.add({.after_ns = 2 * kMs, .bytes = clampBytes(r.lognormal(600, 0.3), 200, 1500)});
      p.add({.after_ns = 1 * kMs, .bytes = size, .gap_ns = gap});
      p.add({.dir = Direction::kToClient, .after_ns = serverTime(p, r, 0.1), .bytes = 350});
    } else {
      p.exchange(0, 2 * kMs, clampBytes(r.lognormal(450, 0.3), 150, 1200), serverTime(p, r), size,
                 gap);
    }
    p.add({.kind = TcpOpKind::kFin,
           .dir = r.chance(0.5) ? Direction::kToServer : Direction::kToClient,
           .after_ns = r.between(5, 500) * kMs});
  } else {  // SFTP: key exchange, public-key login, subsystem, then the file
    port = 22;
    p.spec = w.spec(client, server, 22, w.at(begin), r);
    p.options = tcpOptions(r, PayloadStyle::kPattern);
    sshOpen(p, r);
    p.exchange(0, 2 * kMs, static_cast<size_t>(r.between(560, 720)), serverTime(p, r), 52);
    p.exchange(0, 1 * kMs, 120, serverTime(p, r), 68);
    const bool upload = variant < 0.88;
    p.add({.dir = upload ? Direction::kToServer : Direction::kToClient,
           .after_ns = 20 * kMs,
           .bytes = size,
           .gap_ns = gap});
    p.add({.kind = TcpOpKind::kFin, .after_ns = r.between(20, 300) * kMs});
  }
  w.add(std::move(p), activity);
  w.label(activity, Category::kBenign, client.ip.toString(), server.ip.toString(), port,
          LabelProto::kTcp);
}

/// A speed test: a control connection with latency probes, then several parallel
/// connections downloading flat out for seconds, then the same uploading.
void speedTest(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server = w.speedtest[r.below(w.speedtest.size())];
  const uint16_t port = r.chance(0.6) ? 8080 : 443;
  const PayloadStyle style = port == 443 ? PayloadStyle::kTls : PayloadStyle::kPattern;
  const auto streams = static_cast<int>(r.between(4, 12));
  const double down_rate = std::clamp(r.lognormal(7e6, 0.5), 3e6, 25e6);
  const double up_rate = down_rate * (0.2 + 0.4 * r.uniform());
  const double down_s = 4.0 + 4.0 * r.uniform();
  const double up_s = 4.0 + 4.0 * r.uniform();
  const double begin = r.uniform() * std::max(1.0, w.seconds() - down_s - up_s - 15.0);
  const size_t activity = w.activity();
  dnsLookup(w, client, server, w.at(begin), r);

  auto open = [&](int64_t start) {
    TcpProgram p;
    p.spec = w.spec(client, server, port, start, r);
    p.options = tcpOptions(r, style);
    p.options.timestamps = true;
    if (style == PayloadStyle::kTls) {
      tlsOpen(p, r, start);
    } else {
      p.add({.kind = TcpOpKind::kHandshake, .at_ns = start});
    }
    return p;
  };
  TcpProgram control = open(w.at(begin) + 40 * kMs);
  control.exchange(0, 2 * kMs, 60, serverTime(control, r), 120);
  for (int i = 0; i < 10; ++i) {
    control.exchange(0, r.between(20, 60) * kMs, 24, control.spec.rtt_ns, 24);
  }
  const double down_at = begin + 1.5;
  for (int i = 0; i < streams; ++i) {
    TcpProgram p = open(w.at(down_at) + r.between(0, 60) * kMs);
    const double each = down_rate / streams;
    p.exchange(0, 1 * kMs, 220, serverTime(p, r), static_cast<size_t>(each * down_s),
               gapForRate(each));
    p.add({.kind = TcpOpKind::kFin, .after_ns = r.between(1, 30) * kMs});
    w.add(std::move(p), activity);
  }
  const double up_at = down_at + down_s + 1.0 + r.uniform();
  for (int i = 0; i < streams; ++i) {
    TcpProgram p = open(w.at(up_at) + r.between(0, 60) * kMs);
    const double each = up_rate / streams;
    p.add({.after_ns = 1 * kMs,
           .bytes = static_cast<size_t>(each * up_s),
           .gap_ns = gapForRate(each)});
    p.add({.dir = Direction::kToClient, .after_ns = serverTime(p, r), .bytes = 90});
    p.add({.kind = TcpOpKind::kFin, .after_ns = r.between(1, 30) * kMs});
    w.add(std::move(p), activity);
  }
  control.add({.kind = TcpOpKind::kFin, .at_ns = w.at(up_at + up_s + 1.5)});
  w.add(std::move(control), activity);
  w.label(activity, Category::kBenign, client.ip.toString(), server.ip.toString(), port,
          LabelProto::kTcp);
}

/// An admin's interactive SSH session: one long connection, keystrokes echoed one by one,
/// command output, and human pauses.
void interactiveSsh(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server =
      r.chance(0.5) ? w.dmz_ssh[r.below(w.dmz_ssh.size())] : w.ssh[r.below(w.ssh.size())];
  const double begin = r.uniform() * w.seconds() * 0.4;
  const double end =
      std::min(w.seconds() - 2.0, begin + std::clamp(r.lognormal(240.0, 0.5), 60.0, 540.0));
  const size_t activity = w.activity();
  TcpProgram p;
  p.spec = w.spec(client, server, 22, w.at(begin), r);
  p.options = tcpOptions(r, PayloadStyle::kPattern);
  sshOpen(p, r);
  const int64_t rtt = p.spec.rtt_ns;
  p.exchange(0, 2 * kMs, static_cast<size_t>(r.between(560, 720)), rtt + r.between(2, 8) * kMs,
             static_cast<size_t>(r.between(28, 52)));  // public-key login
  p.exchange(0, 1 * kMs, 112, rtt + 1 * kMs, 52);      // channel open
  p.exchange(0, 1 * kMs, static_cast<size_t>(r.between(200, 420)), rtt + 2 * kMs,
             76);  // pty, shell
  p.add({.dir = Direction::kToClient,
         .after_ns = 20 * kMs,
         .bytes = clampBytes(r.lognormal(900, 0.8), 100, 4000)});  // motd and prompt
  const size_t key = r.chance(0.7) ? 36 : 52;
  double t = begin + 2.0;
  while (true) {
    t += std::clamp(r.lognormal(5.0, 1.0), 0.5, 90.0);
    if (t >= end) break;
    for (int64_t k = 0, n = r.between(2, 30); k < n; ++k) {
      p.exchange(w.at(t), 0, key, rtt + r.between(100, 900) * kNsPerUs, key);
      t += std::clamp(r.lognormal(0.17, 0.5), 0.04, 1.5);
    }
    const size_t output = clampBytes(r.lognormal(900, 1.4), static_cast<double>(key), 80e3);
    p.exchange(w.at(t), 0, key, rtt + ns(std::clamp(r.lognormal(0.02, 1.2), 0.001, 3.0)), output,
               gapForRate(2e6));
    t += 0.2;
  }
  if (r.chance(0.8)) p.add({.kind = TcpOpKind::kFin, .at_ns = w.at(end)});
  w.add(std::move(p), activity);
  w.label(activity, Category::kBenign, client.ip.toString(), server.ip.toString(), 22,
          LabelProto::kTcp);
}

/// Long-form video over one HTTPS connection: a manifest, a buffering burst, then one
/// segment of a constant bitrate every segment duration (2-6 s), audio alongside or muxed.
void longVideo(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server = w.video[r.below(w.video.size())];
  const double seg_s = static_cast<double>(r.between(2, 6));
  double bitrate = std::clamp(r.lognormal(1.4e6, 0.4), 0.6e6, 4e6) / 8.0;  // bytes/s
  const double burst = std::clamp(r.lognormal(4e6, 0.5), 1.2e6, 15e6);
  const double begin = r.uniform() * std::max(1.0, w.seconds() - 70.0);
  const double end =
      std::min(w.seconds() - 3.0, begin + std::clamp(r.lognormal(150.0, 0.5), 60.0, 600.0));
  const bool audio = r.chance(0.5);
  // Some players change rendition once, up or down.
  double switch_at = r.chance(0.4) ? begin + (end - begin) * r.uniform() : end + 1;
  const size_t activity = w.activity();
  dnsLookup(w, client, server, w.at(begin), r);
  Conn c = openTls(w, r, client, server, 443, w.at(begin) + 30 * kMs, burst);
  fetch(c, r, 0, clampBytes(r.lognormal(450, 0.3), 200, 1200),
        clampBytes(r.lognormal(9e3, 0.8), 1e3, 60e3));
  const int buffered = static_cast<int>(r.between(3, 5));
  const double play = begin + 1.0;
  for (int i = 0;; ++i) {
    const double request_t = i < buffered ? begin + 0.5 : play + (i - buffered + 1) * seg_s;
    if (request_t >= end) break;
    if (request_t > switch_at) {
      bitrate = std::clamp(bitrate * (r.chance(0.5) ? 0.55 : 1.7), 0.6e6 / 8, 4e6 / 8);
      switch_at = end + 1;
    }
    const size_t segment = static_cast<size_t>(bitrate * seg_s * (0.85 + 0.3 * r.uniform()));
    fetch(c, r, w.at(request_t), clampBytes(r.lognormal(480, 0.2), 250, 1000), segment, 0.015);
    if (audio) fetch(c, r, 0, 420, static_cast<size_t>(16000.0 * seg_s), 0.01);
  }
  closeConn(c, r, 2.0, 0.3);
  w.add(std::move(c.program), activity);
  w.label(activity, Category::kBenign, client.ip.toString(), server.ip.toString(), 443,
          LabelProto::kTcp);
}

/// Scrolling an image feed: on each scroll, a handful of 50-300 KB images over one to three
/// connections, now and then the next page of the feed, then a short pause.
void imageFeed(World& w, Rng r) {
  Host& client = w.client(r, 0.0);
  const Host& server = w.images[r.below(w.images.size())];
  const double rate = std::clamp(r.lognormal(4e6, 0.6), 0.8e6, 20e6);
  const double begin = r.uniform() * std::max(1.0, w.seconds() - 30.0);
  const double end =
      std::min(w.seconds() - 3.0, begin + std::clamp(r.lognormal(90.0, 0.6), 20.0, 300.0));
  const size_t activity = w.activity();
  dnsLookup(w, client, server, w.at(begin), r);
  std::vector<Conn> conns;
  for (int64_t i = 0, n = r.between(1, 3); i < n; ++i) {
    conns.push_back(openTls(w, r, client, server, 443, w.at(begin) + (30 + 15 * i) * kMs,
                            rate / static_cast<double>(n)));
  }
  int scroll = 0;
  for (double t = begin + 0.3; t < end; ++scroll) {
    if (scroll % 4 == 0) {
      fetch(conns[0], r, w.at(t), clampBytes(r.lognormal(600, 0.3), 300, 1200),
            clampBytes(r.lognormal(9e3, 0.6), 2e3, 30e3), 0.05);
    }
    for (int64_t k = 0, n = r.between(2, 8); k < n; ++k) {
      Conn& c = conns[static_cast<size_t>(k) % conns.size()];
      fetch(c, r, w.at(t), clampBytes(r.lognormal(450, 0.3), 200, 1000),
            clampBytes(r.lognormal(120e3, 0.5), 50e3, 300e3), 0.01);
    }
    t += std::clamp(r.lognormal(3.5, 0.7), 0.6, 25.0);
  }
  for (Conn& c : conns) {
    closeConn(c, r, 10.0, 0.25);
    w.add(std::move(c.program), activity);
  }
  w.label(activity, Category::kBenign, client.ip.toString(), server.ip.toString(), 443,
          LabelProto::kTcp);
}

/// Visitors from the Internet on our public web servers.
void inboundVisit(World& w, Rng r) {
  Host visitor = w.externalHost(r);
  const Host& server = w.dmz_web[r.below(w.dmz_web.size())];
  const double begin = r.uniform() * (w.seconds() - 10.0);
  const int64_t start = w.at(begin);
  if (r.chance(0.25)) {  // http:// first, redirected
    TcpProgram p;
    p.spec = w.spec(visitor, server, 80, start, r);
    p.options = tcpOptions(r, PayloadStyle::kPattern);
    p.add({.kind = TcpOpKind::kHandshake});
    p.exchange(0, 1 * kMs, clampBytes(r.lognormal(380, 0.3), 120, 900), serverTime(p, r, 0.003),
               static_cast<size_t>(r.between(180, 420)));
    p.add({.kind = TcpOpKind::kFin, .after_ns = r.between(1, 50) * kMs});
    w.add(std::move(p));
  }
  const double rate = std::clamp(r.lognormal(1.5e6, 0.8), 1e5, 1e7);
  for (int64_t i = 0, n = r.between(1, 4); i < n; ++i) {
    Conn c =
        openTls(w, r, visitor, server, 443, start + ns(0.3 + 0.05 * static_cast<double>(i)), rate);
    double t = begin + 0.5;
    for (int64_t page = 0, pages = r.between(1, 5); page < pages && t < w.seconds() - 3.0; ++page) {
      for (int64_t k = 0, objects = r.between(1, 8); k < objects; ++k) {
        fetch(c, r, w.at(t), clampBytes(r.lognormal(450, 0.4), 120, 1500),
              clampBytes(r.lognormal(15e3, 1.1), 200, 500e3), 0.01);
      }
      t += std::clamp(r.lognormal(10.0, 0.8), 1.0, 60.0);
    }
    closeConn(c, r, 5.0, 0.1);
    w.add(std::move(c.program));
  }
}

void backgroundUdpAndIcmp(World& w, Rng r) {
  // Lookups nobody follows up here: prefetching, telemetry, updates.
  for (int i = 0, n = w.count(r, 600, 5); i < n; ++i) {
    Host& client = w.client(r, 0.15);
    const std::vector<Host>& pool = client.ip.isV6() ? w.web6 : w.api;
    dnsLookup(w, client, pool[r.below(pool.size())], w.at(r.uniform() * (w.seconds() - 1.0)), r);
  }
  // NTP every 64 s from a few devices (one flow each: ntpd keeps port 123).
  for (int i = 0, n = static_cast<int>(r.between(3, 8)); i < n; ++i) {
    Host& client = w.client(r, 0.0);
    UdpPlan p;
    p.spec = w.spec(client, w.ntp[r.below(w.ntp.size())], 123, w.at(r.uniform() * 64.0), r);
    if (r.chance(0.5)) p.spec.client_port = 123;
    UdpTrain t;
    t.count = static_cast<uint32_t>(std::max(1.0, (w.seconds() - 70.0) / 64.0));
    t.size = 48;
    t.spacing_ns = 64 * kSec;
    t.ack_every = 1;
    t.ack_size = 48;
    p.trains = {t};
    w.add(std::make_unique<UdpScript>(std::move(p), w.snaplen()));
  }
  // People checking a host is up: `ping -c 4` and the like.
  for (int i = 0, n = w.count(r, 40, 1); i < n; ++i) {
    Host& client = w.client(r, 0.2);
    const std::vector<Host>& pool = client.ip.isV6() ? w.web6 : w.web;
    PingPlan p;
    p.spec =
        w.spec(client, pool[r.below(pool.size())], 0, w.at(r.uniform() * (w.seconds() - 12.0)), r);
    p.id = static_cast<uint16_t>(r.next());
    p.count = static_cast<uint32_t>(r.chance(0.6) ? 4 : r.between(1, 10));
    p.answered = !r.chance(0.05);
    w.add(std::make_unique<PingScript>(std::move(p), w.snaplen()));
  }
  // Monitoring pings, IPv4 and IPv6.
  for (int i = 0, n = static_cast<int>(r.between(2, 4)); i < n; ++i) {
    Host& client = w.client(r, 0.3);
    const std::vector<Host>& pool = client.ip.isV6() ? w.web6 : w.web;
    PingPlan p;
    const double begin = r.uniform() * w.seconds() * 0.5;
    p.interval_ns = r.between(1, 10) * kSec;
    p.spec = w.spec(client, pool[r.below(pool.size())], 0, w.at(begin), r);
    p.id = static_cast<uint16_t>(r.next());
    p.count = static_cast<uint32_t>(
        std::max(1.0, (w.seconds() - begin - 2.0) * 1e9 / static_cast<double>(p.interval_ns)));
    p.data_bytes = r.chance(0.5) ? 56 : 32;
    w.add(std::make_unique<PingScript>(std::move(p), w.snaplen()));
  }
}

// ---------------------------------------------------------------- reels

/// A short-form video session: clips of 1-6 MB, each watched 5-40 s and swiped; the
/// player keeps the next one or two clips prefetched, so each swipe starts big parallel
/// downstream bursts separated by watch-time gaps. One to three connections, to one CDN
/// front end or several; some players fetch each clip in two ranges.
/// Returns when the last clip was swiped.
double reelSession(World& w, Rng r, Host& client, double begin) {
  const bool v6 = client.ip.isV6();
  const std::vector<Host>& pool = v6 ? w.reels6 : w.reels;
  const auto conns_n = static_cast<size_t>(r.chance(0.45) ? 1 : r.between(2, 3));
  const bool spread = !v6 && conns_n > 1 && r.chance(0.5);
  const size_t prefetch = r.chance(0.5) ? 1 : 2;
  const bool ranged = r.chance(0.3);
  const double rate = std::clamp(r.lognormal(5e6, 0.5), 1.5e6, 15e6);
  const auto clips = static_cast<int>(r.between(3, 12));
  const size_t activity = w.activity();

  const Host& first = pool[r.below(pool.size())];
  dnsLookup(w, client, first, w.at(begin), r);
  std::vector<Conn> conns;
  for (size_t i = 0; i < conns_n; ++i) {
    const Host& server = spread ? pool[r.below(pool.size())] : first;
    conns.push_back(openTls(w, r, client, server, 443,
                            w.at(begin) + ns(0.03 + 0.02 * static_cast<double>(i)), rate));
  }
  // The feed page listing the clips.
  fetch(conns[0], r, 0, clampBytes(r.lognormal(700, 0.3), 300, 1500),
        clampBytes(r.lognormal(14e3, 0.6), 3e3, 60e3), 0.08);

  std::vector<size_t> sizes;
  for (int i = 0; i < clips + 2; ++i)
    sizes.push_back(clampBytes(r.lognormal(2.4e6, 0.45), 1e6, 6e6));
  size_t next_conn = 0;
  // Fetches clip `i` (or its first range) at `t`; several at once share the rate.
  auto fetchClip = [&](int64_t t, size_t bytes, size_t parallel) {
    Conn& c = conns[next_conn++ % conns.size()];
    const int64_t saved = c.gap_ns;
    c.gap_ns = gapForRate(rate / static_cast<double>(std::min(parallel, conns.size())));
    fetch(c, r, t, clampBytes(r.lognormal(650, 0.2), 300, 1400), bytes, 0.02);
    c.gap_ns = saved;
  };
  auto firstPart = [&](size_t i) {
    return ranged ? static_cast<size_t>(static_cast<double>(sizes[i]) * (0.35 + 0.25 * r.uniform()))
                  : sizes[i];
  };
  std::vector<size_t> fetched(sizes.size(), 0);
  double t = begin + 0.6;
  for (size_t i = 0; i <= prefetch; ++i) {
    fetched[i] = firstPart(i);
    fetchClip(w.at(t), fetched[i], prefetch + 1);
  }
  for (int i = 0; i < clips; ++i) {
    t += std::clamp(r.lognormal(13.0, 0.6), 5.0, 40.0);  // watched, then swiped
    if (t > w.seconds() - 3.0) break;
    const auto playing = static_cast<size_t>(i + 1);
    size_t parallel = 1 + (fetched[playing] < sizes[playing] ? 1 : 0);
    if (fetched[playing] < sizes[playing]) {  // the rest of the clip now on screen
      fetchClip(w.at(t), sizes[playing] - fetched[playing], parallel);
      fetched[playing] = sizes[playing];
    }
    const size_t ahead = playing + prefetch;
    if (ahead < sizes.size() && fetched[ahead] == 0) {
      fetched[ahead] = firstPart(ahead);
      fetchClip(w.at(t), fetched[ahead], parallel);
    }
    if (i % 6 == 5) {
      fetch(conns[0], r, w.at(t + 0.5), clampBytes(r.lognormal(700, 0.3), 300, 1500),
            clampBytes(r.lognormal(14e3, 0.6), 3e3, 60e3), 0.08);
    }
  }
  std::string dst = first.ip.toString();
  if (spread) dst = World::cidr(w.reel_net, 24);
  for (Conn& c : conns) {
    closeConn(c, r, 4.0, 0.3);
    w.add(std::move(c.program), activity);
  }
  w.label(activity, Category::kReel, client.ip.toString(), dst, 443, LabelProto::kTcp);
  return t;
}

}  // namespace

void addBenignTraffic(World& w) {
  Rng r = w.fork(100);
  for (int i = 0, n = w.count(r, 100, 2); i < n; ++i) {
    Rng s = r.fork(static_cast<uint64_t>(i));
    Host& client = w.client(s, 0.15);
    const double length = std::clamp(s.lognormal(180.0, 0.6), 40.0, 540.0);
    browsing(w, s, client, s.uniform() * std::max(1.0, w.seconds() - 30.0), length);
  }
  r = w.fork(101);
  for (int i = 0, n = w.count(r, 14, 1); i < n; ++i)
    apiPolling(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(102);
  for (int i = 0, n = w.count(r, 6, 0); i < n; ++i)
    bulkTransfer(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(103);
  for (int i = 0, n = w.count(r, 1.5, 0); i < n; ++i)
    speedTest(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(104);
  for (int i = 0, n = w.count(r, 3, 1); i < n; ++i)
    interactiveSsh(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(105);
  for (int i = 0, n = w.count(r, 4, 0); i < n; ++i) longVideo(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(106);
  for (int i = 0, n = w.count(r, 6, 0); i < n; ++i) imageFeed(w, r.fork(static_cast<uint64_t>(i)));
  r = w.fork(107);
  for (int i = 0, n = w.count(r, 100, 1); i < n; ++i)
    inboundVisit(w, r.fork(static_cast<uint64_t>(i)));
  backgroundUdpAndIcmp(w, w.fork(108));
}

void addReelSessions(World& w) {
  Rng r = w.fork(200);
  // One session at a time per person: a client is picked among those not scrolling then.
  std::vector<std::pair<const Host*, double>> busy_until;
  for (int i = 0, n = w.count(r, 22, 2); i < n; ++i) {
    const double begin = r.uniform() * std::max(1.0, w.seconds() - 60.0);
    Host* client = nullptr;
    for (int tries = 0; tries < 50 && client == nullptr; ++tries) {
      Host& candidate = w.client(r, 0.15);
      bool busy = false;
      for (const auto& [host, until] : busy_until)
        busy = busy || (host == &candidate && until + 5.0 > begin);
      if (!busy) client = &candidate;
    }
    if (client == nullptr) continue;
    busy_until.emplace_back(client,
                            reelSession(w, r.fork(static_cast<uint64_t>(i)), *client, begin));
  }
}

}  // namespace edgesense::testsupport::labelled
