// `edgesense train`: a model bundle from labelled flows, offline. For now the
// anomaly head from a flow CSV (what `replay --csv` writes, plus a label
// column): an isolation forest on benign flows, its alert threshold set on
// held-out benign flows for a target false-positive rate.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

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
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "features/schema.h"
#include "model/bundle_writer.h"
#include "model/isolation_forest.h"
#include "output/csv.h"
#include "output/json_writer.h"

namespace edgesense::daemon {
namespace {

namespace fs = std::filesystem;
using features::FeatureVector;
using Clock = std::chrono::steady_clock;

/// Bad input or a failed step: one message, exit status 1.
class TrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Share of the benign flows the forest trains on; the rest calibrates the
/// threshold.
constexpr double kTrainShare = 0.7;
/// Sample rows in the bundle, half benign and half attack where there are.
constexpr std::size_t kSampleRows = 16;
/// Labels that count as benign for the anomaly head: reels are ordinary
/// traffic, just heavy.
constexpr std::string_view kBenignLabels[] = {"benign", "reel"};

template <class... Args>
void say(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "edgesense train: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// splitmix64: a small seeded generator for the split and the sample rows,
/// the same on every machine (no std:: distributions).
class SeededRng {
 public:
  explicit SeededRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

// ---- the labelled flow CSV ----

/// The CSV's rows, in file order.
struct LabelledFlows {
  std::vector<FeatureVector> rows;
  std::vector<std::uint64_t> flow_ids;
  std::vector<std::size_t> lines;        // line in the file, for messages and --scores
  std::vector<std::uint32_t> labels;     // index into label_names
  std::vector<std::string> label_names;  // in order of first appearance
  std::vector<bool> benign_label;        // per label_names entry
};

/// Splits one CSV line into fields; quoted fields ("a,b", "say ""hi""") are
/// unquoted. False on a stray or unterminated quote.
bool splitCsv(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  std::size_t i = 0;
  for (;;) {
    std::string& f = out.emplace_back();
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          f += line[i];
        }
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      const std::size_t end = std::min(line.find(',', i), line.size());
      f.assign(line.substr(i, end - i));
      if (f.find('"') != std::string::npos) return false;
      i = end;
    }
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

/// The columns `edgesense replay --csv` writes: keys, then the schema.
std::vector<std::string> expectedColumns() {
  std::vector<std::string> cols(std::begin(output::kCsvKeyColumns),
                                std::end(output::kCsvKeyColumns));
  for (const features::FeatureDef& d : features::kSchema) cols.emplace_back(d.name);
  return cols;
}

LabelledFlows readLabelledCsv(const std::string& file, const std::string& label_column) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TrainError(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
  const auto where = [&](std::size_t line) { return fmt::format("{}:{}", file, line); };

  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(in, line)) throw TrainError(file + ": empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!splitCsv(line, fields)) throw TrainError(where(1) + ": malformed header (quotes)");

  // The header: replay's columns with the label column somewhere among them.
  const std::vector<std::string> expected = expectedColumns();
  if (std::find(expected.begin(), expected.end(), label_column) != expected.end()) {
    throw TrainError(
        fmt::format("--label-column {} names a flow column, not a label column", label_column));
  }
  const auto label_it = std::find(fields.begin(), fields.end(), label_column);
  if (label_it == fields.end()) {
    throw TrainError(fmt::format(
        "{}: no column \"{}\" (--label-column): the CSV needs a label per row (benign, reel, "
        "scan, ...), e.g. from scripts/bundle_tools/label_flows.py",
        where(1), label_column));
  }
  if (std::find(label_it + 1, fields.end(), label_column) != fields.end()) {
    throw TrainError(fmt::format("{}: column \"{}\" appears twice", where(1), label_column));
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
      why = fmt::format("column {} is \"{}\" where this edgesense has \"{}\"",
                        i + (i >= label_at ? 2 : 1), rest[i], expected[i]);
    } else if (rest.size() < expected.size()) {
      why = fmt::format("it ends before \"{}\"", expected[i]);
    } else {
      why = fmt::format("it has an extra column \"{}\"", rest[i]);
    }
    throw TrainError(fmt::format(
        "{}: the header does not match this edgesense's feature schema ({} features, hash {}): "
        "{}; write the flows with this version's `edgesense replay --csv`",
        where(1), features::kFeatureCount, features::schemaHash(), why));
  }
  // Field index of each schema feature, and of flow_id.
  const std::size_t n_keys = std::size(output::kCsvKeyColumns);
  const auto field_of = [&](std::size_t column) { return column + (column >= label_at ? 1 : 0); };
  const std::size_t flow_id_at = field_of(0);

  LabelledFlows t;
  std::size_t line_no = 1;
  auto next_report = Clock::now() + std::chrono::seconds(2);
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!splitCsv(line, fields)) throw TrainError(where(line_no) + ": malformed quotes");
    if (fields.size() != n_fields) {
      throw TrainError(
          fmt::format("{}: {} fields, the header has {}", where(line_no), fields.size(), n_fields));
    }
    std::uint64_t flow_id = 0;
    const std::string& id = fields[flow_id_at];
    if (auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), flow_id);
        ec != std::errc() || p != id.data() + id.size()) {
      throw TrainError(fmt::format("{}: flow_id \"{}\" is not a number", where(line_no), id));
    }
    FeatureVector& v = t.rows.emplace_back();
    for (std::size_t k = 0; k < features::kFeatureCount; ++k) {
      const std::string& cell = fields[field_of(n_keys + k)];
      if (cell.empty()) {
        v[k] = std::nan("");  // undefined for this flow
        continue;
      }
      double x = 0;
      const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), x);
      if (ec != std::errc() || p != cell.data() + cell.size() || !std::isfinite(x)) {
        throw TrainError(fmt::format(
            "{}: {} is \"{}\", not a finite number (an undefined value is an empty cell)",
            where(line_no), features::kSchema[k].name, cell));
      }
      v[k] = x;
    }
    const std::string& label = fields[label_at];
    if (label.empty()) {
      throw TrainError(fmt::format("{}: no label in column \"{}\"", where(line_no), label_column));
    }
    auto it = std::find(t.label_names.begin(), t.label_names.end(), label);
    if (it == t.label_names.end()) {
      t.label_names.push_back(label);
      t.benign_label.push_back(std::find(std::begin(kBenignLabels), std::end(kBenignLabels),
                                         label) != std::end(kBenignLabels));
      it = t.label_names.end() - 1;
    }
    t.labels.push_back(static_cast<std::uint32_t>(it - t.label_names.begin()));
    t.flow_ids.push_back(flow_id);
    t.lines.push_back(line_no);
    if (Clock::now() >= next_report) {
      say("... {} rows", t.rows.size());
      next_report = Clock::now() + std::chrono::seconds(2);
    }
  }
  if (in.bad()) throw TrainError(fmt::format("cannot read {}: {}", file, std::strerror(errno)));
  if (t.rows.empty()) throw TrainError(file + ": no rows after the header");
  return t;
}

// ---- split, threshold, metrics ----

/// Row indices by role. Benign rows are split by flow, so the snapshots of
/// one flow (interim windows and its final record) never sit on both sides.
struct Split {
  std::vector<std::size_t> train, calibration, attack;
  std::size_t train_flows = 0, calibration_flows = 0;
};

Split splitRows(const LabelledFlows& t, std::uint64_t seed) {
  std::vector<std::uint64_t> flows;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (t.benign_label[t.labels[i]]) flows.push_back(t.flow_ids[i]);
  }
  std::sort(flows.begin(), flows.end());
  flows.erase(std::unique(flows.begin(), flows.end()), flows.end());
  if (flows.size() < 2) {
    throw TrainError(fmt::format(
        "{} benign flow(s): the anomaly head needs benign flows to train on and others to set "
        "its threshold",
        flows.size()));
  }
  SeededRng rng(seed ^ 0x5eed5b1175ULL);
  rng.shuffle(flows);
  const auto n_train = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::llround(kTrainShare * static_cast<double>(flows.size()))), 1,
      flows.size() - 1);
  std::vector<std::uint64_t> train_flows(flows.begin(),
                                         flows.begin() + static_cast<std::ptrdiff_t>(n_train));
  std::sort(train_flows.begin(), train_flows.end());

  Split s;
  s.train_flows = n_train;
  s.calibration_flows = flows.size() - n_train;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (!t.benign_label[t.labels[i]]) {
      s.attack.push_back(i);
    } else if (std::binary_search(train_flows.begin(), train_flows.end(), t.flow_ids[i])) {
      s.train.push_back(i);
    } else {
      s.calibration.push_back(i);
    }
  }
  if (s.train.size() < 2) throw TrainError("fewer than two benign rows to train on");
  return s;
}

/// The lowest threshold with at most `fpr` of `scores` at or over it: just
/// above the score of the first benign row that must stay under it.
double pickThreshold(std::vector<float> scores, double fpr) {
  std::sort(scores.begin(), scores.end(), std::greater<>());
  // The epsilon keeps 0.29 x 100 from flooring to 28.
  const auto allowed =
      static_cast<std::size_t>(std::floor(fpr * static_cast<double>(scores.size()) + 1e-9));
  if (allowed >= scores.size()) return 0.0;
  const float above = std::nextafter(scores[allowed], 2.0f);
  return std::min(1.0, static_cast<double>(above));  // a score of 1 cannot be passed
}

std::size_t countAtOrOver(const std::vector<float>& scores, double threshold) {
  return static_cast<std::size_t>(std::count_if(
      scores.begin(), scores.end(), [&](float s) { return static_cast<double>(s) >= threshold; }));
}

/// ROC-AUC of `positives` over `negatives` (Mann-Whitney, ties counted half).
double rocAuc(const std::vector<float>& negatives, const std::vector<float>& positives) {
  std::vector<std::pair<float, bool>> all;
  for (const float s : negatives) all.emplace_back(s, false);
  for (const float s : positives) all.emplace_back(s, true);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0;  // ranks of the positives, 1-based, ties averaged
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) {
      if (all[k].second) rank_sum += rank;
    }
    i = j;
  }
  const auto p = static_cast<double>(positives.size());
  const auto n = static_cast<double>(negatives.size());
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

std::vector<float> pick(const std::vector<float>& scores, const std::vector<std::size_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size());
  for (const std::size_t i : rows) out.push_back(scores[i]);
  return out;
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

int trainAnomaly(const TrainOptions& opts) {
  const auto t_start = Clock::now();
  const std::string name = opts.name.empty() ? opts.head : opts.name;
  const std::string version = opts.version.empty() ? defaultVersion() : opts.version;
  if (!model::isBundleToken(name)) {
    throw TrainError(
        fmt::format("--name \"{}\": letters, digits and . _ - + only, at most 64", name));
  }
  if (!model::isBundleToken(version)) {
    throw TrainError(
        fmt::format("--version \"{}\": letters, digits and . _ - + only, at most 64", version));
  }
  if (!(opts.threshold_fpr >= 0 && opts.threshold_fpr <= 1)) {
    throw TrainError("--threshold-fpr must be in [0, 1]");
  }
  const std::vector<std::string> feature_names = parseFeatureList(opts.features);
  std::vector<std::size_t> columns;
  for (const std::string& n : feature_names) {
    for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
      if (features::kSchema[i].name == n) columns.push_back(i);
    }
  }
  std::ofstream scores_out;
  if (!opts.scores.empty()) {
    scores_out.open(opts.scores, std::ios::binary | std::ios::trunc);
    if (!scores_out) {
      throw TrainError(fmt::format("--scores {}: {}", opts.scores, std::strerror(errno)));
    }
  }

  // Read.
  std::error_code ec;
  const auto csv_bytes = fs::file_size(opts.csv, ec);
  if (ec) {
    say("reading {}", opts.csv);
  } else {
    say("reading {} ({:.1f} MB)", opts.csv, static_cast<double>(csv_bytes) / 1e6);
  }
  auto t0 = Clock::now();
  const LabelledFlows t = readLabelledCsv(opts.csv, opts.label_column);
  const double read_seconds = secondsSince(t0);
  t0 = Clock::now();
  const std::string digest = model::sha256File(opts.csv);
  const double digest_seconds = secondsSince(t0);
  std::vector<std::size_t> per_label(t.label_names.size(), 0);
  for (const std::uint32_t l : t.labels) ++per_label[l];
  std::string counts;
  for (std::size_t l = 0; l < t.label_names.size(); ++l) {
    counts += fmt::format("{}{} {}", l ? ", " : "", t.label_names[l], per_label[l]);
  }
  say("read {} rows in {:.2f} s: {}", t.rows.size(), read_seconds, counts);

  // Split.
  const Split split = splitRows(t, opts.seed);
  say("benign rows split by flow: {} rows ({} flows) to train on, {} rows ({} flows) to set the "
      "threshold; {} attack rows",
      split.train.size(), split.train_flows, split.calibration.size(), split.calibration_flows,
      split.attack.size());

  // Train.
  const std::size_t n_cols = columns.size();
  std::vector<float> x_all(t.rows.size() * n_cols);
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    for (std::size_t c = 0; c < n_cols; ++c) {
      x_all[i * n_cols + c] = static_cast<float>(t.rows[i][columns[c]]);
    }
  }
  std::vector<float> x_train;
  x_train.reserve(split.train.size() * n_cols);
  for (const std::size_t i : split.train) {
    x_train.insert(x_train.end(), x_all.begin() + static_cast<std::ptrdiff_t>(i * n_cols),
                   x_all.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_cols));
  }
  const model::IsolationForestParams params{opts.trees, opts.sample_size, opts.seed};
  say("training an isolation forest: {} trees, sample size {}, on {} rows x {} features",
      params.n_trees, params.sample_size, split.train.size(), n_cols);
  t0 = Clock::now();
  const model::IsolationForest forest = model::IsolationForest::train(x_train, n_cols, params);
  const double train_seconds = secondsSince(t0);
  say("trained in {:.2f} s (sample size used {}, depth {})", train_seconds, forest.sampleSize(),
      forest.maxDepth());

  // Score every row; set the threshold on the calibration rows.
  say("scoring {} rows", t.rows.size());
  t0 = Clock::now();
  std::vector<float> scores(t.rows.size());
  forest.score(x_all.data(), t.rows.size(), scores.data());
  const double score_seconds = secondsSince(t0);
  const std::vector<float> cal_scores = pick(scores, split.calibration);
  const std::vector<float> train_scores = pick(scores, split.train);
  const std::vector<float> attack_scores = pick(scores, split.attack);
  const double threshold = pickThreshold(cal_scores, opts.threshold_fpr);
  const std::size_t false_positives = countAtOrOver(cal_scores, threshold);
  const double fpr = static_cast<double>(false_positives) / static_cast<double>(cal_scores.size());
  const double train_fpr = static_cast<double>(countAtOrOver(train_scores, threshold)) /
                           static_cast<double>(train_scores.size());
  say("threshold {:.6g}: {} of {} calibration benign rows at or over it, FPR {:.5f} (target {})",
      threshold, false_positives, cal_scores.size(), fpr, opts.threshold_fpr);
  if (opts.threshold_fpr > 0 && opts.threshold_fpr * static_cast<double>(cal_scores.size()) < 1) {
    say("note: {} calibration rows cannot measure an FPR of {}; the threshold is above every "
        "calibration score",
        cal_scores.size(), opts.threshold_fpr);
  }
  if (fpr > opts.threshold_fpr) {
    say("warning: the FPR is over the target: calibration rows score 1, the highest score");
  }

  // Attacks: how well the score separates them from benign flows.
  double auc = std::nan("");
  double recall = std::nan("");
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_attack;  // rows, detected
  if (!split.attack.empty()) {
    auc = rocAuc(cal_scores, attack_scores);
    recall = static_cast<double>(countAtOrOver(attack_scores, threshold)) /
             static_cast<double>(attack_scores.size());
    for (const std::size_t i : split.attack) {
      auto& [rows, detected] = per_attack[t.label_names[t.labels[i]]];
      ++rows;
      if (static_cast<double>(scores[i]) >= threshold) ++detected;
    }
    std::string by_class;
    for (const auto& [label, rd] : per_attack) {
      by_class += fmt::format("{}{} {:.3f}", by_class.empty() ? "" : ", ", label,
                              static_cast<double>(rd.second) / static_cast<double>(rd.first));
    }
    say("ROC-AUC {:.4f} over {} calibration benign and {} attack rows; recall at the threshold "
        "{:.3f} ({})",
        auc, cal_scores.size(), attack_scores.size(), recall, by_class);
  } else {
    say("no attack rows: no ROC-AUC");
  }

  // Sample rows: half calibration benign, half attack where there are.
  SeededRng rng(opts.seed ^ 0x5a3b1e5ULL);
  std::vector<std::size_t> benign_pick = split.calibration, attack_pick = split.attack;
  rng.shuffle(benign_pick);
  rng.shuffle(attack_pick);
  const std::size_t n_attack = std::min(attack_pick.size(), kSampleRows / 2);
  const std::size_t n_benign = std::min(benign_pick.size(), kSampleRows - n_attack);
  std::vector<std::size_t> sample_idx(benign_pick.begin(),
                                      benign_pick.begin() + static_cast<std::ptrdiff_t>(n_benign));
  sample_idx.insert(sample_idx.end(), attack_pick.begin(),
                    attack_pick.begin() + static_cast<std::ptrdiff_t>(n_attack));
  std::sort(sample_idx.begin(), sample_idx.end());
  std::vector<FeatureVector> samples, train_rows;
  for (const std::size_t i : sample_idx) samples.push_back(t.rows[i]);
  train_rows.reserve(split.train.size());
  for (const std::size_t i : split.train) train_rows.push_back(t.rows[i]);

  // The training record.
  model::BundleContents b;
  b.name = name;
  b.version = version;
  b.task = model::Task::kAnomaly;
  b.kind = model::ModelKind::kIsolationForest;
  b.classes = {"anomaly"};
  b.thresholds = {{"anomaly", threshold}};
  b.features = feature_names;
  b.model_json = forest.toJson();
  b.training_rows = train_rows;
  b.sample_rows = samples;
  {
    b.training.params_json.clear();  // JsonWriter appends
    output::JsonWriter j(b.training.params_json);
    j.beginObject();
    j.field("head", opts.head);
    j.field("model", "isolation_forest");
    j.field("n_trees", params.n_trees);
    j.field("sample_size", params.sample_size);
    j.field("sample_size_used", forest.sampleSize());
    j.field("max_depth", forest.maxDepth());
    j.field("seed", opts.seed);
    j.field("train_share", kTrainShare);
    j.field("split", "benign flows (by flow_id), seeded shuffle");
    j.key("benign_labels").beginArray();
    for (const std::string_view l : kBenignLabels) j.value(l);
    j.endArray();
    j.field("threshold_fpr", opts.threshold_fpr);
    j.endObject();
  }
  {
    b.training.metrics_json.clear();  // JsonWriter appends
    output::JsonWriter j(b.training.metrics_json);
    j.beginObject();
    j.field("threshold", threshold);
    j.key("calibration").beginObject();
    j.field("rows", cal_scores.size());
    j.field("flows", split.calibration_flows);
    j.field("false_positives", false_positives);
    j.field("fpr", fpr);
    j.field("target_fpr", opts.threshold_fpr);
    j.endObject();
    j.key("train").beginObject();
    j.field("rows", train_scores.size());
    j.field("flows", split.train_flows);
    j.field("fpr", train_fpr);
    j.endObject();
    if (!split.attack.empty()) {
      j.field("roc_auc", auc);
      j.key("attack").beginObject();
      j.field("rows", attack_scores.size());
      j.field("recall", recall);
      j.key("classes").beginObject();
      for (const auto& [label, rd] : per_attack) {
        j.key(label).beginObject();
        j.field("rows", rd.first);
        j.field("recall", static_cast<double>(rd.second) / static_cast<double>(rd.first));
        j.endObject();
      }
      j.endObject();
      j.endObject();
    }
    j.endObject();
  }
  {
    b.training.data_json.clear();  // JsonWriter appends
    output::JsonWriter j(b.training.data_json);
    j.beginObject();
    j.field("csv", opts.csv);
    j.field("sha256", digest);
    j.field("bytes", static_cast<std::uint64_t>(ec ? 0 : csv_bytes));
    j.field("label_column", opts.label_column);
    j.field("rows", t.rows.size());
    j.key("labels").beginObject();
    for (std::size_t l = 0; l < t.label_names.size(); ++l) j.field(t.label_names[l], per_label[l]);
    j.endObject();
    j.field("train_rows", split.train.size());
    j.field("calibration_rows", split.calibration.size());
    j.field("attack_rows", split.attack.size());
    j.endObject();
  }
  {
    b.training.timings_json.clear();  // JsonWriter appends
    output::JsonWriter j(b.training.timings_json);
    j.beginObject();
    j.field("read_seconds", read_seconds);
    j.field("digest_seconds", digest_seconds);
    j.field("train_seconds", train_seconds);
    j.field("score_seconds", score_seconds);
    j.field("total_seconds", secondsSince(t_start));  // up to writing the bundle
    j.endObject();
  }

  t0 = Clock::now();
  bool replaced = false;
  try {
    replaced = model::writeBundle(opts.out, b);
  } catch (const model::BundleWriteError& e) {
    throw TrainError(e.what());
  }
  say("wrote {} ({} {}{}) in {:.2f} s", opts.out, name, version,
      replaced ? ", replacing the bundle there" : "", secondsSince(t0));

  if (scores_out.is_open()) {
    std::string text = "line,flow_id,label,part,score\n";
    const auto part = [&](std::size_t i) {
      if (!t.benign_label[t.labels[i]]) return "attack";
      return std::binary_search(split.train.begin(), split.train.end(), i) ? "train"
                                                                           : "calibration";
    };
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, scores[i]);
      text += fmt::format("{},{},{},{},{}\n", t.lines[i], t.flow_ids[i], t.label_names[t.labels[i]],
                          part(i), std::string_view(buf, r.ptr));
    }
    scores_out << text;
    scores_out.close();
    if (!scores_out) throw TrainError(fmt::format("--scores {}: write failed", opts.scores));
  }
  say("done in {:.2f} s", secondsSince(t_start));
  return 0;
}

}  // namespace

void addTrainCommand(CLI::App& app, TrainOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a model bundle from labelled flows (for now: the anomaly head, from a flow CSV)");
  cmd->add_option("--csv", opts.csv,
                  "Labelled flow CSV: what `edgesense replay --csv` writes plus a label column")
      ->required();
  cmd->add_option("--label-column", opts.label_column,
                  "The CSV's label column: benign, reel, scan, dos, ... per row")
      ->capture_default_str();
  cmd->add_option("--head", opts.head, "The model to train: anomaly (an isolation forest)")
      ->required();
  cmd->add_option("--out", opts.out,
                  "Bundle directory to write; a bundle there is replaced in one rename")
      ->required();
  cmd->add_option("--name", opts.name, "Bundle name (default: the head)");
  cmd->add_option("--version", opts.version,
                  "Bundle version (default: the UTC time of training, YYYY.MM.DD-HHMMSS)");
  cmd->add_option("--seed", opts.seed, "Seed of the split and the forest")->capture_default_str();
  cmd->add_option("--trees", opts.trees, "Isolation trees")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_option("--sample-size", opts.sample_size,
                  "Rows each tree is grown on (psi; capped at the training rows)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 24));
  cmd->add_option("--threshold-fpr", opts.threshold_fpr,
                  "Highest share of held-out benign rows at or over the alert threshold")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--features", opts.features,
                  "Model columns, comma-separated schema names (default: every feature)");
  cmd->add_option("--scores", opts.scores,
                  "Also write every row's score to FILE (CSV: line, flow_id, label, part, score)");
}

int runTrain(const TrainOptions& opts) {
  try {
    if (opts.head != "anomaly") {
      throw TrainError(fmt::format(
          "--head {}: only the anomaly head can be trained here yet; make reel and attack "
          "bundles with scripts/bundle_tools/make_bundle.py",
          opts.head));
    }
    return trainAnomaly(opts);
  } catch (const std::exception& e) {
    fmt::print(stderr, "edgesense train: {}\n", e.what());
    return 1;
  }
}

}  // namespace edgesense::daemon
