// The labelled capture's site: addresses and paths drawn from the seed, shared protocol
// openings, and the activity log that becomes the labels CSV.

#include "labelled_world.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <utility>

#include "app_payload.h"
#include "flow_scripts.h"

namespace edgesense::testsupport::labelled {

namespace {

const MacAddress kRouterMac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};

// First octets of real, routed unicast space, so drawn Internet addresses look ordinary.
constexpr std::array<uint32_t, 40> kPublicFirstOctets = {
    13,  23,  31,  34,  37,  45,  46,  52,  54,  62,  66,  69,  74,  77,
    78,  80,  81,  82,  85,  88,  91,  93,  95,  104, 107, 130, 142, 146,
    151, 157, 163, 176, 178, 185, 188, 193, 195, 209, 212, 217};

const char* const kWords[] = {"news",  "shop",   "mail",   "docs",   "wiki",  "forum", "blog",
                              "maps",  "bank",   "travel", "sport",  "games", "music", "cloud",
                              "learn", "recipe", "radio",  "market", "photo", "jobs"};
const char* const kTlds[] = {"com", "net", "org", "io", "de", "fr", "co.uk", "nl"};

std::string drawName(Rng& r, const char* role) {
  std::string name = role;
  name += '.';
  name += kWords[r.below(std::size(kWords))];
  name += std::to_string(r.between(1, 999));
  name += '.';
  name += kTlds[r.below(std::size(kTlds))];
  return name;
}

}  // namespace

size_t clampBytes(double v, double lo, double hi) {
  return static_cast<size_t>(std::clamp(v, lo, hi));
}

uint16_t ephemeralPort(Host& h) {
  const uint16_t port = h.next_port;
  h.next_port = h.next_port >= 60999 ? 32768 : static_cast<uint16_t>(h.next_port + 1);
  return port;
}

// ---------------------------------------------------------------- World

World::World(const LabelledOptions& options, Interleaver& mix)
    : options_(options), mix_(mix), rng_(options.seed) {
  Rng r = rng_.fork(1);
  lan_ = r.chance(0.5) ? 0xc0a80000u | static_cast<uint32_t>(r.between(0, 254)) << 8
                       : 0x0a000000u | static_cast<uint32_t>(r.between(0, 0xfffe)) << 8;
  dmz_net = 0xac100000u | static_cast<uint32_t>(r.between(0, 0x0fff)) << 8;

  std::vector<uint32_t> bytes;
  for (uint32_t b = 2; b <= 254; ++b) bytes.push_back(b);
  for (size_t i = bytes.size() - 1; i > 0; --i) std::swap(bytes[i], bytes[r.below(i + 1)]);
  const auto clients = static_cast<size_t>(r.between(16, 26));
  for (size_t i = 0; i < clients; ++i) clients4_.push_back(localHost(lanAddress(bytes[i]), r));
  free_lan_bytes_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(clients), bytes.end());

  std::array<uint8_t, 16> v6 = {0x20, 0x01, 0x0d, 0xb8};
  for (size_t i = 4; i < 8; ++i) v6[i] = static_cast<uint8_t>(r.next());
  std::array<uint8_t, 16> gateway6 = v6;
  gateway6[15] = 1;
  const auto clients6 = r.between(2, 5);
  for (int64_t i = 0; i < clients6; ++i) {
    std::array<uint8_t, 16> a = v6;
    for (size_t k = 8; k < 16; ++k) a[k] = static_cast<uint8_t>(r.next());
    clients6_.push_back(localHost(IpAddress::fromV6(a), r));
  }
  resolver4_ = localHost(lanAddress(1), r);
  resolver4_.mac = kRouterMac;
  resolver6_ = localHost(IpAddress::fromV6(gateway6), r);
  resolver6_.mac = kRouterMac;

  static const char* const kWeb[] = {"www"};
  web = remotePool(r, static_cast<size_t>(r.between(40, 70)), kWeb, 1);
  for (int64_t i = 0, n = r.between(5, 9); i < n; ++i) {
    std::array<uint8_t, 16> a = {0x20, 0x01, 0x0d, 0xb8, 0xff};
    for (size_t k = 5; k < 16; ++k) a[k] = static_cast<uint8_t>(r.next());
    web6.push_back(makeRemote(IpAddress::fromV6(a), r));
    web6.back().name = drawName(r, "www");
  }
  static const char* const kVideo[] = {"video", "vod", "stream"};
  video = remotePool(r, static_cast<size_t>(r.between(2, 4)), kVideo, 3);
  static const char* const kImages[] = {"img", "photos", "media"};
  images = remotePool(r, static_cast<size_t>(r.between(2, 4)), kImages, 3);
  static const char* const kApi[] = {"api", "sync", "push", "telemetry"};
  api = remotePool(r, static_cast<size_t>(r.between(5, 9)), kApi, 4);
  static const char* const kBulk[] = {"dl", "mirror", "backup", "files"};
  bulk = remotePool(r, static_cast<size_t>(r.between(4, 7)), kBulk, 4);
  static const char* const kSpeed[] = {"speedtest"};
  speedtest = remotePool(r, static_cast<size_t>(r.between(2, 3)), kSpeed, 1);
  static const char* const kSsh[] = {"git", "shell", "build"};
  ssh = remotePool(r, static_cast<size_t>(r.between(2, 4)), kSsh, 3);
  static const char* const kNtp[] = {"ntp"};
  ntp = remotePool(r, 2, kNtp, 1);

  const IpAddress reel_any = publicV4(r);
  const std::span<const uint8_t> reel_bytes = reel_any.bytes();
  reel_net = static_cast<uint32_t>(reel_bytes[0]) << 24 |
             static_cast<uint32_t>(reel_bytes[1]) << 16 | static_cast<uint32_t>(reel_bytes[2]) << 8;
  const std::string reel_name = drawName(r, "v");
  std::vector<uint32_t> reel_bytes_used;
  for (int64_t i = 0, n = r.between(3, 8); i < n; ++i) {
    const auto b = static_cast<uint32_t>(r.between(2, 250));
    if (std::find(reel_bytes_used.begin(), reel_bytes_used.end(), b) != reel_bytes_used.end())
      continue;
    reel_bytes_used.push_back(b);
    reels.push_back(makeRemote(IpAddress::fromV4(reel_net | b), r));
    reels.back().name = reel_name;
  }
  for (int64_t i = 0, n = r.between(1, 2); i < n; ++i) {
    std::array<uint8_t, 16> a = {0x20, 0x01, 0x0d, 0xb8, 0xfe, 0x80};
    for (size_t k = 6; k < 16; ++k) a[k] = static_cast<uint8_t>(r.next());
    reels6.push_back(makeRemote(IpAddress::fromV6(a), r));
    reels6.back().name = reel_name;
  }

  std::vector<uint32_t> dmz_bytes;
  for (uint32_t b = 2; b <= 254; ++b) dmz_bytes.push_back(b);
  for (size_t i = dmz_bytes.size() - 1; i > 0; --i)
    std::swap(dmz_bytes[i], dmz_bytes[r.below(i + 1)]);
  size_t next = 0;
  auto dmzHost = [&] { return localHost(IpAddress::fromV4(dmz_net | dmz_bytes[next++]), r); };
  for (int64_t i = 0, n = r.between(1, 3); i < n; ++i) dmz_web.push_back(dmzHost());
  for (int64_t i = 0, n = r.between(1, 2); i < n; ++i) dmz_ssh.push_back(dmzHost());
  for (int64_t i = 0, n = r.between(2, 4); i < n; ++i) dmz_other.push_back(dmzHost());
}

int World::count(Rng& r, double per_ten_minutes, int min) const {
  const double n = per_ten_minutes * seconds() / 600.0 * (0.75 + 0.5 * r.uniform());
  return std::max(min, static_cast<int>(std::lround(n)));
}

Host& World::client(Rng& r, double v6_share) {
  if (r.chance(v6_share)) return clients6_[r.below(clients6_.size())];
  return clients4_[r.below(clients4_.size())];
}

Host World::externalHost(Rng& r) {
  return makeRemote(publicV4(r), r);
}

Host World::internalHost(Rng& r) {
  const size_t i = r.below(free_lan_bytes_.size());
  const uint32_t b = free_lan_bytes_[i];
  free_lan_bytes_.erase(free_lan_bytes_.begin() + static_cast<std::ptrdiff_t>(i));
  return localHost(lanAddress(b), r);
}

std::string World::cidr(uint32_t network, int prefix) {
  return IpAddress::fromV4(network).toString() + "/" + std::to_string(prefix);
}

Host World::localHost(const IpAddress& ip, Rng& r) {
  Host h;
  h.ip = ip;
  h.mac = {0x02,
           0x00,
           0x5e,
           static_cast<uint8_t>(r.next()),
           static_cast<uint8_t>(r.next()),
           static_cast<uint8_t>(r.next())};
  h.ttl = r.chance(0.35) ? 128 : 64;
  h.local = true;
  h.rtt_ns = r.between(150, 800) * kNsPerUs;
  h.next_port = static_cast<uint16_t>(r.between(33000, 59000));
  return h;
}

Host World::makeRemote(const IpAddress& ip, Rng& r) {
  Host h;
  h.ip = ip;
  h.mac = kRouterMac;
  h.ttl = static_cast<uint8_t>((r.chance(0.3) ? 128 : 64) - r.between(6, 22));
  h.local = false;
  h.rtt_ns = static_cast<int64_t>(std::clamp(r.lognormal(28e6, 0.6), 3e6, 300e6));
  h.next_port = static_cast<uint16_t>(r.between(33000, 59000));
  return h;
}

IpAddress World::publicV4(Rng& r) {
  const uint32_t first = kPublicFirstOctets[r.below(kPublicFirstOctets.size())];
  return IpAddress::fromV4(first << 24 | static_cast<uint32_t>(r.below(1u << 16)) << 8 |
                           static_cast<uint32_t>(r.between(1, 254)));
}

std::vector<Host> World::remotePool(Rng& r, size_t n, const char* const* names, size_t name_count) {
  std::vector<Host> pool;
  for (size_t i = 0; i < n; ++i) {
    pool.push_back(makeRemote(publicV4(r), r));
    pool.back().name = drawName(r, names[r.below(name_count)]);
  }
  return pool;
}

FlowSpec World::spec(Host& client, const Host& server, uint16_t port, int64_t start_ns, Rng& r) {
  FlowSpec f;
  f.client = client.ip;
  f.server = server.ip;
  f.client_port = ephemeralPort(client);
  f.server_port = port;
  f.client_mac = client.local ? client.mac : kRouterMac;
  f.server_mac = server.local ? server.mac : kRouterMac;
  f.client_ttl = client.ttl;
  f.server_ttl = server.ttl;
  f.start_ns = start_ns;
  const double jitter = std::clamp(r.lognormal(1.0, 0.1), 0.7, 1.5);
  f.rtt_ns = static_cast<int64_t>(static_cast<double>(client.rtt_ns + server.rtt_ns) * jitter);
  return f;
}

void World::add(TcpProgram program) {
  add(std::make_unique<TcpProgramScript>(std::move(program), snaplen()));
}

size_t World::activity() {
  spans_.emplace_back();
  return spans_.size() - 1;
}

void World::add(std::unique_ptr<FlowScript> script, size_t activity) {
  add(std::make_unique<TrackedScript>(std::move(script), spans_[activity], snaplen()));
}

void World::add(TcpProgram program, size_t activity) {
  add(std::make_unique<TcpProgramScript>(std::move(program), snaplen()), activity);
}

void World::label(size_t activity, Category category, std::string src, std::string dst, int dport,
                  LabelProto proto) {
  LabelRow row;
  row.src = std::move(src);
  row.dst = std::move(dst);
  row.dport = dport;
  row.proto = proto;
  row.category = category;
  rows_.push_back({activity, std::move(row)});
}

std::vector<LabelRow> World::rows(int64_t first_ns, int64_t last_ns) const {
  std::vector<LabelRow> out;
  for (const PendingRow& p : rows_) {
    const TimeSpan& span = spans_[p.activity];
    if (span.empty()) continue;
    LabelRow row = p.row;
    // Whole microseconds, as pcap keeps them, so the window holds every packet's time.
    row.start_ns = std::max(span.first_ns - kMs, first_ns) / kNsPerUs * kNsPerUs;
    row.end_ns = std::min(span.last_ns + kMs, last_ns) / kNsPerUs * kNsPerUs;
    out.push_back(std::move(row));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LabelRow& a, const LabelRow& b) { return a.start_ns < b.start_ns; });
  return out;
}

// ---------------------------------------------------------------- openings

TcpSessionOptions tcpOptions(Rng& r, PayloadStyle payload) {
  TcpSessionOptions o;
  o.client_isn = static_cast<uint32_t>(r.next());
  o.server_isn = static_cast<uint32_t>(r.next());
  o.timestamps = !r.chance(0.1);
  o.window_shift = static_cast<uint8_t>(r.between(6, 9));
  o.payload = payload;
  return o;
}

int64_t gapForRate(double bytes_per_second) {
  return std::max<int64_t>(ns(1448.0 / bytes_per_second), 2 * kNsPerUs);
}

void tlsOpen(TcpProgram& p, Rng& r, int64_t at_ns) {
  const int64_t rtt = p.spec.rtt_ns;
  p.add({.kind = TcpOpKind::kHandshake, .at_ns = at_ns});
  p.exchange(0, r.between(0, 2) * kMs, clampBytes(r.lognormal(560, 0.1), 517, 1800),
             rtt + r.between(1, 6) * kMs,
             r.chance(0.25) ? clampBytes(r.lognormal(1300, 0.2), 300, 2000)  // resumed
                            : clampBytes(r.lognormal(4200, 0.3), 2500, 9000));
  p.add({.after_ns = r.between(500, 3000) * kNsPerUs,
         .bytes = clampBytes(r.lognormal(74, 0.1), 58, 90)});
}

void sshOpen(TcpProgram& p, Rng& r, int64_t at_ns) {
  const int64_t rtt = p.spec.rtt_ns;
  p.add({.kind = TcpOpKind::kHandshake, .at_ns = at_ns});
  p.add({.dir = Direction::kToClient,
         .after_ns = r.between(2, 12) * kMs,
         .bytes = static_cast<size_t>(r.between(21, 42))});  // "SSH-2.0-OpenSSH_9.2p1 ..."
  p.add({.after_ns = rtt / 2, .bytes = static_cast<size_t>(r.between(21, 45))});
  p.add({.after_ns = r.between(100, 900) * kNsPerUs,
         .bytes = static_cast<size_t>(r.between(1100, 1600))});  // KEXINIT
  p.add({.dir = Direction::kToClient,
         .after_ns = rtt / 2,
         .bytes = static_cast<size_t>(r.between(900, 1150))});
  p.exchange(0, r.between(1, 3) * kMs, 48, rtt + r.between(2, 12) * kMs,
             static_cast<size_t>(r.between(420, 1120)));    // ECDH init, reply with host key
  p.add({.after_ns = r.between(1, 4) * kMs, .bytes = 16});  // NEWKEYS
}

void dnsLookup(World& w, Host& client, const Host& server, int64_t start_ns, Rng& r) {
  const uint16_t qtype = server.ip.isV6() ? kDnsTypeAaaa : kDnsTypeA;
  const std::string name = server.name.empty() ? "host.example.net" : server.name;
  UdpPlan p;
  p.spec = w.spec(client, w.resolver(client), 53, start_ns, r);
  const auto id = static_cast<uint16_t>(r.next());
  UdpTrain query;
  query.payload = dnsQuery(id, name, qtype);
  UdpTrain response;
  response.dir = Direction::kToClient;
  const bool cached = r.chance(0.4);
  response.gap_before_ns =
      cached ? r.between(150, 900) * kNsPerUs
             : static_cast<int64_t>(std::clamp(r.lognormal(14e6, 0.8), 1e6, 300e6));
  response.payload = dnsResponse(id, name, qtype, {server.ip});
  p.trains = {query, response};
  w.add(std::make_unique<UdpScript>(std::move(p), w.snaplen()));
}

}  // namespace edgesense::testsupport::labelled
