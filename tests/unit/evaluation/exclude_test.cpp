// `eval --exclude`: the flows an exclusion matches are classified as
// kExcludedCategory and dropped, outcomes and feature samples, on a generated
// labelled capture run through the real capture pipeline.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "evaluation/outcomes.h"
#include "labelled_capture.h"
#include "labels/labels.h"
#include "pipeline/rx_loop.h"

namespace edgesense::evaluation {
namespace {

namespace fs = std::filesystem;

/// Every record of the pipeline, unscored, handed to the collector as the
/// pool's output thread would (the verdicts play no part here).
struct Feed final : features::RecordSink {
  OutcomeCollector* collector;
  void onRecord(const features::FlowRecord& r) override {
    inference::ScoredRecord s;
    s.record = r;
    collector->onScored(std::move(s));
  }
};

std::vector<FlowOutcome> outcomesOf(const fs::path& pcap, const labels::LabelSet& truth,
                                    const labels::FlowExclusion& exclude,
                                    std::vector<FeatureSample>* samples) {
  OutcomeCollector c(labelsClassifier(truth, exclude), inference::ScoringOptions{}, 1000);
  Feed feed;
  feed.collector = &c;
  auto source = capture::openFiles({pcap.string()});
  pipeline::RxLoop rx(pipeline::RxConfig{}, *source, feed);
  rx.run(std::stop_token{});
  *samples = std::move(c.samples());
  return std::move(c.outcomes());
}

TEST(Exclude, MatchingFlowsLeaveOutcomesAndSamplesAndAreCounted) {
  const fs::path dir = fs::temp_directory_path() / ("eval_exclude_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path pcap = dir / "c.pcap", labels_file = dir / "c.labels.csv";
  testsupport::LabelledOptions o;
  o.seed = 3;
  o.duration_ns = 120 * testsupport::kNsPerSec;
  testsupport::writeLabelledCapture(pcap, labels_file, o);
  // The exclude file: the labels file's reel rows.
  const fs::path reels = dir / "reels.csv";
  {
    std::ifstream in(labels_file);
    std::ofstream out(reels);
    std::string line;
    std::getline(in, line);
    out << line << "\n";
    while (std::getline(in, line)) {
      if (line.ends_with(",reel")) out << line << "\n";
    }
  }
  const labels::LabelSet truth = labels::LabelSet::load(labels_file.string());

  std::vector<FeatureSample> all_samples, kept_samples;
  std::vector<FlowOutcome> all = outcomesOf(pcap, truth, labels::FlowExclusion(), &all_samples);
  std::vector<FlowOutcome> kept =
      outcomesOf(pcap, truth, labels::FlowExclusion::load({reels.string()}), &kept_samples);
  std::map<std::string, std::size_t> by_category, kept_by_category;
  for (const FlowOutcome& f : all) ++by_category[f.category];
  ASSERT_GT(by_category["reel"], 2u);
  ASSERT_EQ(kept.size(), all.size());  // before the drop: the same flows, relabelled

  EXPECT_EQ(dropExcluded(all, all_samples), 0u);  // nothing to drop without an exclusion
  const std::size_t dropped = dropExcluded(kept, kept_samples);
  EXPECT_EQ(dropped, by_category["reel"]);
  EXPECT_EQ(kept.size(), all.size() - by_category["reel"]);
  // The others, in the same order, with the same truth.
  std::size_t k = 0;
  for (const FlowOutcome& f : all) {
    if (f.category == "reel") continue;
    ASSERT_LT(k, kept.size());
    EXPECT_EQ(kept[k].flow_id, f.flow_id);
    EXPECT_EQ(kept[k].category, f.category);
    ++k;
  }
  for (const FlowOutcome& f : kept) ++kept_by_category[f.category];
  EXPECT_EQ(kept_by_category.count("reel"), 0u);
  EXPECT_EQ(kept_by_category.count(std::string(kExcludedCategory)), 0u);
  std::size_t reel_samples = 0;
  for (const FeatureSample& s : all_samples) reel_samples += s.category == "reel";
  EXPECT_GT(reel_samples, 0u);
  EXPECT_EQ(kept_samples.size(), all_samples.size() - reel_samples);
  for (const FeatureSample& s : kept_samples) EXPECT_NE(s.category, kExcludedCategory);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgesense::evaluation
