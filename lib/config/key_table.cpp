// The key table and the typed readers and writers it binds to Config fields.
// Everything else in lib/config (loading, the example file, the docs page)
// walks this table; a key exists once, here.

#include "config/key_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace edgesense::config {
namespace detail {

// ---------------------------------------------------------------------------
// Scalars

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      if (n.size() == 0) return "an empty mapping";
      return n.size() == 1 ? "a mapping" : "a mapping of " + std::to_string(n.size()) + " keys";
    case YAML::NodeType::Scalar:
      break;
  }
  if (n.Tag() == "!") return "the quoted string \"" + n.Scalar() + "\"";
  return "'" + n.Scalar() + "'";
}

namespace {

/// A scalar that may be read as a number or a bool: plain, or explicitly
/// tagged with anything but !!str.
bool untypedScalar(const YAML::Node& n) {
  return n.IsScalar() && n.Tag() != "!" && n.Tag() != "tag:yaml.org,2002:str";
}

std::optional<bool> parseBool(std::string_view s) {
  for (std::string_view t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
    if (s == t) return true;
  }
  for (std::string_view f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

std::string_view dropPlus(std::string_view s) {
  return s.size() > 1 && s[0] == '+' && s[1] != '-' ? s.substr(1) : s;
}

/// nullopt if s is not an integer; `overflow` set if it is one too large.
std::optional<std::int64_t> parseInt(std::string_view s, bool& overflow) {
  s = dropPlus(s);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  overflow = ec == std::errc::result_out_of_range && ptr == s.data() + s.size();
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parseDouble(std::string_view s) {
  s = dropPlus(s);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

bool inBounds(const Key& k, double v) {
  return v >= k.min && v <= k.max;
}

std::string rangeMessage(const Key& k, std::string_view got) {
  return "must be " + describeBounds(k) + ", got " + std::string(got);
}

/// "expected one of a, b; got 'x'; did you mean 'y'?"
std::string choiceMessage(std::string_view got, std::span<const std::string_view> choices) {
  std::string m = "expected one of ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i) m += ", ";
    m += choices[i];
  }
  m += "; got '" + std::string(got) + "'";
  const std::string_view near = nearest(got, choices);
  if (!near.empty()) m += "; did you mean '" + std::string(near) + "'?";
  return m;
}

std::optional<std::size_t> choiceIndex(std::string_view s,
                                       std::span<const std::string_view> choices) {
  const auto it = std::find(choices.begin(), choices.end(), s);
  if (it == choices.end()) return std::nullopt;
  return static_cast<std::size_t>(it - choices.begin());
}

// ---------------------------------------------------------------------------
// Typed readers: one per kind of Config field.

template <class T>
inline constexpr bool kIsOptional = false;
template <class T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

constexpr std::string_view kSinkKinds[] = {"file", "stdout", "syslog"};
constexpr std::string_view kSyslogFacilities[] = {"user",   "daemon", "local0", "local1", "local2",
                                                  "local3", "local4", "local5", "local6", "local7"};

bool readString(const Key& k, const YAML::Node& n, const YAML::Mark& at, const std::string& path,
                std::string& out, Reporter& r) {
  if (n.IsNull()) {
    out.clear();
  } else if (n.IsScalar()) {
    out = n.Scalar();
  } else {
    r.add(at, path, "expected a string, got " + describe(n));
    return false;
  }
  if (k.check != nullptr) {
    if (std::string problem = k.check(out); !problem.empty()) {
      r.add(at, path, std::move(problem));
      return false;
    }
  }
  return true;
}

bool readCount(const Key& k, std::size_t n, const YAML::Mark& at, const std::string& path,
               Reporter& r) {
  if (inBounds(k, static_cast<double>(n))) return true;
  const std::string bounds = std::isfinite(k.max) && k.min > 0
                                 ? "between " + formatNumber(k.min) + " and " + formatNumber(k.max)
                             : std::isfinite(k.max) ? "at most " + formatNumber(k.max)
                                                    : "at least " + formatNumber(k.min);
  r.add(at, path,
        "expected " + bounds +
            (k.max == 1 || (!std::isfinite(k.max) && k.min == 1) ? " item" : " items") + ", got " +
            std::to_string(n));
  return false;
}

bool readStringList(const Key& k, const YAML::Node& n, const YAML::Mark& at,
                    const std::string& path, std::vector<std::string>& out, Reporter& r) {
  out.clear();
  if (!n.IsNull() && !n.IsSequence()) {
    r.add(at, path, "expected a list such as " + std::string(k.def) + ", got " + describe(n));
    return false;
  }
  bool ok = true;
  std::size_t i = 0;
  for (const YAML::Node& item : n) {
    const std::string item_path = path + "[" + std::to_string(i++) + "]";
    if (!item.IsScalar() || item.Scalar().empty()) {
      r.add(item.Mark(), item_path, "expected a name, got " + describe(item));
      ok = false;
      continue;
    }
    const std::string& s = item.Scalar();
    if (k.type == Type::kEnumList && !choiceIndex(s, k.choices)) {
      r.add(item.Mark(), item_path, choiceMessage(s, k.choices));
      ok = false;
      continue;
    }
    if (std::find(out.begin(), out.end(), s) != out.end()) {
      r.add(item.Mark(), item_path, "'" + s + "' is listed twice");
      ok = false;
      continue;
    }
    out.push_back(s);
  }
  return ok && readCount(k, i, at, path, r);
}

bool readSinks(const Key& k, const YAML::Node& n, const YAML::Mark& at, const std::string& path,
               std::vector<AlertSink>& out, Reporter& r) {
  static constexpr std::string_view kForm =
      "a one-key mapping such as {file: PATH}, {stdout: true} or {syslog: local5}";
  out.clear();
  if (!n.IsNull() && !n.IsSequence()) {
    r.add(at, path,
          "expected a list of sinks, each " + std::string(kForm) + "; got " + describe(n));
    return false;
  }
  bool ok = true;
  std::size_t i = 0;
  for (const YAML::Node& item : n) {
    const std::string item_path = path + "[" + std::to_string(i++) + "]";
    if (!item.IsMap() || item.size() != 1) {
      r.add(item.Mark(), item_path, "expected " + std::string(kForm) + ", got " + describe(item));
      ok = false;
      continue;
    }
    const auto pair = *item.begin();
    const std::string kind = pair.first.IsScalar() ? pair.first.Scalar() : describe(pair.first);
    const YAML::Node& value = pair.second;
    const YAML::Mark value_at = value.IsNull() ? pair.first.Mark() : value.Mark();
    AlertSink sink;
    if (kind == "file") {
      sink.kind = AlertSink::Kind::kFile;
      if (!value.IsScalar() || value.Scalar().empty()) {
        r.add(value_at, item_path + ".file", "expected a file path, got " + describe(value));
        ok = false;
        continue;
      }
      sink.target = value.Scalar();
    } else if (kind == "stdout") {
      sink.kind = AlertSink::Kind::kStdout;
      const std::optional<bool> on =
          untypedScalar(value) ? parseBool(value.Scalar()) : std::nullopt;
      if (!on) {
        r.add(value_at, item_path + ".stdout", "expected true or false, got " + describe(value));
        ok = false;
        continue;
      }
      if (!*on) continue;  // {stdout: false}: no sink
    } else if (kind == "syslog") {
      sink.kind = AlertSink::Kind::kSyslog;
      if (!value.IsScalar() || !choiceIndex(value.Scalar(), kSyslogFacilities)) {
        r.add(value_at, item_path + ".syslog",
              value.IsScalar() ? choiceMessage(value.Scalar(), kSyslogFacilities)
                               : "expected a syslog facility, got " + describe(value));
        ok = false;
        continue;
      }
      sink.target = value.Scalar();
    } else {
      std::string m = "unknown sink '" + kind + "'; sinks are file, stdout and syslog";
      if (const std::string_view near = nearest(kind, kSinkKinds); !near.empty()) {
        m += "; did you mean '" + std::string(near) + "'?";
      }
      r.add(pair.first.Mark(), item_path, std::move(m));
      ok = false;
      continue;
    }
    if (std::find(out.begin(), out.end(), sink) != out.end()) {
      r.add(item.Mark(), item_path, "this sink is listed twice");
      ok = false;
      continue;
    }
    out.push_back(std::move(sink));
  }
  return ok && readCount(k, out.size(), at, path, r);
}

template <class T>
bool readValue(const Key& k, const YAML::Node& n, const YAML::Mark& at, const std::string& path,
               T& out, Reporter& r) {
  if constexpr (kIsOptional<T>) {
    if (n.IsNull()) {
      out.reset();
      return true;
    }
    typename T::value_type v{};
    if (!readValue(k, n, at, path, v, r)) return false;
    out = v;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    const std::optional<bool> v = untypedScalar(n) ? parseBool(n.Scalar()) : std::nullopt;
    if (!v) {
      r.add(at, path, "expected true or false, got " + describe(n));
      return false;
    }
    out = *v;
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    bool overflow = false;
    const std::optional<std::int64_t> v =
        untypedScalar(n) ? parseInt(n.Scalar(), overflow) : std::nullopt;
    if (!v) {
      r.add(at, path,
            overflow ? rangeMessage(k, n.Scalar())
                     : "expected a whole number" +
                           std::string(k.type == Type::kBytes ? " of bytes" : "") + ", got " +
                           describe(n));
      return false;
    }
    if (!inBounds(k, static_cast<double>(*v))) {
      r.add(at, path, rangeMessage(k, n.Scalar()));
      return false;
    }
    out = static_cast<T>(*v);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    const std::optional<double> v = untypedScalar(n) ? parseDouble(n.Scalar()) : std::nullopt;
    if (!v) {
      r.add(at, path,
            std::string(k.type == Type::kSeconds ? "expected a number of seconds"
                                                 : "expected a number") +
                (k.nullable ? " or null" : "") + ", got " + describe(n));
      return false;
    }
    if (!inBounds(k, *v)) {
      r.add(at, path, rangeMessage(k, n.Scalar()));
      return false;
    }
    out = *v;
    return true;
  } else if constexpr (std::is_enum_v<T>) {
    if (!n.IsScalar()) {
      r.add(at, path, "expected one of the names " + describeBounds(k) + ", got " + describe(n));
      return false;
    }
    const std::optional<std::size_t> i = choiceIndex(n.Scalar(), k.choices);
    if (!i) {
      r.add(at, path, choiceMessage(n.Scalar(), k.choices));
      return false;
    }
    out = static_cast<T>(*i);
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return readString(k, n, at, path, out, r);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return readStringList(k, n, at, path, out, r);
  } else if constexpr (std::is_same_v<T, std::vector<AlertSink>>) {
    return readSinks(k, n, at, path, out, r);
  } else {
    static_assert(sizeof(T) == 0, "no reader for this field type");
  }
}

// ---------------------------------------------------------------------------
// Typed writers: the inverse, as YAML text.

template <class T>
std::string writeValue(const Key& k, const T& v) {
  if constexpr (kIsOptional<T>) {
    return v ? writeValue(k, *v) : "null";
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return formatNumber(v);
  } else if constexpr (std::is_enum_v<T>) {
    return std::string(k.choices[static_cast<std::size_t>(v)]);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return quote(v);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
    return s + "]";
  } else if constexpr (std::is_same_v<T, std::vector<AlertSink>>) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      s += i ? ", {" : "{";
      s += kSinkKinds[static_cast<std::size_t>(v[i].kind)];
      s += ": ";
      s += v[i].kind == AlertSink::Kind::kStdout ? "true" : quote(v[i].target);
      s += "}";
    }
    return s + "]";
  } else {
    static_assert(sizeof(T) == 0, "no writer for this field type");
  }
}

// ---------------------------------------------------------------------------
// Binding a row to its field.

template <class T>
bool fits(Type type) {
  using V = typename Unwrap<T>::type;
  if constexpr (kIsOptional<T>) {
    if (!std::is_floating_point_v<V>) return false;
  }
  if constexpr (std::is_same_v<V, bool>) return type == Type::kBool;
  if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    return type == Type::kInt || type == Type::kBytes;
  }
  if constexpr (std::is_floating_point_v<V>) return type == Type::kSeconds || type == Type::kNumber;
  if constexpr (std::is_enum_v<V>) return type == Type::kEnum;
  if constexpr (std::is_same_v<V, std::string>) return type == Type::kString;
  if constexpr (std::is_same_v<V, std::vector<std::string>>) {
    return type == Type::kStringList || type == Type::kEnumList;
  }
  if constexpr (std::is_same_v<V, std::vector<AlertSink>>) return type == Type::kSinks;
  return false;
}

/// Completes a key row with the reader and writer of the field `Field`
/// selects. A row that does not fit its field is a programming error,
/// caught the first time the table is built (every test builds it).
template <class Field>
Key bind(Key k, Field) {
  using T = std::remove_cvref_t<decltype(Field{}(std::declval<Config&>()))>;
  if (!fits<T>(k.type)) throw std::logic_error("config key " + std::string(k.path) + ": type");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!(k.min >= static_cast<double>(std::numeric_limits<T>::min()) &&
          k.max <= static_cast<double>(std::numeric_limits<T>::max()))) {
      throw std::logic_error("config key " + std::string(k.path) + ": bounds exceed the field");
    }
  }
  if ((k.type == Type::kEnum || k.type == Type::kEnumList) && k.choices.empty()) {
    throw std::logic_error("config key " + std::string(k.path) + ": no choices");
  }
  k.nullable = kIsOptional<T>;
  k.read = [](const Key& key, const YAML::Node& value, const YAML::Mark& at,
              const std::string& path, Config& cfg, Reporter& r) {
    T v{};
    if (!readValue(key, value, at, path, v, r)) return false;
    Field{}(cfg) = std::move(v);
    return true;
  };
  k.write = [](const Key& key, const Config& cfg) { return writeValue(key, Field{}(cfg)); };
  return k;
}

Key section(std::string_view path, std::string_view doc) {
  return Key{.path = path, .type = Type::kSection, .doc = doc};
}

#define EDGESENSE_FIELD(member) \
  [](auto& c) -> auto& {        \
    return c.member;            \
  }

// ---------------------------------------------------------------------------
// Checks and choices

std::string nonEmpty(std::string_view s) {
  return s.empty() ? "must not be empty" : "";
}

/// HOST:PORT, the host an address or a name, IPv6 in brackets; or empty.
std::string listenAddress(std::string_view s) {
  if (s.empty()) return "";
  static constexpr std::string_view kForm =
      "expected HOST:PORT such as 127.0.0.1:9750 or [::1]:9750";
  std::string_view host, port;
  if (s.front() == '[') {
    const std::size_t close = s.find("]:");
    if (close == std::string_view::npos)
      return std::string(kForm) + ", got '" + std::string(s) + "'";
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return std::string(kForm) + ", got '" + std::string(s) + "' (no port)";
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::string(kForm) + ", got '" + std::string(s) + "' (an IPv6 host needs brackets)";
    }
  }
  bool overflow = false;
  const std::optional<std::int64_t> p = parseInt(port, overflow);
  if (host.empty() || host.find(' ') != std::string_view::npos) {
    return std::string(kForm) + ", got '" + std::string(s) + "'";
  }
  if (!p || *p < 1 || *p > 65535 || port.front() == '+') {
    return "the port must be a number from 1 to 65535, got '" + std::string(port) + "'";
  }
  return "";
}

std::string urlPath(std::string_view s) {
  if (s.empty() || s.front() != '/') return "must start with '/'";
  if (s.find_first_of(" ?#") != std::string_view::npos) return "must be a plain path";
  return "";
}

constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "critical"};
constexpr std::string_view kFormats[] = {"text", "json"};
constexpr std::string_view kProtocols[] = {"tcp", "udp"};
constexpr std::string_view kFanoutModes[] = {"ip-pair", "flow"};  // capture::FanoutMode

// ---------------------------------------------------------------------------
// The table

std::vector<Key> makeTable() {
  return {
      section("capture",
              "Live capture with libpcap (`edgesense run`); `replay` reads files and ignores it."),
      bind({.path = "capture.interfaces",
            .type = Type::kStringList,
            .def = "[eth0]",
            .min = 1,
            .max = 64,
            .doc = "Interfaces to capture on, by name; each gets `threads` capture threads."},
           EDGESENSE_FIELD(capture.interfaces)),
      bind({.path = "capture.bpf",
            .type = Type::kString,
            .def = "\"\"",
            .doc = "BPF filter in tcpdump syntax, compiled at start-up; empty: every packet."},
           EDGESENSE_FIELD(capture.bpf)),
      bind({.path = "capture.snaplen",
            .type = Type::kInt,
            .def = "262144",
            .min = 64,
            .max = 262144,
            .doc = "Bytes kept of each frame (libpcap's snapshot length). Byte counts use the "
                   "length on the wire either way."},
           EDGESENSE_FIELD(capture.snaplen)),
      bind({.path = "capture.promiscuous",
            .type = Type::kBool,
            .def = "true",
            .doc = "Promiscuous mode: see traffic not addressed to this host (a mirror port or "
                   "tap)."},
           EDGESENSE_FIELD(capture.promiscuous)),
      bind({.path = "capture.buffer_size",
            .type = Type::kBytes,
            .def = "67108864",
            .min = 1 << 20,
            .max = 1 << 30,
            .doc = "Kernel capture buffer per capture thread, in bytes (64 MiB); a larger one "
                   "rides out longer bursts without drops."},
           EDGESENSE_FIELD(capture.buffer_size)),
      bind({.path = "capture.immediate",
            .type = Type::kBool,
            .def = "false",
            .doc = "Immediate mode: each packet is delivered at once rather than in batches; "
                   "lower latency, more CPU."},
           EDGESENSE_FIELD(capture.immediate)),
      bind({.path = "capture.threads",
            .type = Type::kInt,
            .def = "1",
            .min = 1,
            .max = 64,
            .doc = "Capture threads per interface. Several share a PACKET_FANOUT group (see "
                   "`fanout`); each has its own flow table and host table."},
           EDGESENSE_FIELD(capture.threads)),
      bind({.path = "capture.fanout",
            .type = Type::kEnum,
            .def = "ip-pair",
            .doc = "How several capture threads share an interface. ip-pair: by a hash of the IP "
                   "address pair, so every packet between two hosts, fragments included, reaches "
                   "one thread as it was on the wire, and flow features equal a single-thread "
                   "replay of the same traffic; few busy host pairs balance poorly. flow: the "
                   "kernel's flow hash, better balanced, but IPv4 datagrams arrive reassembled "
                   "(one packet where the wire had fragments) and IPv6 fragments may reach "
                   "another thread than their flow. Host context (src_*, dst_*) is per thread "
                   "either way.",
            .choices = kFanoutModes},
           EDGESENSE_FIELD(capture.fanout)),
      bind({.path = "capture.read_timeout",
            .type = Type::kSeconds,
            .def = "0.1",
            .min = 0.001,
            .max = 10,
            .doc = "Seconds a capture read waits for packets; on a quiet link flows still expire "
                   "at this pace."},
           EDGESENSE_FIELD(capture.read_timeout)),

      section("flows",
              "The flow table of each capture thread, and feature extraction. Times are packet "
              "times."),
      bind({.path = "flows.max",
            .type = Type::kInt,
            .def = "131072",
            .min = 1,
            .max = 1 << 28,
            .doc = "Flows tracked per capture thread, in memory allocated once (about 1 KB a "
                   "flow; memcap can lower it). When full, a flow is evicted and counted by kind: "
                   "the least recently seen flow of one packet (a lone SYN, a one-packet UDP or "
                   "other flow) first, then a half-open TCP flow of more packets, then a closing "
                   "TCP flow, an established one only when there is none; and the table enters "
                   "emergency mode (emergency_*)."},
           EDGESENSE_FIELD(flows.max)),
      bind({.path = "flows.memcap",
            .type = Type::kBytes,
            .def = "0",
            .min = 0,
            .max = 1099511627776.0,
            .doc = "Bytes of memory the flow table of each capture thread may hold: its flows, "
                   "hash slots, free list, generations and fragment slots. The table then holds "
                   "the most flows that fit, at most max (the smaller wins). 0: max alone sizes "
                   "it. The replay summary and edgesense_flow_table_bytes show what a table "
                   "holds."},
           EDGESENSE_FIELD(flows.memcap)),
      bind({.path = "flows.emergency_recovery",
            .type = Type::kInt,
            .def = "30",
            .min = 1,
            .max = 100,
            .doc = "A full flow table enters emergency mode, where the emergency_* timeouts "
                   "apply; it leaves once its active flows fall below this percent of its "
                   "capacity (Suricata's emergency-recovery)."},
           EDGESENSE_FIELD(flows.emergency_recovery)),
      bind({.path = "flows.emergency_half_open_timeout",
            .type = Type::kSeconds,
            .def = "10",
            .min = 0.001,
            .max = 86400,
            .doc = "In emergency mode, the idle timeout of TCP flows whose handshake has not "
                   "completed (Suricata's emergency new-flow timeout); at most "
                   "tcp_half_open_timeout."},
           EDGESENSE_FIELD(flows.emergency_half_open_timeout)),
      bind({.path = "flows.emergency_one_packet_timeout",
            .type = Type::kSeconds,
            .def = "null",
            .min = 0.001,
            .max = 86400,
            .doc = "In emergency mode, the idle timeout of UDP, ICMP and other flows of one "
                   "packet, at most their own; null: they keep theirs. A full table evicts "
                   "one-packet flows from the longest list (a flood's own), so a shorter "
                   "timeout mostly cuts others' retries apart: neighbour solicitations, "
                   "router solicitations backing off 4, 8, 16 s, handshake retries."},
           EDGESENSE_FIELD(flows.emergency_one_packet_timeout)),
      bind({.path = "flows.emergency_established_timeout",
            .type = Type::kSeconds,
            .def = "null",
            .min = 0.001,
            .max = 86400,
            .doc = "In emergency mode, the idle timeout of established flows (Suricata uses "
                   "100 s); null: they keep theirs, so a flood of new flows does not cut "
                   "conversations short."},
           EDGESENSE_FIELD(flows.emergency_established_timeout)),
      bind({.path = "flows.idle_timeout",
            .type = Type::kSeconds,
            .def = "120",
            .min = 0.001,
            .max = 86400,
            .doc = "Seconds without packets that end a TCP flow, and UDP and ICMP flows unless "
                   "their own timeouts are set."},
           EDGESENSE_FIELD(flows.idle_timeout)),
      bind({.path = "flows.udp_idle_timeout",
            .type = Type::kSeconds,
            .def = "null",
            .min = 0.001,
            .max = 86400,
            .doc = "Idle timeout of UDP flows; null: idle_timeout."},
           EDGESENSE_FIELD(flows.udp_idle_timeout)),
      bind({.path = "flows.icmp_idle_timeout",
            .type = Type::kSeconds,
            .def = "null",
            .min = 0.001,
            .max = 86400,
            .doc = "Idle timeout of ICMP flows and any other protocol; null: idle_timeout."},
           EDGESENSE_FIELD(flows.icmp_idle_timeout)),
      bind({.path = "flows.tcp_half_open_timeout",
            .type = Type::kSeconds,
            .def = "30",
            .min = 0.001,
            .max = 86400,
            .doc = "Idle timeout of a TCP flow whose handshake has not completed (both sides "
                   "have not yet sent an ACK), as Suricata's new-flow timeout: a spoofed SYN's "
                   "flow leaves the table soon. At most idle_timeout."},
           EDGESENSE_FIELD(flows.tcp_half_open_timeout)),
      bind({.path = "flows.active_timeout",
            .type = Type::kSeconds,
            .def = "30",
            .min = 0,
            .max = 86400,
            .doc = "A flow still going after this many seconds hands on a cumulative snapshot to "
                   "be scored, and again every as many seconds; 0: only when it ends."},
           EDGESENSE_FIELD(flows.active_timeout)),
      bind({.path = "flows.tcp_close_linger",
            .type = Type::kSeconds,
            .def = "2",
            .min = 0,
            .max = 3600,
            .doc = "Seconds a TCP flow waits after a RST, or FIN both ways, for its last packets "
                   "(a final ACK ends it sooner)."},
           EDGESENSE_FIELD(flows.tcp_close_linger)),
      bind({.path = "flows.burst_gap",
            .type = Type::kSeconds,
            .def = "1",
            .min = 0.001,
            .max = 3600,
            .doc = "A gap between packets longer than this starts a new burst (the burst "
                   "features)."},
           EDGESENSE_FIELD(flows.burst_gap)),
      bind({.path = "flows.idle_threshold",
            .type = Type::kSeconds,
            .def = "5",
            .min = 0.001,
            .max = 3600,
            .doc = "A gap longer than this ends an active period and counts as idle (the "
                   "active/idle features)."},
           EDGESENSE_FIELD(flows.idle_threshold)),
      bind({.path = "flows.host_table_size",
            .type = Type::kInt,
            .def = "32768",
            .min = 1,
            .max = 1 << 24,
            .doc = "Hosts tracked for host context (the src_* and dst_* features) per capture "
                   "thread; when full, the least recently seen host is dropped."},
           EDGESENSE_FIELD(flows.host_table_size)),
      bind({.path = "flows.host_short_window",
            .type = Type::kSeconds,
            .def = "10",
            .min = 1,
            .max = 3600,
            .doc = "Short window of host context, the *_10s features. Models learn the window "
                   "they were trained with: change it only with retrained models."},
           EDGESENSE_FIELD(flows.host_short_window)),
      bind({.path = "flows.host_long_window",
            .type = Type::kSeconds,
            .def = "60",
            .min = 1,
            .max = 86400,
            .doc = "Long window of host context, the *_60s features; at least host_short_window. "
                   "The same caution applies."},
           EDGESENSE_FIELD(flows.host_long_window)),
      bind({.path = "flows.fragment_slots",
            .type = Type::kInt,
            .def = "4096",
            .min = 1,
            .max = 1 << 20,
            .doc = "Recent first IP fragments remembered, so later fragments are counted in their "
                   "flow."},
           EDGESENSE_FIELD(flows.fragment_slots)),
      bind({.path = "flows.max_clock_jump",
            .type = Type::kSeconds,
            .def = "60",
            .min = 0,
            .max = 86400,
            .doc = "A packet stamped further than this ahead of or behind the flow clock is held "
                   "until the next packet: if that one agrees, the clock moves to it (a gap, or "
                   "a clock step); if not, the packet is a lone clock jump, counted and accounted "
                   "at the clock's time. Keep it above the skew of merged captures; 0: believe "
                   "every time."},
           EDGESENSE_FIELD(flows.max_clock_jump)),
      bind({.path = "flows.hash_seed",
            .type = Type::kInt,
            .def = "0",
            .min = 0,
            .max = 4294967295.0,
            .doc = "Seed of the key that hashes flows, hosts and fragments into their tables, so "
                   "nobody outside can choose packets whose keys collide. 0: a live sensor (run) "
                   "draws a fresh 128-bit key from the kernel at start, and a replay uses a "
                   "built-in seed. Any other value: that seed, in both. The key places "
                   "entries and picks the bits of the host context's distinct-count bitmaps: "
                   "records, flow ids and features are the same whatever it is, bar the small "
                   "errors of those distinct-count estimates (which values share a bit)."},
           EDGESENSE_FIELD(flows.hash_seed)),

      section("inference",
              "Scoring: worker threads take flow snapshots from a bounded queue in batches and "
              "run every model head on them."),
      bind({.path = "inference.workers",
            .type = Type::kInt,
            .def = "2",
            .min = 1,
            .max = 64,
            .doc = "Inference worker threads."},
           EDGESENSE_FIELD(inference.workers)),
      bind({.path = "inference.batch_size",
            .type = Type::kInt,
            .def = "64",
            .min = 1,
            .max = 4096,
            .doc = "Most flow snapshots scored in one model call."},
           EDGESENSE_FIELD(inference.batch_size)),
      bind({.path = "inference.max_wait",
            .type = Type::kSeconds,
            .def = "0.05",
            .min = 0,
            .max = 10,
            .doc = "Longest a worker waits to fill a batch before scoring what it has."},
           EDGESENSE_FIELD(inference.max_wait)),
      bind(
          {.path = "inference.queue_capacity",
           .type = Type::kInt,
           .def = "16384",
           .min = 16,
           .max = 1 << 24,
           .doc = "Flow snapshots waiting for a worker (about 1 KiB each, allocated at start). "
                  "When full, a snapshot is dropped and counted: capture never waits for scoring."},
          EDGESENSE_FIELD(inference.queue_capacity)),
      bind({.path = "inference.max_in_flight",
            .type = Type::kInt,
            .def = "32768",
            .min = 16,
            .max = 1 << 24,
            .doc = "Most flow snapshots between capture and output at once: queued, being "
                   "scored, or held back so results leave in capture order (a reorder ring of "
                   "this many slots, about 1.1 KiB each, allocated at start). "
                   "Past it a snapshot is dropped and counted, as with a full queue; replay "
                   "waits instead. Below queue_capacity, this is the tighter bound."},
           EDGESENSE_FIELD(inference.max_in_flight)),
      bind({.path = "inference.models_dir",
            .type = Type::kString,
            .def = "/var/lib/edgesense/models",
            .doc = "Directory of model bundles: reel/, attack/ and anomaly/ (each optional), "
                   "shadow bundles in shadow/HEAD/. Reloaded on SIGHUP, and when it changes with "
                   "replay --watch-models.",
            .check = nonEmpty},
           EDGESENSE_FIELD(inference.models_dir)),
      section("inference.reel_gate",
              "Which flows the reel head scores; the others get no reel verdict."),
      bind({.path = "inference.reel_gate.protocols",
            .type = Type::kEnumList,
            .def = "[tcp, udp]",
            .min = 1,
            .doc = "IP protocols scored (QUIC video is UDP).",
            .choices = kProtocols},
           EDGESENSE_FIELD(inference.reel_gate.protocols)),
      bind({.path = "inference.reel_gate.min_bytes",
            .type = Type::kBytes,
            .def = "20000",
            .min = 0,
            .max = 1 << 30,
            .doc = "Frame bytes, both directions, a flow needs before the reel head scores it."},
           EDGESENSE_FIELD(inference.reel_gate.min_bytes)),
      bind({.path = "inference.reel_gate.min_packets",
            .type = Type::kInt,
            .def = "10",
            .min = 0,
            .max = 1000000,
            .doc = "Packets, both directions, a flow needs before the reel head scores it."},
           EDGESENSE_FIELD(inference.reel_gate.min_packets)),
      section("inference.thresholds",
              "Alert thresholds that override the bundles' own, per head; null: the bundle's."),
      bind({.path = "inference.thresholds.reel",
            .type = Type::kNumber,
            .def = "null",
            .min = 0,
            .max = 1,
            .doc = "Reel probability at or over which a flow counts as reel traffic."},
           EDGESENSE_FIELD(inference.thresholds.reel)),
      bind({.path = "inference.thresholds.attack",
            .type = Type::kNumber,
            .def = "null",
            .min = 0,
            .max = 1,
            .doc = "Probability at or over which an attack class raises an alert (every "
                   "non-benign class)."},
           EDGESENSE_FIELD(inference.thresholds.attack)),
      bind({.path = "inference.thresholds.anomaly",
            .type = Type::kNumber,
            .def = "null",
            .min = 0,
            .max = 1,
            .doc = "Anomaly score at or over which a flow raises an anomaly alert."},
           EDGESENSE_FIELD(inference.thresholds.anomaly)),
      section("inference.shadow",
              "Shadow bundles, per head: scored beside that head's serving bundle and compared "
              "with it (agreement in the replay summary's shadow object), never alerting. A "
              "directory named here must hold a valid bundle of that head, or the daemon does not "
              "start; it wins over models_dir/shadow/HEAD/ (logged at start) and is reloaded with "
              "the models. Empty: models_dir/shadow/HEAD/ if it exists."),
      bind({.path = "inference.shadow.reel",
            .type = Type::kString,
            .def = "\"\"",
            .doc = "Bundle directory of the shadow reel model."},
           EDGESENSE_FIELD(inference.shadow.reel)),
      bind({.path = "inference.shadow.attack",
            .type = Type::kString,
            .def = "\"\"",
            .doc = "Bundle directory of the shadow attack model."},
           EDGESENSE_FIELD(inference.shadow.attack)),
      bind({.path = "inference.shadow.anomaly",
            .type = Type::kString,
            .def = "\"\"",
            .doc = "Bundle directory of the shadow anomaly model."},
           EDGESENSE_FIELD(inference.shadow.anomaly)),

      section("alerts", "Alerts and flow records, written as EVE JSON lines."),
      bind({.path = "alerts.aggregation_window",
            .type = Type::kSeconds,
            .def = "60",
            .min = 1,
            .max = 86400,
            .doc = "Per source and class, the first alert goes out at once; the rest within this "
                   "many seconds become one follow-up record with their count."},
           EDGESENSE_FIELD(alerts.aggregation_window)),
      bind({.path = "alerts.max_windows",
            .type = Type::kInt,
            .def = "16384",
            .min = 1,
            .max = 1 << 24,
            .doc = "Aggregation windows open at once (one per address and class; the address may "
                   "be spoofed, about 1.5 KiB each). A new one past this closes the oldest early, "
                   "counted; its follow-up still carries its exact count."},
           EDGESENSE_FIELD(alerts.max_windows)),
      bind({.path = "alerts.max_alerted_flows",
            .type = Type::kInt,
            .def = "65536",
            .min = 1,
            .max = 1 << 24,
            .doc = "Flows remembered as having alerted until their final record, which says so "
                   "(flow.alerted). Past this the least recently alerted is forgotten, counted: a "
                   "flow whose final record was dropped would otherwise stay for good."},
           EDGESENSE_FIELD(alerts.max_alerted_flows)),
      bind({.path = "alerts.sinks",
            .type = Type::kSinks,
            .def = "[{file: /var/log/edgesense/eve.json}]",
            .min = 0,
            .max = 16,
            .doc = "Where records go, each a one-key mapping: {file: PATH} (appended to, reopened "
                   "on SIGHUP for logrotate), {stdout: true}, or {syslog: FACILITY} (user, "
                   "daemon, local0 to local7). Empty: alerts are only counted."},
           EDGESENSE_FIELD(alerts.sinks)),
      bind({.path = "alerts.flow_records",
            .type = Type::kBool,
            .def = "true",
            .doc = "Also write an event_type flow record for every flow, with its verdicts."},
           EDGESENSE_FIELD(alerts.flow_records)),

      section("metrics", "Prometheus metrics over HTTP."),
      bind({.path = "metrics.listen",
            .type = Type::kString,
            .def = "127.0.0.1:9750",
            .doc = "Address of the metrics endpoint, HOST:PORT (0.0.0.0 for every interface; "
                   "an IPv6 host in brackets is refused at start where the HTTP server, "
                   "Debian 12's civetweb, is built without IPv6); empty: no endpoint.",
            .check = listenAddress},
           EDGESENSE_FIELD(metrics.listen)),
      bind({.path = "metrics.path",
            .type = Type::kString,
            .def = "/metrics",
            .doc = "URL path the metrics are served at.",
            .check = urlPath},
           EDGESENSE_FIELD(metrics.path)),

      section("logging", "The daemon's own log, on stderr (the journal under systemd)."),
      bind({.path = "logging.level",
            .type = Type::kEnum,
            .def = "info",
            .doc = "Least severe level logged.",
            .choices = kLevels},
           EDGESENSE_FIELD(logging.level)),
      bind({.path = "logging.format",
            .type = Type::kEnum,
            .def = "text",
            .doc = "text: lines for people; json: one JSON object per line.",
            .choices = kFormats},
           EDGESENSE_FIELD(logging.format)),

      section("run", "The service process."),
      bind({.path = "run.user",
            .type = Type::kString,
            .def = "edgesense",
            .doc = "User to switch to once the capture handles are open (only opening them needs "
                   "root); empty: stay as started."},
           EDGESENSE_FIELD(run.user)),
      bind({.path = "run.group",
            .type = Type::kString,
            .def = "edgesense",
            .doc = "Group to switch to; empty: the user's primary group."},
           EDGESENSE_FIELD(run.group)),
      bind({.path = "run.pid_file",
            .type = Type::kString,
            .def = "\"\"",
            .doc = "File to write the process id to; empty: none (systemd needs none)."},
           EDGESENSE_FIELD(run.pid_file)),
  };
}

#undef EDGESENSE_FIELD

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

// ---------------------------------------------------------------------------

std::string typeName(Type type, bool nullable) {
  std::string s;
  switch (type) {
    case Type::kSection:
      s = "section";
      break;
    case Type::kBool:
      s = "bool";
      break;
    case Type::kInt:
      s = "integer";
      break;
    case Type::kBytes:
      s = "bytes";
      break;
    case Type::kSeconds:
      s = "seconds";
      break;
    case Type::kNumber:
      s = "number";
      break;
    case Type::kString:
      s = "string";
      break;
    case Type::kStringList:
      s = "list of strings";
      break;
    case Type::kEnum:
      s = "choice";
      break;
    case Type::kEnumList:
      s = "list of choices";
      break;
    case Type::kSinks:
      s = "list of sinks";
      break;
  }
  return nullable ? s + " or null" : s;
}

void Reporter::add(const YAML::Mark& at, std::string key, std::string message) {
  const bool known = at.line >= 0;
  out_.push_back(Problem{.file = file_,
                         .line = known ? at.line + 1 : 0,
                         .column = known ? at.column + 1 : 0,
                         .key = std::move(key),
                         .message = std::move(message)});
}

std::string_view Key::name() const noexcept {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string_view Key::parent() const noexcept {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

int Key::depth() const noexcept {
  return static_cast<int>(std::count(path.begin(), path.end(), '.'));
}

const std::vector<Key>& keyTable() {
  static const std::vector<Key> table = makeTable();
  return table;
}

const Key* findKey(std::string_view path) {
  for (const Key& k : keyTable()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    std::size_t d = editDistance(word, c);
    // A prefix of at least 3 letters ("promisc", "warning") is a near miss too.
    const std::size_t shorter = std::min(word.size(), c.size());
    if (shorter >= 3 && (c.starts_with(word) || word.starts_with(c))) {
      d = std::min<std::size_t>(d, 1);
    }
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string describeBounds(const Key& k) {
  if (k.type == Type::kEnum || k.type == Type::kEnumList) {
    std::string s = "one of ";
    for (std::size_t i = 0; i < k.choices.size(); ++i)
      s += (i ? ", " : "") + std::string(k.choices[i]);
    return s;
  }
  const bool low = std::isfinite(k.min);
  const bool high = std::isfinite(k.max);
  if (low && high) return "between " + formatNumber(k.min) + " and " + formatNumber(k.max);
  if (low) return "at least " + formatNumber(k.min);
  if (high) return "at most " + formatNumber(k.max);
  return "";
}

std::string formatNumber(double v) {
  char buf[64];
  const double a = std::fabs(v);
  const bool fixed = a == 0 || (a >= 1e-6 && a < 1e15);
  const auto [ptr, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                               : std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : std::string("0");
}

std::string quote(std::string_view s) {
  static constexpr std::string_view kIndicators = "-?:,[]{}#&*!|>'\"%@`";
  bool plain = !s.empty() && kIndicators.find(s.front()) == std::string_view::npos &&
               s.front() != ' ' && s.back() != ' ' && s.back() != ':';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == ',' || c == '[' || c == ']' || c == '{' || c == '}') {
      plain = false;
    }
  }
  if (plain && (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos)) {
    plain = false;
  }
  // Words and numbers YAML would read as something else than a string.
  if (plain) {
    bool overflow = false;
    static constexpr std::string_view kWords[] = {"null", "Null", "NULL", "~", "y", "Y", "n", "N"};
    if (parseBool(s) || parseInt(s, overflow) || overflow || parseDouble(s) ||
        std::find(std::begin(kWords), std::end(kWords), s) != std::end(kWords)) {
      plain = false;
    }
  }
  if (plain) return std::string(s);
  std::string q = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (c == '\n') {
      q += "\\n";
    } else if (c == '\t') {
      q += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      q += "\\x";
      q += kHex[u >> 4];
      q += kHex[u & 15];
    } else {
      q += c;
    }
  }
  return q + "\"";
}

/// The table's defaults, applied once to a blank Config by the readers
/// themselves; an invalid default is a programming error.
struct Defaults {
  static const Config& get() {
    static const Config cfg = make();
    return cfg;
  }

 private:
  static Config make() {
    Config cfg{Config::Blank{}};
    std::vector<Problem> problems;
    Reporter r("<key table>", problems);
    for (const Key& k : keyTable()) {
      if (k.read == nullptr) continue;
      const std::string path(k.path);
      try {
        k.read(k, YAML::Load(std::string(k.def)), YAML::Mark::null_mark(), path, cfg, r);
      } catch (const YAML::Exception& e) {
        r.add(YAML::Mark::null_mark(), path, e.what());
      }
    }
    if (!problems.empty()) {
      throw std::logic_error("config key table: default of " + problems.front().key + ": " +
                             problems.front().message);
    }
    return cfg;
  }
};

}  // namespace detail

Config::Config() : Config(detail::Defaults::get()) {}

}  // namespace edgesense::config
