#pragma once
/// The subcommands of the edgesense binary. main.cpp parses the command line
/// (CLI11) into these option structs and calls the matching run function,
/// whose return value is the process exit status.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/trainer.h"

namespace CLI {
class App;
}

namespace edgesense::daemon {

struct ReplayOptions {
  std::vector<std::string> files;
  std::string eve;      // path or "-"; empty: no EVE output
  std::string csv;      // path or "-"; empty: no CSV
  std::string summary;  // path or "-"; empty: text summary on stderr only
  std::optional<double> idle_timeout;
  std::optional<double> active_timeout;
  std::optional<std::uint32_t> max_flows;
  double speed = 0;
  bool no_models = false;
  std::string config;  // YAML config file; command-line options win over it
  // Unset: the config's value, else the built-in default.
  std::optional<std::string> models_dir;  // built-in: the shipped models
  std::optional<unsigned> workers;        // 2
  std::optional<std::size_t> batch_size;  // 64
  std::optional<double> alert_window;     // 60 s
  bool watch_models = false;
  bool no_features_in_eve = false;
};

void addReplayCommand(CLI::App& app, ReplayOptions& opts);
int runReplay(const ReplayOptions& opts);

/// `edgesense run`: the live daemon; everything else comes from the config.
struct RunOptions {
  std::string config = "/etc/edgesense/edgesense.yaml";
};

void addRunCommand(CLI::App& app, RunOptions& opts);
int runDaemon(const RunOptions& opts);

struct FeaturesOptions {
  bool hash = false;
  bool markdown = false;
};

void addFeaturesCommand(CLI::App& app, FeaturesOptions& opts);
int runFeatures(const FeaturesOptions& opts);

struct CheckConfigOptions {
  std::string file;  // -c
  bool print_example = false;
  bool markdown = false;
};

void addCheckConfigCommand(CLI::App& app, CheckConfigOptions& opts);
int runCheckConfig(const CheckConfigOptions& opts);

/// `edgesense train`: labelled inputs -> reel, attack and anomaly bundles
/// (lib/train/trainer.h).
using TrainOptions = train::TrainOptions;

void addTrainCommand(CLI::App& app, TrainOptions& opts);
int runTrain(const TrainOptions& opts);

/// `edgesense eval`: labelled captures through the models, measured.
struct EvalOptions {
  std::vector<std::string> pcaps;         // --pcap, repeatable
  std::vector<std::string> labels;        // --labels, one per --pcap, in order
  std::optional<std::string> models_dir;  // unset: the config's, else the shipped models
  std::string baseline_models;            // naive-feature bundles; empty: none
  std::string report;                     // directory for metrics.json and report.html
  std::string flows;                      // per-flow CSV; empty: none
  std::vector<std::string> excludes;      // labels files of flows to leave out
  std::optional<unsigned> workers;        // 2
  std::string config;
};

void addEvalCommand(CLI::App& app, EvalOptions& opts);
int runEval(const EvalOptions& opts);

}  // namespace edgesense::daemon
