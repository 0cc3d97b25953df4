// `edgesense train`: its command line. The training itself is lib/train
// (trainer.h).

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "commands.h"
#include "train/trainer.h"

namespace edgesense::daemon {

void addTrainCommand(CLI::App& app, TrainOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "train", "Train model bundles (reel, attack, anomaly) from labelled captures or flow CSVs");
  cmd->add_option("--pcap", opts.pcaps,
                  "Labelled capture (pcap/pcapng); repeatable, paired in order with --labels");
  cmd->add_option("--labels", opts.labels,
                  "Labels file of the --pcap at the same position "
                  "(start,end,src,dst,dport,proto,category)");
  cmd->add_option("--csv", opts.csvs,
                  "Labelled flow CSV: what `edgesense replay --csv` writes plus a label column; "
                  "repeatable");
  cmd->add_option("--cicflowmeter", opts.cicflowmeter,
                  "CICFlowMeter CSV (CIC-IDS2017 / CSE-CIC-IDS2018 columns); repeatable");
  cmd->add_option("--benign-pcap", opts.benign_pcaps,
                  "Capture of real traffic with no attack and no reel (every flow benign, no "
                  "labels file); repeatable")
      ->check(CLI::ExistingFile);
  cmd->add_option("--benign-weight", opts.benign_weight,
                  "Training weight of each --benign-pcap row, times its class weight")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--max-flows-per-class", opts.max_flows_per_class,
                  "At most this many flows of each category from each input, a seeded sample "
                  "(0: all)")
      ->capture_default_str();
  cmd->add_option("--exclude", opts.excludes,
                  "Labels file (start,end,src,dst,dport,proto,category) whose rows name flows "
                  "to leave out, every snapshot; repeatable")
      ->check(CLI::ExistingFile);
  cmd->add_option("--label-column", opts.label_column,
                  "The flow CSV's label column: benign, reel, scan, dos, bruteforce or slowdos "
                  "per row")
      ->capture_default_str();
  cmd->add_option("--head", opts.head, "reel, attack, anomaly, or all (each into OUT/<head>)")
      ->required();
  cmd->add_option("--out", opts.out,
                  "Bundle directory to write (with --head all: the models directory); a bundle "
                  "there is replaced in one rename")
      ->required();
  cmd->add_option("--name", opts.name,
                  "Bundle name (default: the head; with --head all: NAME-<head>)");
  cmd->add_option("--version", opts.version,
                  "Bundle version (default: the UTC time of training, YYYY.MM.DD-HHMMSS)");
  cmd->add_option("--seed", opts.seed, "Seed of the split, the models and the sample rows")
      ->capture_default_str();
  cmd->add_flag("--split-by-file", opts.split_by_file,
                "Split by input file: the last tests, the one before validates, the rest train");
  cmd->add_option("--folds", opts.folds,
                  "Also K-fold cross-validate (mean and sd of the test metrics in the bundle)")
      ->check(CLI::Range(std::size_t{3}, std::size_t{20}));
  cmd->add_option("--grid", opts.grid,
                  "YAML hyperparameter grid for reel/attack (default: a small built-in one; "
                  "sample: config/train-grid.yaml)");
  cmd->add_option("--early-stopping", opts.early_stopping,
                  "Stop boosting after N rounds without a better validation log loss (0: off)")
      ->capture_default_str();
  cmd->add_option("--threads", opts.threads, "XGBoost threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--benign-fpr", opts.benign_fpr,
                  "Attack threshold: highest benign false-positive rate on validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-attack-threshold", opts.min_attack_threshold, "Attack threshold floor")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--reel-fpr", opts.reel_fpr,
                  "Reel threshold: highest share of non-reel flows called reel on validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-reel-threshold", opts.min_reel_threshold, "Reel threshold floor")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-class-weight", opts.max_class_weight,
                  "Cap of the inverse-frequency class weights")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));
  cmd->add_option("-c,--config", opts.config,
                  "Config file whose flows and features sections apply to --pcap inputs");
  cmd->add_option("--trees", opts.trees, "Anomaly head: isolation trees")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_option("--sample-size", opts.sample_size,
                  "Anomaly head: rows each tree is grown on (psi; capped at the training rows)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 24));
  cmd->add_option("--threshold-fpr", opts.threshold_fpr,
                  "Anomaly head: highest share of validation benign rows at or over the threshold")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--features", opts.features,
                  "Model columns, comma-separated schema names (default: every feature)");
  cmd->add_option("--scores", opts.scores,
                  "Anomaly head: also write every row's score to FILE (CSV: row, flow, category, "
                  "part, score)");
}

int runTrain(const TrainOptions& opts) {
  try {
    train::trainModels(opts);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "edgesense train: {}\n", e.what());
    return 1;
  }
}

}  // namespace edgesense::daemon
