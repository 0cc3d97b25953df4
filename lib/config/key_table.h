#pragma once
/// The key table, private to lib/config: one row per section and per key,
/// in the order config/edgesense.yaml shows them. Each key row knows its
/// Config field (read and write functions made by bind() in key_table.cpp),
/// its default as YAML text, its bounds and its documentation, so defaults,
/// validation, the example file and the docs page cannot drift apart.
/// Built once on first use; read-only after, from any thread.

#include <yaml-cpp/yaml.h>

#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace edgesense::config::detail {

enum class Type : std::uint8_t {
  kSection,
  kBool,
  kInt,
  kBytes,    // an integer number of bytes
  kSeconds,  // a number of seconds, decimals allowed
  kNumber,   // a plain number (probabilities, scores)
  kString,
  kStringList,
  kEnum,      // one of `choices`
  kEnumList,  // a list of `choices`
  kSinks,     // alerts.sinks: a list of one-key mappings
};

/// "integer", "seconds", ... as the docs show a type; `nullable` adds "or null".
std::string typeName(Type type, bool nullable);

/// Collects the problems of one file, turning yaml-cpp's 0-based marks into
/// 1-based lines and columns.
class Reporter {
 public:
  Reporter(std::string file, std::vector<Problem>& out) : file_(std::move(file)), out_(out) {}
  void add(const YAML::Mark& at, std::string key, std::string message);
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  std::vector<Problem>& out_;
};

struct Key;
/// Reads `value` into the key's field of `cfg` if it is valid; otherwise
/// reports every problem with it (at `at`, or at the offending list item)
/// and leaves the field alone. `path` is the key as written.
using ReadFn = bool (*)(const Key& key, const YAML::Node& value, const YAML::Mark& at,
                        const std::string& path, Config& cfg, Reporter& reporter);
/// The field's value in `cfg` as YAML text ("120", "[eth0]", "null").
using WriteFn = std::string (*)(const Key& key, const Config& cfg);
/// Extra validation of a string value: the problem, or empty.
using CheckFn = std::string (*)(std::string_view value);

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct Key {
  std::string_view path;  // dotted: "flows.idle_timeout"
  Type type = Type::kSection;
  std::string_view def;  // the default, as YAML text
  // Numbers: the value's bounds. Lists: the number of items.
  double min = -kUnbounded;
  double max = kUnbounded;
  std::string_view doc;
  std::span<const std::string_view> choices{};  // kEnum, kEnumList
  CheckFn check = nullptr;                      // kString
  bool nullable = false;                        // null is a value (std::optional)
  ReadFn read = nullptr;                        // null for sections
  WriteFn write = nullptr;

  std::string_view name() const noexcept;    // the last part of path
  std::string_view parent() const noexcept;  // path without the name; "" at the top
  int depth() const noexcept;                // 0 for top-level sections
};

const std::vector<Key>& keyTable();
/// The row of a dotted path, or null.
const Key* findKey(std::string_view path);

/// The closest of `candidates` to `word` if it is near enough to be a typo.
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);

/// What a node is, for messages: "a list", "'abc'", "nothing".
std::string describe(const YAML::Node& node);

/// "between 64 and 262144", "at least 1", "one of: a, b", or "" if free.
std::string describeBounds(const Key& key);

/// A string as a YAML scalar: plain if it reads back as the same string,
/// else double-quoted.
std::string quote(std::string_view s);
/// The shortest text that reads back as the same double.
std::string formatNumber(double v);

}  // namespace edgesense::config::detail
