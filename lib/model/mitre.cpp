#include "model/mitre.h"

#include <nlohmann/json.hpp>

namespace edgesense::model {
namespace {

// lib/model/mitre.json as a raw string literal, written by CMake.
constexpr char kMitreJson[] =
#include "mitre_json.inc"
    ;

}  // namespace

const std::map<std::string, MitreEntry>& knownMitre() {
  static const std::map<std::string, MitreEntry> table = [] {
    std::map<std::string, MitreEntry> m;
    const nlohmann::json j = nlohmann::json::parse(kMitreJson);
    for (const auto& [cls, e] : j.items()) {
      m[cls] =
          MitreEntry{e.at("tactic_id").get<std::string>(), e.at("technique_id").get<std::string>(),
                     e.at("tactic").get<std::string>(), e.at("technique").get<std::string>()};
    }
    return m;
  }();
  return table;
}

}  // namespace edgesense::model
