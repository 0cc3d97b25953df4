#pragma once
/// Training model bundles, offline: `edgesense train`'s work. trainModels()
/// assembles a dataset from labelled inputs (captures through the real
/// capture pipeline, replay's flow CSVs, CICFlowMeter CSVs), splits it,
/// trains the reel and attack heads (XGBoost) and the anomaly head (an
/// isolation forest), calibrates and measures them, and writes each bundle
/// atomically with a line in runs.jsonl beside them. It reports its progress
/// on stderr, a line each, prefixed "edgesense train:". Called from one
/// thread; XGBoost uses `threads` of its own.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgesense::train {

/// Bad input or a failed step: one message (the caller exits with status 1).
class TrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The command line of `edgesense train`, one field per option.
struct TrainOptions {
  std::vector<std::string> pcaps;         // --pcap, paired in order with --labels
  std::vector<std::string> labels;        // labels files
  std::vector<std::string> csvs;          // labelled flow CSVs (replay --csv + a label column)
  std::vector<std::string> cicflowmeter;  // CIC-IDS2017 / CSE-CIC-IDS2018 CSVs
  std::vector<std::string> benign_pcaps;  // real captures whose every flow is benign
  double benign_weight = 1;               // each of their rows' weight in training
  std::size_t max_flows_per_class = 0;    // per input file and category; 0: all
  std::vector<std::string> excludes;      // labels files: flows matching a row are left out
  std::string label_column = "category";  // what label_flows.py adds
  std::string head;                       // reel, attack, anomaly or all
  bool split_by_file = false;
  std::size_t folds = 0;  // k-fold cross-validation; 0: none
  std::string grid;       // YAML hyperparameter grid; empty: the built-in one
  std::size_t early_stopping = 20;
  int threads = 2;
  double benign_fpr = 0.005;  // attack threshold target on validation
  double min_attack_threshold = 0.5;
  double reel_fpr = 0.005;  // reel threshold target on validation (non-reel rows called reel)
  double min_reel_threshold = 0.5;
  double max_class_weight = 50;
  std::string config;    // flows/features sections for --pcap inputs
  std::string out;       // bundle directory
  std::string name;      // empty: the head
  std::string version;   // empty: the UTC time of training
  std::string features;  // comma-separated model columns; empty: all
  std::string scores;    // CSV of every row's score; empty: none
  std::uint64_t seed = 1;
  std::size_t trees = 100;
  std::size_t sample_size = 256;
  double threshold_fpr = 0.005;
};

/// Trains the heads `opts.head` names into `opts.out`. Throws TrainError
/// (or another std::exception from a failed read or write) with one message.
void trainModels(const TrainOptions& opts);

}  // namespace edgesense::train
