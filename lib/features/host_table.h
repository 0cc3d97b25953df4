#pragma once
/// HostTable: bounded per-host context for the host features (what a scan,
/// a flood or a brute force looks like, which one flow cannot show). Memory
/// is allocated once; when full, the least recently touched host is evicted
/// (counted). Touched once per flow start and end, never per packet. Owned by
/// the capture thread that owns the flow table.
///
/// A flow's context is read when it starts and kept with the flow, as
/// KDD'99's time-based traffic features are ("connections to the same host
/// as the current connection in the past two seconds"; Lee and Stolfo,
/// 2000): read when the flow is reported instead, a one-packet probe ended
/// by its idle timeout would see the windows two minutes on, not its own.
///
/// Windows decay as a sliding window over two buckets: the estimate is the
/// current bucket plus the previous one weighted by how much of it still lies
/// inside the window. Distinct counts use linear counting over a 256-bit
/// bitmap per bucket (Whang, Vander-Zanden and Taylor, 1990): exact-ish up to
/// ~100, within a few per cent up to ~600, saturating at m*ln(m) = 1420.

#include <array>
#include <cstdint>
#include <memory>

#include "decode/packet.h"
#include "features/schema.h"
#include "flow/huge_buffer.h"
#include "flow/keyed_hash.h"

namespace edgesense::features {

using decode::IpAddress;
using decode::TimeUs;

struct HostTableConfig {
  std::uint32_t max_hosts = 32768;
  TimeUs short_window_us = 10'000'000;
  TimeUs long_window_us = 60'000'000;
  /// Keys the hash of the host slots and of the distinct-count bitmaps
  /// (flows.hash_seed, as the flow table), so nobody can choose hosts or
  /// ports that collide in either. The distinct counts are estimates; which
  /// values share a bit, and so their small errors, depend on the key.
  flow::HashKey hash_key = flow::kDefaultHashKey;
};

struct HostTableStats {
  std::uint64_t evicted = 0;
  std::uint32_t entries = 0;
};

class HostTable {
 public:
  explicit HostTable(const HostTableConfig& cfg);
  ~HostTable();
  HostTable(const HostTable&) = delete;
  HostTable& operator=(const HostTable&) = delete;

  /// A flow from src to dst:dport/proto started at ts: counts it, and returns
  /// the src_* and dst_* host features as of ts, this flow counted.
  HostContext onFlowStart(const IpAddress& src, const IpAddress& dst, std::uint16_t dport,
                          std::uint8_t proto, TimeUs ts) noexcept;
  /// A flow of src ended at ts; failed = no reply, or a reset.
  void onFlowEnd(const IpAddress& src, bool failed, TimeUs ts) noexcept;

  const HostTableStats& stats() const noexcept { return stats_; }
  static std::size_t bytesPerHost() noexcept;

 private:
  struct Host;
  Host* lookup(const IpAddress& addr, TimeUs ts, bool create) noexcept;
  void touch(std::uint32_t idx) noexcept;
  void evictOldest() noexcept;
  void eraseSlot(std::uint32_t idx) noexcept;

  HostTableConfig cfg_;
  std::uint32_t capacity_;
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t idx = 0xffffffffu;  // empty
  };
  flow::HugeBuffer<Host> hosts_;  // constructed as first used
  std::unique_ptr<Slot[]> slots_;
  std::uint32_t slot_mask_ = 0;
  std::uint32_t used_ = 0;
  std::uint32_t next_unused_ = 0;  // hosts_[next_unused_..] never used yet
  std::uint32_t free_slot_ = 0;    // the entry evictOldest() just freed
  std::uint32_t lru_head_;         // least recently touched
  std::uint32_t lru_tail_;
  HostTableStats stats_;
};

}  // namespace edgesense::features
