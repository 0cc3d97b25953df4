#pragma once
/// The MITRE ATT&CK entries of the usual attack class names: the project's
/// one table, lib/model/mitre.json, embedded at build time. `train` writes
/// the entries of its attack classes into the bundle, and
/// scripts/bundle_tools/make_bundle.py reads the same file.

#include <map>
#include <string>

#include "model/bundle.h"

namespace edgesense::model {

/// Class name -> entry, parsed once on first use (thread-safe).
const std::map<std::string, MitreEntry>& knownMitre();

}  // namespace edgesense::model
