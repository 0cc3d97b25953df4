// Explanations: made by the output thread for the alert records it writes,
// never by the workers, and equal to python-xgboost's own SHAP values
// (pred_contribs) for the class that alerted.

#include "inference/explain.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../model/test_bundles.h"
#include "inference/model_set.h"
#include "output/eve_output.h"

namespace edgesense::inference {
namespace {

using model::test::pythonBundles;

std::shared_ptr<ModelSet> attackOnly() {
  auto set = std::make_shared<ModelSet>();
  set->attack = model::Bundle::load(pythonBundles() / "attack");
  return set;
}

constexpr std::uint8_t kSrc[4] = {10, 0, 0, 1};
constexpr std::uint8_t kDst[4] = {10, 0, 0, 2};

/// Every check row as a scored record whose attack verdict alerts: the
/// threshold is 0, so the most probable non-benign class alerts.
std::vector<ScoredRecord> alertingRecords(const std::shared_ptr<ModelSet>& set) {
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  std::vector<ScoredRecord> recs(check.rows.size());
  std::vector<ScoredRecord*> ptrs;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    recs[i].record.flow_id = i + 1;
    recs[i].record.features = check.rows[i];
    recs[i].record.src = decode::IpAddress::fromV4(kSrc);
    recs[i].record.dst = decode::IpAddress::fromV4(kDst);
    recs[i].record.report_us = 1'000'000 + static_cast<decode::TimeUs>(i);
    recs[i].record.reason = flow::EndReason::kIdleTimeout;
    recs[i].models = set;
    ptrs.push_back(&recs[i]);
  }
  ScoringOptions opts;
  opts.attack_threshold = 0.0;
  ScoringScratch scratch;
  scoreBatch(*set, opts, ptrs, scratch, nullptr);
  return recs;
}

TEST(Explain, WorkersLeaveAlertsUnexplained) {
  const auto recs = alertingRecords(attackOnly());
  ASSERT_FALSE(recs.empty());
  for (const ScoredRecord& s : recs) {
    ASSERT_TRUE(s.verdict.attack_alert);
    EXPECT_FALSE(s.verdict.explained);
    EXPECT_EQ(s.verdict.top_count, 0);
  }
}

TEST(Explain, TopFeaturesArePythonXgboostsShapForTheAlertingClass) {
  auto recs = alertingRecords(attackOnly());
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  const auto& columns = recs[0].models->attack->featureIndices();
  ExplainScratch scratch;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    Verdict& v = recs[i].verdict;
    ASSERT_TRUE(explain(recs[i], scratch));
    EXPECT_TRUE(v.explained && v.top_is_shap);
    EXPECT_FALSE(explain(recs[i], scratch)) << "a record is explained once";
    // python's contributions of the alerting class, largest |value| first.
    const std::vector<double>& want = check.contribs[i][v.attack_class];
    std::vector<std::size_t> order(columns.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::abs(want[a]) > std::abs(want[b]);
    });
    const std::size_t nonzero = static_cast<std::size_t>(
        std::count_if(want.begin(), want.end() - 1, [](double w) { return w != 0; }));
    ASSERT_EQ(v.top_count, std::min(kTopFeatures, nonzero)) << i;
    for (std::size_t k = 0; k < v.top_count; ++k) {
      EXPECT_NEAR(v.top[k].weight, want[order[k]], 1e-5) << "row " << i << " rank " << k;
      const double x = recs[i].record.features[v.top[k].feature];
      if (std::isnan(x)) {
        EXPECT_TRUE(std::isnan(v.top[k].value));  // a missing value weighs too
      } else {
        EXPECT_EQ(v.top[k].value, x);
      }
    }
  }
}

TEST(Explain, NothingToExplainWithoutAnAlert) {
  ScoredRecord s;
  s.models = attackOnly();
  s.verdict.attack_scored = true;
  ExplainScratch scratch;
  EXPECT_FALSE(explain(s, scratch));
  EXPECT_EQ(s.verdict.top_count, 0);
}

struct MemorySink final : output::LineSink {
  std::vector<std::string>* lines;
  explicit MemorySink(std::vector<std::string>* l) : lines(l) {}
  bool write(std::string_view line) override {
    lines->emplace_back(line);
    return true;
  }
  bool flush() override { return true; }
  std::string describe() const override { return "memory"; }
};

TEST(Explain, AFloodIsExplainedOnlyWhereItsAlertsAreWritten) {
  // One source raising the same alert class many times in one window: one
  // alert record now, one follow-up at the end, and two explanations.
  const auto set = attackOnly();
  auto recs = alertingRecords(set);
  std::vector<std::string> lines;
  std::vector<std::unique_ptr<output::LineSink>> sinks;
  sinks.push_back(std::make_unique<MemorySink>(&lines));
  output::EveOutput out(std::move(sinks), output::EveOutputOptions{false, false, 60'000'000});
  const std::uint8_t cls = recs[0].verdict.attack_class;
  std::size_t same = 0;
  for (int round = 0; round < 20; ++round) {
    for (const ScoredRecord& r : recs) {
      if (r.verdict.attack_class != cls) continue;
      ScoredRecord copy = r;
      copy.record.report_us += round;
      out.onScored(std::move(copy));
      ++same;
    }
  }
  out.finish();
  ASSERT_GT(same, 20u);
  EXPECT_EQ(out.stats().alerting.load(), same);
  EXPECT_EQ(out.stats().alerts.load(), 1u);
  EXPECT_EQ(out.stats().follow_ups.load(), 1u);
  EXPECT_EQ(out.stats().suppressed.load(), same - 1);
  EXPECT_EQ(out.stats().explanations.load(), 2u);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("event_type"), "alert");
    EXPECT_FALSE(j.at("edgesense").at("top_features").empty()) << line;
  }
}

}  // namespace
}  // namespace edgesense::inference
