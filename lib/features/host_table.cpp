// Host context, beside the flow table on the capture thread: per-host
// decaying counters, counted and read as each flow starts.

#include "features/host_table.h"

#include "features/running_stats.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>

namespace edgesense::features {
namespace {

constexpr std::uint32_t kNil = 0xffffffffu;
constexpr int kBits = 256;

// Words that set the bitmap hashes apart from the slot hash (which hashes
// the address alone) and from each other, under the same key.
constexpr std::uint64_t kHostBitTag = 0x686f73742d626974ULL;  // "host-bit"
constexpr std::uint64_t kPortBitTag = 0x706f72742d626974ULL;  // "port-bit"

/// The keyed hash that picks an address's bit in the distinct-count bitmaps.
/// Unkeyed, anyone could choose a thousand hosts or ports that all set one
/// bit and read as one distinct value: a scan hidden from the scan features.
/// Under the key that cannot be planned; a replay's fixed key keeps the
/// estimates repeatable, and another key changes only which values collide.
std::uint64_t sketchHash(const IpAddress& a, const flow::HashKey& key) noexcept {
  std::uint64_t w[3];
  std::memcpy(w, a.bytes.data(), 16);
  w[2] = kHostBitTag;
  return flow::sipHashWords(key, w);
}

/// The same for a responder port of a protocol.
std::uint64_t portSketchHash(std::uint8_t proto, std::uint16_t port,
                             const flow::HashKey& key) noexcept {
  const std::uint64_t w[2] = {std::uint64_t{proto} << 16 | port, kPortBitTag};
  return flow::sipHashWords(key, w);
}

/// The keyed hash that places a host in the slots (see flow/keyed_hash.h).
std::uint32_t slotHash(const IpAddress& a, const flow::HashKey& key) noexcept {
  std::uint64_t w[2];
  std::memcpy(w, a.bytes.data(), 16);
  return static_cast<std::uint32_t>(flow::sipHashWords(key, w));
}

/// Linear counting: the distinct-count estimate for a 256-bit bitmap with
/// `ones` bits set, -m ln(zeros / m), tabulated once (no log per read).
const std::array<double, kBits + 1>& linearCounts() {
  static const std::array<double, kBits + 1> table = [] {
    std::array<double, kBits + 1> t{};
    for (int ones = 0; ones <= kBits; ++ones) {
      const int zeros = kBits - ones;
      t[static_cast<std::size_t>(ones)] =
          zeros == 0 ? kBits * std::log(static_cast<double>(kBits))
                     : -kBits * std::log(static_cast<double>(zeros) / kBits);
    }
    return t;
  }();
  return table;
}

/// Distinct values over the current and the previous bucket. The bit counts
/// are kept as bits are set, so reading needs no popcount.
struct Distinct {
  std::array<std::uint64_t, kBits / 64> cur{};
  std::array<std::uint64_t, kBits / 64> prev{};
  std::uint16_t cur_ones = 0;
  std::uint16_t union_ones = 0;  // bits set in cur | prev

  void set(std::uint64_t h) noexcept {
    const std::size_t word = (h >> 6) % cur.size();
    const std::uint64_t bit = 1ULL << (h & 63);
    if (cur[word] & bit) return;
    if (!(prev[word] & bit)) ++union_ones;
    cur[word] |= bit;
    ++cur_ones;
  }
  double estimate(double w) const noexcept {
    const auto& lc = linearCounts();
    const double c = lc[cur_ones];
    return c + w * (lc[union_ones] - c);
  }
  void rotate(bool adjacent) noexcept {
    prev = adjacent ? cur : decltype(cur){};
    union_ones = adjacent ? cur_ones : 0;
    cur = {};
    cur_ones = 0;
  }
};

struct Count {
  double cur = 0;
  double prev = 0;
  double estimate(double w) const noexcept { return cur + prev * w; }
  void rotate(bool adjacent) noexcept {
    prev = adjacent ? cur : 0;
    cur = 0;
  }
};

/// One window length's buckets for one host.
struct Window {
  TimeUs start = 0;
  Count flows_out;     // flows it initiated
  Count ended_out;     // its flows that ended
  Count failed_out;    // ... with no reply or a reset
  Count flows_in;      // flows towards it
  Distinct dst_ports;  // responder ports it contacted
  Distinct dst_hosts;  // responders it contacted
  Distinct src_hosts;  // initiators that contacted it

  /// Rotates the buckets up to ts; returns the weight of the previous bucket.
  double advance(TimeUs ts, TimeUs length) noexcept {
    if (ts >= start + length) {
      const TimeUs k = (ts - start) / length;
      const bool adjacent = k == 1;
      for (Count* c : {&flows_out, &ended_out, &failed_out, &flows_in}) c->rotate(adjacent);
      for (Distinct* d : {&dst_ports, &dst_hosts, &src_hosts}) d->rotate(adjacent);
      start += k * length;
    }
    const double elapsed =
        ts > start ? static_cast<double>(ts - start) / static_cast<double>(length) : 0;
    return 1.0 - elapsed;
  }
};

}  // namespace

struct HostTable::Host {
  IpAddress addr;
  std::uint32_t hash = 0;
  std::uint32_t prev = kNil;  // LRU links
  std::uint32_t next = kNil;
  std::array<Window, 2> win;  // short, long
};

HostTable::HostTable(const HostTableConfig& cfg)
    : cfg_(cfg),
      capacity_(cfg.max_hosts > 0 ? cfg.max_hosts : 1),
      hosts_(capacity_),
      lru_head_(kNil),
      lru_tail_(kNil) {
  static_assert(std::is_trivially_destructible_v<Host>, "hosts are dropped without destruction");
  std::uint32_t slots = 1;
  while (slots < capacity_ * 2) slots <<= 1;
  slot_mask_ = slots - 1;
  slots_ = std::make_unique<Slot[]>(slots);
}

HostTable::~HostTable() = default;

std::size_t HostTable::bytesPerHost() noexcept {
  return sizeof(Host) + 2 * sizeof(std::uint32_t);
}

void HostTable::touch(std::uint32_t idx) noexcept {
  Host& h = hosts_[idx];
  if (lru_tail_ == idx) return;
  // unlink (a new host has prev == next == kNil and is not the head)
  if (h.prev != kNil)
    hosts_[h.prev].next = h.next;
  else if (lru_head_ == idx)
    lru_head_ = h.next;
  if (h.next != kNil) hosts_[h.next].prev = h.prev;
  h.prev = lru_tail_;
  h.next = kNil;
  if (lru_tail_ != kNil) hosts_[lru_tail_].next = idx;
  lru_tail_ = idx;
  if (lru_head_ == kNil) lru_head_ = idx;
}

void HostTable::eraseSlot(std::uint32_t idx) noexcept {
  std::uint32_t i = hosts_[idx].hash & slot_mask_;
  while (slots_[i].idx != idx) i = (i + 1) & slot_mask_;
  for (std::uint32_t j = (i + 1) & slot_mask_; slots_[j].idx != kNil; j = (j + 1) & slot_mask_) {
    const std::uint32_t home = slots_[j].hash & slot_mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
}

void HostTable::evictOldest() noexcept {
  const std::uint32_t idx = lru_head_;
  Host& h = hosts_[idx];
  lru_head_ = h.next;
  if (lru_head_ != kNil)
    hosts_[lru_head_].prev = kNil;
  else
    lru_tail_ = kNil;
  eraseSlot(idx);
  h = Host{};
  ++stats_.evicted;
  --used_;
  free_slot_ = idx;  // lookup() hands it out at once
}

HostTable::Host* HostTable::lookup(const IpAddress& addr, TimeUs ts, bool create) noexcept {
  const std::uint32_t h = slotHash(addr, cfg_.hash_key);
  std::uint32_t i = h & slot_mask_;
  for (; slots_[i].idx != kNil; i = (i + 1) & slot_mask_) {
    if (slots_[i].hash != h) continue;
    Host& host = hosts_[slots_[i].idx];
    if (host.addr == addr) {
      touch(slots_[i].idx);
      return &host;
    }
  }
  if (!create) return nullptr;
  std::uint32_t idx;
  if (used_ == capacity_) {
    evictOldest();
    idx = free_slot_;
    // The eviction may have shifted slots; find the insertion point again.
    i = h & slot_mask_;
    while (slots_[i].idx != kNil) i = (i + 1) & slot_mask_;
  } else {
    idx = next_unused_++;
    std::construct_at(&hosts_[idx]);
  }
  ++used_;
  Host& host = hosts_[idx];
  host.addr = addr;
  host.hash = h;
  for (Window& w : host.win) w.start = ts;
  slots_[i] = Slot{h, idx};
  touch(idx);
  return &host;
}

HostContext HostTable::onFlowStart(const IpAddress& src, const IpAddress& dst, std::uint16_t dport,
                                   std::uint8_t proto, TimeUs ts) noexcept {
  const TimeUs lengths[2] = {cfg_.short_window_us, cfg_.long_window_us};
  const std::uint64_t port_hash = portSketchHash(proto, dport, cfg_.hash_key);
  const std::uint64_t dst_hash = sketchHash(dst, cfg_.hash_key);
  const std::uint64_t src_hash = sketchHash(src, cfg_.hash_key);
  constexpr auto at = [](Feature f) { return index(f) - index(kFirstHostFeature); };
  static constexpr Feature kSrcFlows[2] = {Feature::kSrcFlows10s, Feature::kSrcFlows60s};
  static constexpr Feature kSrcPorts[2] = {Feature::kSrcDstPorts10s, Feature::kSrcDstPorts60s};
  static constexpr Feature kSrcHosts[2] = {Feature::kSrcDstHosts10s, Feature::kSrcDstHosts60s};
  static constexpr Feature kSrcFailed[2] = {Feature::kSrcFailedShare10s,
                                            Feature::kSrcFailedShare60s};
  static constexpr Feature kDstSrcs[2] = {Feature::kDstSrcs10s, Feature::kDstSrcs60s};
  static constexpr Feature kDstFlows[2] = {Feature::kDstFlows10s, Feature::kDstFlows60s};
  HostContext ctx{};
  // The initiator is read before the responder is looked up: making room
  // for a new responder may evict (and reuse) any host but the one touched last.
  Host& s = *lookup(src, ts, true);
  for (int k = 0; k < 2; ++k) {
    Window& w = s.win[k];
    const double wt = w.advance(ts, lengths[k]);
    w.flows_out.cur += 1;
    w.dst_ports.set(port_hash);
    w.dst_hosts.set(dst_hash);
    const double ended = w.ended_out.estimate(wt);
    ctx[at(kSrcFlows[k])] = static_cast<float>(w.flows_out.estimate(wt));
    ctx[at(kSrcPorts[k])] = static_cast<float>(w.dst_ports.estimate(wt));
    ctx[at(kSrcHosts[k])] = static_cast<float>(w.dst_hosts.estimate(wt));
    ctx[at(kSrcFailed[k])] = ended > 0 ? static_cast<float>(w.failed_out.estimate(wt) / ended)
                                       : static_cast<float>(kNaN);
  }
  Host& d = *lookup(dst, ts, true);
  for (int k = 0; k < 2; ++k) {
    Window& w = d.win[k];
    const double wt = w.advance(ts, lengths[k]);
    w.flows_in.cur += 1;
    w.src_hosts.set(src_hash);
    ctx[at(kDstSrcs[k])] = static_cast<float>(w.src_hosts.estimate(wt));
    ctx[at(kDstFlows[k])] = static_cast<float>(w.flows_in.estimate(wt));
  }
  stats_.entries = used_;
  return ctx;
}

void HostTable::onFlowEnd(const IpAddress& src, bool failed, TimeUs ts) noexcept {
  const TimeUs lengths[2] = {cfg_.short_window_us, cfg_.long_window_us};
  Host* s = lookup(src, ts, false);
  if (s == nullptr) return;  // evicted meanwhile
  for (int k = 0; k < 2; ++k) {
    Window& w = s->win[k];
    w.advance(ts, lengths[k]);
    w.ended_out.cur += 1;
    if (failed) w.failed_out.cur += 1;
  }
}

}  // namespace edgesense::features
