// Labels: reads a labels file into rules and gives each flow its category,
// for `edgesense train` and `edgesense eval` (offline, after the flow table
// has made the records). The rule is scripts/bundle_tools/label_flows.py's.

#include "labels/labels.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace edgesense::labels {

namespace {

constexpr std::string_view kCategoryNames[kCategoryCount] = {"benign", "reel",       "scan",
                                                             "dos",    "bruteforce", "slowdos"};
constexpr std::string_view kHeader = "start,end,src,dst,dport,proto,category";
constexpr std::size_t kColumns = 7;

/// A finite decimal number, the whole field.
std::optional<double> parseSeconds(std::string_view s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

/// Digits only, at most `max`.
std::optional<unsigned> parseUnsigned(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

/// `*`, an address or a CIDR; host bits under the prefix are cleared (as
/// Python's ip_network(strict=False) does). An error message, or empty.
std::string parseAddressMatch(const std::string& field, AddressMatch& out) {
  out = AddressMatch{};
  if (field == "*") return {};
  const std::size_t slash = field.find('/');
  const std::string addr = field.substr(0, slash);
  std::uint8_t raw[16];
  if (inet_pton(AF_INET, addr.c_str(), raw) == 1) {
    out.v4 = true;
    out.network = decode::IpAddress::fromV4(raw);
  } else if (inet_pton(AF_INET6, addr.c_str(), raw) == 1) {
    out.v4 = false;
    out.network = decode::IpAddress::fromV6(raw);
  } else {
    return "\"" + field + "\" is not an address, a CIDR or *";
  }
  const unsigned max_bits = out.v4 ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string::npos) {
    const auto b = parseUnsigned(std::string_view(field).substr(slash + 1), max_bits);
    if (!b) {
      return "\"" + field + "\": the prefix length must be 0 to " + std::to_string(max_bits);
    }
    bits = *b;
  }
  out.any = false;
  out.bits = static_cast<std::uint8_t>(bits);
  // Clear the host bits (of the family's part of the mapped address).
  const unsigned offset = out.v4 ? 96 : 0;
  for (unsigned bit = offset + bits; bit < 128; ++bit) {
    out.network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return {};
}

bool isTcpOrUdp(std::uint8_t proto) noexcept {
  return proto == decode::ipproto::kTcp || proto == decode::ipproto::kUdp;
}

}  // namespace

std::string_view categoryName(Category c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < kCategoryCount ? kCategoryNames[i] : std::string_view("?");
}

std::optional<Category> parseCategory(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kCategoryCount; ++i) {
    if (kCategoryNames[i] == name) return static_cast<Category>(i);
  }
  return std::nullopt;
}

bool AddressMatch::matches(const decode::IpAddress& a) const noexcept {
  if (any) return true;
  // A family matches only itself, as in Python's ipaddress (an IPv4 address
  // is never "in" an IPv6 network, mapped or not).
  if (a.isV4() != v4) return false;
  const unsigned offset = v4 ? 96 : 0;
  const unsigned end = offset + bits;
  unsigned bit = offset;
  for (; bit + 8 <= end; bit += 8) {
    if (a.bytes[bit / 8] != network.bytes[bit / 8]) return false;
  }
  if (bit < end) {
    const auto mask = static_cast<std::uint8_t>(0xff00u >> (end - bit));
    if ((a.bytes[bit / 8] & mask) != network.bytes[bit / 8]) return false;
  }
  return true;
}

bool LabelRule::matches(const decode::IpAddress& src_addr, const decode::IpAddress& dst_addr,
                        std::uint16_t dst_port, std::uint8_t ip_proto, double first_s,
                        double last_s) const noexcept {
  // Closed windows: touching at one instant is overlapping.
  if (last_s < start || first_s > end) return false;
  if (!src.matches(src_addr) || !dst.matches(dst_addr)) return false;
  // A flow without ports (ICMP, ...) matches only a `*` port.
  if (dport && (!isTcpOrUdp(ip_proto) || dst_port != *dport)) return false;
  switch (proto) {
    case Proto::kAny:
      return true;
    case Proto::kTcp:
      return ip_proto == decode::ipproto::kTcp;
    case Proto::kUdp:
      return ip_proto == decode::ipproto::kUdp;
    case Proto::kIcmp:
      return ip_proto == decode::ipproto::kIcmp || ip_proto == decode::ipproto::kIcmpv6;
  }
  return false;
}

LabelSet LabelSet::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LabelError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw LabelError(path + ": cannot read: " + std::strerror(errno));
  return parse(text.str(), path);
}

LabelSet LabelSet::parse(std::string_view text, const std::string& name) {
  LabelSet set;
  set.source_ = name;
  std::vector<std::string> f;
  std::size_t line_no = 0;
  bool header_seen = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto fail = [&](const std::string& why) {
      return LabelError(name + ":" + std::to_string(line_no) + ": " + why);
    };
    if (!header_seen) {
      if (line != kHeader) {
        throw fail("the header must be \"" + std::string(kHeader) + "\", not \"" +
                   std::string(line) + "\"");
      }
      header_seen = true;
      continue;
    }
    if (line.empty()) continue;  // as Python's csv module skips blank lines
    if (!splitCsv(line, f)) throw fail("malformed quotes");
    if (f.size() != kColumns) {
      throw fail(std::to_string(f.size()) + " fields, the header has " + std::to_string(kColumns));
    }
    LabelRule r;
    r.line = line_no;
    const auto start = parseSeconds(f[0]);
    if (!start) throw fail("start \"" + f[0] + "\" is not a time in epoch seconds");
    const auto end = parseSeconds(f[1]);
    if (!end) throw fail("end \"" + f[1] + "\" is not a time in epoch seconds");
    r.start = *start;
    r.end = *end;
    if (r.end < r.start) throw fail("end " + f[1] + " is before start " + f[0]);
    if (std::string why = parseAddressMatch(f[2], r.src); !why.empty()) throw fail("src " + why);
    if (std::string why = parseAddressMatch(f[3], r.dst); !why.empty()) throw fail("dst " + why);
    if (f[4] != "*") {
      const auto port = parseUnsigned(f[4], 65535);
      if (!port) throw fail("dport \"" + f[4] + "\" is not a port (0 to 65535) or *");
      r.dport = static_cast<std::uint16_t>(*port);
    }
    if (f[5] == "*") {
      r.proto = LabelRule::Proto::kAny;
    } else if (f[5] == "tcp") {
      r.proto = LabelRule::Proto::kTcp;
    } else if (f[5] == "udp") {
      r.proto = LabelRule::Proto::kUdp;
    } else if (f[5] == "icmp") {
      r.proto = LabelRule::Proto::kIcmp;
    } else {
      throw fail("proto \"" + f[5] + "\" is not tcp, udp, icmp or *");
    }
    const auto category = parseCategory(f[6]);
    if (!category) {
      throw fail("unknown category \"" + f[6] +
                 "\" (benign, reel, scan, dos, bruteforce or slowdos)");
    }
    r.category = *category;
    set.rules_.push_back(r);
  }
  if (!header_seen) throw LabelError(name + ":1: empty file (no header)");
  return set;
}

std::optional<std::size_t> LabelSet::match(const decode::IpAddress& src,
                                           const decode::IpAddress& dst, std::uint16_t dport,
                                           std::uint8_t proto, double first_s,
                                           double last_s) const noexcept {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].matches(src, dst, dport, proto, first_s, last_s)) return i;
  }
  return std::nullopt;
}

Category LabelSet::classify(const decode::IpAddress& src, const decode::IpAddress& dst,
                            std::uint16_t dport, std::uint8_t proto, double first_s,
                            double last_s) const noexcept {
  const auto i = match(src, dst, dport, proto, first_s, last_s);
  return i ? rules_[*i].category : Category::kBenign;
}

Category LabelSet::classify(const features::FlowRecord& r) const noexcept {
  // The same doubles `replay --csv` prints (output/csv.cpp), so a flow here
  // and its CSV row through label_flows.py fall on the same side of an edge.
  const double first_s = static_cast<double>(r.start_us) * 1e-6;
  const double last_s = static_cast<double>(r.end_us) * 1e-6;
  return classify(r.src, r.dst, r.dst_port, r.proto, first_s, last_s);
}

FlowExclusion FlowExclusion::load(const std::vector<std::string>& paths) {
  std::vector<LabelSet> sets;
  sets.reserve(paths.size());
  for (const std::string& p : paths) sets.push_back(LabelSet::load(p));
  return FlowExclusion(std::move(sets));
}

bool FlowExclusion::matches(const decode::IpAddress& src, const decode::IpAddress& dst,
                            std::uint16_t dport, std::uint8_t proto, double first_s,
                            double last_s) const noexcept {
  for (const LabelSet& s : sets_) {
    if (s.match(src, dst, dport, proto, first_s, last_s)) return true;
  }
  return false;
}

bool FlowExclusion::matches(const features::FlowRecord& r) const noexcept {
  // The conversion of LabelSet::classify(record), so a flow is left out
  // exactly when a labels file with the same rows would label it.
  const double first_s = static_cast<double>(r.start_us) * 1e-6;
  const double last_s = static_cast<double>(r.end_us) * 1e-6;
  return matches(r.src, r.dst, r.dst_port, r.proto, first_s, last_s);
}

std::vector<std::string> FlowExclusion::files() const {
  std::vector<std::string> out;
  for (const LabelSet& s : sets_) out.push_back(s.source());
  return out;
}

bool splitCsv(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  std::size_t i = 0;
  for (;;) {
    std::string& f = out.emplace_back();
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return false;
        if (line[i] != '"') {
          f += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          f += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      const std::size_t end = std::min(line.find(',', i), line.size());
      f.assign(line.substr(i, end - i));
      if (f.find('"') != std::string::npos) return false;
      i = end;
    }
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace edgesense::labels
