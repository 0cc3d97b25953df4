// Training: assembles labelled rows from captures (through the real capture
// pipeline), replay's flow CSVs and CICFlowMeter CSVs, before the split.

#include "train/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <unordered_map>

#include "capture/packet_source.h"
#include "inference/model_set.h"
#include "model/bundle_writer.h"
#include "output/csv.h"
#include "train/split.h"

namespace edgesense::train {

namespace {

using features::FeatureVector;
using labels::Category;

std::string where(const std::string& file, std::size_t line) {
  return file + ":" + std::to_string(line);
}

SourceInfo describe(const std::string& kind, const std::string& path) {
  SourceInfo s;
  s.kind = kind;
  s.path = path;
  std::error_code ec;
  s.bytes = std::filesystem::file_size(path, ec);
  try {
    s.sha256 = model::sha256File(path);
  } catch (const std::exception& e) {
    throw DatasetError(std::string("cannot read ") + path + ": " + e.what());
  }
  return s;
}

std::uint8_t protoNumber(std::string_view name) {
  if (name == "TCP") return decode::ipproto::kTcp;
  if (name == "UDP") return decode::ipproto::kUdp;
  if (name == "ICMP") return decode::ipproto::kIcmp;
  if (name == "IPv6-ICMP") return decode::ipproto::kIcmpv6;
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || p != name.data() + name.size() || v > 255) return 0;
  return static_cast<std::uint8_t>(v);
}

/// Collects every snapshot the pipeline emits.
struct Collect final : features::RecordSink {
  std::vector<features::FlowRecord> records;
  void onRecord(const features::FlowRecord& r) override { records.push_back(r); }
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::array<std::size_t, labels::kCategoryCount> Dataset::counts() const {
  std::array<std::size_t, labels::kCategoryCount> n{};
  for (const Category c : category) ++n[static_cast<std::size_t>(c)];
  return n;
}

std::size_t capFlowsPerCategory(Dataset& d, std::size_t max_flows, std::uint64_t seed) {
  if (max_flows == 0 || d.size() == 0) return 0;
  // The flows of each (file, category), in order of first appearance.
  std::map<std::pair<std::uint32_t, Category>, std::vector<std::uint64_t>> flows;
  std::unordered_map<std::uint64_t, bool> seen;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (seen.emplace(d.group[i], true).second)
      flows[{d.file[i], d.category[i]}].push_back(d.group[i]);
  }
  std::unordered_map<std::uint64_t, bool> drop;
  for (auto& [key, groups] : flows) {
    if (groups.size() <= max_flows) continue;
    // One generator per (file, category): the sample does not depend on the
    // other inputs or their order.
    SeededRng rng(seed ^ (std::uint64_t{key.first} << 8) ^ static_cast<std::uint64_t>(key.second));
    rng.shuffle(groups);
    for (std::size_t k = max_flows; k < groups.size(); ++k) drop.emplace(groups[k], true);
  }
  if (drop.empty()) return 0;
  std::size_t out = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (drop.count(d.group[i])) {
      ++d.sources[d.file[i]].skipped["over_max_flows"];
      continue;
    }
    if (out != i) {
      d.rows[out] = std::move(d.rows[i]);
      d.category[out] = d.category[i];
      d.group[out] = d.group[i];
      d.file[out] = d.file[i];
      d.proto[out] = d.proto[i];
    }
    ++out;
  }
  const std::size_t removed = d.size() - out;
  d.rows.resize(out);
  d.category.resize(out);
  d.group.resize(out);
  d.file.resize(out);
  d.proto.resize(out);
  return removed;
}

ReelGate reelGate() {
  const inference::ScoringOptions o;
  return {o.reel_protocols, o.reel_min_bytes, o.reel_min_packets};
}

bool passesReelGate(const FeatureVector& row, std::uint8_t proto) {
  static const ReelGate g = reelGate();
  if (std::find(g.protocols.begin(), g.protocols.end(), proto) == g.protocols.end()) return false;
  using features::Feature;
  using features::index;
  const double bytes = row[index(Feature::kFwdBytes)] + row[index(Feature::kBwdBytes)];
  const double packets = row[index(Feature::kFwdPackets)] + row[index(Feature::kBwdPackets)];
  // NaN (an input without these counts) compares false: not gated in.
  return bytes >= static_cast<double>(g.min_bytes) && packets >= static_cast<double>(g.min_packets);
}

// ---- captures ----

namespace {

/// Every flow record of `pcap` as rows, labelled by `set` (empty: benign).
void addCaptureRows(Dataset& d, const std::string& pcap, const labels::LabelSet& set,
                    SourceInfo info, const pipeline::RxConfig& cfg,
                    const labels::FlowExclusion& exclude) {
  std::unique_ptr<capture::PacketSource> source;
  try {
    source = capture::openFiles({pcap});
  } catch (const capture::CaptureError& e) {
    throw DatasetError(e.what());
  }
  Collect sink;
  {
    auto rx = std::make_unique<pipeline::RxLoop>(cfg, *source, sink);
    rx->run(std::stop_token{});
  }
  const auto file = static_cast<std::uint32_t>(d.sources.size());
  // A flow is left out whole when any of its records matches: the final
  // record's window holds every interim one's, so this is the final record's
  // match, as `eval --exclude` decides it.
  std::unordered_map<std::uint64_t, bool> excluded;
  if (!exclude.empty()) {
    for (const features::FlowRecord& r : sink.records) {
      if (exclude.matches(r)) excluded.emplace(r.flow_id, true);
    }
  }
  std::unordered_map<std::uint64_t, std::uint64_t> group_of;
  for (const features::FlowRecord& r : sink.records) {
    if (!excluded.empty() && excluded.count(r.flow_id)) {
      ++info.skipped["excluded"];
      continue;
    }
    d.rows.push_back(r.features);
    d.category.push_back(set.classify(r));
    auto [it, fresh] = group_of.try_emplace(r.flow_id, d.next_group);
    if (fresh) ++d.next_group;
    d.group.push_back(it->second);
    d.file.push_back(file);
    d.proto.push_back(r.proto);
  }
  // rows and flows count what was read, as for the per-class cap.
  info.rows = sink.records.size();
  info.flows = group_of.size() + excluded.size();
  info.excluded_flows = excluded.size();
  d.sources.push_back(std::move(info));
}

}  // namespace

void addCapture(Dataset& d, const std::string& pcap, const std::string& labels_file,
                const pipeline::RxConfig& cfg, const labels::FlowExclusion& exclude) {
  labels::LabelSet set;
  try {
    set = labels::LabelSet::load(labels_file);
  } catch (const labels::LabelError& e) {
    throw DatasetError(e.what());
  }
  SourceInfo info = describe("pcap", pcap);
  info.labels_path = labels_file;
  info.labels_sha256 = model::sha256File(labels_file);
  addCaptureRows(d, pcap, set, std::move(info), cfg, exclude);
}

void addBenignCapture(Dataset& d, const std::string& pcap, const pipeline::RxConfig& cfg,
                      double weight, const labels::FlowExclusion& exclude) {
  SourceInfo info = describe("benign-pcap", pcap);
  info.weight = weight;
  addCaptureRows(d, pcap, labels::LabelSet{}, std::move(info), cfg, exclude);
}

// ---- replay's flow CSV ----

void addFlowCsv(Dataset& d, const std::string& file, const std::string& label_column) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DatasetError("cannot open " + file + ": " + std::strerror(errno));
  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(in, line)) throw DatasetError(file + ": empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!labels::splitCsv(line, fields))
    throw DatasetError(where(file, 1) + ": malformed header (quotes)");

  std::vector<std::string> expected(std::begin(output::kCsvKeyColumns),
                                    std::end(output::kCsvKeyColumns));
  for (const features::FeatureDef& def : features::kSchema) expected.emplace_back(def.name);
  if (std::find(expected.begin(), expected.end(), label_column) != expected.end()) {
    throw DatasetError("--label-column " + label_column +
                       " names a flow column, not a label column");
  }
  const auto label_it = std::find(fields.begin(), fields.end(), label_column);
  if (label_it == fields.end()) {
    throw DatasetError(where(file, 1) + ": no column \"" + label_column +
                       "\" (--label-column): the CSV needs a category per row (benign, reel, "
                       "scan, ...), e.g. from scripts/bundle_tools/label_flows.py");
  }
  if (std::find(label_it + 1, fields.end(), label_column) != fields.end()) {
    throw DatasetError(where(file, 1) + ": column \"" + label_column + "\" appears twice");
  }
  const auto label_at = static_cast<std::size_t>(label_it - fields.begin());
  const std::size_t n_fields = fields.size();
  std::vector<std::string> rest = fields;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(label_at));
  if (rest != expected) {
    std::string why;
    const std::size_t n = std::min(rest.size(), expected.size());
    std::size_t i = 0;
    while (i < n && rest[i] == expected[i]) ++i;
    if (i < n) {
      why = "column " + std::to_string(i + (i >= label_at ? 2 : 1)) + " is \"" + rest[i] +
            "\" where this edgesense has \"" + expected[i] + "\"";
    } else if (rest.size() < expected.size()) {
      why = "it ends before \"" + expected[i] + "\"";
    } else {
      why = "it has an extra column \"" + rest[i] + "\"";
    }
    throw DatasetError(
        where(file, 1) + ": the header does not match this edgesense's feature schema (" +
        std::to_string(features::kFeatureCount) + " features, hash " + features::schemaHash() +
        "): " + why + "; write the flows with this version's `edgesense replay --csv`");
  }
  const std::size_t n_keys = std::size(output::kCsvKeyColumns);
  const auto field_of = [&](std::size_t column) { return column + (column >= label_at ? 1 : 0); };
  const std::size_t flow_id_at = field_of(0);
  std::size_t proto_at = 0;
  for (std::size_t k = 0; k < n_keys; ++k) {
    if (std::string_view(output::kCsvKeyColumns[k]) == "proto") proto_at = field_of(k);
  }

  SourceInfo info = describe("csv", file);
  const auto file_index = static_cast<std::uint32_t>(d.sources.size());
  std::unordered_map<std::uint64_t, std::uint64_t> group_of;
  std::size_t line_no = 1;
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!labels::splitCsv(line, fields))
      throw DatasetError(where(file, line_no) + ": malformed quotes");
    if (fields.size() != n_fields) {
      throw DatasetError(where(file, line_no) + ": " + std::to_string(fields.size()) +
                         " fields, the header has " + std::to_string(n_fields));
    }
    std::uint64_t flow_id = 0;
    const std::string& id = fields[flow_id_at];
    if (auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), flow_id);
        ec != std::errc() || p != id.data() + id.size()) {
      throw DatasetError(where(file, line_no) + ": flow_id \"" + id + "\" is not a number");
    }
    FeatureVector v;
    for (std::size_t k = 0; k < features::kFeatureCount; ++k) {
      const std::string& cell = fields[field_of(n_keys + k)];
      if (cell.empty()) {
        v[k] = std::nan("");  // undefined for this flow
        continue;
      }
      double x = 0;
      const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), x);
      if (ec != std::errc() || p != cell.data() + cell.size() || !std::isfinite(x)) {
        throw DatasetError(where(file, line_no) + ": " + std::string(features::kSchema[k].name) +
                           " is \"" + cell +
                           "\", not a finite number (an undefined value is an empty cell)");
      }
      v[k] = x;
    }
    const std::string& label = fields[label_at];
    if (label.empty()) {
      throw DatasetError(where(file, line_no) + ": no label in column \"" + label_column + "\"");
    }
    const auto category = labels::parseCategory(label);
    if (!category) {
      throw DatasetError(where(file, line_no) + ": label \"" + label +
                         "\" is not a category (benign, reel, scan, dos, bruteforce, slowdos)");
    }
    d.rows.push_back(v);
    d.category.push_back(*category);
    auto [it, fresh] = group_of.try_emplace(flow_id, d.next_group);
    if (fresh) ++d.next_group;
    d.group.push_back(it->second);
    d.file.push_back(file_index);
    d.proto.push_back(protoNumber(fields[proto_at]));
    ++rows;
  }
  if (in.bad()) throw DatasetError("cannot read " + file + ": " + std::strerror(errno));
  if (rows == 0) throw DatasetError(file + ": no rows after the header");
  info.rows = rows;
  info.flows = group_of.size();
  d.sources.push_back(std::move(info));
}

// ---- CICFlowMeter ----

// CICFlowMeter's packet lengths, byte rates and header lengths count
// transport payload or headers where ours count frames, and its flag counts
// are both directions where ours are per direction: those are left out
// (NaN) rather than mapped onto a feature that means something else.
const std::vector<CicColumn> kCicColumns = {
    {"duration", "Flow Duration", "Flow Duration", 1e-6, false},
    {"fwd_packets", "Total Fwd Packets", "Tot Fwd Pkts", 1, false},
    {"bwd_packets", "Total Backward Packets", "Tot Bwd Pkts", 1, false},
    {"fwd_payload_bytes", "Total Length of Fwd Packets", "TotLen Fwd Pkts", 1, false},
    {"bwd_payload_bytes", "Total Length of Bwd Packets", "TotLen Bwd Pkts", 1, false},
    {"packets_per_second", "Flow Packets/s", "Flow Pkts/s", 1, false},
    {"iat_mean", "Flow IAT Mean", "Flow IAT Mean", 1e-6, false},
    {"iat_std", "Flow IAT Std", "Flow IAT Std", 1e-6, false},
    {"iat_max", "Flow IAT Max", "Flow IAT Max", 1e-6, false},
    {"iat_min", "Flow IAT Min", "Flow IAT Min", 1e-6, false},
    {"fwd_iat_mean", "Fwd IAT Mean", "Fwd IAT Mean", 1e-6, false},
    {"fwd_iat_std", "Fwd IAT Std", "Fwd IAT Std", 1e-6, false},
    {"fwd_iat_max", "Fwd IAT Max", "Fwd IAT Max", 1e-6, false},
    {"fwd_iat_min", "Fwd IAT Min", "Fwd IAT Min", 1e-6, false},
    {"bwd_iat_mean", "Bwd IAT Mean", "Bwd IAT Mean", 1e-6, false},
    {"bwd_iat_std", "Bwd IAT Std", "Bwd IAT Std", 1e-6, false},
    {"bwd_iat_max", "Bwd IAT Max", "Bwd IAT Max", 1e-6, false},
    {"bwd_iat_min", "Bwd IAT Min", "Bwd IAT Min", 1e-6, false},
    {"fwd_psh", "Fwd PSH Flags", "Fwd PSH Flags", 1, true},
    {"bwd_psh", "Bwd PSH Flags", "Bwd PSH Flags", 1, true},
    {"fwd_urg", "Fwd URG Flags", "Fwd URG Flags", 1, true},
    {"bwd_urg", "Bwd URG Flags", "Bwd URG Flags", 1, true},
    {"fwd_init_window", "Init_Win_bytes_forward", "Init Fwd Win Byts", 1, true},
    {"bwd_init_window", "Init_Win_bytes_backward", "Init Bwd Win Byts", 1, true},
    {"active_mean", "Active Mean", "Active Mean", 1e-6, false},
    {"active_std", "Active Std", "Active Std", 1e-6, false},
    {"active_max", "Active Max", "Active Max", 1e-6, false},
    {"idle_mean", "Idle Mean", "Idle Mean", 1e-6, false},
    {"idle_std", "Idle Std", "Idle Std", 1e-6, false},
    {"idle_max", "Idle Max", "Idle Max", 1e-6, false},
};

std::optional<Category> cicCategory(std::string_view raw) {
  const std::string l = lower(trim(raw));
  if (l == "benign") return Category::kBenign;
  if (l == "portscan") return Category::kScan;
  if (l == "ddos" || l == "dos hulk" || l == "dos goldeneye" || l == "dos attacks-hulk" ||
      l == "dos attacks-goldeneye" || l == "ddos attacks-loic-http" || l == "ddos attack-hoic" ||
      l == "ddos attack-loic-udp") {
    return Category::kDos;
  }
  if (l == "ftp-patator" || l == "ssh-patator" || l == "ftp-bruteforce" || l == "ssh-bruteforce") {
    return Category::kBruteforce;
  }
  if (l == "dos slowloris" || l == "dos slowhttptest" || l == "dos attacks-slowloris" ||
      l == "dos attacks-slowhttptest") {
    return Category::kSlowdos;
  }
  return std::nullopt;
}

void addCicFlowMeter(Dataset& d, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DatasetError("cannot open " + file + ": " + std::strerror(errno));
  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(in, line)) throw DatasetError(file + ": empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 byte order mark
  if (!labels::splitCsv(line, fields))
    throw DatasetError(where(file, 1) + ": malformed header (quotes)");
  // Column names: trimmed (CIC-IDS2017 has leading spaces), any case.
  const std::vector<std::string> header = fields;
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < fields.size(); ++i) column.emplace(lower(trim(fields[i])), i);
  const auto find = [&](const char* a, const char* b) -> std::optional<std::size_t> {
    for (const char* name : {a, b}) {
      if (auto it = column.find(lower(name)); it != column.end()) return it->second;
    }
    return std::nullopt;
  };
  const auto label_at = find("Label", "Label");
  if (!label_at)
    throw DatasetError(where(file, 1) + ": no \"Label\" column: not a CICFlowMeter CSV");
  const auto proto_at = find("Protocol", "Protocol");
  struct Mapped {
    std::size_t field;
    std::size_t feature;
    double scale;
    bool tcp_only;
  };
  std::vector<Mapped> mapped;
  for (const CicColumn& c : kCicColumns) {
    const auto at = find(c.cic2017, c.cic2018);
    if (!at) continue;
    std::size_t k = 0;
    while (features::kSchema[k].name != std::string_view(c.feature)) ++k;
    mapped.push_back({*at, k, c.scale, c.tcp_only});
  }
  if (mapped.size() < 4) {
    throw DatasetError(where(file, 1) + ": only " + std::to_string(mapped.size()) +
                       " of the CICFlowMeter columns edgesense maps (\"Flow Duration\", \"Tot "
                       "Fwd Pkts\" or \"Total Fwd Packets\", ...): not a CICFlowMeter CSV");
  }

  SourceInfo info = describe("cicflowmeter", file);
  const auto file_index = static_cast<std::uint32_t>(d.sources.size());
  std::size_t line_no = 1, rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!labels::splitCsv(line, fields))
      throw DatasetError(where(file, line_no) + ": malformed quotes");
    if (fields.size() <= *label_at) {
      throw DatasetError(where(file, line_no) + ": " + std::to_string(fields.size()) +
                         " fields, too few for the Label column");
    }
    const std::string label = trim(fields[*label_at]);
    if (lower(label) == "label") {  // CSE-CIC-IDS2018 repeats its header inside some files
      ++info.skipped["repeated header"];
      continue;
    }
    const auto category = cicCategory(label);
    if (!category) {
      ++info.skipped[label.empty() ? "(no label)" : label];
      continue;
    }
    std::uint8_t proto = 0;
    if (proto_at && *proto_at < fields.size()) proto = protoNumber(trim(fields[*proto_at]));
    FeatureVector v;
    v.fill(std::nan(""));
    for (const Mapped& m : mapped) {
      if (m.field >= fields.size()) continue;
      if (m.tcp_only && proto != 0 && proto != decode::ipproto::kTcp) continue;
      const std::string cell = trim(fields[m.field]);
      double x = 0;
      const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), x);
      if (cell.empty() || ec != std::errc() || p != cell.data() + cell.size()) {
        // "Infinity" and "NaN" (rates of zero-length flows) are undefined
        // values here; anything else is not a number.
        const std::string l = lower(cell);
        if (l == "infinity" || l == "inf" || l == "nan" || l.empty()) continue;
        throw DatasetError(where(file, line_no) + ": \"" + trim(fields[m.field]) +
                           "\" in column \"" + trim(header[m.field]) + "\" is not a number");
      }
      // CICFlowMeter writes -1 for "none" (an initial window never seen) and
      // has negative times from clock steps: undefined, as NaN.
      if (!std::isfinite(x) || x < 0) continue;
      v[m.feature] = x * m.scale;
    }
    d.rows.push_back(v);
    d.category.push_back(*category);
    d.group.push_back(d.next_group++);  // one row per flow
    d.file.push_back(file_index);
    d.proto.push_back(proto);
    ++rows;
  }
  if (in.bad()) throw DatasetError("cannot read " + file + ": " + std::strerror(errno));
  if (rows == 0) throw DatasetError(file + ": no rows with a label edgesense maps");
  info.rows = info.flows = rows;
  d.sources.push_back(std::move(info));
}

}  // namespace edgesense::train
