// Training model bundles from labelled inputs, offline (`edgesense train`). Assembles a
// dataset (labelled captures through the real capture pipeline, replay's flow
// CSVs, CICFlowMeter CSVs), splits it by flow, trains the reel and attack
// heads (XGBoost over a grid, early stopping, class weights) and the anomaly
// head (an isolation forest on benign flows), calibrates their thresholds on
// the validation part, measures them on the test part, and writes each
// bundle atomically with a line in runs.jsonl beside it.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "features/schema.h"
#include "labels/labels.h"
#include "model/bundle_writer.h"
#include "model/isolation_forest.h"
#include "model/mitre.h"
#include "output/json_writer.h"
#include "train/dataset.h"
#include "train/grid.h"
#include "train/metrics.h"
#include "train/split.h"
#include "train/trainer.h"
#include "train/xgb_head.h"

namespace edgesense::train {
namespace {

namespace fs = std::filesystem;
using features::FeatureVector;
using labels::Category;
using Clock = std::chrono::steady_clock;

/// A head has not the rows to learn from (no reel flows in CICFlowMeter data,
/// one class only); --head all goes on with the other heads.
class NotEnoughData : public TrainError {
 public:
  using TrainError::TrainError;
};

/// Sample rows in a bundle.
constexpr std::size_t kSampleRows = 16;

template <class... Args>
void say(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "edgesense train: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<std::string> parseFeatureList(const std::string& list) {
  if (list.empty()) return model::schemaFeatureNames();
  std::vector<std::string> names;
  std::size_t i = 0;
  for (;;) {
    const std::size_t end = std::min(list.find(',', i), list.size());
    names.push_back(list.substr(i, end - i));
    if (end == list.size()) break;
    i = end + 1;
  }
  const std::vector<std::string> all = model::schemaFeatureNames();
  for (const std::string& n : names) {
    if (std::find(all.begin(), all.end(), n) == all.end()) {
      throw TrainError(fmt::format(
          "--features: \"{}\" is not a feature of this edgesense (`edgesense features`)", n));
    }
    if (std::count(names.begin(), names.end(), n) > 1) {
      throw TrainError(fmt::format("--features: \"{}\" is listed twice", n));
    }
  }
  return names;
}

std::string defaultVersion() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y.%m.%d-%H%M%S", &tm);
  return buf;
}

/// What every head of one run shares.
struct Run {
  const TrainOptions& opts;
  std::string version;
  std::vector<std::string> feature_names;
  std::vector<std::size_t> columns;  // schema indices of feature_names
  Dataset data;
  Split split;
  std::vector<Split> folds;
  std::string data_json;  // the inputs, with digests
  double read_seconds = 0;
  double split_seconds = 0;
};

/// One trained head, for the ledger.
struct HeadOutcome {
  std::string head;
  fs::path dir;
  std::string name;
  double threshold = 0;
  std::string params_json;
  std::string metrics_json;
  double seconds = 0;
};

std::string jsonOf(const std::function<void(output::JsonWriter&)>& body) {
  std::string out;
  output::JsonWriter j(out);
  body(j);
  return out;
}

/// Up to kSampleRows rows: one of each class first, the rest seeded.
std::vector<FeatureVector> sampleRows(const Run& run, const std::vector<std::size_t>& rows,
                                      const std::vector<std::uint32_t>& y) {
  std::vector<std::size_t> picked;
  std::map<std::uint32_t, bool> seen;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!seen[y[r]]) {
      seen[y[r]] = true;
      picked.push_back(r);
    }
  }
  std::vector<std::size_t> rest(rows.size());
  std::iota(rest.begin(), rest.end(), 0);
  SeededRng rng(run.opts.seed ^ 0x5a3b1e5ULL);
  rng.shuffle(rest);
  for (const std::size_t r : rest) {
    if (picked.size() >= kSampleRows) break;
    if (std::find(picked.begin(), picked.end(), r) == picked.end()) picked.push_back(r);
  }
  std::sort(picked.begin(), picked.end());
  std::vector<FeatureVector> out;
  for (const std::size_t r : picked) out.push_back(run.data.rows[rows[r]]);
  return out;
}

double meanOf(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double sdOf(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = meanOf(v);
  double s = 0;
  for (const double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

void meanSd(output::JsonWriter& j, std::string_view key, const std::vector<double>& v) {
  j.key(key).beginObject();
  j.field("mean", meanOf(v));
  j.field("sd", sdOf(v));
  j.key("folds").beginArray();
  for (const double x : v) j.value(x);
  j.endArray();
  j.endObject();
}

fs::path bundleDir(const TrainOptions& opts, const std::string& head) {
  return opts.head == "all" ? fs::path(opts.out) / head : fs::path(opts.out);
}

std::string bundleName(const TrainOptions& opts, const std::string& head) {
  if (opts.head == "all") return opts.name.empty() ? head : opts.name + "-" + head;
  return opts.name.empty() ? head : opts.name;
}

std::string trainingTime() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool writeBundleOrThrow(const fs::path& dir, const model::BundleContents& b) {
  try {
    return model::writeBundle(dir, b);
  } catch (const model::BundleWriteError& e) {
    throw TrainError(e.what());
  }
}

// ---- the reel and attack heads ----

HeadOutcome trainXgb(const Run& run, model::Task task) {
  const auto t_start = Clock::now();
  const TrainOptions& opts = run.opts;
  const bool reel = task == model::Task::kReel;
  const std::string head(model::taskName(task));
  std::vector<std::string> classes;
  if (reel) {
    classes.assign(labels::kReelClasses.begin(), labels::kReelClasses.end());
  } else {
    classes.assign(labels::kAttackClasses.begin(), labels::kAttackClasses.end());
  }
  const std::size_t k = classes.size();

  std::vector<std::size_t> train_idx, valid_idx, test_idx;
  const HeadRows tr = headRows(run.data, run.columns, run.split, Part::kTrain, task, &train_idx);
  const HeadRows va =
      headRows(run.data, run.columns, run.split, Part::kValidation, task, &valid_idx);
  const HeadRows te = headRows(run.data, run.columns, run.split, Part::kTest, task, &test_idx);
  std::vector<std::size_t> per_class(k, 0);
  for (const std::uint32_t y : tr.y) ++per_class[y];
  std::string counts;
  for (std::size_t c = 0; c < k; ++c) counts += fmt::format(" {} {}", classes[c], per_class[c]);
  say("{} head: {} train, {} validation, {} test rows{}; train classes:{}", head, tr.size(),
      va.size(), te.size(), reel ? " (the reel gate's flows)" : "", counts);
  if (std::count_if(per_class.begin(), per_class.end(), [](std::size_t n) { return n > 0; }) < 2) {
    throw NotEnoughData(fmt::format(
        "the {} head needs training rows of at least two classes ({}); the inputs have:{}", head,
        fmt::join(classes, ", "), counts));
  }
  if (va.size() == 0) {
    throw NotEnoughData(fmt::format("the {} head has no validation rows", head));
  }

  XgbHeadOptions xo;
  xo.n_classes = k;
  xo.grid = opts.grid.empty() ? defaultGrid() : loadGrid(opts.grid);
  xo.early_stopping = opts.early_stopping;
  xo.threads = opts.threads;
  xo.seed = opts.seed;
  xo.max_class_weight = opts.max_class_weight;
  xo.progress = [&](const std::string& line) { say("{}: {}", head, line); };
  const std::size_t n_points = xo.grid.points().size();
  say("{} head: {} grid point(s), early stopping after {} rounds without a better validation "
      "log loss",
      head, n_points, opts.early_stopping);
  auto t0 = Clock::now();
  const XgbHeadResult r = trainXgbHead(tr, va, te, xo);
  const double train_seconds = secondsSince(t0);

  // Threshold on validation.
  t0 = Clock::now();
  // Each head: the lowest threshold keeping its false-positive rate on
  // validation under the target, not under the floor.
  const double target_fpr = reel ? opts.reel_fpr : opts.benign_fpr;
  const double threshold_floor = reel ? opts.min_reel_threshold : opts.min_attack_threshold;
  const double th = calibrateThreshold(r.validation_probs, k, va.y, target_fpr, threshold_floor);
  const Evaluation ev_valid = evaluate(r.validation_probs, k, va.y, th);
  std::optional<Evaluation> ev_test;
  if (te.size() > 0) ev_test = evaluate(r.test_probs, k, te.y, th);
  const double calibrate_seconds = secondsSince(t0);
  if (reel) {
    say("reel head: threshold {:.4f} (validation non-reel FPR {:.5f}, target {}, floor {}; "
        "validation F1 {:.4f}); test: F1 {:.4f}, AUC {:.4f}",
        th, ev_valid.benign_fpr, target_fpr, threshold_floor, ev_valid.classes[1].f1,
        ev_test ? ev_test->classes[1].f1 : std::nan(""), ev_test ? ev_test->auc : std::nan(""));
  } else {
    say("attack head: threshold {:.4f} (validation benign FPR {:.5f}, target {}, floor {}); test: "
        "macro-F1 {:.4f}, benign FPR {:.5f}",
        th, ev_valid.benign_fpr, target_fpr, threshold_floor,
        ev_test ? ev_test->macro_f1 : std::nan(""), ev_test ? ev_test->benign_fpr : std::nan(""));
  }

  // Cross-validation: the kept grid point on each fold.
  std::vector<double> cv_f1, cv_fpr, cv_auc;
  if (!run.folds.empty()) {
    XgbHeadOptions fo = xo;
    fo.grid = Grid{};
    for (const auto& [key, value] : r.best.point.params) fo.grid.values[key] = {value};
    fo.grid.num_rounds = {r.best.point.num_round};
    fo.progress = nullptr;
    for (std::size_t f = 0; f < run.folds.size(); ++f) {
      const HeadRows ftr = headRows(run.data, run.columns, run.folds[f], Part::kTrain, task);
      const HeadRows fva = headRows(run.data, run.columns, run.folds[f], Part::kValidation, task);
      const HeadRows fte = headRows(run.data, run.columns, run.folds[f], Part::kTest, task);
      if (ftr.size() == 0 || fva.size() == 0 || fte.size() == 0) continue;
      const XgbHeadResult fr = trainXgbHead(ftr, fva, fte, fo);
      const double fth =
          calibrateThreshold(fr.validation_probs, k, fva.y, target_fpr, threshold_floor);
      const Evaluation e = evaluate(fr.test_probs, k, fte.y, fth);
      cv_f1.push_back(reel ? e.classes[1].f1 : e.macro_f1);
      cv_fpr.push_back(e.benign_fpr);
      cv_auc.push_back(e.auc);
      say("{} head: fold {}/{}: {} {:.4f}, benign FPR {:.5f}", head, f + 1, run.folds.size(),
          reel ? "F1" : "macro-F1", cv_f1.back(), e.benign_fpr);
    }
  }

  // The bundle.
  model::BundleContents b;
  b.name = bundleName(opts, head);
  b.version = run.version;
  b.task = task;
  b.kind = model::ModelKind::kXgboost;
  b.classes = classes;
  for (std::size_t c = 1; c < k; ++c) b.thresholds[classes[c]] = th;
  b.features = run.feature_names;
  b.model_json = r.model_json;
  if (!reel) {
    for (std::size_t c = 1; c < k; ++c) {
      const auto& known = model::knownMitre();
      if (const auto it = known.find(classes[c]); it != known.end())
        b.mitre[classes[c]] = it->second;
    }
  }
  std::vector<FeatureVector> train_rows;
  train_rows.reserve(train_idx.size());
  for (const std::size_t i : train_idx) train_rows.push_back(run.data.rows[i]);
  const std::vector<FeatureVector> samples =
      te.size() > 0 ? sampleRows(run, test_idx, te.y) : sampleRows(run, valid_idx, va.y);
  b.training_rows = train_rows;
  b.sample_rows = samples;
  b.training.params_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("head", head);
    j.field("model", "xgboost");
    j.key("xgboost").beginObject();
    for (const auto& [key, value] : r.params) j.field(key, value);
    j.endObject();
    j.field("best_rounds", r.best.best_rounds);
    j.field("early_stopping", opts.early_stopping);
    j.key("grid").beginArray();
    for (const GridTrial& t : r.trials) {
      j.beginObject();
      j.key("params").beginObject();
      for (const auto& [key, value] : t.point.params) j.field(key, value);
      j.field("num_round", t.point.num_round);
      j.endObject();
      j.field("best_rounds", t.best_rounds);
      j.field("rounds_run", t.rounds_run);
      j.field("validation_log_loss", t.validation_loss);
      j.field("seconds", t.seconds);
      j.endObject();
    }
    j.endArray();
    j.field("grid_file", opts.grid.empty() ? std::string("(built-in)") : opts.grid);
    j.key("class_weights").beginObject();
    for (std::size_t c = 0; c < k; ++c) j.field(classes[c], r.class_weights[c]);
    j.endObject();
    j.field("seed", opts.seed);
    j.field("threads", static_cast<std::int64_t>(opts.threads));
    j.field("split", run.split.method);
    if (!run.folds.empty()) j.field("folds", run.folds.size());
    j.key("threshold").beginObject();
    j.field("method", reel ? "the lowest keeping the share of validation non-reel rows called "
                             "reel at or under the target, not under the floor"
                           : "the lowest keeping the validation benign FPR at or under the "
                             "target, not under the floor");
    j.field(reel ? "target_fpr" : "target_benign_fpr", target_fpr);
    j.field("floor", threshold_floor);
    j.endObject();
    if (reel) {
      const ReelGate g = reelGate();
      j.key("reel_gate").beginObject();
      j.key("protocols").beginArray();
      for (const std::uint8_t p : g.protocols) j.value(static_cast<std::uint64_t>(p));
      j.endArray();
      j.field("min_bytes", g.min_bytes);
      j.field("min_packets", g.min_packets);
      j.endObject();
    }
    j.endObject();
  });
  b.training.metrics_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("threshold", th);
    if (ev_test) {
      if (reel) {
        j.field("f1", ev_test->classes[1].f1);
        j.field("auc", ev_test->auc);
      } else {
        j.field("macro_f1", ev_test->macro_f1);
        j.field("benign_fpr", ev_test->benign_fpr);
      }
      j.key("test").raw(evaluationJson(*ev_test, classes));
    }
    j.key("validation").raw(evaluationJson(ev_valid, classes));
    if (!cv_f1.empty()) {
      j.key("cross_validation").beginObject();
      meanSd(j, reel ? "f1" : "macro_f1", cv_f1);
      meanSd(j, "benign_fpr", cv_fpr);
      meanSd(j, "auc", cv_auc);
      j.endObject();
    }
    j.endObject();
  });
  b.training.data_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.key("inputs").raw(run.data_json);
    j.field("rows", run.data.size());
    j.key("head_rows").beginObject();
    j.field("train", tr.size());
    j.field("validation", va.size());
    j.field("test", te.size());
    j.endObject();
    j.key("train_classes").beginObject();
    for (std::size_t c = 0; c < k; ++c) j.field(classes[c], per_class[c]);
    j.endObject();
    j.endObject();
  });
  const double total = secondsSince(t_start);
  b.training.timings_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("read_seconds", run.read_seconds);
    j.field("split_seconds", run.split_seconds);
    j.field("train_seconds", train_seconds);
    j.field("calibrate_seconds", calibrate_seconds);
    j.field("head_seconds", total);
    j.endObject();
  });
  b.training.trained_at = trainingTime();

  HeadOutcome o;
  o.head = head;
  o.dir = bundleDir(opts, head);
  o.name = b.name;
  o.threshold = th;
  o.params_json = b.training.params_json;
  o.metrics_json = b.training.metrics_json;
  t0 = Clock::now();
  const bool replaced = writeBundleOrThrow(o.dir, b);
  say("wrote {} ({} {}{}) in {:.2f} s", o.dir.string(), b.name, b.version,
      replaced ? ", replacing the bundle there" : "", secondsSince(t0));
  o.seconds = secondsSince(t_start);
  return o;
}

// ---- the anomaly head ----

HeadOutcome trainAnomaly(const Run& run) {
  const auto t_start = Clock::now();
  const TrainOptions& opts = run.opts;
  const Dataset& d = run.data;
  const std::size_t n_cols = run.columns.size();
  std::vector<std::size_t> train_rows_idx, calibration, test_benign, test_attack;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const bool benign = labels::isBenignForAnomaly(d.category[i]);
    const Part p = run.split.part[i];
    if (p == Part::kTrain && benign) train_rows_idx.push_back(i);
    if (p == Part::kValidation && benign) calibration.push_back(i);
    if (p == Part::kTest) (benign ? test_benign : test_attack).push_back(i);
  }
  if (train_rows_idx.size() < 2 || calibration.empty()) {
    throw NotEnoughData(fmt::format(
        "{} benign training row(s) and {} benign validation row(s): the anomaly head needs "
        "benign flows to train on and others to set its threshold",
        train_rows_idx.size(), calibration.size()));
  }
  std::vector<float> x_all(d.size() * n_cols);
  for (std::size_t i = 0; i < d.size(); ++i) {
    for (std::size_t c = 0; c < n_cols; ++c) {
      x_all[i * n_cols + c] = static_cast<float>(d.rows[i][run.columns[c]]);
    }
  }
  std::vector<float> x_train;
  x_train.reserve(train_rows_idx.size() * n_cols);
  for (const std::size_t i : train_rows_idx) {
    x_train.insert(x_train.end(), x_all.begin() + static_cast<std::ptrdiff_t>(i * n_cols),
                   x_all.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_cols));
  }
  const model::IsolationForestParams params{opts.trees, opts.sample_size, opts.seed};
  say("anomaly head: an isolation forest of {} trees, sample size {}, on {} benign training rows x "
      "{} features",
      params.n_trees, params.sample_size, train_rows_idx.size(), n_cols);
  auto t0 = Clock::now();
  const model::IsolationForest forest = model::IsolationForest::train(x_train, n_cols, params);
  const double train_seconds = secondsSince(t0);
  std::vector<float> scores(d.size());
  forest.score(x_all.data(), d.size(), scores.data());
  const auto pick = [&](const std::vector<std::size_t>& rows) {
    std::vector<float> out;
    for (const std::size_t i : rows) out.push_back(scores[i]);
    return out;
  };
  const std::vector<float> cal = pick(calibration), tb = pick(test_benign), ta = pick(test_attack);
  const double threshold = thresholdForFpr(cal, opts.threshold_fpr);
  const double cal_fpr = shareAtOrOver(cal, threshold);
  const double test_fpr = shareAtOrOver(tb, threshold);
  const double auc = rocAuc(tb, ta);
  const double recall = shareAtOrOver(ta, threshold);
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_category;  // rows, detected
  for (const std::size_t i : test_attack) {
    auto& [rows, detected] = per_category[std::string(labels::categoryName(d.category[i]))];
    ++rows;
    detected += static_cast<double>(scores[i]) >= threshold;
  }
  say("anomaly head: threshold {:.6g} (validation benign FPR {:.5f}, target {}); test: benign FPR "
      "{:.5f}, ROC-AUC {:.4f}, recall {:.3f}",
      threshold, cal_fpr, opts.threshold_fpr, test_fpr, auc, recall);

  // Cross-validation: a forest per fold, threshold on its validation part.
  std::vector<double> cv_auc, cv_fpr;
  for (const Split& f : run.folds) {
    std::vector<float> fx;
    std::vector<float> fcal, ftb, fta;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (f.part[i] == Part::kTrain && labels::isBenignForAnomaly(d.category[i])) {
        fx.insert(fx.end(), x_all.begin() + static_cast<std::ptrdiff_t>(i * n_cols),
                  x_all.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_cols));
      }
    }
    if (fx.size() < 2 * n_cols) continue;
    const model::IsolationForest ff = model::IsolationForest::train(fx, n_cols, params);
    std::vector<float> fs_(d.size());
    ff.score(x_all.data(), d.size(), fs_.data());
    for (std::size_t i = 0; i < d.size(); ++i) {
      const bool benign = labels::isBenignForAnomaly(d.category[i]);
      if (f.part[i] == Part::kValidation && benign) fcal.push_back(fs_[i]);
      if (f.part[i] == Part::kTest) (benign ? ftb : fta).push_back(fs_[i]);
    }
    const double fth = thresholdForFpr(fcal, opts.threshold_fpr);
    cv_auc.push_back(rocAuc(ftb, fta));
    cv_fpr.push_back(shareAtOrOver(ftb, fth));
  }

  model::BundleContents b;
  b.name = bundleName(opts, "anomaly");
  b.version = run.version;
  b.task = model::Task::kAnomaly;
  b.kind = model::ModelKind::kIsolationForest;
  b.classes = {"anomaly"};
  b.thresholds = {{"anomaly", threshold}};
  b.features = run.feature_names;
  b.model_json = forest.toJson();
  std::vector<FeatureVector> train_rows, samples;
  for (const std::size_t i : train_rows_idx) train_rows.push_back(d.rows[i]);
  {
    std::vector<std::size_t> b_pick = test_benign.empty() ? calibration : test_benign;
    std::vector<std::size_t> a_pick = test_attack;
    SeededRng rng(opts.seed ^ 0x5a3b1e5ULL);
    rng.shuffle(b_pick);
    rng.shuffle(a_pick);
    const std::size_t n_attack = std::min(a_pick.size(), kSampleRows / 2);
    const std::size_t n_benign = std::min(b_pick.size(), kSampleRows - n_attack);
    std::vector<std::size_t> idx(b_pick.begin(),
                                 b_pick.begin() + static_cast<std::ptrdiff_t>(n_benign));
    idx.insert(idx.end(), a_pick.begin(), a_pick.begin() + static_cast<std::ptrdiff_t>(n_attack));
    std::sort(idx.begin(), idx.end());
    for (const std::size_t i : idx) samples.push_back(d.rows[i]);
  }
  b.training_rows = train_rows;
  b.sample_rows = samples;
  b.training.params_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("head", "anomaly");
    j.field("model", "isolation_forest");
    j.field("n_trees", params.n_trees);
    j.field("sample_size", params.sample_size);
    j.field("sample_size_used", forest.sampleSize());
    j.field("max_depth", forest.maxDepth());
    j.field("seed", opts.seed);
    j.field("split", run.split.method);
    j.field("trained_on", "benign and reel rows of the train part");
    j.field("threshold_fpr", opts.threshold_fpr);
    j.endObject();
  });
  b.training.metrics_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("threshold", threshold);
    j.key("calibration").beginObject();
    j.field("rows", cal.size());
    j.field("fpr", cal_fpr);
    j.field("target_fpr", opts.threshold_fpr);
    j.endObject();
    j.key("test").beginObject();
    j.field("benign_rows", tb.size());
    j.field("attack_rows", ta.size());
    j.field("benign_fpr", test_fpr);
    if (!ta.empty() && !tb.empty()) j.field("auc", auc);
    if (!ta.empty()) j.field("recall", recall);
    j.key("classes").beginObject();
    for (const auto& [label, rd] : per_category) {
      j.key(label).beginObject();
      j.field("rows", rd.first);
      j.field("recall", static_cast<double>(rd.second) / static_cast<double>(rd.first));
      j.endObject();
    }
    j.endObject();
    j.endObject();
    if (!ta.empty() && !tb.empty()) j.field("auc", auc);
    if (!cv_auc.empty()) {
      j.key("cross_validation").beginObject();
      meanSd(j, "auc", cv_auc);
      meanSd(j, "benign_fpr", cv_fpr);
      j.endObject();
    }
    j.endObject();
  });
  b.training.data_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.key("inputs").raw(run.data_json);
    j.field("rows", d.size());
    j.field("train_rows", train_rows_idx.size());
    j.field("calibration_rows", calibration.size());
    j.field("test_rows", tb.size() + ta.size());
    j.endObject();
  });
  b.training.timings_json = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("read_seconds", run.read_seconds);
    j.field("split_seconds", run.split_seconds);
    j.field("train_seconds", train_seconds);
    j.field("head_seconds", secondsSince(t_start));
    j.endObject();
  });
  b.training.trained_at = trainingTime();

  HeadOutcome o;
  o.head = "anomaly";
  o.dir = bundleDir(opts, "anomaly");
  o.name = b.name;
  o.threshold = threshold;
  o.params_json = b.training.params_json;
  o.metrics_json = b.training.metrics_json;
  t0 = Clock::now();
  const bool replaced = writeBundleOrThrow(o.dir, b);
  say("wrote {} ({} {}{}) in {:.2f} s", o.dir.string(), b.name, b.version,
      replaced ? ", replacing the bundle there" : "", secondsSince(t0));

  if (!opts.scores.empty()) {
    std::string text = "row,flow,category,part,score\n";
    for (std::size_t i = 0; i < d.size(); ++i) {
      char buf[32];
      const auto res = std::to_chars(buf, buf + sizeof buf, scores[i]);
      text += fmt::format("{},{},{},{},{}\n", i, d.group[i], labels::categoryName(d.category[i]),
                          partName(run.split.part[i]), std::string_view(buf, res.ptr));
    }
    std::ofstream out(opts.scores, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw TrainError(fmt::format("--scores {}: write failed", opts.scores));
  }
  o.seconds = secondsSince(t_start);
  return o;
}

// ---- the run ----

/// The inputs, then each --exclude file (kind "exclude", its path and digest:
/// it shaped the data as much as an input).
std::string inputsJson(const Dataset& d, const std::vector<std::string>& excludes) {
  return jsonOf([&](output::JsonWriter& j) {
    j.beginArray();
    for (const std::string& e : excludes) {
      j.beginObject();
      j.field("kind", "exclude");
      j.field("path", e);
      j.field("sha256", model::sha256File(e));
      j.endObject();
    }
    for (const SourceInfo& s : d.sources) {
      j.beginObject();
      j.field("kind", s.kind);
      j.field("path", s.path);
      j.field("sha256", s.sha256);
      j.field("bytes", s.bytes);
      if (!s.labels_path.empty()) {
        j.field("labels", s.labels_path);
        j.field("labels_sha256", s.labels_sha256);
      }
      j.field("rows", s.rows);
      j.field("flows", s.flows);
      if (s.weight != 1) j.field("weight", s.weight);
      if (s.excluded_flows) j.field("excluded_flows", s.excluded_flows);
      if (!s.skipped.empty()) {
        j.key("skipped").beginObject();
        for (const auto& [why, n] : s.skipped) j.field(why, n);
        j.endObject();
      }
      j.endObject();
    }
    j.endArray();
  });
}

void appendLedger(const Run& run, const std::vector<HeadOutcome>& heads, double seconds) {
  const fs::path ledger = run.opts.head == "all"
                              ? fs::path(run.opts.out) / "runs.jsonl"
                              : fs::absolute(run.opts.out).parent_path() / "runs.jsonl";
  const std::string line = jsonOf([&](output::JsonWriter& j) {
    j.beginObject();
    j.field("trained_at", trainingTime());
    j.field("version", run.version);
    j.field("head", run.opts.head);
    j.field("seed", run.opts.seed);
    j.field("split", run.split.method);
    j.key("split_rows").beginObject();
    for (const Part p : {Part::kTrain, Part::kValidation, Part::kTest}) {
      j.field(partName(p), run.split.rows[static_cast<std::size_t>(p)]);
    }
    j.endObject();
    j.key("features").beginArray();
    for (const std::string& f : run.feature_names) j.value(f);
    j.endArray();
    j.key("inputs").raw(run.data_json);
    j.key("bundles").beginObject();
    for (const HeadOutcome& h : heads) {
      j.key(h.head).beginObject();
      j.field("dir", h.dir.string());
      j.field("name", h.name);
      j.field("threshold", h.threshold);
      j.key("params").raw(h.params_json);
      j.key("metrics").raw(h.metrics_json);
      j.field("seconds", h.seconds);
      j.endObject();
    }
    j.endObject();
    j.field("total_seconds", seconds);
    j.endObject();
  });
  std::ofstream out(ledger, std::ios::binary | std::ios::app);
  out << line << '\n';
  if (!out) throw TrainError(fmt::format("cannot append to {}", ledger.string()));
  say("recorded the run in {}", ledger.string());
}

}  // namespace

void trainModels(const TrainOptions& opts) {
  const auto t_start = Clock::now();
  static const std::vector<std::string> kHeads = {"reel", "attack", "anomaly", "all"};
  if (std::find(kHeads.begin(), kHeads.end(), opts.head) == kHeads.end()) {
    throw TrainError(fmt::format("--head {}: one of reel, attack, anomaly or all", opts.head));
  }
  Run run{opts};
  run.version = opts.version.empty() ? defaultVersion() : opts.version;
  for (const std::string head : {"reel", "attack", "anomaly"}) {
    if (opts.head != "all" && opts.head != head) continue;
    const std::string name = bundleName(opts, head);
    if (!model::isBundleToken(name)) {
      throw TrainError(
          fmt::format("--name \"{}\": letters, digits and . _ - + only, at most 64", name));
    }
  }
  if (!model::isBundleToken(run.version)) {
    throw TrainError(
        fmt::format("--version \"{}\": letters, digits and . _ - + only, at most 64", run.version));
  }
  if (!(opts.threshold_fpr >= 0 && opts.threshold_fpr <= 1)) {
    throw TrainError("--threshold-fpr must be in [0, 1]");
  }
  if (opts.pcaps.size() != opts.labels.size()) {
    throw TrainError(fmt::format("{} --pcap and {} --labels: each capture needs its labels file",
                                 opts.pcaps.size(), opts.labels.size()));
  }
  if (opts.pcaps.empty() && opts.csvs.empty() && opts.cicflowmeter.empty() &&
      opts.benign_pcaps.empty()) {
    throw TrainError("no input: give --pcap FILE --labels FILE, --csv FILE or --cicflowmeter FILE");
  }
  run.feature_names = parseFeatureList(opts.features);
  for (const std::string& n : run.feature_names) {
    for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
      if (features::kSchema[i].name == n) run.columns.push_back(i);
    }
  }
  // A bad grid file is found before minutes of reading.
  if (!opts.grid.empty()) (void)loadGrid(opts.grid);
  // So is a bad exclude file.
  labels::FlowExclusion exclude;
  if (!opts.excludes.empty()) {
    if (!opts.csvs.empty() || !opts.cicflowmeter.empty()) {
      throw TrainError(
          "--exclude matches the flows of --pcap and --benign-pcap inputs only; a --csv or "
          "--cicflowmeter input would keep every row");
    }
    try {
      exclude = labels::FlowExclusion::load(opts.excludes);
    } catch (const labels::LabelError& e) {
      throw TrainError(std::string("--exclude ") + e.what());
    }
  }
  const auto sayExcluded = [&](const SourceInfo& s) {
    if (s.excluded_flows) {
      say("  left out {} flows ({} rows) matching --exclude", s.excluded_flows,
          s.skipped.at("excluded"));
    }
  };

  pipeline::RxConfig rx_cfg;
  if (!opts.config.empty()) {
    const config::LoadResult loaded = config::load(opts.config);
    if (!loaded.ok()) {
      std::string all;
      for (const config::Problem& p : loaded.problems) {
        all += (all.empty() ? "" : "\n") + config::format(p);
      }
      throw TrainError(all);
    }
    rx_cfg.flows = loaded.config.toFlowConfig();
    rx_cfg.features = loaded.config.toFeatureParams();
    rx_cfg.hosts = loaded.config.toHostTableConfig();
  }

  auto t0 = Clock::now();
  // Benign captures first: --split-by-file keeps its last two inputs (the
  // labelled ones) for validation and test, so these train.
  if (!opts.benign_pcaps.empty()) {
    const auto t_files = Clock::now();
    std::size_t rows = 0, flows = 0;
    for (const std::string& f : opts.benign_pcaps) {
      addBenignCapture(run.data, f, rx_cfg, opts.benign_weight, exclude);
      rows += run.data.sources.back().rows;
      flows += run.data.sources.back().flows;
      sayExcluded(run.data.sources.back());
    }
    say("read {} benign capture(s): {} rows ({} flows), each row weighing {}, in {:.2f} s",
        opts.benign_pcaps.size(), rows, flows, opts.benign_weight, secondsSince(t_files));
  }
  for (std::size_t i = 0; i < opts.pcaps.size(); ++i) {
    say("reading {} with {}", opts.pcaps[i], opts.labels[i]);
    const auto t_file = Clock::now();
    addCapture(run.data, opts.pcaps[i], opts.labels[i], rx_cfg, exclude);
    say("  {} rows ({} flows) in {:.2f} s", run.data.sources.back().rows,
        run.data.sources.back().flows, secondsSince(t_file));
    sayExcluded(run.data.sources.back());
  }
  for (const std::string& f : opts.csvs) {
    say("reading {}", f);
    addFlowCsv(run.data, f, opts.label_column);
  }
  for (const std::string& f : opts.cicflowmeter) {
    say("reading {} (CICFlowMeter)", f);
    addCicFlowMeter(run.data, f);
    for (const auto& [why, n] : run.data.sources.back().skipped) {
      say("  skipped {} row(s) labelled \"{}\" (no edgesense category)", n, why);
    }
  }
  if (const std::size_t removed =
          capFlowsPerCategory(run.data, opts.max_flows_per_class, opts.seed)) {
    say("left out {} rows: at most {} flows of a category from one input", removed,
        opts.max_flows_per_class);
  }
  run.read_seconds = secondsSince(t0);
  run.data_json = inputsJson(run.data, opts.excludes);
  const auto counts = run.data.counts();
  std::string by_category;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c]) {
      by_category +=
          fmt::format(" {} {}", labels::categoryName(static_cast<Category>(c)), counts[c]);
    }
  }
  say("{} rows from {} input(s) in {:.2f} s:{}", run.data.size(), run.data.sources.size(),
      run.read_seconds, by_category);

  t0 = Clock::now();
  run.split = opts.split_by_file ? splitByFile(run.data) : splitStratified(run.data, opts.seed);
  if (opts.folds) run.folds = splitFolds(run.data, opts.folds, opts.seed);
  run.split_seconds = secondsSince(t0);
  say("split ({}): {} / {} / {} rows, {} / {} / {} flows (train / validation / test)",
      run.split.method, run.split.rows[0], run.split.rows[1], run.split.rows[2], run.split.flows[0],
      run.split.flows[1], run.split.flows[2]);

  std::vector<HeadOutcome> done;
  std::size_t skipped = 0;
  // With --head all, a head the data cannot train is skipped, said and
  // counted; the others still get their bundles.
  const auto attempt = [&](const std::string& head, const auto& train_head) {
    if (opts.head != head && opts.head != "all") return;
    try {
      done.push_back(train_head());
    } catch (const NotEnoughData& e) {
      if (opts.head != "all") throw;
      say("skipping the {} head: {}", head, e.what());
      ++skipped;
    }
  };
  attempt("reel", [&] { return trainXgb(run, model::Task::kReel); });
  attempt("attack", [&] { return trainXgb(run, model::Task::kAttack); });
  attempt("anomaly", [&] { return trainAnomaly(run); });
  if (done.empty()) throw TrainError("no head could be trained from these inputs");
  const double total = secondsSince(t_start);
  appendLedger(run, done, total);
  say("done in {:.2f} s{}", total,
      skipped ? fmt::format(" ({} head(s) skipped)", skipped) : std::string());
}

}  // namespace edgesense::train
