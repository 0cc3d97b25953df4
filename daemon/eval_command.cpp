// `edgesense eval`: each labelled capture replayed through the same pipeline
// as `replay` (RxLoop -> InferencePool), with an OutcomeCollector at the end
// instead of EVE output; then the figures, the baselines, metrics.json,
// report.html and a text summary.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/packet_source.h"
#include "commands.h"
#include "config/config.h"
#include "evaluation/rate_baseline.h"
#include "evaluation/report.h"
#include "evaluation/results.h"
#include "inference/pool.h"
#include "labels/labels.h"
#include "output/alerts.h"
#include "pipeline/rx_loop.h"

namespace edgesense::daemon {
namespace {

namespace fs = std::filesystem;
using evaluation::FlowOutcome;

/// Sample of final feature vectors per category for the SHAP chart: enough
/// for stable means, few enough to explain in a second or two.
constexpr std::size_t kShapSamplesPerCategory = 200;

/// Bad input: one message naming the file, exit status 1.
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One capture replayed with one model set.
struct Pass {
  std::vector<FlowOutcome> outcomes;
  std::vector<evaluation::FeatureSample> samples;
  std::unordered_map<std::string, std::uint64_t> alerting;
  std::uint64_t packets = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t excluded = 0;  // flows left out by --exclude
  double wall_seconds = 0;
};

/// Flows that `exclude` matches are dropped (Pass::excluded counts them) before
/// anything is computed from the outcomes: they are in no figure, no sample and
/// no rate baseline. Packets and snapshots still count the whole capture.
Pass replayScored(const std::string& pcap, const labels::LabelSet& labels,
                  const labels::FlowExclusion& exclude,
                  const std::shared_ptr<inference::ModelSet>& models,
                  const pipeline::RxConfig& rx_cfg, const inference::PoolConfig& pool_cfg) {
  std::unique_ptr<capture::PacketSource> source;
  try {
    source = capture::openFiles({pcap});
  } catch (const std::exception& e) {
    throw EvalError(e.what());
  }
  inference::ModelRegistry registry;
  registry.publish(models);
  evaluation::OutcomeCollector collector(evaluation::labelsClassifier(labels, exclude),
                                         pool_cfg.scoring, kShapSamplesPerCategory);
  inference::InferencePool pool(pool_cfg, registry, collector);
  pipeline::RxLoop rx(rx_cfg, *source, pool);
  const auto t0 = std::chrono::steady_clock::now();
  rx.run(std::stop_token{});
  pool.drain();
  Pass pass;
  pass.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const std::string& w : source->takeWarnings()) spdlog::warn("{}", w);
  if (const std::uint64_t lost =
          pool.stats().dropped.load() + pool.stats().in_flight_dropped.load();
      lost > 0) {
    throw EvalError(pcap + ": " + std::to_string(lost) + " records dropped by the inference pool");
  }
  pass.packets = rx.stats().packets;
  pass.snapshots = collector.snapshots();
  pass.outcomes = std::move(collector.outcomes());
  pass.samples = std::move(collector.samples());
  pass.alerting = collector.alertingSnapshots();
  pass.excluded = evaluation::dropExcluded(pass.outcomes, pass.samples);
  return pass;
}

std::shared_ptr<inference::ModelSet> loadModels(const std::string& dir) {
  if (!fs::is_directory(dir)) throw EvalError("models directory " + dir + ": not a directory");
  try {
    return inference::loadModelSet(dir);
  } catch (const std::exception& e) {
    throw EvalError(e.what());
  }
}

std::vector<std::string> attackClasses(const inference::ModelSet& m) {
  if (m.attack) return m.attack->classes();
  return {labels::kAttackClasses.begin(), labels::kAttackClasses.end()};
}

std::vector<std::string> truthsOf(const std::vector<FlowOutcome>& flows) {
  std::vector<std::string> t;
  t.reserve(flows.size());
  for (const FlowOutcome& f : flows) t.push_back(evaluation::attackTruth(f.category));
  return t;
}

std::vector<std::string> predictionsOf(const std::vector<FlowOutcome>& flows) {
  std::vector<std::string> p;
  p.reserve(flows.size());
  for (const FlowOutcome& f : flows) p.push_back(f.attack_predicted);
  return p;
}

std::string utcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw EvalError(path.string() + ": cannot write");
}

int evaluate(const EvalOptions& opts) {
  if (opts.pcaps.size() != opts.labels.size()) {
    throw EvalError("--pcap and --labels go in pairs: " + std::to_string(opts.pcaps.size()) +
                    " captures, " + std::to_string(opts.labels.size()) + " labels files");
  }
  for (const std::string& p : opts.pcaps) {
    if (!fs::is_regular_file(p)) throw EvalError(p + ": no such capture file");
    // Every capture is checked before the first replay, so a bad one fails at once.
    try {
      capture::openFiles({p});
    } catch (const std::exception& e) {
      throw EvalError(e.what());
    }
  }

  config::Config file_cfg;
  const bool have_cfg = !opts.config.empty();
  if (have_cfg) {
    const config::LoadResult loaded = config::load(opts.config);
    for (const config::Problem& p : loaded.problems)
      std::fprintf(stderr, "%s\n", config::format(p).c_str());
    if (!loaded.ok()) return 1;
    file_cfg = loaded.config;
  }
  std::vector<labels::LabelSet> label_sets;
  for (const std::string& l : opts.labels) {
    try {
      label_sets.push_back(labels::LabelSet::load(l));
    } catch (const labels::LabelError& e) {
      throw EvalError(e.what());
    }
  }
  labels::FlowExclusion exclude;
  try {
    exclude = labels::FlowExclusion::load(opts.excludes);
  } catch (const labels::LabelError& e) {
    throw EvalError(std::string("--exclude ") + e.what());
  }
  std::error_code ec;
  fs::create_directories(opts.report, ec);
  if (ec || !fs::is_directory(opts.report))
    throw EvalError("report directory " + opts.report + ": " + ec.message());
  // Opened before the first replay, so a path that cannot be written fails at once.
  std::ofstream flows_csv;
  if (!opts.flows.empty()) {
    flows_csv.open(opts.flows, std::ios::binary | std::ios::trunc);
    if (!flows_csv) throw EvalError(opts.flows + ": " + std::strerror(errno));
    flows_csv << evaluation::flowsCsvHeader();
  }

  const std::string models_dir = opts.models_dir.value_or(have_cfg ? file_cfg.inference.models_dir
                                                                   : EDGESENSE_DEFAULT_MODELS_DIR);
  const std::shared_ptr<inference::ModelSet> models = loadModels(models_dir);
  std::shared_ptr<inference::ModelSet> naive;
  if (!opts.baseline_models.empty()) naive = loadModels(opts.baseline_models);

  pipeline::RxConfig rx_cfg;
  inference::PoolConfig pool_cfg;
  if (have_cfg) {
    rx_cfg.flows = file_cfg.toFlowConfig();
    rx_cfg.features = file_cfg.toFeatureParams();
    rx_cfg.hosts = file_cfg.toHostTableConfig();
    pool_cfg = file_cfg.toPoolConfig();
  }
  if (opts.workers) pool_cfg.workers = *opts.workers;
  pool_cfg.block_when_full =
      true;  // every snapshot is scored: nothing lost, same figures every run

  // The models, capture by capture; then the naive baseline on the same captures.
  evaluation::Report report;
  std::vector<FlowOutcome> flows;
  std::vector<evaluation::FeatureSample> samples;
  std::unordered_map<std::string, std::uint64_t> alerting;
  std::vector<std::string> rate_predicted;
  std::vector<FlowOutcome> naive_flows;
  for (std::size_t i = 0; i < opts.pcaps.size(); ++i) {
    spdlog::info("eval: replaying {} with {}", opts.pcaps[i], models_dir);
    Pass pass = replayScored(opts.pcaps[i], label_sets[i], exclude, models, rx_cfg, pool_cfg);
    report.packets += pass.packets;
    report.excluded_flows += pass.excluded;
    report.snapshots += pass.snapshots;
    report.wall_seconds += pass.wall_seconds;
    // Host rates are per capture: hosts and clocks of two captures do not mix.
    for (std::string& p : evaluation::rateBaseline(pass.outcomes))
      rate_predicted.push_back(std::move(p));
    for (auto& [name, n] : pass.alerting) alerting[name] += n;
    if (naive) {
      spdlog::info("eval: replaying {} with the baseline models {}", opts.pcaps[i],
                   opts.baseline_models);
      Pass base = replayScored(opts.pcaps[i], label_sets[i], exclude, naive, rx_cfg, pool_cfg);
      if (base.outcomes.size() != pass.outcomes.size()) {
        throw EvalError(opts.pcaps[i] + ": the baseline replay saw " +
                        std::to_string(base.outcomes.size()) + " flows, the first " +
                        std::to_string(pass.outcomes.size()));
      }
      for (FlowOutcome& f : base.outcomes) naive_flows.push_back(std::move(f));
    }
    if (flows_csv.is_open()) {
      std::string rows;
      evaluation::appendFlowsCsv(rows, opts.pcaps[i], pass.outcomes);
      flows_csv << rows;
      if (!flows_csv) throw EvalError(opts.flows + ": cannot write the per-flow CSV");
    }
    for (FlowOutcome& f : pass.outcomes) flows.push_back(std::move(f));
    for (auto& s : pass.samples) samples.push_back(std::move(s));
  }
  if (flows_csv.is_open()) {
    flows_csv.close();
    if (!flows_csv) throw EvalError(opts.flows + ": cannot write the per-flow CSV");
  }

  // The figures.
  report.captures = opts.pcaps;
  report.label_files = opts.labels;
  report.exclude_files = opts.excludes;
  report.generated_utc = utcNow();
  report.flows = flows.size();
  if (flows.empty()) spdlog::warn("eval: the captures hold no flow; every figure is empty");
  report.packets_per_second =
      report.wall_seconds > 0 ? static_cast<double>(report.packets) / report.wall_seconds : 0;
  for (const FlowOutcome& f : flows) ++report.flows_by_category[f.category];
  const auto addInfo = [&report](const char* head, const std::shared_ptr<const model::Bundle>& b) {
    if (b) report.models.push_back({head, b->name(), b->version()});
  };
  addInfo("attack", models->attack);
  addInfo("reel", models->reel);
  addInfo("anomaly", models->anomaly);

  const std::vector<std::string> classes = attackClasses(*models);
  const std::vector<std::string> truth = truthsOf(flows);
  report.attack = evaluation::attackMetrics(classes, truth, predictionsOf(flows));
  if (models->reel) report.reel = evaluation::reelMetrics(flows);
  if (models->anomaly) report.anomaly = evaluation::anomalyMetrics(flows);
  if (models->attack) report.attack_shap = evaluation::meanAbsShap(*models->attack, samples);
  if (models->reel) report.reel_shap = evaluation::meanAbsShap(*models->reel, samples);

  for (std::size_t c = 1; c < classes.size(); ++c) {
    evaluation::TechniqueCount t;
    t.class_name = classes[c];
    const output::AlertClass ac = output::alertClass(classes[c], c);
    const model::MitreEntry* m = models->attack ? models->attack->mitre(c) : nullptr;
    t.technique_id = m ? m->technique_id : ac.mitre_technique_id;
    t.technique = m ? m->technique : ac.mitre_technique;
    t.tactic = m ? m->tactic : ac.mitre_tactic;
    for (const FlowOutcome& f : flows) t.flows += f.attack_predicted == classes[c] ? 1 : 0;
    report.techniques.push_back(std::move(t));
  }
  if (models->anomaly) {
    evaluation::TechniqueCount t;
    t.class_name = "anomaly";
    t.technique = "no technique: unlike benign traffic";
    for (const FlowOutcome& f : flows) t.flows += f.anomaly_alert ? 1 : 0;
    report.techniques.push_back(std::move(t));
  }

  if (naive) {
    evaluation::BaselineResult b;
    b.key = "naive_features";
    b.title = "naive features";
    std::string names;
    // The columns of the first bundle in the set (the heads share them).
    std::vector<std::size_t> cols;
    for (const auto* bundle : {&naive->attack, &naive->reel, &naive->anomaly}) {
      if (*bundle) {
        cols = (*bundle)->featureIndices();
        break;
      }
    }
    for (std::size_t c : cols) {
      if (!names.empty()) names += ", ";
      names += std::string(features::kSchema[c].name);
    }
    b.description = "bundles of --baseline-models, trained on " + std::to_string(cols.size()) +
                    " session-level features only (" + names + ")";
    if (naive->attack) {
      b.attack =
          evaluation::attackMetrics(attackClasses(*naive), truth, predictionsOf(naive_flows));
    }
    if (naive->reel) b.reel = evaluation::reelMetrics(naive_flows);
    if (naive->anomaly) b.anomaly = evaluation::anomalyMetrics(naive_flows);
    report.baselines.push_back(std::move(b));
  }
  {
    evaluation::BaselineResult b;
    b.key = "rate_thresholds";
    b.title = "per-host rate thresholds";
    const evaluation::RateThresholds t;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "FastNetMon-style per-host rates over %.0f s windows: dos when a responder "
                  "receives >= %.0f packets/s with >= %.0f%% SYN, >= %.0f packets/s, or >= %.0f "
                  "new flows/s; scan when an initiator opens >= %.0f flows/s to >= %.0f ports",
                  t.window_s, t.dst_pps, t.syn_share * 100, t.dst_pps_any, t.dst_flows_per_s,
                  t.src_flows_per_s, t.src_distinct_ports);
    b.description = buf;
    b.attack = evaluation::attackMetrics(classes, truth, rate_predicted);
    report.baselines.push_back(std::move(b));
  }

  const fs::path dir(opts.report);
  writeFile(dir / "metrics.json", evaluation::metricsJson(report));
  writeFile(dir / "report.html", evaluation::reportHtml(report));
  const std::string text = evaluation::textSummary(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::printf("\nwrote %s and %s%s%s\n", (dir / "metrics.json").c_str(),
              (dir / "report.html").c_str(), opts.flows.empty() ? "" : ", flows in ",
              opts.flows.c_str());
  return 0;
}

}  // namespace

void addEvalCommand(CLI::App& app, EvalOptions& opts) {
  CLI::App* cmd =
      app.add_subcommand("eval",
                         "Replay labelled captures through the models and measure them: text, "
                         "metrics.json and an HTML report");
  cmd->add_option("--pcap", opts.pcaps, "Capture file (repeatable; pairs with --labels in order)")
      ->required();
  cmd->add_option("--labels", opts.labels,
                  "Labels CSV start,end,src,dst,dport,proto,category (one per --pcap)")
      ->required();
  cmd->add_option("--models", opts.models_dir,
                  "Models directory: reel/, attack/, anomaly/ (default: the shipped models)");
  cmd->add_option("--baseline-models", opts.baseline_models,
                  "Models directory of the naive-feature baseline bundles, scored on the same "
                  "flows for comparison");
  cmd->add_option("--report", opts.report, "Directory for metrics.json and report.html (created)")
      ->required();
  cmd->add_option("--flows", opts.flows,
                  "Write one CSV row per flow (truth and each head's verdict) to FILE");
  cmd->add_option("--exclude", opts.excludes,
                  "Labels file (start,end,src,dst,dport,proto,category) whose rows name flows "
                  "to leave out of every figure; repeatable")
      ->check(CLI::ExistingFile);
  cmd->add_option("--workers", opts.workers, "Inference worker threads (default 2)")
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("-c,--config", opts.config,
                  "YAML config (flows, inference sections); options given here win");
}

int runEval(const EvalOptions& opts) {
  try {
    return evaluate(opts);
  } catch (const EvalError& e) {
    std::fprintf(stderr, "edgesense eval: %s\n", e.what());
    return 1;
  }
}

}  // namespace edgesense::daemon
