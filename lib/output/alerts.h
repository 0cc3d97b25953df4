#pragma once
/// Alerts: what the output thread turns verdicts into. The catalog gives
/// each alert class its fixed signature id, text, category, severity and
/// MITRE ATT&CK mapping. The aggregator keeps a flood from becoming a
/// million alerts: per (address, class) — the source, or for floods the
/// destination — the first alert goes out at
/// once and opens a window; later ones in the window are counted, and when
/// the window ends one follow-up record carries the exact count. Time is the
/// records' packet time, so replays aggregate the same way every time. Owned
/// and called by the output thread only.
///
/// The address may be spoofed, so the open windows are capped: a new one
/// past the cap first closes the oldest, whose follow-up (if it suppressed
/// anything) still carries its exact count, over the window it had when
/// closed; it comes out with the next expire() or flushAll().

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decode/packet.h"
#include "inference/verdict.h"

namespace edgesense::output {

struct AlertClass {
  std::string name;  // "scan", "dos", ..., or "anomaly"
  std::uint32_t signature_id = 0;
  std::string signature;  // "edgesense attack model: port scan"
  std::string category;
  int severity = 2;  // Suricata's scale: 1 high, 3 low
  std::string mitre_tactic_id, mitre_tactic, mitre_technique_id, mitre_technique;
  /// Aggregate by destination rather than source: floods, whose sources are
  /// often spoofed and many (Suricata's `track by_dst`).
  bool by_destination = false;
};

/// The catalog entry for an attack class or "anomaly". Known classes have
/// fixed ids (scan 9000001, dos 9000002, bruteforce 9000003, slowdos
/// 9000004, anomaly 9000100); a class a bundle adds gets 9000010 + its index.
/// MITRE fields default to the project's table; a bundle's `mitre` entry
/// overrides them (the caller fills those in).
AlertClass alertClass(std::string_view name, std::size_t class_index);

/// The address an alert of class `c` is aggregated by.
inline const decode::IpAddress& aggregationAddress(const AlertClass& c,
                                                   const features::FlowRecord& r) {
  return c.by_destination ? r.dst : r.src;
}

/// A window that ended with alerts suppressed in it.
struct FollowUp {
  inference::ScoredRecord last;  // the last suppressed alert's record
  std::string class_name;
  std::uint64_t suppressed = 0;
  decode::TimeUs window_start = 0;
  decode::TimeUs window_end = 0;
};

class AlertAggregator {
 public:
  static constexpr std::size_t kDefaultMaxWindows = 16384;

  explicit AlertAggregator(decode::TimeUs window_us, std::size_t max_windows = kDefaultMaxWindows)
      : window_us_(window_us), max_windows_(max_windows > 0 ? max_windows : 1) {}

  /// An alert of `class_name` for `address` at packet time ts. True: write
  /// it now; false: it was counted into the open window.
  bool onAlert(const decode::IpAddress& address, std::string_view class_name, decode::TimeUs ts,
               const inference::ScoredRecord& record);
  /// Closes every window that ended by ts, appending follow-ups for those
  /// with suppressed alerts.
  void expire(decode::TimeUs ts, std::vector<FollowUp>& out);
  /// Closes every window (shutdown).
  void flushAll(std::vector<FollowUp>& out);

  std::size_t openWindows() const noexcept { return open_.size(); }
  /// Windows closed early to make room for a new one.
  std::uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct Key {
    decode::IpAddress src;
    std::string class_name;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Window {
    decode::TimeUs start = 0;
    std::uint64_t suppressed = 0;
    inference::ScoredRecord last;
  };

  /// Closes the window of `key`; `end` is when it ends (its full length,
  /// or the eviction time).
  void close(const Key& key, decode::TimeUs end, std::vector<FollowUp>& out);
  void takeEvicted(std::vector<FollowUp>& out);

  decode::TimeUs window_us_;
  std::size_t max_windows_;
  std::uint64_t evicted_ = 0;
  std::vector<FollowUp> evicted_follow_ups_;  // written with the next expire()
  decode::TimeUs clock_ = 0;                  // the latest packet time seen
  std::unordered_map<Key, Window, KeyHash> open_;
  std::deque<std::pair<decode::TimeUs, Key>> ends_;  // window ends, in opening order
};

}  // namespace edgesense::output
