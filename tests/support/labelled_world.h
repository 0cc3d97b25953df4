#pragma once

/// Internal to the labelled capture. A World is the simulated site behind one
/// writeLabelledCapture call: LAN clients, DMZ servers, Internet servers, all addresses drawn
/// from the seed; helpers that draw flow specs and protocol openings; and the activity log
/// that turns the packet times of tracked scripts into label rows. Activity functions
/// (labelled_traffic.cpp, labelled_attacks.cpp) borrow the World and add their scripts to
/// its Interleaver, which owns them. Single-threaded.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "interleaver.h"
#include "labelled_capture.h"
#include "labelled_scripts.h"
#include "rng.h"

namespace edgesense::testsupport::labelled {

inline constexpr int64_t kMs = kNsPerMs;
inline constexpr int64_t kSec = kNsPerSec;

inline int64_t ns(double seconds) {
  return static_cast<int64_t>(seconds * 1e9);
}

/// `v` clamped to [lo, hi] and truncated to a byte count.
size_t clampBytes(double v, double lo, double hi);

struct Host {
  IpAddress ip;
  MacAddress mac;
  uint8_t ttl = 64;    // as seen at the capture point
  bool local = true;   // LAN or DMZ, on our side of the edge router
  int64_t rtt_ns = 0;  // capture point -> host -> capture point
  uint16_t next_port = 40000;
  std::string name;  // DNS name, for servers looked up by clients
};

uint16_t ephemeralPort(Host& h);

class World {
 public:
  World(const LabelledOptions& options, Interleaver& mix);

  // Time, in seconds from the capture's start.
  double seconds() const { return static_cast<double>(options_.duration_ns) / 1e9; }
  int64_t at(double s) const { return options_.start_ns + ns(s); }
  /// Activities per capture: `per_ten_minutes` scaled to the length, +-25%, at least `min`.
  int count(Rng& r, double per_ten_minutes, int min) const;
  Rng fork(uint64_t stream) { return rng_.fork(stream); }

  // The site.
  Host& client(Rng& r, double v6_share = 0.15);
  const Host& resolver(const Host& client) const {
    return client.ip.isV6() ? resolver6_ : resolver4_;
  }
  const std::vector<Host>& lanClients() const { return clients4_; }
  uint32_t lanNetwork() const { return lan_; }
  IpAddress lanAddress(uint32_t host_byte) const { return IpAddress::fromV4(lan_ | host_byte); }
  /// A new Internet host: an attacker, a visitor, a spoofed source.
  Host externalHost(Rng& r);
  /// A new LAN address no client uses: a compromised device.
  Host internalHost(Rng& r);
  /// A host on our side of the router at `ip` (a LAN or DMZ address), with its own MAC.
  Host localHost(const IpAddress& ip, Rng& r);
  static std::string cidr(uint32_t network, int prefix);

  // Servers by role.
  std::vector<Host> web;        // sites browsed from the LAN (IPv4)
  std::vector<Host> web6;       // sites browsed over IPv6
  std::vector<Host> video;      // long-form video CDN
  std::vector<Host> images;     // image-feed CDN
  std::vector<Host> reels;      // short-form video CDN, all in reel_net
  std::vector<Host> reels6;     // its IPv6 front ends
  std::vector<Host> api;        // polled by devices and apps
  std::vector<Host> bulk;       // download mirrors, backup and file-transfer hosts
  std::vector<Host> speedtest;  // speed-test servers
  std::vector<Host> ssh;        // SSH servers on the Internet
  std::vector<Host> ntp;
  std::vector<Host> dmz_web;    // our public web servers; visited from the Internet
  std::vector<Host> dmz_ssh;    // our SSH jump hosts; admins log in from the LAN
  std::vector<Host> dmz_other;  // mail, game and VPN servers no benign flow here reaches
  uint32_t reel_net = 0;        // the reel CDN's /24
  uint32_t dmz_net = 0;         // the DMZ's /24

  /// Who talks to whom: MACs, TTLs and the RTT from both hosts, ports, start time.
  FlowSpec spec(Host& client, const Host& server, uint16_t port, int64_t start_ns, Rng& r);

  // Output.
  uint32_t snaplen() const { return options_.snaplen; }
  void add(std::unique_ptr<FlowScript> script) { mix_.add(std::move(script)); }
  void add(TcpProgram program);
  /// A new activity: scripts added with it widen its window; label() gives it rows.
  size_t activity();
  void add(std::unique_ptr<FlowScript> script, size_t activity);
  void add(TcpProgram program, size_t activity);
  void label(size_t activity, Category category, std::string src, std::string dst, int dport,
             LabelProto proto);
  /// The rows, windows widened by 1 ms within [first_ns, last_ns] of the capture, in time
  /// order (rows of one activity keep their order).
  std::vector<LabelRow> rows(int64_t first_ns, int64_t last_ns) const;

 private:
  Host makeRemote(const IpAddress& ip, Rng& r);
  IpAddress publicV4(Rng& r);
  std::vector<Host> remotePool(Rng& r, size_t n, const char* const* names, size_t name_count);

  const LabelledOptions& options_;
  Interleaver& mix_;
  Rng rng_;
  uint32_t lan_ = 0;
  std::vector<Host> clients4_;
  std::vector<Host> clients6_;
  std::vector<uint32_t> free_lan_bytes_;  // host bytes of the LAN no client uses
  Host resolver4_;
  Host resolver6_;
  std::deque<TimeSpan> spans_;
  struct PendingRow {
    size_t activity;
    LabelRow row;
  };
  std::vector<PendingRow> rows_;
};

TcpSessionOptions tcpOptions(Rng& r, PayloadStyle payload = PayloadStyle::kTls);
/// Segment spacing for a steady `bytes_per_second` of MTU-sized segments.
int64_t gapForRate(double bytes_per_second);
/// Handshake, then the TLS 1.3 ClientHello, the server's flight and the client's Finished.
void tlsOpen(TcpProgram& p, Rng& r, int64_t at_ns = 0);
/// Handshake, then SSH banners (server first), KEXINITs, ECDH and NEWKEYS.
void sshOpen(TcpProgram& p, Rng& r, int64_t at_ns = 0);
/// The client's A (and sometimes AAAA) queries for `server`, from fresh source ports.
void dnsLookup(World& w, Host& client, const Host& server, int64_t start_ns, Rng& r);

// The activities; each draws its own timing, sizes and variants from the World's seed.
void addBenignTraffic(World& w);
void addReelSessions(World& w);
void addAttacks(World& w);

}  // namespace edgesense::testsupport::labelled
