#pragma once
/// FlowTable: every bidirectional flow of one capture thread, in memory
/// allocated once at construction (capacity = flows.max). Owned and called by
/// exactly one thread, so it takes no locks. Expiry is O(1) per packet: flows
/// sit on intrusive lists ordered by their next deadline (last-seen per
/// timeout class, close linger, active-timeout window), and only list heads
/// are examined. Time is packet time; a live sensor calls advance() on ticks.
/// A packet time further than max_clock_jump from the table's clock is held
/// back (one packet, a copy in the table) until the next time seen says
/// whether the clock really moved (see resolveHeld()).
///
/// A full table enters emergency mode (as Suricata's flow engine does): new
/// flows get shorter idle timeouts until the active flows fall below a
/// recovery level. flows.memcap bounds the table's memory: the capacity is
/// then the most flows that fit (capacityFor()), never more than max_flows.
///
/// Ext is the per-flow state of the next stage (the feature accumulators);
/// the Observer passed to process() is told of each flow's start, packets,
/// interim snapshots and end (with the table's clock at that moment), and reads Flow<Ext> only
/// during those calls.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

#include "decode/packet.h"
#include "flow/flow_key.h"
#include "flow/huge_buffer.h"

namespace edgesense::flow {

inline constexpr std::uint32_t kNil = 0xffffffffu;

enum class EndReason : std::uint8_t {
  kTcpFin,
  kTcpRst,
  kIdleTimeout,
  kActiveTimeout,  // interim snapshot of a live flow; the flow goes on
  kEvicted,
  kShutdown,
  /// A TCP flow that never saw a SYN (picked up mid-stream, or a stray ACK
  /// after a close) ended by a fresh SYN on its 4-tuple: a new connection.
  kTcpReuse,
};
inline constexpr std::size_t kEndReasonCount = 7;

constexpr std::string_view endReasonName(EndReason r) noexcept {
  switch (r) {
    case EndReason::kTcpFin:
      return "tcp_fin";
    case EndReason::kTcpRst:
      return "tcp_rst";
    case EndReason::kIdleTimeout:
      return "idle_timeout";
    case EndReason::kActiveTimeout:
      return "active_timeout";
    case EndReason::kEvicted:
      return "evicted";
    case EndReason::kShutdown:
      return "shutdown";
    case EndReason::kTcpReuse:
      return "tcp_reuse";
  }
  return "unknown";
}

struct FlowConfig {
  std::uint32_t max_flows = 131072;
  TimeUs idle_timeout_us = 120'000'000;
  TimeUs udp_idle_timeout_us = 120'000'000;
  TimeUs icmp_idle_timeout_us = 120'000'000;  // ICMP and any other protocol
  TimeUs active_timeout_us = 30'000'000;      // 0: no interim snapshots
  TimeUs tcp_close_linger_us = 2'000'000;     // after RST, or FIN both ways
  /// Idle timeout of a TCP flow until its handshake completes (Suricata's
  /// new-flow timeout): a spoofed SYN's flow leaves the table soon.
  TimeUs tcp_half_open_timeout_us = 30'000'000;
  std::uint32_t fragment_slots = 4096;
  TimeUs fragment_timeout_us = 30'000'000;
  /// A packet further than this ahead of or behind the clock is a suspect
  /// time: see resolveHeld(). 0: every packet time is believed.
  TimeUs max_clock_jump_us = 60'000'000;
  /// Emergency mode: entered when the table is full (a new flow must evict
  /// one), left when the active flows fall below emergency_recovery_percent
  /// of the capacity. Meanwhile these idle timeouts apply where they are
  /// shorter than the usual ones: half-open TCP, one-packet UDP and other
  /// flows, and (if not 0) established flows. Suricata's emergency new-flow
  /// timeout is 10 s, its recovery level 30%.
  TimeUs emergency_half_open_timeout_us = 10'000'000;
  TimeUs emergency_one_packet_timeout_us = 0;   // 0: one-packet flows keep their timeouts
  TimeUs emergency_established_timeout_us = 0;  // 0: established flows keep their timeouts
  std::uint32_t emergency_recovery_percent = 30;
  /// Bound on the table's memory in bytes (bytesFor()); the capacity is the
  /// most flows that fit, at most max_flows. 0: no bound but max_flows.
  std::uint64_t memcap_bytes = 0;
  /// Keys the hash of the flow slots and fragment slots (flows.hash_seed).
  /// Which slot a flow takes never shows in the output: lists, not slots,
  /// order the flows, so any key gives the same records.
  HashKey hash_key = kDefaultHashKey;
};

struct FlowTableStats {
  std::uint64_t created = 0;
  std::array<std::uint64_t, kEndReasonCount> ended{};  // kActiveTimeout: snapshots
  std::uint64_t fragments_attributed = 0;
  std::uint64_t fragments_unattributed = 0;
  /// First fragments that took a fragment slot still holding another live
  /// chain (flows.fragment_slots too few, or a collision): that chain's
  /// later fragments go unattributed.
  std::uint64_t fragment_slots_overwritten = 0;
  std::uint64_t clock_jumps_ahead = 0;   // lone packets stamped too far ahead
  std::uint64_t clock_jumps_behind = 0;  // lone packets stamped too far behind
  std::uint64_t clock_steps_back = 0;    // the clock was re-based backwards
  TimeUs last_clock_jump_us = 0;         // the last lone packet's offset from the clock
  std::uint64_t rst_out_of_window = 0;   // RSTs ignored: sequence number outside the window
  /// Flows whose initiator is not the sender of their first packet: TCP
  /// first seen at its SYN-ACK, or mid-stream from the lower port (see
  /// initiatorIsLo()).
  std::uint64_t direction_from_syn_ack = 0;
  std::uint64_t direction_from_port = 0;
  /// Flows evicted from the full table, by kind (they sum to
  /// ended[kEvicted]), in the order they are chosen: TCP without a completed
  /// handshake and other flows of one packet, closing TCP, the rest.
  std::uint64_t evicted_half_open = 0;
  std::uint64_t evicted_one_packet = 0;
  std::uint64_t evicted_closing = 0;
  std::uint64_t evicted_established = 0;
  std::uint32_t active = 0;
  std::uint32_t peak_active = 0;
  /// Emergency mode (FlowConfig::emergency_*): whether the table is in it
  /// now, how many times it entered, and the packet time spent in it.
  bool emergency = false;
  std::uint64_t emergency_entries = 0;
  TimeUs emergency_us = 0;
  /// Memory the table holds, in bytes (FlowTable::bytesFor() its capacity):
  /// reserved at construction, resident as flows use it.
  std::uint64_t table_bytes = 0;

  /// Flows that ended, for any reason (interim snapshots are not ends).
  std::uint64_t endedTotal() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < kEndReasonCount; ++i) {
      if (static_cast<EndReason>(i) != EndReason::kActiveTimeout) n += ended[i];
    }
    return n;
  }
};

/// One tracked flow. "Forward" is the initiator's direction (toserver): the
/// first packet's sender, unless that packet shows it is the server's (see
/// FlowTable::initiatorIsLo()).
template <class Ext>
struct Flow {
  FlowKey key;
  TimeUs first_ts = 0;
  TimeUs last_ts = 0;
  std::array<std::uint64_t, 2> pkts{};
  std::array<std::uint64_t, 2> bytes{};          // wire length of frames
  std::array<std::uint64_t, 2> payload_bytes{};  // transport payload
  std::array<std::uint8_t, 2> tcp_flags{};       // OR of flags seen
  bool initiator_is_lo = true;
  EndReason close_reason = EndReason::kTcpFin;
  std::uint8_t fin_dirs = 0;   // bit per direction that sent FIN
  std::uint8_t fin_acked = 0;  // bit per direction whose FIN the other side ACKed
  std::uint8_t ack_dirs = 0;   // bit per direction that sent an ACK (not with RST)
  std::uint8_t list = 0;       // which deadline list holds it
  bool dirty = false;          // packets since the last snapshot
  std::uint32_t window = 0;    // interim snapshots emitted so far
  std::uint32_t hash32 = 0;
  TimeUs close_deadline = 0;
  TimeUs active_deadline = 0;
  std::array<std::uint32_t, 2> prev{kNil, kNil};  // [0] timeout list, [1] active list
  std::array<std::uint32_t, 2> next{kNil, kNil};
  std::array<std::uint32_t, 2> fin_end{};   // per direction: the sequence number after its FIN
  std::array<std::uint32_t, 2> last_ack{};  // per direction: its last ACK number; 0: none yet
  Ext ext;

  const IpAddress& initiatorAddr() const { return initiator_is_lo ? key.lo_addr : key.hi_addr; }
  const IpAddress& responderAddr() const { return initiator_is_lo ? key.hi_addr : key.lo_addr; }
  /// For ICMP: type << 8 | code, and the identifier (see decode::Packet).
  std::uint16_t initiatorPort() const {
    return initiator_is_lo || !portsAreEndpoints(key.proto) ? key.lo_port : key.hi_port;
  }
  std::uint16_t responderPort() const {
    return initiator_is_lo || !portsAreEndpoints(key.proto) ? key.hi_port : key.lo_port;
  }
};

template <class Ext>
class FlowTable {
 public:
  using FlowT = Flow<Ext>;

  explicit FlowTable(const FlowConfig& cfg)
      : cfg_(cfg),
        capacity_(std::max<std::uint32_t>(capacityFor(cfg), 1)),
        pool_(capacity_),
        generations_(std::make_unique<std::uint32_t[]>(capacity_)),
        free_(std::make_unique<std::uint32_t[]>(capacity_)),
        frags_(std::make_unique<FragmentSlot[]>(std::max<std::uint32_t>(cfg.fragment_slots, 1))) {
    const auto slots = static_cast<std::uint32_t>(slotCount(capacity_));  // capacity <= 2^28
    slot_mask_ = slots - 1;
    slots_ = HugeBuffer<Slot>(slots);
    std::uninitialized_fill_n(slots_.data(), slots, Slot{});
    for (std::uint32_t i = 0; i < capacity_; ++i) free_[i] = capacity_ - 1 - i;
    free_count_ = capacity_;
    normal_timeouts_ = {cfg.idle_timeout_us,          cfg.udp_idle_timeout_us,
                        cfg.icmp_idle_timeout_us,     cfg.tcp_half_open_timeout_us,
                        cfg.udp_idle_timeout_us,      cfg.icmp_idle_timeout_us,
                        cfg.tcp_half_open_timeout_us, 0};
    // Each list keeps one timeout for all its members, so a changed timeout
    // still expires them from the head: the order by last-seen stays valid.
    const auto shorter = [](TimeUs usual, TimeUs emergency) {
      return emergency > 0 ? std::min(usual, emergency) : usual;
    };
    emergency_timeouts_ = normal_timeouts_;
    for (std::uint8_t l = kTcpList; l <= kOtherList; ++l)
      emergency_timeouts_[l] = shorter(normal_timeouts_[l], cfg.emergency_established_timeout_us);
    for (std::uint8_t l : {kTcpHalfOpenList, kTcpHalfOpenRepliedList})
      emergency_timeouts_[l] = shorter(normal_timeouts_[l], cfg.emergency_half_open_timeout_us);
    for (std::uint8_t l : {kUdpOnePacketList, kOtherOnePacketList})
      emergency_timeouts_[l] = shorter(normal_timeouts_[l], cfg.emergency_one_packet_timeout_us);
    timeouts_ = normal_timeouts_;
    recovery_level_ = std::max<std::uint32_t>(
        static_cast<std::uint32_t>(std::uint64_t{capacity_} *
                                   std::min<std::uint32_t>(cfg.emergency_recovery_percent, 100) /
                                   100),
        1);
    stats_.table_bytes = bytesFor(capacity_, cfg.fragment_slots);
  }

  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  const FlowTableStats& stats() const noexcept { return stats_; }
  std::uint32_t capacity() const noexcept { return capacity_; }
  TimeUs now() const noexcept { return now_; }
  bool emergency() const noexcept { return stats_.emergency; }

  /// Hash slots of a table of `capacity` flows: a power of two, at least
  /// twice the flows, so the table is at most half full.
  static constexpr std::uint64_t slotCount(std::uint32_t capacity) noexcept {
    std::uint64_t slots = 1;
    while (slots < std::uint64_t{capacity} * 2) slots <<= 1;
    return slots;
  }

  /// The memory a table of `capacity` flows holds, in bytes: the pool of
  /// flows, a generation and a free-list entry per flow, the hash slots and
  /// the fragment slots. The fixed part (the table object itself, a few
  /// hundred bytes) is left out.
  static constexpr std::uint64_t bytesFor(std::uint32_t capacity,
                                          std::uint32_t fragment_slots) noexcept {
    return std::uint64_t{capacity} * (sizeof(FlowT) + 2 * sizeof(std::uint32_t)) +
           slotCount(capacity) * sizeof(Slot) +
           std::uint64_t{std::max<std::uint32_t>(fragment_slots, 1)} * sizeof(FragmentSlot);
  }

  /// The capacity a table made with `cfg` has: max_flows, or, if memcap_bytes
  /// is set and smaller, the most flows whose table fits in it. 0: the memcap
  /// does not hold a table of one flow (the config refuses it).
  static constexpr std::uint32_t capacityFor(const FlowConfig& cfg) noexcept {
    const std::uint32_t most = std::max<std::uint32_t>(cfg.max_flows, 1);
    if (cfg.memcap_bytes == 0) return most;
    const auto fits = [&](std::uint32_t n) {
      return bytesFor(n, cfg.fragment_slots) <= cfg.memcap_bytes;
    };
    if (!fits(1)) return 0;
    if (fits(most)) return most;
    std::uint32_t lo = 1, hi = most;  // fits(lo), !fits(hi)
    while (hi - lo > 1) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      (fits(mid) ? lo : hi) = mid;
    }
    return lo;
  }

  /// A packet's key and hash, computed ahead of process() so the capture
  /// loop can prefetch the memory the packet will touch.
  struct Lookup {
    FlowKey key;
    std::uint32_t hash = 0;
    bool src_is_lo = false;
  };

  void prepare(const decode::Packet& p, Lookup& l) const noexcept {
    l.key = makeKey(p, l.src_is_lo);
    l.hash = static_cast<std::uint32_t>(hashKey(l.key, cfg_.hash_key));
  }

  /// Prefetch, stage 1: the hash slot the lookup will probe first.
  void prefetchSlot(const Lookup& l) const noexcept {
    __builtin_prefetch(&slots_[l.hash & slot_mask_]);
  }

  /// Prefetch, stage 2 (after stage 1 has had time): the flow the first slot
  /// points at, every cache line of it.
  void prefetchFlow(const Lookup& l) const noexcept {
    const std::uint32_t idx = slots_[l.hash & slot_mask_].idx;
    if (idx == kNil) return;
    const char* p = reinterpret_cast<const char*>(&pool_[idx]);
    for (std::size_t off = 0; off < sizeof(FlowT); off += 64) __builtin_prefetch(p + off, 1);
  }

  /// Accounts one decoded packet to its flow, first ending whatever flows
  /// the packet's time has expired.
  template <class Observer>
  void process(const decode::Packet& p, Observer& obs) noexcept {
    Lookup l;
    if (p.fragment != decode::Fragment::kLater) prepare(p, l);
    process(p, l, obs);
  }

  /// process() with the lookup prepared beforehand.
  template <class Observer>
  void process(const decode::Packet& p, const Lookup& l, Observer& obs) noexcept {
    if (held_) resolveHeld(p.ts_us, obs);
    if (suspect(p.ts_us)) {
      hold(p.ts_us, &p, &l);
      return;
    }
    accept(p, l, obs);
  }

  /// The time of a frame that did not decode: moves the clock as a packet
  /// would, under the same suspicion of jumps.
  template <class Observer>
  void passTime(TimeUs ts, Observer& obs) noexcept {
    if (held_) resolveHeld(ts, obs);
    if (suspect(ts)) {
      hold(ts, nullptr, nullptr);
      return;
    }
    moveClock(ts, obs);
  }

  /// Moves time forward to `now` (wall time on a quiet live link: trusted,
  /// not checked for jumps) and ends or snapshots every flow whose deadline
  /// has passed.
  template <class Observer>
  void advance(TimeUs now, Observer& obs) noexcept {
    if (held_) resolveHeld(now, obs);
    moveClock(now, obs);
  }

  /// Ends every flow (reason shutdown, or the close reason of flows already
  /// closing), in a fixed order so replays are deterministic. A packet held
  /// back as a suspect time is taken at its own time first: nothing
  /// contradicts it.
  template <class Observer>
  void flushAll(Observer& obs) noexcept {
    if (held_) resolveHeld(held_ts_, obs);
    endAll(obs);
  }

 private:
  template <class Observer>
  void accept(const decode::Packet& p, const Lookup& l, Observer& obs) noexcept {
    moveClock(p.ts_us, obs);
    if (p.fragment == decode::Fragment::kLater) {
      processLaterFragment(p, obs);
      return;
    }
    std::uint32_t idx = find(l.key, l.hash);
    if (idx != kNil && isFreshSyn(p)) {
      // Port reuse: a new connection on the 4-tuple of one that just closed,
      // or of one that never saw a SYN (a stray ACK after a close, a flow
      // picked up mid-stream): a connection's own SYN comes before its
      // other packets, so this SYN opens another.
      const FlowT& f = pool_[idx];
      if (f.list == kClosingList) {
        end(idx, f.close_reason, obs);
        idx = kNil;
      } else if (((f.tcp_flags[0] | f.tcp_flags[1]) & decode::tcpflag::kSyn) == 0) {
        end(idx, EndReason::kTcpReuse, obs);
        idx = kNil;
      }
    }
    if (idx == kNil) idx = create(l.key, l.hash, l.src_is_lo, p, obs);
    FlowT& f = pool_[idx];
    const Direction dir =
        l.src_is_lo == f.initiator_is_lo ? Direction::kForward : Direction::kBackward;
    account(idx, f, p, dir, obs);
    if (p.fragment == decode::Fragment::kFirst) rememberFragment(p, idx);
    if (p.proto == decode::ipproto::kTcp) trackTcpClose(idx, f, p, dir, obs);
  }

  /// True if `ts` is too far from the clock to be believed at once.
  bool suspect(TimeUs ts) const noexcept {
    const TimeUs bound = cfg_.max_clock_jump_us;
    return clock_set_ && bound > 0 && (ts > now_ + bound || ts < now_ - bound);
  }

  /// Holds a suspect time back (and its packet, copied: no allocation) until
  /// the next time seen decides it.
  void hold(TimeUs ts, const decode::Packet* p, const Lookup* l) noexcept {
    held_ = true;
    held_ts_ = ts;
    held_has_packet_ = p != nullptr;
    if (p != nullptr) {
      held_packet_ = *p;
      held_lookup_ = *l;
    }
  }

  /// The clock rule. A time further than max_clock_jump from the clock is
  /// held until the next time `next` arrives (a packet, an undecodable frame,
  /// a wall-clock tick, or the end of input):
  ///  * `next` agrees with the held time (is no nearer the old clock than
  ///    the bound below the held time, or above it for a time behind): the
  ///    clock really moved. A trickle of packets minutes apart agrees too. Forward (a silent gap in
  ///    a capture, or a clock stepped ahead) is ordinary time: the table moves to it and expires
  ///    flows as usual, so captures with long silences give the same flows as ever. Backward (files
  ///    given out of time order, a clock stepped back) is a clock step: every open flow ends
  ///    (reason shutdown, as at the end of a capture) and the clock restarts at the held time.
  ///    Counted.
  ///  * otherwise the held time was a lone jump (one frame from a device
  ///    whose clock jumped): counted by direction, the clock does not move,
  ///    and its packet is accounted to its flow at the clock's time, the best
  ///    estimate of when it arrived (between its neighbours); its own stamp
  ///    would put a gap of years into its flow's durations and gaps.
  /// Two agreeing times in a row are thus believed: a lone frame cannot move
  /// the clock, a real step costs one packet held for one packet's time.
  template <class Observer>
  void resolveHeld(TimeUs next, Observer& obs) noexcept {
    held_ = false;
    const TimeUs h = held_ts_;
    const TimeUs bound = cfg_.max_clock_jump_us;
    const bool believed = h > now_ ? next >= h - bound : next <= h + bound;
    if (believed && h < now_) {
      ++stats_.clock_steps_back;
      endAll(obs);
      now_ = h;
    } else if (!believed) {
      if (h > now_)
        ++stats_.clock_jumps_ahead;
      else
        ++stats_.clock_jumps_behind;
      stats_.last_clock_jump_us = h - now_;
    }
    if (held_has_packet_) {
      if (!believed) held_packet_.ts_us = now_;
      accept(held_packet_, held_lookup_, obs);
    } else if (believed) {
      moveClock(h, obs);
    }
  }

  /// Moves the clock forward to `now` (never back) and ends or snapshots
  /// every flow whose deadline has passed.
  template <class Observer>
  void moveClock(TimeUs now, Observer& obs) noexcept {
    if (!clock_set_ || now > now_) {
      if (stats_.emergency) stats_.emergency_us += now - now_;
      now_ = now;
    }
    clock_set_ = true;
    while (lists_[kClosingList].head != kNil &&
           pool_[lists_[kClosingList].head].close_deadline <= now_) {
      const std::uint32_t idx = lists_[kClosingList].head;
      end(idx, pool_[idx].close_reason, obs);
    }
    for (std::uint8_t l = 0; l < kClosingList; ++l) {
      while (lists_[l].head != kNil && pool_[lists_[l].head].last_ts + timeouts_[l] < now_) {
        end(lists_[l].head, EndReason::kIdleTimeout, obs);
      }
    }
    if (stats_.emergency && stats_.active < recovery_level_) leaveEmergency();
    if (cfg_.active_timeout_us <= 0) return;
    while (active_.head != kNil && pool_[active_.head].active_deadline <= now_) {
      const std::uint32_t idx = active_.head;
      FlowT& f = pool_[idx];
      if (f.dirty) {
        obs.onSnapshot(f, now_);
        ++f.window;
        f.dirty = false;
        ++stats_.ended[static_cast<std::size_t>(EndReason::kActiveTimeout)];
      }
      // Re-queue at the tail: now_ + timeout is the latest deadline of all,
      // so the list stays ordered without a search.
      unlink(active_, idx, 1);
      f.active_deadline = now_ + cfg_.active_timeout_us;
      pushBack(active_, idx, 1);
    }
  }

  template <class Observer>
  void endAll(Observer& obs) noexcept {
    while (lists_[kClosingList].head != kNil) {
      const std::uint32_t idx = lists_[kClosingList].head;
      end(idx, pool_[idx].close_reason, obs);
    }
    for (;;) {
      const std::uint32_t idx = oldestHead(0, kClosingList);
      if (idx == kNil) break;
      end(idx, EndReason::kShutdown, obs);
    }
  }

  /// The deadline lists. A flow starts on a new-flow list: TCP until its
  /// handshake completes (both sides have sent an ACK: the SYN-ACK, and the
  /// initiator's ACK of it), UDP and the others until their second packet.
  /// It then moves to its protocol's list. A half-open TCP flow with a second
  /// packet (a SYN retransmitted, a SYN-ACK) waits on a list of its own. The
  /// new-flow lists are what a full table evicts first (evictionVictim()),
  /// those of one packet before the others, and half-open TCP has its own
  /// timeout.
  static constexpr std::uint8_t kTcpList = 0, kUdpList = 1, kOtherList = 2;
  static constexpr std::uint8_t kTcpHalfOpenList = 3, kUdpOnePacketList = 4,
                                kOtherOnePacketList = 5;
  static constexpr std::uint8_t kTcpHalfOpenRepliedList = 6;
  static constexpr std::uint8_t kClosingList = 7;
  static constexpr std::uint8_t kNewListOffset = kTcpHalfOpenList - kTcpList;
  static constexpr std::uint32_t kMaxTcpWindow = 1u << 30;  // 65535 << 14, RFC 7323

  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t idx = kNil;
  };
  struct List {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
    std::uint32_t size = 0;
  };
  /// A first fragment, remembered so its later fragments find its flow.
  /// Keyed as the IP layer reassembles: IPv4 by (source, destination,
  /// protocol, id), RFC 791; IPv6 by (source, destination, id), RFC 8200,
  /// whose fragment header names the first header of the fragmentable part
  /// (a destination options header, say), not the transport. And by the IP
  /// version: IPv4 addresses are stored IPv4-mapped, so without it an IPv6
  /// chain between ::ffff:a.b.c.d addresses would match an IPv4 one.
  struct FragmentSlot {
    IpAddress src;
    IpAddress dst;
    std::uint32_t id = 0;
    std::uint32_t flow = kNil;
    std::uint32_t generation = 0;
    std::uint8_t proto = 0;
    std::uint8_t ip_version = 0;
    TimeUs ts = 0;
  };

  static bool isFreshSyn(const decode::Packet& p) noexcept {
    return p.proto == decode::ipproto::kTcp &&
           (p.tcp_flags & (decode::tcpflag::kSyn | decode::tcpflag::kAck)) == decode::tcpflag::kSyn;
  }

  static std::uint8_t listFor(std::uint8_t proto) noexcept {
    if (proto == decode::ipproto::kTcp) return kTcpList;
    if (proto == decode::ipproto::kUdp) return kUdpList;
    return kOtherList;
  }

  static bool isNewList(std::uint8_t list) noexcept {
    return list >= kTcpHalfOpenList && list < kClosingList;
  }

  std::uint32_t find(const FlowKey& key, std::uint32_t h) const noexcept {
    for (std::uint32_t i = h & slot_mask_;; i = (i + 1) & slot_mask_) {
      const Slot& s = slots_[i];
      if (s.idx == kNil) return kNil;
      if (s.hash == h && pool_[s.idx].key == key) return s.idx;
    }
  }

  void insertSlot(std::uint32_t h, std::uint32_t idx) noexcept {
    std::uint32_t i = h & slot_mask_;
    while (slots_[i].idx != kNil) i = (i + 1) & slot_mask_;
    slots_[i] = Slot{h, idx};
  }

  /// Linear-probing removal by backward shift, so no tombstones accumulate.
  void eraseSlot(std::uint32_t h, std::uint32_t idx) noexcept {
    std::uint32_t i = h & slot_mask_;
    while (slots_[i].idx != idx) i = (i + 1) & slot_mask_;
    for (std::uint32_t j = (i + 1) & slot_mask_;; j = (j + 1) & slot_mask_) {
      if (slots_[j].idx == kNil) break;
      const std::uint32_t home = slots_[j].hash & slot_mask_;
      // Move j into the hole at i unless j's home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
  }

  void pushBack(List& l, std::uint32_t idx, int link) noexcept {
    FlowT& f = pool_[idx];
    f.prev[link] = l.tail;
    f.next[link] = kNil;
    if (l.tail != kNil)
      pool_[l.tail].next[link] = idx;
    else
      l.head = idx;
    l.tail = idx;
    ++l.size;
  }

  void unlink(List& l, std::uint32_t idx, int link) noexcept {
    FlowT& f = pool_[idx];
    if (f.prev[link] != kNil)
      pool_[f.prev[link]].next[link] = f.next[link];
    else
      l.head = f.next[link];
    if (f.next[link] != kNil)
      pool_[f.next[link]].prev[link] = f.prev[link];
    else
      l.tail = f.prev[link];
    f.prev[link] = f.next[link] = kNil;
    --l.size;
  }

  /// The flow a full table gives up: a flow of one packet (a lone SYN, a
  /// one-packet UDP or other flow), the least recently seen of the longest
  /// of those three lists; else the least recently seen half-open TCP flow
  /// of more packets (a retransmitted or answered SYN), else the closing
  /// flow nearest its end (it waits only for a last ACK), else the least
  /// recently seen flow. Under a flood of spoofed SYNs or one-packet probes,
  /// established conversations stay, closing ones keep their last packets,
  /// and a real client's retried SYN is not lost among the spoofed ones
  /// (each of those is one packet). Taking from the longest list leaves the
  /// one-packet flows of the protocols not flooded alone: a SYN flood does
  /// not cut an ICMPv6 neighbour solicitation from its retries, nor a UDP
  /// request from its answer.
  std::uint32_t evictionVictim() const noexcept {
    std::uint8_t longest = kTcpHalfOpenList;
    for (std::uint8_t l : {kUdpOnePacketList, kOtherOnePacketList}) {
      const List& a = lists_[l];
      const List& b = lists_[longest];
      if (a.size > b.size ||
          (a.size == b.size && a.size > 0 && pool_[a.head].last_ts < pool_[b.head].last_ts))
        longest = l;
    }
    if (lists_[longest].head != kNil) return lists_[longest].head;
    if (lists_[kTcpHalfOpenRepliedList].head != kNil) return lists_[kTcpHalfOpenRepliedList].head;
    if (lists_[kClosingList].head != kNil) return lists_[kClosingList].head;
    return oldestHead(kTcpList, kTcpHalfOpenList);
  }

  /// The least recently seen flow of lists [from, to).
  std::uint32_t oldestHead(std::uint8_t from, std::uint8_t to) const noexcept {
    std::uint32_t best = kNil;
    for (std::uint8_t l = from; l < to; ++l) {
      const std::uint32_t h = lists_[l].head;
      if (h != kNil && (best == kNil || pool_[h].last_ts < pool_[best].last_ts)) best = h;
    }
    return best;
  }

  template <class Observer>
  void evict(Observer& obs) noexcept {
    const std::uint32_t idx = evictionVictim();
    const std::uint8_t list = pool_[idx].list;
    if (list == kTcpHalfOpenList || list == kTcpHalfOpenRepliedList)
      ++stats_.evicted_half_open;
    else if (isNewList(list))
      ++stats_.evicted_one_packet;
    else if (list == kClosingList)
      ++stats_.evicted_closing;
    else
      ++stats_.evicted_established;
    end(idx, EndReason::kEvicted, obs);
  }

  template <class Observer>
  std::uint32_t create(const FlowKey& key, std::uint32_t h, bool src_is_lo, const decode::Packet& p,
                       Observer& obs) noexcept {
    if (free_count_ == 0) {
      if (!stats_.emergency) enterEmergency();
      evict(obs);
    }
    const std::uint32_t idx = free_[--free_count_];
    FlowT& f = *std::construct_at(&pool_[idx]);
    f.key = key;
    f.hash32 = h;
    f.initiator_is_lo = initiatorIsLo(p, src_is_lo);
    f.first_ts = f.last_ts = p.ts_us;
    f.list = listFor(key.proto) + kNewListOffset;
    insertSlot(h, idx);
    pushBack(lists_[f.list], idx, 0);
    if (cfg_.active_timeout_us > 0) {
      f.active_deadline = now_ + cfg_.active_timeout_us;
      pushBack(active_, idx, 1);
    }
    ++stats_.created;
    stats_.peak_active = std::max(stats_.peak_active, ++stats_.active);
    obs.onStart(f, p);
    return idx;
  }

  /// The direction rule: whether the initiator of the flow that `p` starts
  /// is the key's lower endpoint. A TCP flow first seen at its SYN-ACK was
  /// opened by the SYN-ACK's receiver. One first seen without a SYN (the
  /// capture began, or the table lost it, mid-connection) takes the side
  /// with the lower port as the server, as most servers listen below the
  /// ephemeral range (Zeek guesses from a list of likely server ports);
  /// equal ports leave the sender as initiator. A SYN alone, and every other
  /// protocol, keep the first sender: UDP and ICMP have no handshake to read
  /// and their first packet is most often the request. Counts the flows
  /// turned round, so the first packet is accounted backward and the
  /// features read as if the flow had been seen from its start.
  bool initiatorIsLo(const decode::Packet& p, bool src_is_lo) noexcept {
    using namespace decode::tcpflag;
    if (p.proto != decode::ipproto::kTcp) return src_is_lo;
    if (p.tcp_flags & kSyn) {
      if (!(p.tcp_flags & kAck)) return src_is_lo;
      ++stats_.direction_from_syn_ack;
      return !src_is_lo;
    }
    if (p.src_port >= p.dst_port) return src_is_lo;
    ++stats_.direction_from_port;
    return !src_is_lo;
  }

  /// Emergency mode: the table is full. New flows (and established ones, if
  /// configured) take the shorter emergency timeouts until moveClock() finds
  /// the active flows below the recovery level.
  void enterEmergency() noexcept {
    stats_.emergency = true;
    ++stats_.emergency_entries;
    timeouts_ = emergency_timeouts_;
  }

  void leaveEmergency() noexcept {
    stats_.emergency = false;
    timeouts_ = normal_timeouts_;
  }

  template <class Observer>
  void end(std::uint32_t idx, EndReason reason, Observer& obs) noexcept {
    FlowT& f = pool_[idx];
    obs.onEnd(f, reason, now_);
    ++stats_.ended[static_cast<std::size_t>(reason)];
    --stats_.active;
    unlink(lists_[f.list], idx, 0);
    if (cfg_.active_timeout_us > 0) unlink(active_, idx, 1);
    eraseSlot(f.hash32, idx);
    ++generations_[idx];  // fragments remembered for this flow no longer match
    free_[free_count_++] = idx;
  }

  template <class Observer>
  void account(std::uint32_t idx, FlowT& f, const decode::Packet& p, Direction dir,
               Observer& obs) noexcept {
    const auto d = static_cast<std::size_t>(dir);
    ++f.pkts[d];
    f.bytes[d] += p.wire_len;
    f.payload_bytes[d] += p.payload_len;
    f.tcp_flags[d] |= p.tcp_flags;
    f.last_ts = std::max(f.last_ts, p.ts_us);
    f.dirty = true;
    // To the tail of its last-seen list, unless it is there already (a burst
    // of one flow's packets moves nothing). Closing flows keep their close
    // deadline. A second packet makes a UDP or other flow established, and
    // moves half-open TCP to the list of those with more than one packet
    // (TCP is established by its handshake: trackTcpClose()).
    if (f.list >= kTcpHalfOpenList && f.list <= kOtherOnePacketList && f.pkts[0] + f.pkts[1] > 1) {
      unlink(lists_[f.list], idx, 0);
      f.list = f.list == kTcpHalfOpenList ? kTcpHalfOpenRepliedList : f.list - kNewListOffset;
      pushBack(lists_[f.list], idx, 0);
    } else if (f.list != kClosingList && lists_[f.list].tail != idx) {
      unlink(lists_[f.list], idx, 0);
      pushBack(lists_[f.list], idx, 0);
    }
    obs.onPacket(f, p, dir);
  }

  /// The close rule. A FIN is acknowledged by a packet from the other side
  /// (ACK set, no SYN or RST) whose ACK number is exactly the FIN's end (its
  /// sequence number + payload + 1): TCP forbids acknowledging data never
  /// sent, and nothing follows a FIN, so a duplicate ACK of earlier data or a
  /// forged number does not count. A flow closes cleanly, and ends on that packet,
  /// once both FINs are acknowledged, whatever their order:
  ///  * normal close: A FIN; B's FIN (or an earlier ACK) acknowledges it; A's
  ///    ACK of B's FIN is the last packet;
  ///  * simultaneous close: A FIN and B FIN cross, neither acknowledging the
  ///    other; the later of the two ACKs that follow is the last packet.
  /// A lost (or unseen) final ACK, or an ACK seen before the FIN it answers
  /// (reordering at the tap), leaves the flow to the close linger, counted
  /// from the second FIN. RST moves the flow to the linger at once; a
  /// closing flow stays closing (later RSTs, retransmitted FINs keep to it).
  ///
  /// A RST must fall in the receiver's window to count (RFC 5961 section 3;
  /// Suricata checks it too): its sequence number must lie in [RCV.NXT,
  /// RCV.NXT + RCV.WND), where RCV.NXT is the receiver's last ACK number as
  /// seen here. A real stack's RST carries SND.NXT, or the right window edge
  /// when the window shrank, never less than what its peer acknowledged. The
  /// window's scale is negotiated in the handshake, which a flow picked up
  /// mid-stream never saw, so the table takes the largest window TCP allows
  /// (2^30, a 65535 window scaled by 14, RFC 7323): a RST with a sequence
  /// number outside that (a blind or stale reset) is counted and ignored, and
  /// the flow goes on. While the receiver has sent no ACK (a RST answering a
  /// SYN, a flow picked up mid-stream) the window is unknown and any RST
  /// counts, as it did before; an ACK number of exactly 0 reads as unknown
  /// too (one in 2^32).
  /// Costs 16 bytes per flow: the FIN end of each direction (8) and the last
  /// ACK number of each (8, in what was padding before Ext, the feature
  /// accumulators, which are 16-byte aligned).
  template <class Observer>
  void trackTcpClose(std::uint32_t idx, FlowT& f, const decode::Packet& p, Direction dir,
                     Observer& obs) noexcept {
    using namespace decode::tcpflag;
    const auto d = static_cast<std::size_t>(dir);
    const std::uint8_t bit = dir == Direction::kForward ? 1 : 2;
    const std::uint8_t peer = bit ^ 3;
    if ((f.fin_dirs & peer) && (p.tcp_flags & (kAck | kSyn | kRst)) == kAck &&
        p.tcp_ack == f.fin_end[d ^ 1]) {
      f.fin_acked |= peer;
    }
    // A RST's ACK number is not trusted: it may be the forgery.
    if ((p.tcp_flags & (kAck | kRst)) == kAck) {
      f.last_ack[d] = p.tcp_ack;
      f.ack_dirs |= bit;
      // Both sides acknowledged the other: the handshake is complete (or the
      // flow was picked up mid-stream, both ways), and the flow established.
      if (f.ack_dirs == 3 && (f.list == kTcpHalfOpenList || f.list == kTcpHalfOpenRepliedList)) {
        unlink(lists_[f.list], idx, 0);
        f.list = kTcpList;
        pushBack(lists_[kTcpList], idx, 0);
      }
    }
    if (f.list == kClosingList) {
      if (f.close_reason == EndReason::kTcpFin && f.fin_acked == 3)
        end(idx, EndReason::kTcpFin, obs);
      return;
    }
    if (p.tcp_flags & kRst) {
      const std::uint32_t rcv_nxt = f.last_ack[d ^ 1];
      if (rcv_nxt != 0 && p.tcp_seq - rcv_nxt >= kMaxTcpWindow) {
        ++stats_.rst_out_of_window;
        return;
      }
      beginClosing(idx, f, EndReason::kTcpRst);
    } else if (p.tcp_flags & kFin) {
      if (!(f.fin_dirs & bit)) {
        // SYN and FIN each take one sequence number.
        f.fin_end[d] = p.tcp_seq + p.payload_len + ((p.tcp_flags & kSyn) ? 2u : 1u);
        f.fin_dirs |= bit;
      }
      if (f.fin_dirs == 3) beginClosing(idx, f, EndReason::kTcpFin);
    }
  }

  void beginClosing(std::uint32_t idx, FlowT& f, EndReason reason) noexcept {
    unlink(lists_[f.list], idx, 0);
    f.list = kClosingList;
    f.close_reason = reason;
    f.close_deadline = now_ + cfg_.tcp_close_linger_us;
    pushBack(lists_[kClosingList], idx, 0);
  }

  /// The protocol as a fragment slot keys it (see FragmentSlot).
  static std::uint8_t fragmentProto(const decode::Packet& p) noexcept {
    return p.ip_version == 6 ? 0 : p.proto;
  }

  std::uint32_t fragmentSlot(const decode::Packet& p) const noexcept {
    FlowKey k;  // reuse the key hash over (src, dst, id, proto, version)
    k.lo_addr = p.src;
    k.hi_addr = p.dst;
    k.lo_port = static_cast<std::uint16_t>(p.frag_id >> 16);
    k.hi_port = static_cast<std::uint16_t>(p.frag_id);
    k.proto = fragmentProto(p);
    k.ip_version = p.ip_version;
    return static_cast<std::uint32_t>(hashKey(k, cfg_.hash_key) %
                                      std::max<std::uint32_t>(cfg_.fragment_slots, 1));
  }

  /// A slot whose chain may still see later fragments: its flow lives and
  /// its first fragment is within flows.fragment_timeout.
  bool liveFragmentSlot(const FragmentSlot& s, TimeUs ts) const noexcept {
    return s.flow != kNil && ts - s.ts <= cfg_.fragment_timeout_us &&
           generations_[s.flow] == s.generation;
  }

  void rememberFragment(const decode::Packet& p, std::uint32_t idx) noexcept {
    FragmentSlot& s = frags_[fragmentSlot(p)];
    if (liveFragmentSlot(s, p.ts_us) &&
        !(s.src == p.src && s.dst == p.dst && s.id == p.frag_id && s.proto == fragmentProto(p) &&
          s.ip_version == p.ip_version)) {
      ++stats_.fragment_slots_overwritten;
    }
    s = FragmentSlot{p.src,        p.dst,  p.frag_id, idx, generations_[idx], fragmentProto(p),
                     p.ip_version, p.ts_us};
  }

  template <class Observer>
  void processLaterFragment(const decode::Packet& p, Observer& obs) noexcept {
    const FragmentSlot& s = frags_[fragmentSlot(p)];
    const bool hit = liveFragmentSlot(s, p.ts_us) && s.src == p.src && s.dst == p.dst &&
                     s.id == p.frag_id && s.proto == fragmentProto(p) &&
                     s.ip_version == p.ip_version;
    if (!hit) {
      ++stats_.fragments_unattributed;
      return;
    }
    ++stats_.fragments_attributed;
    FlowT& f = pool_[s.flow];
    const Direction dir = p.src == f.initiatorAddr() ? Direction::kForward : Direction::kBackward;
    account(s.flow, f, p, dir, obs);
  }

  FlowConfig cfg_;
  std::uint32_t capacity_;
  /// Flows are constructed in place when a slot is taken: the pages of slots
  /// never used are never touched, so resident memory follows the flows
  /// actually tracked, not the capacity.
  static_assert(std::is_trivially_destructible_v<FlowT>, "flows are dropped without destruction");
  HugeBuffer<FlowT> pool_;
  std::unique_ptr<std::uint32_t[]> generations_;  // bumped when a slot's flow ends
  std::unique_ptr<std::uint32_t[]> free_;
  std::uint32_t free_count_ = 0;
  HugeBuffer<Slot> slots_;
  std::uint32_t slot_mask_ = 0;
  std::unique_ptr<FragmentSlot[]> frags_;
  /// tcp, udp, other; half-open tcp, one-packet udp, one-packet other,
  /// half-open tcp of more packets (each by last seen); closing (by
  /// deadline). See kTcpList.
  std::array<List, kClosingList + 1> lists_{};
  std::array<TimeUs, kClosingList + 1> timeouts_{};  // the ones in force
  std::array<TimeUs, kClosingList + 1> normal_timeouts_{};
  std::array<TimeUs, kClosingList + 1> emergency_timeouts_{};
  std::uint32_t recovery_level_ = 0;  // emergency ends below this many active flows
  List active_{};                     // by active-timeout deadline
  TimeUs now_ = 0;
  bool clock_set_ = false;  // a first time has been seen
  bool held_ = false;       // a suspect time waits for the next (resolveHeld())
  bool held_has_packet_ = false;
  TimeUs held_ts_ = 0;
  decode::Packet held_packet_{};
  Lookup held_lookup_{};
  FlowTableStats stats_;
};

}  // namespace edgesense::flow
