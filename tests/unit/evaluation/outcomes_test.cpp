// OutcomeCollector: a flow's scored snapshots reduced to one outcome, with
// the test attack and reel bundles (benign/scan/dos, non_reel/reel) for the
// class names; meanAbsShap against Bundle::contributions().

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../model/test_bundles.h"
#include "evaluation/outcomes.h"
#include "evaluation/report.h"

namespace edgesense::evaluation {
namespace {

class Outcomes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = std::make_shared<inference::ModelSet>();
    set->attack = model::Bundle::load(model::test::pythonBundles() / "attack");
    set->reel = model::Bundle::load(model::test::pythonBundles() / "reel");
    models_ = set;
  }

  inference::ScoredRecord snapshot(std::uint64_t flow, bool final, double t_s) {
    inference::ScoredRecord s;
    s.models = models_;
    s.record.flow_id = flow;
    s.record.proto = 6;
    s.record.start_us = 1'000'000;
    s.record.end_us = static_cast<decode::TimeUs>(t_s * 1e6);
    s.record.pkts = {12, 20};
    s.record.bytes = {2'000, 30'000};
    s.record.reason = final ? flow::EndReason::kShutdown : flow::EndReason::kActiveTimeout;
    s.record.features.fill(0);
    s.record.features[static_cast<std::size_t>(features::Feature::kFwdSyn)] = 1;
    s.verdict.attack_scored = true;
    s.verdict.anomaly_scored = true;
    return s;
  }

  std::shared_ptr<const inference::ModelSet> models_;
};

TEST_F(Outcomes, FirstAlertLastReelMaxAnomaly) {
  OutcomeCollector c(
      [](const features::FlowRecord& r) { return r.flow_id == 7 ? "dos" : "benign"; },
      inference::ScoringOptions{}, 4);
  // Flow 7: window 1 alerts dos, window 2 alerts scan, the final one nothing.
  auto a = snapshot(7, false, 31);
  a.verdict.attack_alert = true;
  a.verdict.attack_class = 2;  // dos
  a.verdict.anomaly_score = 0.7f;
  a.verdict.reel_scored = true;
  a.verdict.is_reel = true;
  a.verdict.reel_probability = 0.9f;
  auto b = snapshot(7, false, 61);
  b.verdict.attack_alert = true;
  b.verdict.attack_class = 1;  // scan
  b.verdict.anomaly_score = 0.4f;
  b.verdict.reel_scored = true;
  b.verdict.is_reel = false;
  b.verdict.reel_probability = 0.2f;
  auto f = snapshot(7, true, 70);
  f.verdict.anomaly_score = 0.5f;
  // Flow 8: never alerts, never through the reel gate.
  auto g = snapshot(8, true, 2);
  g.verdict.anomaly_score = 0.1f;
  g.verdict.anomaly_alert = true;
  for (auto* s : {&a, &b, &g, &f}) c.onScored(std::move(*s));

  ASSERT_EQ(c.outcomes().size(), 2u);
  const FlowOutcome& eight = c.outcomes()[0];  // final records in arrival order
  const FlowOutcome& seven = c.outcomes()[1];
  EXPECT_EQ(seven.flow_id, 7u);
  EXPECT_EQ(seven.category, "dos");
  EXPECT_EQ(seven.snapshots, 3u);
  EXPECT_EQ(seven.attack_predicted, "dos");  // the first alert, not the later scan
  EXPECT_TRUE(seven.reel_scored);
  EXPECT_FALSE(seven.reel_predicted);  // the last gated snapshot's decision
  EXPECT_FLOAT_EQ(static_cast<float>(seven.reel_probability), 0.2f);
  EXPECT_FLOAT_EQ(static_cast<float>(seven.anomaly_score), 0.7f);
  EXPECT_EQ(seven.end_us, 70'000'000);
  EXPECT_EQ(seven.fwd_syn, 1u);
  EXPECT_EQ(eight.category, "benign");
  EXPECT_EQ(eight.attack_predicted, "benign");
  EXPECT_FALSE(eight.reel_scored);
  EXPECT_TRUE(eight.anomaly_alert);
  EXPECT_EQ(c.snapshots(), 4u);
  EXPECT_EQ(c.alertingSnapshots().at("dos"), 1u);
  EXPECT_EQ(c.alertingSnapshots().at("scan"), 1u);
  EXPECT_EQ(c.alertingSnapshots().at("anomaly"), 1u);
  // One sample per category, of final snapshots; flow 7's passed the reel gate.
  ASSERT_EQ(c.samples().size(), 2u);
  EXPECT_EQ(c.samples()[0].category, "benign");
  EXPECT_EQ(c.samples()[1].category, "dos");
  EXPECT_TRUE(c.samples()[1].reel_gated);
}

TEST_F(Outcomes, ReservoirKeepsAtMostItsSizePerCategory) {
  OutcomeCollector c([](const features::FlowRecord&) { return std::string("scan"); },
                     inference::ScoringOptions{}, 5);
  for (std::uint64_t i = 0; i < 100; ++i) c.onScored(snapshot(i, true, 2));
  EXPECT_EQ(c.outcomes().size(), 100u);
  EXPECT_EQ(c.samples().size(), 5u);
}

TEST_F(Outcomes, MeanAbsShapIsTheMeanOfContributions) {
  const auto check = model::test::readCheck(model::test::pythonBundles() / "attack");
  ASSERT_GE(check.rows.size(), 3u);
  std::vector<FeatureSample> samples;
  for (std::size_t i = 0; i < 3; ++i) samples.push_back({"scan", false, check.rows[i]});
  const model::Bundle& attack = *models_->attack;
  const ShapSummary s = meanAbsShap(attack, samples);
  EXPECT_EQ(s.rows, 3u);
  ASSERT_EQ(s.series, (std::vector<std::string>{"scan", "dos"}));
  ASSERT_EQ(s.features.size(), attack.featureIndices().size());
  // By hand for the first-ranked feature and class 1.
  const auto& cols = attack.featureIndices();
  const auto col =
      static_cast<std::size_t>(std::find(cols.begin(), cols.end(), s.features[0]) - cols.begin());
  std::vector<float> out(cols.size() + 1);
  double sum = 0;
  for (const FeatureSample& x : samples) {
    attack.contributions(x.features, 1, out);
    sum += std::abs(out[col]);
  }
  EXPECT_NEAR(s.mean_abs[0][0], sum / 3, 1e-9);
  for (std::size_t i = 1; i < s.features.size(); ++i) {
    EXPECT_GE(s.mean_abs[i - 1][0] + s.mean_abs[i - 1][1], s.mean_abs[i][0] + s.mean_abs[i][1]);
  }
  // The reel head looks only at samples its gate let through: none here.
  EXPECT_TRUE(meanAbsShap(*models_->reel, samples).features.empty());
}

}  // namespace
}  // namespace edgesense::evaluation
