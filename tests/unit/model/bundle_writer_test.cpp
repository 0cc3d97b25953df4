// writeBundle(): what it writes loads with Bundle::load() and scores as the
// model it was given; it replaces a bundle in one rename and leaves nothing
// behind; and `edgesense train --head anomaly` end to end, run as a user
// would, on a labelled flow CSV made here.

#include "model/bundle_writer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "model/bundle.h"
#include "model/isolation_forest.h"
#include "output/csv.h"
#include "test_bundles.h"

namespace edgesense::model {
namespace {

namespace fs = std::filesystem;
using features::FeatureVector;
using nlohmann::json;
using test::TempDir;

std::string readText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::size_t schemaIndex(std::string_view name) {
  for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
    if (features::kSchema[i].name == name) return i;
  }
  throw std::invalid_argument(std::string(name));
}

/// Entries of `dir` whose names start with '.': what the writer must not leave.
std::vector<std::string> hiddenEntries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with('.')) out.push_back(e.path().filename());
  }
  return out;
}

/// Rows over `names` from gaussianRows(), the rest NaN; every 7th row leaves
/// its second feature undefined.
std::vector<FeatureVector> featureRows(const std::vector<std::string>& names, std::size_t n,
                                       std::uint64_t seed) {
  const std::vector<float> g = test::gaussianRows(n, names.size(), seed);
  std::vector<FeatureVector> rows(n);
  for (std::size_t r = 0; r < n; ++r) {
    rows[r].fill(std::nan(""));
    for (std::size_t c = 0; c < names.size(); ++c) {
      rows[r][schemaIndex(names[c])] = 100.0 + 10.0 * g[r * names.size() + c];
    }
    if (r % 7 == 0 && names.size() > 1) rows[r][schemaIndex(names[1])] = std::nan("");
  }
  return rows;
}

/// The model columns of rows, as floats.
std::vector<float> columns(const std::vector<FeatureVector>& rows,
                           const std::vector<std::string>& names) {
  std::vector<float> x;
  for (const FeatureVector& row : rows) {
    for (const std::string& n : names) x.push_back(static_cast<float>(row[schemaIndex(n)]));
  }
  return x;
}

/// An anomaly bundle's contents over `names`; the forest trained on `rows`.
struct ForestBundle {
  std::vector<std::string> names;
  std::vector<FeatureVector> rows;
  IsolationForest forest;
  BundleContents contents;

  ForestBundle(std::vector<std::string> n, std::size_t n_rows, std::uint64_t seed)
      : names(std::move(n)),
        rows(featureRows(names, n_rows, seed)),
        forest(IsolationForest::train(columns(rows, names), names.size(), {25, 64, seed})) {
    contents.name = "anomaly-test";
    contents.version = "1.0";
    contents.classes = {"anomaly"};
    contents.thresholds = {{"anomaly", 0.6}};
    contents.features = names;
    contents.model_json = forest.toJson();
    contents.training.params_json = R"({"n_trees": 25, "sample_size": 64})";
    contents.training.metrics_json = R"({"fpr": 0.01})";
    contents.training.data_json = R"({"rows": 500})";
    contents.training.timings_json = R"({"train_seconds": 0.5})";
    contents.training.trained_at = "2026-11-21T10:00:00Z";
    contents.training_rows = rows;
    contents.sample_rows = std::span<const FeatureVector>(rows).first(12);
  }
};

const std::vector<std::string> kFive = {"duration", "fwd_packets", "bwd_bytes", "iat_mean",
                                        "src_flows_10s"};

TEST(BundleWriter, Sha256) {
  EXPECT_EQ(sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  TempDir tmp;
  const std::string million(1000000, 'a');
  std::ofstream(tmp.path() / "a") << million;
  EXPECT_EQ(sha256File(tmp.path() / "a"),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(sha256File(tmp.path() / "missing"), std::runtime_error);
}

TEST(BundleWriter, QuantilesAsNumpy) {
  const double nan = std::nan(""), inf = INFINITY;
  // numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6, 0.1], [0, 0.1, ..., 1])
  const std::vector<double> q =
      quantilesOf(std::vector<double>{3, nan, 1, 4, 1, inf, 5, 9, 2, 6, 0.1, -inf});
  const std::vector<double> numpy = {0.1, 0.8200000000000001, 1.0, 1.4, 2.2, 3.0, 3.8, 4.6,
                                     5.4, 6.6000000000000005, 9.0};
  ASSERT_EQ(q.size(), kQuantileCount);
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_NEAR(q[i], numpy[i], 1e-12) << i;
  EXPECT_EQ(quantilesOf(std::vector<double>{7}), std::vector<double>(kQuantileCount, 7));
  // Shares: bins up to each distinct quantile, (edge k-1, edge k]; NaN ignored.
  const std::vector<double> v{1, 1, 1, 2, 3, 3, nan, 10};
  EXPECT_EQ(sharesOf(v, std::vector<double>{1, 1, 1, 1, 2, 3, 3, 3, 3, 5, 10}),
            (std::vector<double>{3.0 / 7, 1.0 / 7, 2.0 / 7, 0, 1.0 / 7}));
  EXPECT_TRUE(quantilesOf(std::vector<double>{nan, inf}).empty());
  EXPECT_TRUE(quantilesOf(std::vector<double>{}).empty());
}

TEST(BundleWriter, RoundTripScoresAsTheForest) {
  ForestBundle fb(kFive, 500, 3);
  TempDir tmp;
  const fs::path dir = tmp.path() / "anomaly";
  EXPECT_FALSE(writeBundle(dir, fb.contents));

  const auto bundle = Bundle::load(dir);
  EXPECT_EQ(bundle->name(), "anomaly-test");
  EXPECT_EQ(bundle->version(), "1.0");
  EXPECT_EQ(bundle->task(), Task::kAnomaly);
  EXPECT_EQ(bundle->kind(), ModelKind::kIsolationForest);
  EXPECT_EQ(bundle->classes(), std::vector<std::string>{"anomaly"});
  EXPECT_EQ(bundle->thresholds(), std::vector<double>{0.6});
  std::vector<std::size_t> indices;
  for (const std::string& n : kFive) indices.push_back(schemaIndex(n));
  EXPECT_EQ(bundle->featureIndices(), indices);
  EXPECT_EQ(readText(dir / "model.json"), fb.forest.toJson());

  // Every row, not only the samples: the same scores as the forest.
  std::vector<float> out(fb.rows.size());
  bundle->predict(fb.rows, out);
  const std::vector<float> x = columns(fb.rows, kFive);
  for (std::size_t r = 0; r < fb.rows.size(); ++r) {
    ASSERT_EQ(out[r], static_cast<float>(fb.forest.score(
                          std::span<const float>(x).subspan(r * kFive.size(), kFive.size()))))
        << r;
  }

  // Quantiles over the training rows, NaN ignored.
  for (std::size_t c = 0; c < kFive.size(); ++c) {
    std::vector<double> v;
    for (const FeatureVector& row : fb.rows) v.push_back(row[indices[c]]);
    const std::vector<double> want = quantilesOf(v);
    const auto got = bundle->quantiles(c);
    ASSERT_EQ(got.size(), kQuantileCount);
    for (std::size_t i = 0; i < kQuantileCount; ++i) EXPECT_DOUBLE_EQ(got[i], want[i]);
    // ... and the share of them up to each distinct quantile.
    const std::vector<double> shares = sharesOf(v, want);
    const auto got_shares = bundle->shares(c);
    ASSERT_EQ(got_shares.size(), shares.size());
    for (std::size_t i = 0; i < shares.size(); ++i) EXPECT_DOUBLE_EQ(got_shares[i], shares[i]);
  }

  const json training = json::parse(bundle->trainingJson());
  EXPECT_EQ(training["params"]["n_trees"], 25);
  EXPECT_EQ(training["metrics"]["fpr"], 0.01);
  EXPECT_EQ(training["data"]["rows"], 500);
  EXPECT_EQ(training["timings"]["train_seconds"], 0.5);
  EXPECT_EQ(training["trained_at"], "2026-11-21T10:00:00Z");

  const json j = test::readJson(dir / "bundle.json");
  EXPECT_EQ(j["samples"].size(), 12u);
  EXPECT_EQ(j["schema_hash"], features::schemaHash());
  EXPECT_TRUE(j["samples"][0]["features"]["fwd_packets"].is_null());  // row 0 leaves it NaN
  EXPECT_FALSE(j.contains("mitre"));
  EXPECT_TRUE(hiddenEntries(tmp.path()).empty());
}

TEST(BundleWriter, WholeSchemaAndAFeatureWithNoValue) {
  // The default columns; all but five features NaN in every row.
  ForestBundle fb(kFive, 300, 4);
  fb.forest = IsolationForest::train(columns(fb.rows, schemaFeatureNames()),
                                     features::kFeatureCount, {10, 32, 4});
  fb.contents.features = schemaFeatureNames();
  fb.contents.model_json = fb.forest.toJson();
  fb.contents.training.trained_at.clear();
  TempDir tmp;
  writeBundle(tmp.path() / "b", fb.contents);
  const auto bundle = Bundle::load(tmp.path() / "b");
  EXPECT_EQ(bundle->featureIndices().size(), features::kFeatureCount);
  EXPECT_EQ(bundle->quantiles(schemaIndex("duration")).size(), kQuantileCount);
  EXPECT_TRUE(bundle->quantiles(schemaIndex("fwd_syn")).empty());  // never defined: left out
  const json j = test::readJson(tmp.path() / "b" / "bundle.json");
  EXPECT_FALSE(j["feature_distribution"].contains("fwd_syn"));
  EXPECT_EQ(j["training"]["trained_at"].get<std::string>().size(), 20u);  // now, UTC
}

TEST(BundleWriter, XgboostBundleScoresAsPythonXgboost) {
  // The python-made reel model, bundled again by the writer: its expected
  // outputs come from scoring the model file written into the bundle.
  const fs::path reel = test::pythonBundles() / "reel";
  const json original = test::readJson(reel / "bundle.json");
  const test::PythonCheck check = test::readCheck(reel);
  BundleContents c;
  c.name = "reel-again";
  c.version = "2";
  c.task = Task::kReel;
  c.kind = ModelKind::kXgboost;
  c.classes = {"non_reel", "reel"};
  c.thresholds = {{"reel", 0.5}};
  c.features = original["features"].get<std::vector<std::string>>();
  c.model_json = readText(reel / "model.json");
  c.training_rows = check.rows;
  c.sample_rows = std::span<const FeatureVector>(check.rows).first(8);
  TempDir tmp;
  writeBundle(tmp.path() / "reel", c);
  const auto bundle = Bundle::load(tmp.path() / "reel");
  const json j = test::readJson(tmp.path() / "reel" / "bundle.json");
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t k = 0; k < 2; ++k) {
      EXPECT_NEAR(j["samples"][i]["expected"][k].get<double>(), check.proba[i][k], 1e-6);
    }
  }
}

TEST(BundleWriter, ReplacesInOneRenameAndLeavesNothingBehind) {
  ForestBundle fb(kFive, 200, 5);
  TempDir tmp;
  const fs::path dir = tmp.path() / "models" / "anomaly";  // the parent is made too
  EXPECT_FALSE(writeBundle(dir, fb.contents));
  std::ofstream(tmp.path() / "models" / "anomaly" / "stale.txt") << "from the old bundle";

  fb.contents.version = "2.0";
  EXPECT_TRUE(writeBundle(dir, fb.contents));
  EXPECT_EQ(Bundle::load(dir)->version(), "2.0");
  EXPECT_FALSE(fs::exists(dir / "stale.txt"));  // the old directory went as a whole
  EXPECT_TRUE(hiddenEntries(tmp.path() / "models").empty());
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path() / "models"), {}), 1);

  // An empty directory may be taken over; "out/" names the directory itself.
  fs::create_directory(tmp.path() / "empty");
  EXPECT_TRUE(writeBundle(tmp.path() / "empty/", fb.contents));
  EXPECT_EQ(Bundle::load(tmp.path() / "empty")->version(), "2.0");
}

TEST(BundleWriter, RefusesAndLeavesTheTargetAsItWas) {
  ForestBundle fb(kFive, 200, 6);
  TempDir tmp;
  const fs::path dir = tmp.path() / "anomaly";
  writeBundle(dir, fb.contents);
  const std::string before = readText(dir / "bundle.json");

  const auto refused = [&](BundleContents c, const fs::path& target, const std::string& why) {
    try {
      writeBundle(target, c);
      ADD_FAILURE() << "written: " << why;
    } catch (const BundleWriteError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_TRUE(std::string(e.what()).starts_with("cannot write model bundle ")) << e.what();
    }
    EXPECT_EQ(readText(dir / "bundle.json"), before);
    EXPECT_TRUE(hiddenEntries(tmp.path()).empty());
  };
  BundleContents c = fb.contents;
  c.thresholds["anomaly"] = 2;  // only the load notices
  refused(c, dir, "it would not load: thresholds.anomaly is 2.0; it must be a number in [0, 1]");
  c = fb.contents;
  c.name = "no spaces";
  refused(c, dir, "name \"no spaces\"");
  c = fb.contents;
  c.features[0] = "weather";
  refused(c, dir, "\"weather\" is not a feature");
  c = fb.contents;
  c.features.pop_back();  // the forest takes five
  refused(c, dir, "the model takes 5 features, but 4 are listed");
  c = fb.contents;
  c.sample_rows = {};
  refused(c, dir, "no sample rows");
  c = fb.contents;
  c.training.metrics_json = "[1]";
  refused(c, dir, "training metrics is not a JSON object");

  // Only a bundle (or an empty directory) is replaced.
  fs::create_directory(tmp.path() / "home");
  std::ofstream(tmp.path() / "home" / "notes.txt") << "keep me";
  refused(fb.contents, tmp.path() / "home", "is not a model bundle (no bundle.json)");
  EXPECT_EQ(readText(tmp.path() / "home" / "notes.txt"), "keep me");
  std::ofstream(tmp.path() / "file") << "x";
  refused(fb.contents, tmp.path() / "file", "it exists and is not a directory");
}

TEST(BundleWriter, ALoaderNeverSeesHalfABundle) {
  ForestBundle fb(kFive, 200, 7);
  TempDir tmp;
  const fs::path dir = tmp.path() / "anomaly";
  writeBundle(dir, fb.contents);
  std::atomic<bool> done{false};
  std::atomic<int> loads{0};
  std::vector<std::string> errors;
  std::thread reader([&] {
    while (!done.load()) {
      try {
        const auto b = Bundle::load(dir);
        if (b->version() != "1.0" && b->version() != "2.0") errors.push_back(b->version());
        ++loads;
      } catch (const BundleError& e) {
        // Only where the file system has no RENAME_EXCHANGE is there a moment
        // without the directory; never one with half a bundle.
        if (!std::string(e.what()).ends_with(": no such directory")) errors.push_back(e.what());
      }
    }
  });
  for (int i = 0; i < 30; ++i) {
    fb.contents.version = i % 2 ? "1.0" : "2.0";
    writeBundle(dir, fb.contents);
  }
  done = true;
  reader.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_GT(loads.load(), 0);
}

// ---- edgesense train ----

struct CommandResult {
  int status;
  std::string err;
};

CommandResult train(const TempDir& tmp, const std::string& args) {
  const fs::path err = tmp.path() / "stderr.txt";
  const std::string cmd =
      std::string(EDGESENSE_BIN) + " train " + args + " 2>" + err.string() + " >/dev/null";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, readText(err)};
}

/// A labelled flow CSV as replay --csv and label_flows.py write it: benign
/// flows (some with an interim snapshot and a final record, like long
/// flows), reels, scans far from them and floods that look like them.
struct LabelledCsv {
  std::vector<FeatureVector> rows;
  std::vector<std::uint64_t> flow_ids;
  std::vector<std::string> labels;

  void add(std::uint64_t id, const std::string& label, const FeatureVector& v) {
    rows.push_back(v);
    flow_ids.push_back(id);
    labels.push_back(label);
  }

  static LabelledCsv make() {
    LabelledCsv t;
    const std::vector<std::string> names = {"duration",  "fwd_packets",  "bwd_packets",
                                            "fwd_bytes", "bwd_bytes",    "iat_mean",
                                            "fwd_syn",   "src_flows_10s"};
    const std::vector<FeatureVector> benign = featureRows(names, 420, 11);
    std::uint64_t id = 1000;
    for (std::size_t i = 0; i < 300; ++i) {
      t.add(++id, "benign", benign[i]);
      if (i % 3 == 0) t.add(id, "benign", benign[300 + i / 3]);  // the same flow, later
    }
    for (std::size_t i = 400; i < 420; ++i) t.add(++id, "reel", benign[i]);
    std::vector<FeatureVector> attacks = featureRows(names, 60, 12);
    for (std::size_t i = 0; i < attacks.size(); ++i) {
      FeatureVector& v = attacks[i];
      if (i < 40) {  // scans stand out; these floods look like benign flows
        v[schemaIndex("src_flows_10s")] = 900 + static_cast<double>(i);
        v[schemaIndex("fwd_syn")] = 1;
        v[schemaIndex("bwd_packets")] = std::nan("");
      }
      t.add(++id, i < 40 ? "scan" : "dos", v);
    }
    return t;
  }

  void write(const fs::path& file, std::size_t bad_line = 0, const std::string& bad = "") const {
    std::string text;
    output::appendCsvHeader(text);
    text.pop_back();
    text += ",category\n";
    std::size_t line = 1;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (++line == bad_line) {
        text += bad + "\n";
        continue;
      }
      text += std::to_string(flow_ids[r]) + ",10.0.0.1,40000,10.0.0.2,443,TCP,,1.5,2.5,tcp_fin,0";
      for (const double v : rows[r]) {
        text += ',';
        if (std::isfinite(v)) {
          char buf[32];
          text.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        }
      }
      text += "," + labels[r] + "\n";
    }
    std::ofstream(file, std::ios::binary) << text;
  }
};

/// --scores: row -> (part, score).
std::map<std::size_t, std::pair<std::string, float>> readScores(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "row,flow,category,part,score");
  std::map<std::size_t, std::pair<std::string, float>> out;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) f.push_back(cell);
    EXPECT_EQ(f.size(), 5u) << line;
    float score = 0;
    std::from_chars(f[4].data(), f[4].data() + f[4].size(), score);
    out[std::stoul(f[0])] = {f[3], score};
  }
  return out;
}

TEST(TrainCommand, AnomalyBundleFromALabelledCsv) {
  TempDir tmp;
  const LabelledCsv t = LabelledCsv::make();
  const fs::path csv = tmp.path() / "flows.csv";
  t.write(csv);
  const fs::path out = tmp.path() / "anomaly";
  const CommandResult run =
      train(tmp, "--csv " + csv.string() + " --label-column category --head anomaly" + " --out " +
                     out.string() + " --seed 7 --trees 50" +
                     " --threshold-fpr 0.05 --version 1.0 --scores " +
                     (tmp.path() / "scores.csv").string());
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("ROC-AUC"), std::string::npos) << run.err;

  const auto bundle = Bundle::load(out);
  EXPECT_EQ(bundle->name(), "anomaly");
  EXPECT_EQ(bundle->version(), "1.0");
  EXPECT_EQ(bundle->task(), Task::kAnomaly);
  EXPECT_EQ(bundle->featureIndices().size(), features::kFeatureCount);
  const double threshold = bundle->thresholds()[0];
  const json training = json::parse(bundle->trainingJson());
  EXPECT_EQ(training["metrics"]["threshold"].get<double>(), threshold);
  EXPECT_EQ(training["data"]["inputs"][0]["sha256"], sha256File(csv));
  EXPECT_EQ(training["data"]["rows"], t.rows.size());
  EXPECT_EQ(training["params"]["n_trees"], 50);
  EXPECT_EQ(training["params"]["seed"], 7);
  EXPECT_TRUE(training["timings"].contains("train_seconds"));
  // The run is in the ledger beside the bundle.
  const std::string ledger = readText(tmp.path() / "runs.jsonl");
  ASSERT_EQ(std::count(ledger.begin(), ledger.end(), '\n'), 1) << ledger;
  const json line = json::parse(ledger);
  EXPECT_EQ(line["bundles"]["anomaly"]["threshold"].get<double>(), threshold);
  EXPECT_EQ(line["inputs"][0]["sha256"], sha256File(csv));

  // The bundle scores every row as the command did.
  const auto scores = readScores(tmp.path() / "scores.csv");
  ASSERT_EQ(scores.size(), t.rows.size());
  std::vector<float> ours(t.rows.size());
  bundle->predict(t.rows, ours);
  std::vector<float> calibration, test_benign, test_attack;
  std::map<std::uint64_t, std::set<std::string>> parts_of_flow;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& [part, score] = scores.at(r);
    ASSERT_EQ(ours[r], score) << "row " << r;
    const bool benign = t.labels[r] == "benign" || t.labels[r] == "reel";
    if (benign && part == "validation") calibration.push_back(score);
    if (part == "test") (benign ? test_benign : test_attack).push_back(score);
    parts_of_flow[t.flow_ids[r]].insert(part);
  }
  // Split by flow: a flow's snapshots all in one part; 70% of the benign
  // flows (300, stratified apart from the 20 reels) train.
  std::size_t benign_train_flows = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (t.labels[r] == "benign" && (r == 0 || t.flow_ids[r] != t.flow_ids[r - 1])) {
      benign_train_flows += scores.at(r).first == "train";
    }
  }
  for (const auto& [id, parts] : parts_of_flow) EXPECT_EQ(parts.size(), 1u) << "flow " << id;
  EXPECT_EQ(benign_train_flows, 210u);

  // The threshold gives the stated FPR on the validation benign rows, and is
  // the lowest that does: the next score under it would give more.
  const auto at_or_over = [&](double th) {
    return std::count_if(calibration.begin(), calibration.end(),
                         [&](float s) { return static_cast<double>(s) >= th; });
  };
  const double fpr =
      static_cast<double>(at_or_over(threshold)) / static_cast<double>(calibration.size());
  EXPECT_LE(fpr, 0.05);
  EXPECT_DOUBLE_EQ(training["metrics"]["calibration"]["fpr"].get<double>(), fpr);
  EXPECT_EQ(training["metrics"]["calibration"]["rows"], calibration.size());
  float below = -1;
  for (const float s : calibration) {
    if (static_cast<double>(s) < threshold) below = std::max(below, s);
  }
  EXPECT_GT(static_cast<double>(at_or_over(below)) / static_cast<double>(calibration.size()), 0.05);

  // ROC-AUC on the test part, counted pair by pair.
  double wins = 0;
  for (const float a : test_attack) {
    for (const float b : test_benign) wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
  }
  const double auc = wins / static_cast<double>(test_attack.size() * test_benign.size());
  EXPECT_NEAR(training["metrics"]["test"]["auc"].get<double>(), auc, 1e-12);
  const json& classes = training["metrics"]["test"]["classes"];
  EXPECT_EQ(classes["scan"]["rows"], 6);  // 15% of 40
  EXPECT_EQ(classes["scan"]["recall"], 1.0);

  // The same seed gives the same forest; another seed another.
  ASSERT_EQ(train(tmp, "--csv " + csv.string() + " --head anomaly --out " +
                           (tmp.path() / "again").string() + " --seed 7 --trees 50")
                .status,
            0);
  EXPECT_EQ(readText(tmp.path() / "again" / "model.json"), readText(out / "model.json"));
  ASSERT_EQ(train(tmp, "--csv " + csv.string() + " --head anomaly --out " +
                           (tmp.path() / "other").string() + " --seed 8 --trees 50")
                .status,
            0);
  EXPECT_NE(readText(tmp.path() / "other" / "model.json"), readText(out / "model.json"));
}

TEST(TrainCommand, FeatureSubsetAndReplacingABundle) {
  TempDir tmp;
  const LabelledCsv t = LabelledCsv::make();
  const fs::path csv = tmp.path() / "flows.csv";
  t.write(csv);
  const std::string base =
      "--csv " + csv.string() + " --head anomaly --out " + (tmp.path() / "a").string();
  ASSERT_EQ(train(tmp, base + " --version 1").status, 0);
  const CommandResult run =
      train(tmp, base + " --version 2 --features duration,fwd_bytes,src_flows_10s");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("replacing the bundle there"), std::string::npos) << run.err;
  const auto bundle = Bundle::load(tmp.path() / "a");
  EXPECT_EQ(bundle->version(), "2");
  EXPECT_EQ(bundle->featureIndices(),
            (std::vector<std::size_t>{schemaIndex("duration"), schemaIndex("fwd_bytes"),
                                      schemaIndex("src_flows_10s")}));
}

TEST(TrainCommand, BadInputIsOneClearMessage) {
  TempDir tmp;
  const LabelledCsv t = LabelledCsv::make();
  const fs::path csv = tmp.path() / "flows.csv";
  const std::string out = " --out " + (tmp.path() / "out").string();
  const auto fails = [&](const std::string& args, const std::string& message) {
    const CommandResult run = train(tmp, args + out);
    EXPECT_EQ(run.status, 1) << args;
    EXPECT_NE(run.err.find(message), std::string::npos) << "wanted: " << message << "\n" << run.err;
    EXPECT_FALSE(fs::exists(tmp.path() / "out"));
  };
  const std::string use = "--csv " + csv.string() + " --head anomaly";

  t.write(csv, 5, "1,2,3");
  fails(use, csv.string() + ":5: 3 fields, the header has " +
                 std::to_string(std::size(output::kCsvKeyColumns) + features::kFeatureCount + 1));
  // A row whose first feature (duration) is `duration`, labelled `label`.
  const auto row = [](const std::string& duration, const std::string& label) {
    return "7,10.0.0.1,1,10.0.0.2,2,TCP,,1,2,tcp_fin,0," + duration +
           std::string(features::kFeatureCount - 1, ',') + "," + label;
  };
  t.write(csv, 3, row("abc", "benign"));
  fails(use, csv.string() + ":3: duration is \"abc\", not a finite number");
  t.write(csv, 4, row("inf", "benign"));
  fails(use, csv.string() + ":4: duration is \"inf\", not a finite number");
  t.write(csv, 6, row("1", ""));
  fails(use, csv.string() + ":6: no label in column \"category\"");

  t.write(csv);
  fails(use + " --label-column label", csv.string() + ":1: no column \"label\" (--label-column)");
  fails("--csv " + csv.string() + " --head bogus",
        "--head bogus: one of reel, attack, anomaly or all");
  fails(use + " --pcap x.pcap", "1 --pcap and 0 --labels");
  fails(use + " --name 'a b'", "--name \"a b\": letters, digits");
  fails(use + " --features duration,weather", "--features: \"weather\" is not a feature");
  fails("--csv " + (tmp.path() / "missing.csv").string() + " --head anomaly",
        "cannot open " + (tmp.path() / "missing.csv").string() + ": No such file or directory");

  // A header from another schema: a feature missing.
  std::string text = readText(csv);
  const std::string dropped = ",duration,";
  text.replace(text.find(dropped), dropped.size(), ",");
  std::ofstream(csv, std::ios::binary) << text;
  fails(use, csv.string() + ":1: the header does not match this edgesense's feature schema (" +
                 std::to_string(features::kFeatureCount) + " features, hash " +
                 features::schemaHash() + "): column 12 is \"fwd_packets\" where this edgesense " +
                 "has \"duration\"");

  // Nothing benign to learn from.
  LabelledCsv attacks_only = t;
  for (std::string& l : attacks_only.labels) l = "scan";
  attacks_only.write(csv);
  fails(use, "0 benign training row(s) and 0 benign validation row(s)");

  // Not a bundle directory: left alone.
  t.write(csv);
  fs::create_directory(tmp.path() / "home");
  std::ofstream(tmp.path() / "home" / "notes.txt") << "keep me";
  const CommandResult run = train(tmp, use + " --out " + (tmp.path() / "home").string());
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("is not a model bundle (no bundle.json); not replacing it"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(readText(tmp.path() / "home" / "notes.txt"), "keep me");
}

}  // namespace
}  // namespace edgesense::model
