// Loading: the daemon reads its YAML file once, at start-up, into a Config.
// The document is walked against the key table; every problem is collected
// with its line, and the config keeps defaults wherever the file was wrong.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "config/config.h"
#include "config/key_table.h"
#include "features/extractor.h"

namespace edgesense::config {
namespace {

using detail::findKey;
using detail::Key;
using detail::keyTable;
using detail::Reporter;
using detail::Type;

std::string joinNames(const std::vector<std::string_view>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + std::string(names[i]);
  return s;
}

/// Reads one document into a Config, section by section.
class Walker {
 public:
  Walker(Config& cfg, Reporter& r) : cfg_(cfg), r_(r) {}

  void section(const YAML::Node& node, const std::string& prefix, const YAML::Mark& at) {
    if (node.IsNull()) return;  // "capture:" with nothing under it: every default
    if (!node.IsMap()) {
      r_.add(at, prefix,
             (prefix.empty() ? "expected a mapping of sections (capture:, flows:, ...), got "
                             : "expected a mapping of keys, got ") +
                 detail::describe(node));
      return;
    }
    std::map<std::string, int> seen;  // name -> line first given on
    for (const auto& pair : node) {
      const YAML::Node& key_node = pair.first;
      const YAML::Node& value = pair.second;
      if (!key_node.IsScalar()) {
        r_.add(key_node.Mark(), prefix, "a key must be a name, got " + detail::describe(key_node));
        continue;
      }
      const std::string& name = key_node.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      const auto [first, fresh] = seen.emplace(name, key_node.Mark().line + 1);
      if (!fresh) {
        r_.add(key_node.Mark(), path,
               "given twice (first on line " + std::to_string(first->second) + ")");
        continue;
      }
      const Key* k = findKey(path);
      if (k == nullptr) {
        unknown(key_node, prefix, name, path);
        continue;
      }
      // An empty value's own mark is the start of the next line: point at the key.
      const YAML::Mark value_at = value.IsNull() ? key_node.Mark() : value.Mark();
      given_[path] = value_at;
      if (k->type == Type::kSection) {
        section(value, path, value_at);
      } else if (!k->read(*k, value, value_at, path, cfg_, r_)) {
        bad_.insert(path);
      }
    }
  }

  /// Rules between keys, checked once each key is known to be valid.
  void crossCheck() {
    const FlowsConfig& f = cfg_.flows;
    if (f.host_long_window < f.host_short_window && !bad_.contains("flows.host_long_window") &&
        !bad_.contains("flows.host_short_window")) {
      const bool long_given = given_.contains("flows.host_long_window");
      r_.add(given_[long_given ? "flows.host_long_window" : "flows.host_short_window"],
             long_given ? "flows.host_long_window" : "flows.host_short_window",
             "the long window (" + detail::formatNumber(f.host_long_window) +
                 " s) must be at least the short window (" +
                 detail::formatNumber(f.host_short_window) + " s)");
    }
    // The flow table's own arithmetic, with the real flow type: what one
    // flow (and the fragment slots) take.
    if (f.memcap != 0 && !bad_.contains("flows.memcap") && !bad_.contains("flows.fragment_slots") &&
        features::FeatureFlowTable::capacityFor(cfg_.toFlowConfig()) == 0) {
      r_.add(given_["flows.memcap"], "flows.memcap",
             std::to_string(f.memcap) +
                 " bytes do not hold a flow table of one flow, which takes " +
                 std::to_string(features::FeatureFlowTable::bytesFor(1, f.fragment_slots)) +
                 " bytes with fragment_slots " + std::to_string(f.fragment_slots) +
                 "; give at least that, or 0 for no memcap");
    }
  }

 private:
  void unknown(const YAML::Node& key_node, const std::string& prefix, const std::string& name,
               const std::string& path) {
    std::vector<std::string_view> siblings;
    for (const Key& k : keyTable()) {
      if (k.parent() == prefix) siblings.push_back(k.name());
    }
    const char* what = prefix.empty() ? "unknown section" : "unknown key";
    if (const std::string_view near = detail::nearest(name, siblings); !near.empty()) {
      r_.add(key_node.Mark(), path,
             std::string(what) + "; did you mean '" + std::string(near) + "'?");
      return;
    }
    // The right name in the wrong section.
    for (const Key& k : keyTable()) {
      if (k.name() == name) {
        r_.add(key_node.Mark(), path,
               std::string(what) + "; did you mean " + std::string(k.path) + "?");
        return;
      }
    }
    r_.add(key_node.Mark(), path,
           prefix.empty() ? std::string(what) + "; the sections are " + joinNames(siblings)
                          : std::string(what) + "; " + prefix + " has " + joinNames(siblings));
  }

  Config& cfg_;
  Reporter& r_;
  std::map<std::string, YAML::Mark> given_;  // keys the file gives, and where
  std::set<std::string> bad_;                // keys whose value was refused
};

LoadResult fileProblem(const std::string& path, std::string message) {
  LoadResult result;
  result.problems.push_back(Problem{.file = path, .message = std::move(message)});
  return result;
}

}  // namespace

std::string format(const Problem& p) {
  std::string s = p.file;
  if (p.line > 0) {
    s += ':';
    s += std::to_string(p.line);
    s += ':';
    s += std::to_string(p.column);
  }
  s += ": ";
  if (!p.key.empty()) s += p.key + ": ";
  return s + p.message;
}

LoadResult loadString(std::string_view yaml, const std::string& name) {
  LoadResult result;
  Reporter r(name, result.problems);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    r.add(e.mark, "", "malformed YAML: " + e.msg);
    return result;
  }
  if (docs.size() > 1) {
    r.add(docs[1].Mark(), "", "a config is one YAML document; another one starts here");
  }
  if (!docs.empty()) {
    Walker walker(result.config, r);
    walker.section(docs.front(), "", docs.front().Mark());
    walker.crossCheck();
  }
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const Problem& a, const Problem& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return result;
}

LoadResult load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return fileProblem(path, "cannot read: is a directory");
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> fp(std::fopen(path.c_str(), "rb"),
                                                           &std::fclose);
  if (!fp) return fileProblem(path, std::string("cannot read: ") + std::strerror(errno));
  std::string text;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, fp.get())) > 0) text.append(buf, n);
  if (std::ferror(fp.get())) {
    return fileProblem(path, std::string("cannot read: ") + std::strerror(errno));
  }
  return loadString(text, path);
}

}  // namespace edgesense::config
