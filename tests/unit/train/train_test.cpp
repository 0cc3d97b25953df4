// train: the split (determinism, flows kept whole, stratification, by file,
// folds), the CICFlowMeter mapping in both datasets' spellings, threshold
// calibration, the grid file, datasets from a generated labelled capture
// through the real pipeline, and train -> bundle -> load -> the same
// predictions as the trainer's and as python3-xgboost's.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include "capture/packet_source.h"
#include "labelled_capture.h"
#include "labels/labels.h"

#include "model/bundle.h"
#include "model/bundle_writer.h"
#include "train/dataset.h"
#include "train/grid.h"
#include "train/metrics.h"
#include "train/split.h"
#include "train/xgb_head.h"

namespace edgesense::train {
namespace {

namespace fs = std::filesystem;
using labels::Category;

class TempDir {
 public:
  TempDir() {
    static int n = 0;
    path_ = fs::temp_directory_path() /
            ("train_test_" + std::to_string(getpid()) + "_" + std::to_string(++n));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A dataset of `flows` flows per category (weights per category), each of
/// 1 to 3 snapshots, from two pretend files.
Dataset synthetic(const std::array<std::size_t, labels::kCategoryCount>& flows_per_category) {
  Dataset d;
  d.sources.resize(2);
  for (std::size_t c = 0; c < labels::kCategoryCount; ++c) {
    for (std::size_t f = 0; f < flows_per_category[c]; ++f) {
      const std::uint64_t g = d.next_group++;
      for (std::size_t s = 0; s < 1 + g % 3; ++s) {
        features::FeatureVector v;
        v.fill(static_cast<double>(g));
        d.rows.push_back(v);
        d.category.push_back(static_cast<Category>(c));
        d.group.push_back(g);
        d.file.push_back(static_cast<std::uint32_t>(g % 2));
        d.proto.push_back(6);
      }
    }
  }
  return d;
}

// ---- the cap on flows per category and input ----

TEST(CapFlowsPerCategory, KeepsAtMostNFlowsPerFileAndCategoryWholeAndSeeded) {
  const Dataset full = synthetic({400, 60, 50, 80, 20, 30});
  Dataset d = full;
  const std::size_t removed = capFlowsPerCategory(d, 25, 7);
  EXPECT_EQ(removed, full.size() - d.size());
  // Per (file, category): min(flows there, 25) flows, each with all its rows.
  std::map<std::pair<std::uint32_t, Category>, std::set<std::uint64_t>> before, after;
  std::map<std::uint64_t, std::size_t> rows_before, rows_after;
  for (std::size_t i = 0; i < full.size(); ++i) {
    before[{full.file[i], full.category[i]}].insert(full.group[i]);
    ++rows_before[full.group[i]];
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    after[{d.file[i], d.category[i]}].insert(d.group[i]);
    ++rows_after[d.group[i]];
    EXPECT_EQ(d.rows[i][0], static_cast<double>(d.group[i]));  // rows moved with their flow
  }
  for (const auto& [key, groups] : before) {
    EXPECT_EQ(after[key].size(), std::min<std::size_t>(groups.size(), 25));
    for (const std::uint64_t g : after[key]) EXPECT_TRUE(groups.count(g));
  }
  for (const auto& [g, n] : rows_after) EXPECT_EQ(n, rows_before[g]);
  std::size_t skipped = 0;
  for (const auto& s : d.sources) {
    const auto it = s.skipped.find("over_max_flows");
    if (it != s.skipped.end()) skipped += it->second;
  }
  EXPECT_EQ(skipped, removed);
  // The same seed keeps the same flows; another seed, others; 0 keeps all.
  Dataset again = full, other = full, all = full;
  capFlowsPerCategory(again, 25, 7);
  capFlowsPerCategory(other, 25, 8);
  EXPECT_EQ(again.group, d.group);
  EXPECT_NE(other.group, d.group);
  EXPECT_EQ(capFlowsPerCategory(all, 0, 7), 0u);
  EXPECT_EQ(all.group, full.group);
}

// ---- split ----

TEST(Split, SameSeedSameSplitOtherSeedOther) {
  const Dataset d = synthetic({400, 60, 50, 80, 20, 30});
  const Split a = splitStratified(d, 7);
  const Split b = splitStratified(d, 7);
  const Split c = splitStratified(d, 8);
  EXPECT_EQ(a.part, b.part);
  EXPECT_NE(a.part, c.part);
  // Computed on other threads at once: the same.
  Split t1, t2;
  std::thread x([&] { t1 = splitStratified(d, 7); });
  std::thread y([&] { t2 = splitStratified(d, 7); });
  x.join();
  y.join();
  EXPECT_EQ(t1.part, a.part);
  EXPECT_EQ(t2.part, a.part);
}

TEST(Split, FlowsStayWholeAndCategoriesAreSplit70_15_15) {
  const Dataset d = synthetic({400, 60, 50, 80, 20, 30});
  const Split s = splitStratified(d, 3);
  std::map<std::uint64_t, std::set<Part>> parts;
  for (std::size_t i = 0; i < d.size(); ++i) parts[d.group[i]].insert(s.part[i]);
  for (const auto& [g, p] : parts) EXPECT_EQ(p.size(), 1u) << "flow " << g;
  // Per category, flows in each part: round(15%) validation and test.
  std::map<std::pair<Category, Part>, std::size_t> flows;
  std::set<std::uint64_t> seen;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (seen.insert(d.group[i]).second) ++flows[{d.category[i], s.part[i]}];
  }
  const std::array<std::size_t, 6> n = {400, 60, 50, 80, 20, 30};
  for (std::size_t c = 0; c < 6; ++c) {
    const auto cat = static_cast<Category>(c);
    const auto share = static_cast<std::size_t>(std::llround(0.15 * static_cast<double>(n[c])));
    EXPECT_EQ((flows[{cat, Part::kValidation}]), share) << c;
    EXPECT_EQ((flows[{cat, Part::kTest}]), share) << c;
    EXPECT_EQ((flows[{cat, Part::kTrain}]), n[c] - 2 * share) << c;
  }
  EXPECT_EQ(s.flows[0] + s.flows[1] + s.flows[2], 640u);
  EXPECT_EQ(s.rows[0] + s.rows[1] + s.rows[2], d.size());
  EXPECT_EQ(s.rowsOf(Part::kTest).size(), s.rows[2]);
}

TEST(Split, SmallCategoriesStillReachValidationAndTest) {
  const Dataset d = synthetic({50, 3, 4, 0, 1, 2});
  const Split s = splitStratified(d, 1);
  std::map<Category, std::set<Part>> parts;
  for (std::size_t i = 0; i < d.size(); ++i) parts[d.category[i]].insert(s.part[i]);
  EXPECT_EQ(parts[Category::kReel].size(), 3u);
  EXPECT_EQ(parts[Category::kScan].size(), 3u);
  EXPECT_EQ(parts[Category::kBruteforce], std::set<Part>{Part::kTrain});
}

TEST(Split, ByFileAndFolds) {
  Dataset d = synthetic({90, 10, 10, 10, 10, 10});
  EXPECT_THROW(splitByFile(d), DatasetError);  // two files
  d.sources.resize(3);
  for (std::size_t i = 0; i < d.size(); ++i) d.file[i] = static_cast<std::uint32_t>(d.group[i] % 3);
  const Split s = splitByFile(d);
  for (std::size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(s.part[i], d.file[i] == 2   ? Part::kTest
                         : d.file[i] == 1 ? Part::kValidation
                                          : Part::kTrain);
  }
  const std::vector<Split> folds = splitFolds(d, 4, 5);
  ASSERT_EQ(folds.size(), 4u);
  std::map<std::uint64_t, std::size_t> tested;
  for (const Split& f : folds) {
    std::set<std::uint64_t> seen;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (f.part[i] == Part::kTest && seen.insert(d.group[i]).second) ++tested[d.group[i]];
    }
    EXPECT_GT(f.flows[1], 0u);
  }
  EXPECT_EQ(tested.size(), 140u);                           // every flow tested...
  for (const auto& [g, n] : tested) EXPECT_EQ(n, 1u) << g;  // ...exactly once
  EXPECT_EQ(splitFolds(d, 4, 5)[2].part, folds[2].part);
}

// ---- thresholds ----

TEST(Calibration, AttackThresholdMeetsTheFprTargetAndIsTheLowestThatDoes) {
  // 1000 benign rows and 100 attacks; 5 classes.
  std::vector<float> probs;
  std::vector<std::uint32_t> y;
  SeededRng rng(9);
  for (std::size_t i = 0; i < 1100; ++i) {
    const bool attack = i >= 1000;
    const float p = attack ? 0.4f + 0.6f * static_cast<float>(rng.below(1000)) / 1000
                           : 0.7f * static_cast<float>(rng.below(1000)) / 1000;
    const std::uint32_t cls = attack ? 1 + static_cast<std::uint32_t>(rng.below(4)) : 0;
    std::vector<float> row(5, (1 - p) / 4);
    row[cls == 0 ? 1 + rng.below(4) : cls] = p;
    row[0] = cls == 0 ? 1 - p : (1 - p) / 4;
    probs.insert(probs.end(), row.begin(), row.end());
    y.push_back(cls);
  }
  for (const double target : {0.0, 0.005, 0.01, 0.1}) {
    const double t = calibrateThreshold(probs, 5, y, target, 0);
    const Evaluation e = evaluate(probs, 5, y, t);
    EXPECT_LE(e.benign_fpr, target) << target;
    // Just under it, the FPR is over the target.
    const Evaluation lower = evaluate(probs, 5, y, std::nextafter(t, 0.0) - 1e-7);
    EXPECT_GT(lower.benign_fpr, target) << target;
  }
  // The floor wins when the FPR target allows a lower threshold.
  EXPECT_EQ(calibrateThreshold(probs, 5, y, 1.0, 0.5), 0.5);
}

TEST(Calibration, ReelThresholdKeepsTheNonReelFprUnderTheTarget) {
  std::vector<float> probs;  // n x 2: non_reel, reel
  std::vector<std::uint32_t> y;
  SeededRng rng(4);
  for (std::size_t i = 0; i < 500; ++i) {
    const bool reel = rng.below(5) == 0;
    const float p = static_cast<float>(rng.below(1000)) / 1000 * 0.6f + (reel ? 0.35f : 0.0f);
    probs.push_back(1 - p);
    probs.push_back(p);
    y.push_back(reel ? 1 : 0);
  }
  const auto at = [&](double t) { return evaluate(probs, 2, y, t); };
  for (const double target : {0.0, 0.005, 0.05, 0.2}) {
    const double t = calibrateThreshold(probs, 2, y, target, 0);
    EXPECT_LE(at(t).benign_fpr, target) << target;
    // Just under it, more non-reel rows are called reel than the target allows.
    EXPECT_GT(at(std::nextafter(t, 0.0) - 1e-7).benign_fpr, target) << target;
  }
  // A looser target calls more reels: recall does not fall.
  EXPECT_GE(at(calibrateThreshold(probs, 2, y, 0.2, 0)).classes[1].recall,
            at(calibrateThreshold(probs, 2, y, 0.005, 0)).classes[1].recall);
  // The floor wins when the target allows a lower threshold.
  EXPECT_EQ(calibrateThreshold(probs, 2, y, 1.0, 0.5), 0.5);
}

TEST(Calibration, FprThresholdAndAuc) {
  const std::vector<float> neg = {0.1f, 0.2f, 0.3f, 0.4f};
  EXPECT_EQ(shareAtOrOver(neg, thresholdForFpr(neg, 0.25)), 0.25);
  EXPECT_EQ(shareAtOrOver(neg, thresholdForFpr(neg, 0.0)), 0.0);
  EXPECT_EQ(thresholdForFpr(neg, 1.0), 0.0);
  const std::vector<float> pos = {0.35f, 0.5f};
  EXPECT_DOUBLE_EQ(rocAuc(neg, pos), (3.0 + 4.0) / 8.0);
  EXPECT_TRUE(std::isnan(rocAuc({}, pos)));
}

// ---- grid ----

TEST(Grid, FileCombinationsAndErrors) {
  TempDir tmp;
  const fs::path f = tmp.path() / "grid.yaml";
  std::ofstream(f) << "max_depth: [3, 5]\nlearning_rate: 0.2\nn_estimators: [40]\n"
                      "subsample: [0.8, 1]\n";
  const Grid g = loadGrid(f.string());
  const std::vector<GridPoint> points = g.points();
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].params.at("eta"), 0.2);
  EXPECT_EQ(points[0].num_round, 40u);
  EXPECT_EQ(points[0].params.at("max_depth"), 3);
  EXPECT_EQ(points[3].params.at("max_depth"), 5);
  EXPECT_EQ(points[3].params.at("subsample"), 1);
  EXPECT_EQ(defaultGrid().points().size(), 4u);
  // The sample grid file is the built-in grid written out.
  const Grid sample = loadGrid(std::string(EDGESENSE_SOURCE_DIR) + "/config/train-grid.yaml");
  EXPECT_EQ(sample.values, defaultGrid().values);
  EXPECT_EQ(sample.num_rounds, defaultGrid().num_rounds);

  const auto error = [&](const std::string& text) {
    std::ofstream(f) << text;
    try {
      loadGrid(f.string());
    } catch (const GridError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("max_depth: [3]\nweather: [1]\n").rfind(f.string() + ":2: unknown grid", 0), 0u);
  EXPECT_EQ(error("max_depth: [3]\neta: [0.1, x]\n").rfind(f.string() + ":2: eta: \"x\"", 0), 0u);
  EXPECT_EQ(error("\n\nmax_depth: [3, 2.5]\n").rfind(f.string() + ":3: max_depth 2.5 is out", 0),
            0u);
  EXPECT_EQ(error("eta: []\n").rfind(f.string() + ":1: eta: a number or a non-empty list", 0), 0u);
  EXPECT_EQ(error("eta: [0.1\n").rfind(f.string() + ":", 0), 0u);
  EXPECT_EQ(error("- 1\n- 2\n").rfind(f.string() + ":1: a grid is a map", 0), 0u);
}

// ---- CICFlowMeter ----

std::size_t at(std::string_view name) {
  for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
    if (features::kSchema[i].name == name) return i;
  }
  ADD_FAILURE() << name;
  return 0;
}

TEST(CicFlowMeter, Cic2017Spelling) {
  TempDir tmp;
  const fs::path f = tmp.path() / "2017.csv";
  std::ofstream(f)
      << " Destination Port, Flow Duration, Total Fwd Packets, Total Backward Packets,"
         "Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max,"
         "Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Fwd IAT Min,Init_Win_bytes_forward,"
         " Init_Win_bytes_backward,Active Mean, Idle Max, Label\n"
         "80,2000000,10,8,1200,9000,600,5100,9,222222.2,1000,29200,-1,1500,0,BENIGN\n"
         "22,0,1,0,0,0,0,Infinity,Infinity,0,0,1024,-1,0,0,PortScan\n"
         "80,5,2,0,0,0,0,NaN,400000,5,5,-1,-1,0,0,DoS Hulk\n"
         "21,7,2,1,0,0,0,1,1,1,1,1,1,0,0,FTP-Patator\n"
         "80,7,2,1,0,0,0,1,1,1,1,1,1,0,0,DoS slowloris\n"
         "80,7,2,1,0,0,0,1,1,1,1,1,1,0,0,Bot\n"
         "80,7,2,1,0,0,0,1,1,1,1,1,1,0,0,Bot\n"
         "80,7,2,1,0,0,0,1,1,1,1,1,1,0,0,Web Attack - XSS\n";
  Dataset d;
  addCicFlowMeter(d, f.string());
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d.category, (std::vector<Category>{Category::kBenign, Category::kScan, Category::kDos,
                                               Category::kBruteforce, Category::kSlowdos}));
  const auto& r = d.rows[0];
  EXPECT_DOUBLE_EQ(r[at("duration")], 2.0);  // µs -> s
  EXPECT_EQ(r[at("fwd_packets")], 10);
  EXPECT_EQ(r[at("bwd_packets")], 8);
  EXPECT_EQ(r[at("fwd_payload_bytes")], 1200);
  EXPECT_EQ(r[at("bwd_payload_bytes")], 9000);
  EXPECT_EQ(r[at("packets_per_second")], 9);
  EXPECT_DOUBLE_EQ(r[at("iat_mean")], 0.2222222);
  EXPECT_DOUBLE_EQ(r[at("fwd_iat_min")], 0.001);
  EXPECT_EQ(r[at("fwd_init_window")], 29200);
  EXPECT_TRUE(std::isnan(r[at("bwd_init_window")]));  // -1: never seen
  EXPECT_DOUBLE_EQ(r[at("active_mean")], 0.0015);
  EXPECT_EQ(r[at("idle_max")], 0);
  // Frame-based features CICFlowMeter does not have: NaN.
  EXPECT_TRUE(std::isnan(r[at("fwd_bytes")]));
  EXPECT_TRUE(std::isnan(r[at("fwd_len_max")]));
  EXPECT_TRUE(std::isnan(r[at("bytes_per_second")]));
  EXPECT_TRUE(std::isnan(d.rows[1][at("packets_per_second")]));  // Infinity
  EXPECT_EQ(d.proto[0], 0);  // no Protocol column in the 2017 CSVs
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].kind, "cicflowmeter");
  EXPECT_EQ(d.sources[0].skipped.at("Bot"), 2u);
  EXPECT_EQ(d.sources[0].skipped.at("Web Attack - XSS"), 1u);
  EXPECT_EQ(d.sources[0].sha256, model::sha256File(f));
  EXPECT_NE(d.group[0], d.group[1]);
  EXPECT_FALSE(passesReelGate(d.rows[0], d.proto[0]));
}

TEST(CicFlowMeter, Cic2018SpellingAndErrors) {
  TempDir tmp;
  const fs::path f = tmp.path() / "2018.csv";
  std::ofstream(f) << "Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,"
                      "TotLen Fwd Pkts,TotLen Bwd Pkts,Fwd PSH Flags,Init Fwd Win Byts,"
                      "Init Bwd Win Byts,Bwd IAT Max,Label\r\n"
                      "443,6,14/02/2018 08:31:01,3000000,4,3,100,200,1,8192,-1,250000,Benign\r\n"
                      "Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,"
                      "TotLen Fwd Pkts,TotLen Bwd Pkts,Fwd PSH Flags,Init Fwd Win Byts,"
                      "Init Bwd Win Byts,Bwd IAT Max,Label\r\n"
                      "53,17,14/02/2018 08:31:02,1000,1,1,40,80,0,0,0,0,DDOS attack-LOIC-UDP\r\n"
                      "21,6,14/02/2018 08:31:03,1000,1,1,40,80,0,0,0,0,FTP-BruteForce\r\n"
                      "80,6,14/02/2018 08:31:04,1000,1,1,40,80,0,0,0,0,DoS attacks-SlowHTTPTest\r\n"
                      "80,6,14/02/2018 08:31:04,1000,1,1,40,80,0,0,0,0,Infilteration\r\n";
  Dataset d;
  addCicFlowMeter(d, f.string());
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d.category, (std::vector<Category>{Category::kBenign, Category::kDos,
                                               Category::kBruteforce, Category::kSlowdos}));
  EXPECT_DOUBLE_EQ(d.rows[0][at("duration")], 3.0);
  EXPECT_EQ(d.rows[0][at("fwd_psh")], 1);
  EXPECT_EQ(d.rows[0][at("fwd_init_window")], 8192);
  EXPECT_DOUBLE_EQ(d.rows[0][at("bwd_iat_max")], 0.25);
  EXPECT_EQ(d.proto[0], 6);
  EXPECT_EQ(d.proto[1], 17);
  // TCP-only features of a UDP flow are NaN, as ours are.
  EXPECT_TRUE(std::isnan(d.rows[1][at("fwd_psh")]));
  EXPECT_TRUE(std::isnan(d.rows[1][at("fwd_init_window")]));
  EXPECT_EQ(d.rows[1][at("fwd_payload_bytes")], 40);
  EXPECT_EQ(d.sources[0].skipped.at("repeated header"), 1u);
  EXPECT_EQ(d.sources[0].skipped.at("Infilteration"), 1u);

  // A cell that is not a number names the file, line and column.
  std::ofstream(f) << "Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,Label\n"
                      "1,2,3,4,Benign\n1,2,x3,4,Benign\n";
  try {
    Dataset e;
    addCicFlowMeter(e, f.string());
    ADD_FAILURE() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_EQ(std::string(e.what()),
              f.string() + ":3: \"x3\" in column \"Tot Bwd Pkts\" is not a number");
  }
  std::ofstream(f) << "a,b,Label\n1,2,Benign\n";
  EXPECT_THROW(
      {
        Dataset e;
        addCicFlowMeter(e, f.string());
      },
      DatasetError);
  EXPECT_EQ(cicCategory(" BENIGN "), Category::kBenign);
  EXPECT_EQ(cicCategory("dos attacks-slowhttptest"), Category::kSlowdos);
  EXPECT_EQ(cicCategory("DDoS"), Category::kDos);
  EXPECT_EQ(cicCategory("Heartbleed"), std::nullopt);
}

TEST(CicFlowMeter, DocsTableIsTheMapping) {
  const std::string doc = readText(std::string(EDGESENSE_SOURCE_DIR) + "/docs/training.md");
  std::size_t rows = 0;
  for (std::size_t pos = 0; (pos = doc.find("\n| `", pos)) != std::string::npos; ++pos) {
    const std::size_t end = doc.find('\n', pos + 1);
    const std::string line = doc.substr(pos + 1, end - pos - 1);
    // A mapping row: its first cell is a schema feature.
    const std::size_t close = line.find('`', 3);
    const std::string first = line.substr(3, close - 3);
    if (std::any_of(features::kSchema.begin(), features::kSchema.end(),
                    [&](const features::FeatureDef& f) { return f.name == first; })) {
      ++rows;
    }
  }
  for (const CicColumn& c : kCicColumns) {
    const std::string row =
        std::string("| `") + c.feature + "` | `" + c.cic2017 + "` | `" + c.cic2018 + "` |";
    EXPECT_NE(doc.find(row), std::string::npos) << row;
  }
  EXPECT_EQ(rows, kCicColumns.size());  // and no row the code does not have
}

// ---- from a labelled capture to a bundle ----

/// A generated labelled capture, read once for the tests below.
struct Captured {
  TempDir tmp;
  fs::path pcap, labels;
  Dataset data;
  Captured() {
    pcap = tmp.path() / "c.pcap";
    labels = tmp.path() / "c.labels.csv";
    testsupport::LabelledOptions o;
    o.seed = 5;
    o.duration_ns = 120 * testsupport::kNsPerSec;
    testsupport::writeLabelledCapture(pcap, labels, o);
    addCapture(data, pcap.string(), labels.string(), pipeline::RxConfig{});
  }
};

const Captured& captured() {
  static const Captured c;
  return c;
}

std::vector<std::size_t> allColumns() {
  std::vector<std::size_t> c(features::kFeatureCount);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = i;
  return c;
}

TEST(Dataset, CaptureRowsAreThePipelinesSnapshotsLabelled) {
  const Captured& c = captured();
  const Dataset& d = c.data;
  ASSERT_GT(d.size(), 200u);
  const labels::LabelSet set = labels::LabelSet::load(c.labels.string());
  // The same records again, through the same pipeline: same rows, same labels.
  struct Collect final : features::RecordSink {
    std::vector<features::FlowRecord> r;
    void onRecord(const features::FlowRecord& x) override { r.push_back(x); }
  } sink;
  auto source = capture::openFiles({c.pcap.string()});
  pipeline::RxLoop rx(pipeline::RxConfig{}, *source, sink);
  rx.run(std::stop_token{});
  ASSERT_EQ(sink.r.size(), d.size());
  std::map<std::uint64_t, std::uint64_t> group_of_flow;
  std::size_t interim = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d.category[i], set.classify(sink.r[i])) << i;
    EXPECT_EQ(d.proto[i], sink.r[i].proto);
    const auto [it, fresh] = group_of_flow.try_emplace(sink.r[i].flow_id, d.group[i]);
    EXPECT_EQ(it->second, d.group[i]);  // one group per flow
    interim += !sink.r[i].isFinal();
  }
  EXPECT_GT(interim, 0u);  // interim snapshots are rows too
  EXPECT_EQ(d.sources[0].flows, group_of_flow.size());
  EXPECT_EQ(d.sources[0].sha256, model::sha256File(c.pcap));
  EXPECT_EQ(d.sources[0].labels_sha256, model::sha256File(c.labels));
  const auto n = d.counts();
  for (std::size_t k = 0; k < labels::kCategoryCount; ++k) EXPECT_GT(n[k], 0u) << k;
}

TEST(Dataset, BenignCaptureIsEveryFlowBenignAndCarriesItsWeightIntoTraining) {
  const Captured& c = captured();
  Dataset d;
  addBenignCapture(d, c.pcap.string(), pipeline::RxConfig{}, 7.5);
  addCapture(d, c.pcap.string(), c.labels.string(), pipeline::RxConfig{});
  ASSERT_EQ(d.sources.size(), 2u);
  EXPECT_EQ(d.sources[0].kind, "benign-pcap");
  EXPECT_EQ(d.sources[0].weight, 7.5);
  EXPECT_EQ(d.sources[1].weight, 1.0);
  EXPECT_TRUE(d.sources[0].labels_path.empty());
  // The same records as the labelled read, every one benign.
  ASSERT_EQ(d.sources[0].rows, d.sources[1].rows);
  ASSERT_EQ(d.sources[0].rows, c.data.size());
  for (std::size_t i = 0; i < d.sources[0].rows; ++i) {
    EXPECT_EQ(d.category[i], Category::kBenign) << i;
    EXPECT_EQ(0, std::memcmp(d.rows[i].data(), c.data.rows[i].data(), sizeof d.rows[i])) << i;
  }
  // The attack head's rows carry each row's source weight.
  const Split split = splitStratified(d, 1);
  std::vector<std::size_t> picked;
  const HeadRows tr = headRows(d, allColumns(), split, Part::kTrain, model::Task::kAttack, &picked);
  ASSERT_EQ(tr.w.size(), tr.size());
  std::size_t heavy = 0;
  for (std::size_t r = 0; r < picked.size(); ++r) {
    EXPECT_EQ(tr.w[r], d.file[picked[r]] == 0 ? 7.5f : 1.0f) << r;
    heavy += d.file[picked[r]] == 0;
  }
  EXPECT_GT(heavy, 0u);
  EXPECT_LT(heavy, tr.size());
}

/// The rows of a labels file whose category is `category`, under its header:
/// an exclude file of those flows.
fs::path rowsOf(const fs::path& labels, const std::string& category, const fs::path& out) {
  std::ifstream in(labels);
  std::ofstream o(out);
  std::string line;
  std::getline(in, line);
  o << line << "\n";
  while (std::getline(in, line)) {
    if (line.ends_with("," + category)) o << line << "\n";
  }
  return out;
}

TEST(Dataset, ExcludeLeavesOutEveryRowOfTheMatchingFlowsAndCountsThem) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path ex = rowsOf(c.labels, "reel", tmp.path() / "reels.csv");
  Dataset d;
  addCapture(d, c.pcap.string(), c.labels.string(), pipeline::RxConfig{},
             labels::FlowExclusion::load({ex.string()}));
  // What should go: every row of a flow with a reel row, interim snapshots
  // labelled benign (before the session's row began) included.
  std::set<std::uint64_t> reel_flows;
  for (std::size_t i = 0; i < c.data.size(); ++i) {
    if (c.data.category[i] == Category::kReel) reel_flows.insert(c.data.group[i]);
  }
  std::array<std::size_t, labels::kCategoryCount> left{};
  std::size_t gone = 0;
  for (std::size_t i = 0; i < c.data.size(); ++i) {
    if (reel_flows.count(c.data.group[i])) {
      ++gone;
    } else {
      ++left[static_cast<std::size_t>(c.data.category[i])];
    }
  }
  ASSERT_GT(reel_flows.size(), 2u);
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].excluded_flows, reel_flows.size());
  EXPECT_EQ(d.sources[0].skipped.at("excluded"), gone);
  EXPECT_EQ(d.sources[0].rows, c.data.size());  // as read, like over_max_flows
  EXPECT_EQ(d.sources[0].flows, c.data.sources[0].flows);
  EXPECT_EQ(d.size(), c.data.size() - gone);
  EXPECT_EQ(d.counts(), left);
  EXPECT_EQ(d.counts()[static_cast<std::size_t>(Category::kReel)], 0u);
  EXPECT_GT(d.counts()[static_cast<std::size_t>(Category::kDos)], 0u);

  // An exclude file whose rows match nothing changes nothing.
  const fs::path none = tmp.path() / "none.csv";
  std::ofstream(none) << "start,end,src,dst,dport,proto,category\n1,2,*,*,*,*,reel\n";
  Dataset all;
  addBenignCapture(all, c.pcap.string(), pipeline::RxConfig{}, 1,
                   labels::FlowExclusion::load({none.string()}));
  EXPECT_EQ(all.size(), c.data.size());
  EXPECT_EQ(all.sources[0].excluded_flows, 0u);
  EXPECT_EQ(all.sources[0].skipped.count("excluded"), 0u);
}

TEST(XgbHead, TrainBundleLoadSamePredictionsAsTrainerAndPythonXgboost) {
  const Captured& c = captured();
  const Split split = splitStratified(c.data, 1);
  const std::vector<std::size_t> cols = allColumns();
  std::vector<std::size_t> test_idx;
  const HeadRows tr = headRows(c.data, cols, split, Part::kTrain, model::Task::kAttack);
  const HeadRows va = headRows(c.data, cols, split, Part::kValidation, model::Task::kAttack);
  const HeadRows te = headRows(c.data, cols, split, Part::kTest, model::Task::kAttack, &test_idx);
  XgbHeadOptions o;
  o.n_classes = 5;
  o.grid.values["max_depth"] = {3};
  o.grid.values["eta"] = {0.3, 0.5};
  o.grid.num_rounds = {30};
  o.early_stopping = 5;
  const XgbHeadResult r = trainXgbHead(tr, va, te, o);
  ASSERT_EQ(r.trials.size(), 2u);
  EXPECT_LE(r.best.best_rounds, 30u);
  EXPECT_EQ(r.test_probs.size(), te.size() * 5);
  // Deterministic: the same again.
  EXPECT_EQ(trainXgbHead(tr, va, te, o).model_json, r.model_json);

  TempDir tmp;
  std::vector<features::FeatureVector> test_rows;
  for (const std::size_t i : test_idx) test_rows.push_back(c.data.rows[i]);
  model::BundleContents b;
  b.name = "attack-test";
  b.version = "1";
  b.task = model::Task::kAttack;
  b.kind = model::ModelKind::kXgboost;
  b.classes.assign(labels::kAttackClasses.begin(), labels::kAttackClasses.end());
  for (std::size_t k = 1; k < 5; ++k) b.thresholds[b.classes[k]] = 0.5;
  b.features = model::schemaFeatureNames();
  b.model_json = r.model_json;
  b.sample_rows = std::span(test_rows).first(8);
  model::writeBundle(tmp.path() / "attack", b);
  const auto bundle = model::Bundle::load(tmp.path() / "attack");
  std::vector<float> loaded(test_rows.size() * 5);
  bundle->predict(test_rows, loaded);
  ASSERT_EQ(loaded.size(), r.test_probs.size());
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    ASSERT_EQ(loaded[i], r.test_probs[i]) << "value " << i;
  }

  // python3-xgboost on the same rows and the same model file.
  std::string rows_text;
  for (const auto& row : test_rows) {
    for (std::size_t k = 0; k < row.size(); ++k) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(static_cast<float>(row[k])));
      if (k) rows_text += ',';
      rows_text += std::isnan(row[k]) ? "nan" : buf;
    }
    rows_text += "\n";
  }
  std::ofstream(tmp.path() / "rows.csv") << rows_text;
  std::ofstream(tmp.path() / "predict.py")
      << "import sys, numpy as np, xgboost as xgb\n"
         "b = xgb.Booster(model_file=sys.argv[1])\n"
         "x = np.loadtxt(sys.argv[2], delimiter=',', dtype=np.float32, ndmin=2)\n"
         "p = b.inplace_predict(x, missing=np.nan, strict_shape=True)\n"
         "np.savetxt(sys.argv[3], p, fmt='%.9g', delimiter=',')\n";
  const std::string cmd =
      std::string(EDGESENSE_SYSTEM_PYTHON) + " " + (tmp.path() / "predict.py").string() + " " +
      (tmp.path() / "attack" / "model.json").string() + " " + (tmp.path() / "rows.csv").string() +
      " " + (tmp.path() / "py.csv").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream py(tmp.path() / "py.csv");
  std::vector<float> theirs;
  for (std::string line; std::getline(py, line);) {
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) theirs.push_back(std::stof(cell));
  }
  ASSERT_EQ(theirs.size(), loaded.size());
  for (std::size_t i = 0; i < loaded.size(); ++i) ASSERT_EQ(theirs[i], loaded[i]) << "value " << i;
}

TEST(XgbHead, ReelHeadTrainsOnTheGateOnly) {
  const Captured& c = captured();
  const Split split = splitStratified(c.data, 1);
  std::vector<std::size_t> picked;
  const HeadRows tr =
      headRows(c.data, allColumns(), split, Part::kTrain, model::Task::kReel, &picked);
  ASSERT_GT(tr.size(), 0u);
  std::size_t reels = 0;
  for (std::size_t r = 0; r < picked.size(); ++r) {
    const std::size_t i = picked[r];
    EXPECT_TRUE(passesReelGate(c.data.rows[i], c.data.proto[i]));
    EXPECT_EQ(tr.y[r], c.data.category[i] == Category::kReel ? 1u : 0u);
    reels += tr.y[r];
  }
  EXPECT_GT(reels, 0u);
  EXPECT_LT(reels, tr.size());
  // Weights: inverse frequency, capped.
  const std::vector<double> w = classWeights({0, 0, 0, 1}, 2, 50);
  EXPECT_DOUBLE_EQ(w[0], 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(w[1], 2.0);
  EXPECT_EQ(classWeights({0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 2, 3)[1], 3.0);
}

// ---- the command line ----

struct CommandResult {
  int status;
  std::string err;
};

CommandResult run(const TempDir& tmp, const std::string& args) {
  const fs::path err = tmp.path() / "stderr.txt";
  const std::string cmd =
      std::string(EDGESENSE_BIN) + " train " + args + " 2>" + err.string() + " >/dev/null";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, readText(err)};
}

TEST(TrainCli, BadLabelsOrGridFileIsFileLineAndExit1) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path labels = tmp.path() / "bad.labels.csv";
  std::ofstream(labels) << "start,end,src,dst,dport,proto,category\n1,2,*,*,*,*,dos\n"
                           "1,2,*,*,*,gre,dos\n";
  CommandResult r = run(tmp, "--pcap " + c.pcap.string() + " --labels " + labels.string() +
                                 " --head all --out " + (tmp.path() / "m").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(labels.string() + ":3: proto \"gre\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "m"));

  const fs::path grid = tmp.path() / "grid.yaml";
  std::ofstream(grid) << "max_depth: [4]\neta: [0.1, -2]\n";
  r = run(tmp, "--pcap " + c.pcap.string() + " --labels " + c.labels.string() +
                   " --head all --grid " + grid.string() + " --out " + (tmp.path() / "m").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(grid.string() + ":2: eta -2 is out of range"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "m"));
}

TEST(TrainCli, BadExcludeFileIsFileLineAndExit1) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path ex = tmp.path() / "ex.csv";
  std::ofstream(ex) << "start,end,src,dst,dport,proto,category\n1,2,*,*,*,*,reel\n"
                       "1,2,198.51.100.300,*,443,tcp,reel\n";
  CommandResult r =
      run(tmp, "--pcap " + c.pcap.string() + " --labels " + c.labels.string() + " --exclude " +
                   ex.string() + " --head reel --out " + (tmp.path() / "m").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--exclude " + ex.string() + ":3: src"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "m"));
  // A flow CSV input has no exclusion: refused, not silently kept whole.
  std::ofstream(ex) << "start,end,src,dst,dport,proto,category\n1,2,*,*,*,*,reel\n";
  r = run(tmp, "--csv " + ex.string() + " --exclude " + ex.string() + " --head reel --out " +
                   (tmp.path() / "m").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--exclude matches the flows of --pcap and --benign-pcap inputs only"),
            std::string::npos)
      << r.err;
}

TEST(TrainCli, ExcludeInTrainAndEvalCountsTheFlowsLeftOut) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path grid = tmp.path() / "grid.yaml";
  std::ofstream(grid) << "max_depth: [3]\neta: [0.5]\nnum_round: [10]\n";
  const fs::path ex = rowsOf(c.labels, "scan", tmp.path() / "scans.csv");
  const fs::path models = tmp.path() / "models";
  const CommandResult r =
      run(tmp, "--pcap " + c.pcap.string() + " --labels " + c.labels.string() + " --exclude " +
                   ex.string() + " --head all --grid " + grid.string() +
                   " --early-stopping 5 --trees 20 --out " + models.string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::set<std::uint64_t> scan_flows;
  std::size_t scan_rows = 0;
  for (std::size_t i = 0; i < c.data.size(); ++i) {
    if (c.data.category[i] == Category::kScan) scan_flows.insert(c.data.group[i]);
  }
  for (std::size_t i = 0; i < c.data.size(); ++i) scan_rows += scan_flows.count(c.data.group[i]);
  ASSERT_GT(scan_flows.size(), 0u);
  EXPECT_NE(r.err.find("left out " + std::to_string(scan_flows.size()) + " flows (" +
                       std::to_string(scan_rows) + " rows) matching --exclude"),
            std::string::npos)
      << r.err;
  const std::string training = model::Bundle::load(models / "attack")->trainingJson();
  EXPECT_NE(training.find("\"excluded_flows\":" + std::to_string(scan_flows.size())),
            std::string::npos)
      << training;
  EXPECT_NE(training.find("\"excluded\":" + std::to_string(scan_rows)), std::string::npos);
  EXPECT_NE(training.find("\"kind\":\"exclude\""), std::string::npos);

  // eval: the same flows left out of every figure, and counted.
  const fs::path report = tmp.path() / "report";
  const std::string cmd = std::string(EDGESENSE_BIN) + " eval --pcap " + c.pcap.string() +
                          " --labels " + c.labels.string() + " --exclude " + ex.string() +
                          " --models " + models.string() + " --report " + report.string() + " >" +
                          (tmp.path() / "eval.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readText(tmp.path() / "eval.txt");
  const auto metrics = nlohmann::json::parse(readText(report / "metrics.json"));
  EXPECT_EQ(metrics["excluded_flows"], scan_flows.size());
  EXPECT_EQ(metrics["flows"].get<std::size_t>() + scan_flows.size(), c.data.sources[0].flows);
  EXPECT_FALSE(metrics["flows_by_category"].contains("scan")) << metrics["flows_by_category"];
  EXPECT_EQ(metrics["attack"]["per_class"]["scan"]["support"], 0);
  EXPECT_EQ(metrics["excludes"][0], ex.string());
  EXPECT_NE(readText(tmp.path() / "eval.txt")
                .find("excluded: " + std::to_string(scan_flows.size()) +
                      " flows matching 1 --exclude file(s)"),
            std::string::npos);
  // A bad exclude file: FILE:LINE, exit 1, before any replay.
  std::ofstream(ex) << "start,end,src,dst,dport,proto,category\n2,1,*,*,*,*,reel\n";
  const std::string bad = std::string(EDGESENSE_BIN) + " eval --pcap " + c.pcap.string() +
                          " --labels " + c.labels.string() + " --exclude " + ex.string() +
                          " --models " + models.string() + " --report " + report.string() + " >" +
                          (tmp.path() / "eval.txt").string() + " 2>&1";
  const int rc = std::system(bad.c_str());
  EXPECT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 1);
  EXPECT_NE(readText(tmp.path() / "eval.txt").find("--exclude " + ex.string() + ":2: end 1"),
            std::string::npos)
      << readText(tmp.path() / "eval.txt");
}

TEST(TrainCli, AllHeadsIntoAModelsDirectoryWithALedger) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path grid = tmp.path() / "grid.yaml";
  std::ofstream(grid) << "max_depth: [3]\neta: [0.5]\nnum_round: [20]\n";
  const fs::path models = tmp.path() / "models";
  const CommandResult r =
      run(tmp, "--pcap " + c.pcap.string() + " --labels " + c.labels.string() +
                   " --head all --grid " + grid.string() + " --early-stopping 5 --trees 20" +
                   " --version 7 --out " + models.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("grid point 1/1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);  // no terminal codes into a file
  const auto reel = model::Bundle::load(models / "reel");
  const auto attack = model::Bundle::load(models / "attack");
  const auto anomaly = model::Bundle::load(models / "anomaly");
  EXPECT_EQ(reel->classes(), (std::vector<std::string>{"non_reel", "reel"}));
  EXPECT_EQ(attack->classes().size(), 5u);
  // The MITRE entries of the shipped attack bundle, class by class.
  const auto shipped = model::Bundle::load(std::string(EDGESENSE_SOURCE_DIR) + "/models/attack");
  EXPECT_EQ(attack->classes(), shipped->classes());
  for (const std::string& cls : shipped->classes()) {
    const model::MitreEntry* ours = attack->mitre(cls);
    const model::MitreEntry* theirs = shipped->mitre(cls);
    ASSERT_EQ(ours == nullptr, theirs == nullptr) << cls;
    if (!ours) continue;
    EXPECT_EQ(ours->tactic_id, theirs->tactic_id) << cls;
    EXPECT_EQ(ours->technique_id, theirs->technique_id) << cls;
    EXPECT_EQ(ours->tactic, theirs->tactic) << cls;
    EXPECT_EQ(ours->technique, theirs->technique) << cls;
  }
  EXPECT_EQ(anomaly->version(), "7");
  const std::string ledger = readText(models / "runs.jsonl");
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), '\n'), 1);
  for (const char* key : {"\"reel\":", "\"attack\":", "\"anomaly\":", "\"sha256\":",
                          "\"macro_f1\":", "\"benign_fpr\":"}) {
    EXPECT_NE(ledger.find(key), std::string::npos) << key;
  }
  // Nothing half-written is left beside the bundles.
  for (const auto& e : fs::directory_iterator(models)) {
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
  }
}

TEST(TrainCli, BaselineFeatureSubsetAndCrossValidation) {
  const Captured& c = captured();
  TempDir tmp;
  const fs::path grid = tmp.path() / "grid.yaml";
  std::ofstream(grid) << "max_depth: [3]\neta: [0.5]\nnum_round: [15]\n";
  // The naive baseline: bytes both ways, mean frame length, duration.
  const fs::path models = tmp.path() / "baseline";
  const CommandResult r = run(
      tmp, "--benign-pcap " + c.pcap.string() + " --benign-weight 3 --pcap " + c.pcap.string() +
               " --labels " + c.labels.string() +
               " --head all --features duration,fwd_bytes,bwd_bytes,len_mean --folds 3 --grid " +
               grid.string() + " --early-stopping 5 --trees 20 --name baseline --out " +
               models.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::size_t> cols = {at("duration"), at("fwd_bytes"), at("bwd_bytes"),
                                         at("len_mean")};
  for (const char* head : {"reel", "attack", "anomaly"}) {
    const auto b = model::Bundle::load(models / head);
    EXPECT_EQ(b->featureIndices(), cols) << head;
    EXPECT_EQ(b->name(), std::string("baseline-") + head);
    // Cross-validation: the mean and sd over the folds, and each fold.
    const std::string training = b->trainingJson();
    EXPECT_NE(training.find("\"cross_validation\":{"), std::string::npos) << head << training;
    EXPECT_NE(training.find("\"sd\":"), std::string::npos) << head;
    // The benign capture is an input of its own, with its weight.
    EXPECT_NE(training.find("\"kind\":\"benign-pcap\""), std::string::npos) << head << training;
    EXPECT_NE(training.find("\"weight\":3"), std::string::npos) << head;
  }
  EXPECT_NE(r.err.find("read 1 benign capture(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fold 3/3"), std::string::npos) << r.err;
}

TEST(TrainCli, CicFlowMeterInputTrainsAttackAndAnomalyAndSkipsReel) {
  TempDir tmp;
  const fs::path csv = tmp.path() / "cic.csv";
  std::string text =
      "Dst Port,Protocol,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,"
      "TotLen Bwd Pkts,Flow Pkts/s,Flow IAT Mean,Init Fwd Win Byts,Label\n";
  SeededRng rng(2);
  const char* labels[] = {"Benign",           "Benign",         "Benign",
                          "DoS attacks-Hulk", "FTP-BruteForce", "Bot"};
  for (std::size_t i = 0; i < 600; ++i) {
    const std::size_t l = i % 6;
    const auto r = [&](std::uint64_t n) { return std::to_string(rng.below(n) + 1); };
    // Attacks: short, one-sided; benign: longer, two-way.
    const bool attack = l >= 3;
    text += "80,6," + (attack ? r(1000) : r(5000000)) + "," + (attack ? r(3) : r(40)) + "," +
            (attack ? "0" : r(40)) + "," + r(2000) + "," + r(50000) + "," + r(100) + "," +
            r(10000) + "," + (l == 4 ? "26883" : r(65535)) + "," + labels[l] + "\n";
  }
  std::ofstream(csv) << text;
  const fs::path grid = tmp.path() / "grid.yaml";
  std::ofstream(grid) << "max_depth: [3]\neta: [0.5]\nnum_round: [20]\n";
  const fs::path models = tmp.path() / "models";
  const CommandResult r =
      run(tmp, "--cicflowmeter " + csv.string() + " --head all --grid " + grid.string() +
                   " --early-stopping 3 --trees 20 --out " + models.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("skipping the reel head"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped 100 row(s) labelled \"Bot\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(models / "reel"));
  const auto attack = model::Bundle::load(models / "attack");
  EXPECT_NE(attack->trainingJson().find("\"kind\":\"cicflowmeter\""), std::string::npos);
  EXPECT_NE(attack->trainingJson().find("\"Bot\":100"), std::string::npos);
  (void)model::Bundle::load(models / "anomaly");
  // Asked for alone, the reel head's lack of data is an error.
  const CommandResult reel = run(tmp, "--cicflowmeter " + csv.string() + " --head reel --out " +
                                          (tmp.path() / "reel").string());
  EXPECT_EQ(reel.status, 1);
  EXPECT_NE(reel.err.find("the reel head needs training rows of at least two classes"),
            std::string::npos)
      << reel.err;
}

}  // namespace
}  // namespace edgesense::train
