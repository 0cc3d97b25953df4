#pragma once
/// Dataset: labelled flow rows for `edgesense train`, assembled from any mix
/// of inputs: labelled captures (run through the real capture pipeline, every
/// snapshot a row, as the live pool scores every snapshot), flow CSVs that
/// `replay --csv` wrote plus a label column, and CICFlowMeter CSVs
/// (CIC-IDS2017 / CSE-CIC-IDS2018 columns mapped onto the schema features
/// they share, docs/training.md). Each row keeps its category, its flow (all
/// snapshots of one flow share a group, so a split never separates them), its
/// input file and its IP protocol (for the reel gate).
///
/// Threads and lifetime: built and read by the train command's one thread;
/// plain values. Readers throw DatasetError "FILE:LINE: reason".

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "features/schema.h"
#include "labels/labels.h"
#include "pipeline/rx_loop.h"

namespace edgesense::train {

class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One input file (a capture with its labels file, or a CSV).
struct SourceInfo {
  std::string kind;  // "pcap", "csv", "cicflowmeter"
  std::string path;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string labels_path;  // pcap only
  std::string labels_sha256;
  std::size_t rows = 0;
  std::size_t flows = 0;
  /// Each row's weight in training, beside its class weight (a benign
  /// capture of real traffic may count more than a lab row; 1 otherwise).
  double weight = 1;
  /// Rows left out, by reason (CICFlowMeter labels with no category here,
  /// `over_max_flows`, `excluded`).
  std::map<std::string, std::size_t> skipped;
  /// Flows left out by --exclude (their rows are skipped["excluded"]).
  std::size_t excluded_flows = 0;
};

struct Dataset {
  std::vector<features::FeatureVector> rows;
  std::vector<labels::Category> category;
  std::vector<std::uint64_t> group;  // flow identity, unique across the dataset
  std::vector<std::uint32_t> file;   // index into sources
  std::vector<std::uint8_t> proto;   // IP protocol number; 0 when the input has none
  std::vector<SourceInfo> sources;
  std::uint64_t next_group = 0;

  std::size_t size() const noexcept { return rows.size(); }
  /// Rows per category.
  std::array<std::size_t, labels::kCategoryCount> counts() const;
};

/// The reel head's gate (inference::ScoringOptions' defaults): the flows it
/// scores in production, so the only ones it trains on: TCP or UDP, at least
/// 20,000 frame bytes and 10 packets both ways. A row without a protocol or
/// without frame byte counts (CICFlowMeter) never passes.
bool passesReelGate(const features::FeatureVector& row, std::uint8_t proto);
/// The gate's parameters, for the bundle's training record.
struct ReelGate {
  std::vector<std::uint8_t> protocols;
  std::uint64_t min_bytes;
  std::uint64_t min_packets;
};
ReelGate reelGate();

/// A capture (pcap/pcapng) and its labels file: every flow record the
/// pipeline emits (interim snapshots and final records), labelled. A flow
/// that `exclude` matches (labels::FlowExclusion: its final record matches a
/// row) is left out, every snapshot of it; its rows are counted in the
/// source's `skipped["excluded"]` and its flows in `excluded_flows`.
void addCapture(Dataset& d, const std::string& pcap, const std::string& labels_file,
                const pipeline::RxConfig& cfg,
                const labels::FlowExclusion& exclude = labels::FlowExclusion());

/// A capture of real traffic known to hold no attack and no reel (such as
/// application captures recorded on real networks): every flow benign, each
/// row weighing `weight` in training; `exclude` as for addCapture.
void addBenignCapture(Dataset& d, const std::string& pcap, const pipeline::RxConfig& cfg,
                      double weight,
                      const labels::FlowExclusion& exclude = labels::FlowExclusion());

/// Keeps at most `max_flows` flows of each category from each input file: a
/// seeded sample of the flows (every row of a kept flow stays, every row of
/// another goes), so one flood of hundreds of thousands of near-identical
/// flows neither drowns the other inputs nor the training time. Rows left out
/// are counted in their source's `skipped["over_max_flows"]`. Returns the
/// number of rows removed; 0 and no change when `max_flows` is 0.
std::size_t capFlowsPerCategory(Dataset& d, std::size_t max_flows, std::uint64_t seed);

/// A flow CSV from `replay --csv` plus `label_column` holding category names.
void addFlowCsv(Dataset& d, const std::string& csv, const std::string& label_column);

/// A CICFlowMeter CSV (CIC-IDS2017 or CSE-CIC-IDS2018 spellings).
void addCicFlowMeter(Dataset& d, const std::string& csv);

/// The CICFlowMeter mapping, for docs and tests: our feature, the 2017 and
/// 2018 column names, and the factor that converts the unit.
struct CicColumn {
  const char* feature;
  const char* cic2017;
  const char* cic2018;
  double scale;   // value x scale = ours (µs -> s: 1e-6)
  bool tcp_only;  // NaN for a flow whose Protocol is not TCP
};
extern const std::vector<CicColumn> kCicColumns;
/// CICFlowMeter label -> category, or nullopt (skipped).
std::optional<labels::Category> cicCategory(std::string_view label);

}  // namespace edgesense::train
