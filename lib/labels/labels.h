#pragma once
/// Ground-truth labels for flows: the labels file that `edgesense train` and
/// `edgesense eval` read (and scripts/bundle_tools/label_flows.py, whose rule
/// this is, to the bit), and the one place that says how a flow's category
/// becomes each head's class.
///
/// A labels file is a CSV with the header `start,end,src,dst,dport,proto,category`:
/// epoch seconds (decimal), initiator and responder (an address, a CIDR or
/// `*`), responder port or `*`, `tcp`/`udp`/`icmp`/`*`, and a category name.
/// A flow takes the category of the FIRST row whose closed time window
/// [start, end] overlaps the flow's [first packet, last packet] and whose
/// fields match its initiator -> responder direction; a flow matching no row
/// is benign. An IPv4 CIDR matches only IPv4 addresses, an IPv6 CIDR only
/// IPv6 ones; `icmp` matches ICMP and ICMPv6; a port matches only TCP and UDP
/// flows (`*` matches every flow).
///
/// Ownership and threads: a LabelSet is an immutable value once loaded;
/// classify() is const and may be called from any number of threads. Offline
/// tools only (it is a linear scan of the rows per flow), never the packet path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode/packet.h"
#include "features/flow_record.h"

namespace edgesense::labels {

/// A flow's ground truth. The order is the labels file's and never changes
/// (it indexes tables below).
enum class Category : std::uint8_t { kBenign, kReel, kScan, kDos, kBruteforce, kSlowdos };
inline constexpr std::size_t kCategoryCount = 6;

/// "benign", "reel", "scan", "dos", "bruteforce", "slowdos".
std::string_view categoryName(Category c) noexcept;
/// The category of a name as the labels file spells it (exact, lower case).
std::optional<Category> parseCategory(std::string_view name) noexcept;

/// A labels file that cannot be used. what() is "FILE:LINE: reason" (or
/// "FILE: reason" when no line is to blame: the file cannot be read).
class LabelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An address range of a rule: `*`, or a CIDR (an address alone is /32 or
/// /128). Addresses are kept as decode::IpAddress does, IPv4-mapped.
struct AddressMatch {
  bool any = true;
  bool v4 = false;        // the CIDR's family
  std::uint8_t bits = 0;  // prefix length within the family (0..32 or 0..128)
  decode::IpAddress network{};

  bool matches(const decode::IpAddress& a) const noexcept;
};

/// One row of a labels file.
struct LabelRule {
  double start = 0;                    // epoch seconds, inclusive
  double end = 0;                      // inclusive, >= start
  AddressMatch src;                    // initiator
  AddressMatch dst;                    // responder
  std::optional<std::uint16_t> dport;  // empty: `*`
  enum class Proto : std::uint8_t { kAny, kTcp, kUdp, kIcmp } proto = Proto::kAny;
  Category category = Category::kBenign;
  std::size_t line = 0;  // in the labels file, for messages

  bool matches(const decode::IpAddress& src_addr, const decode::IpAddress& dst_addr,
               std::uint16_t dst_port, std::uint8_t ip_proto, double first_s,
               double last_s) const noexcept;
};

class LabelSet {
 public:
  /// Reads and checks a labels file. Throws LabelError "FILE:LINE: reason"
  /// for a bad header, time, address/CIDR, port, proto or category, or a row
  /// whose end is before its start.
  static LabelSet load(const std::string& path);
  /// The same for the file's text; `name` stands for the file in messages.
  static LabelSet parse(std::string_view text, const std::string& name);

  /// The category of a flow record (an interim snapshot or the final one):
  /// its initiator, responder, responder port and protocol, and its first and
  /// last packet times converted as `replay --csv` writes them (µs x 1e-6),
  /// so this agrees with label_flows.py on that CSV.
  Category classify(const features::FlowRecord& record) const noexcept;
  /// The same from the fields: `dport` is only looked at for TCP (6) and UDP
  /// (17) flows; first_s/last_s are the flow's first and last packet times.
  Category classify(const decode::IpAddress& src, const decode::IpAddress& dst, std::uint16_t dport,
                    std::uint8_t proto, double first_s, double last_s) const noexcept;
  /// Index into rules() of the first matching row, if any (classify() is its
  /// category, or benign).
  std::optional<std::size_t> match(const decode::IpAddress& src, const decode::IpAddress& dst,
                                   std::uint16_t dport, std::uint8_t proto, double first_s,
                                   double last_s) const noexcept;

  const std::vector<LabelRule>& rules() const noexcept { return rules_; }
  /// The file it was loaded from (or the name given to parse()).
  const std::string& source() const noexcept { return source_; }

 private:
  std::vector<LabelRule> rules_;
  std::string source_;
};

/// Flows to leave out of training or evaluation (`train --exclude FILE`,
/// `eval --exclude FILE`): the rows of labels files, matched as LabelSet
/// matches them; the category column is read (it must be valid) but not used.
/// A flow is left out, every snapshot of it, when its final record matches a
/// row of any file: an interim snapshot's [first, last] lies inside the final
/// record's, so a snapshot matching means the final record does. An empty
/// exclusion leaves every flow in. Immutable once loaded, like LabelSet.
class FlowExclusion {
 public:
  /// Reads each file with LabelSet::load (LabelError "FILE:LINE: reason").
  static FlowExclusion load(const std::vector<std::string>& paths);
  /// The same from already parsed sets.
  FlowExclusion() = default;
  explicit FlowExclusion(std::vector<LabelSet> sets) : sets_(std::move(sets)) {}

  bool empty() const noexcept { return sets_.empty(); }
  /// A flow record (the final one, or an interim snapshot), its times as
  /// LabelSet::classify(record) converts them.
  bool matches(const features::FlowRecord& record) const noexcept;
  bool matches(const decode::IpAddress& src, const decode::IpAddress& dst, std::uint16_t dport,
               std::uint8_t proto, double first_s, double last_s) const noexcept;
  /// The files, in the order given.
  std::vector<std::string> files() const;

 private:
  std::vector<LabelSet> sets_;
};

// ---- how a category becomes each head's class (one place) ----

/// The reel head's classes, in bundle output order.
inline constexpr std::array<std::string_view, 2> kReelClasses = {"non_reel", "reel"};
/// The attack head's classes, in bundle output order; benign first.
inline constexpr std::array<std::string_view, 5> kAttackClasses = {"benign", "scan", "dos",
                                                                   "bruteforce", "slowdos"};

/// Reel head: positive (class 1, "reel") iff the flow is a reel.
constexpr bool isReel(Category c) noexcept {
  return c == Category::kReel;
}
constexpr std::size_t reelClassIndex(Category c) noexcept {
  return isReel(c) ? 1 : 0;
}

/// Attack head: the index into kAttackClasses; a reel is benign traffic.
constexpr std::size_t attackClassIndex(Category c) noexcept {
  switch (c) {
    case Category::kBenign:
    case Category::kReel:
      return 0;
    case Category::kScan:
      return 1;
    case Category::kDos:
      return 2;
    case Category::kBruteforce:
      return 3;
    case Category::kSlowdos:
      return 4;
  }
  return 0;
}

/// Anomaly head: what the isolation forest trains on (benign and reels; an
/// attack is what it should find).
constexpr bool isBenignForAnomaly(Category c) noexcept {
  return attackClassIndex(c) == 0;
}

/// Splits one CSV line; a field may be double-quoted ("" inside is a quote),
/// as Python's csv module writes it. False on a stray or unterminated quote.
/// Shared by the labels reader and train's CSV inputs.
bool splitCsv(std::string_view line, std::vector<std::string>& out);

}  // namespace edgesense::labels
