// Flow outcomes -> figures, the rate baseline and the per-flow CSV, on flows
// made by hand.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "evaluation/rate_baseline.h"
#include "evaluation/report.h"
#include "evaluation/results.h"

namespace edgesense::evaluation {
namespace {

decode::IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  const std::uint8_t bytes[4] = {a, b, c, d};
  return decode::IpAddress::fromV4(bytes);
}

FlowOutcome flow(std::string category, double start_s, double end_s) {
  FlowOutcome f;
  f.category = std::move(category);
  f.start_us = static_cast<decode::TimeUs>(start_s * 1e6);
  f.end_us = static_cast<decode::TimeUs>(end_s * 1e6);
  f.src = v4(10, 0, 0, 1);
  f.dst = v4(10, 0, 0, 2);
  f.dst_port = 443;
  f.proto = 6;
  f.pkts = {10, 10};
  return f;
}

TEST(Results, AttackTruthTreatsReelAsBenign) {
  EXPECT_EQ(attackTruth("reel"), "benign");
  EXPECT_EQ(attackTruth("scan"), "scan");
  EXPECT_FALSE(isAttack("reel"));
  EXPECT_FALSE(isAttack("benign"));
  EXPECT_TRUE(isAttack("slowdos"));
}

TEST(Results, AttackMetricsAppendsUnknownCategories) {
  const std::vector<std::string> truth{"benign", "benign", "scan", "scan", "udpflood"};
  const std::vector<std::string> pred{"benign", "scan", "scan", "benign", "benign"};
  const AttackMetrics m = attackMetrics({"benign", "scan", "dos"}, truth, pred);
  ASSERT_EQ(m.classes, (std::vector<std::string>{"benign", "scan", "dos", "udpflood"}));
  EXPECT_EQ(m.confusion.rowSum(3), 1u);
  EXPECT_DOUBLE_EQ(m.benign_fpr, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 0.5);
  // Macro over scan (F1 0.5) and udpflood (F1 0); dos never occurs.
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.25);
  std::uint64_t support = 0;
  for (const Prf& p : m.per_class) support += p.support;
  EXPECT_EQ(support, truth.size());
}

TEST(Results, ReelCountsUngatedFlowsAsNegativesAtZero) {
  std::vector<FlowOutcome> flows;
  FlowOutcome a = flow("reel", 0, 1);  // gated, right
  a.reel_scored = a.reel_predicted = true;
  a.reel_probability = 0.9;
  FlowOutcome b = flow("reel", 0, 1);  // never gated: a miss at probability 0
  FlowOutcome c = flow("benign", 0, 1);
  c.reel_scored = true;
  c.reel_probability = 0.2;
  flows = {a, b, c};
  const BinaryMetrics m = reelMetrics(flows);
  EXPECT_EQ(m.scored, 2u);
  EXPECT_EQ(m.positives, 2u);
  EXPECT_DOUBLE_EQ(m.prf.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.prf.recall, 0.5);
  // Pairs: (0.9 > 0.2) yes, (0 > 0.2) no: AUC 0.5.
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.5);
}

TEST(Results, AnomalyUsesTheMaxScoreAndSplitsHistograms) {
  std::vector<FlowOutcome> flows{flow("benign", 0, 1), flow("reel", 0, 1), flow("dos", 0, 1)};
  flows[0].anomaly_score = 0.3;
  flows[1].anomaly_score = 0.5;
  flows[2].anomaly_score = 0.8;
  for (FlowOutcome& f : flows) f.anomaly_scored = true;
  const AnomalyMetrics m = anomalyMetrics(flows, 10);
  EXPECT_DOUBLE_EQ(m.roc_auc, 1.0);
  EXPECT_EQ(m.benign_histogram[3], 1u);
  EXPECT_EQ(m.benign_histogram[5], 1u);
  EXPECT_EQ(m.attack_histogram[8], 1u);
}

TEST(RateBaseline, FloodScanAndQuietFlows) {
  std::vector<FlowOutcome> flows;
  // A SYN flood: 1,000 one-packet SYN flows to 10.0.0.9 within 2 s (500/s).
  for (int i = 0; i < 1000; ++i) {
    FlowOutcome f = flow("dos", 100 + i * 0.002, 100 + i * 0.002);
    f.src = v4(198, 51, 100, static_cast<std::uint8_t>(i % 250));
    f.dst = v4(10, 0, 0, 9);
    f.pkts = {1, 0};
    f.fwd_syn = 1;
    flows.push_back(f);
  }
  // A port scan: 60 ports in 3 s from one source.
  for (int i = 0; i < 60; ++i) {
    FlowOutcome f = flow("scan", 200 + i * 0.05, 200 + i * 0.05 + 0.001);
    f.src = v4(203, 0, 113, 5);
    f.dst = v4(10, 0, 0, 3);
    f.dst_port = static_cast<std::uint16_t>(1000 + i);
    f.pkts = {1, 1};
    f.fwd_syn = 1;
    flows.push_back(f);
  }
  // An ordinary long download.
  FlowOutcome quiet = flow("benign", 0, 300);
  quiet.pkts = {3000, 6000};
  quiet.fwd_syn = 1;
  flows.push_back(quiet);

  const auto predicted = rateBaseline(flows);
  ASSERT_EQ(predicted.size(), flows.size());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(predicted[i], "dos") << i;
  for (int i = 1000; i < 1060; ++i) ASSERT_EQ(predicted[i], "scan") << i;
  EXPECT_EQ(predicted.back(), "benign");
}

TEST(RateBaseline, BelowTheThresholdsIsBenign) {
  // 20 SYN flows/s to one host is under dst_pps (500) and dst_flows_per_s (100).
  std::vector<FlowOutcome> flows;
  for (int i = 0; i < 100; ++i) {
    FlowOutcome f = flow("dos", i * 0.05, i * 0.05);
    f.src = v4(198, 51, 100, static_cast<std::uint8_t>(i));
    f.pkts = {1, 0};
    f.fwd_syn = 1;
    flows.push_back(f);
  }
  for (const std::string& p : rateBaseline(flows)) EXPECT_EQ(p, "benign");
}

TEST(FlowsCsv, OneRowPerFlowWithEmptyFieldsForHeadsNotScored) {
  FlowOutcome reel = flow("reel", 1.5, 2.25);
  reel.flow_id = 42;
  reel.src_port = 50000;
  reel.bytes = {1000, 2000000};
  reel.reel_scored = true;
  reel.reel_probability = 0.875;
  reel.reel_predicted = true;
  reel.anomaly_scored = true;
  reel.anomaly_score = 0.5;
  FlowOutcome probe = flow("scan", 3, 3);
  probe.flow_id = 7;
  probe.dst = decode::IpAddress{};  // ::
  probe.proto = 17;
  probe.pkts = {1, 0};
  probe.bytes = {60, 0};
  probe.attack_predicted = "scan";
  std::string out = flowsCsvHeader();
  const std::vector<FlowOutcome> flows{reel, probe};
  appendFlowsCsv(out, "lab, run 2/\"capture\".pcap", flows);
  EXPECT_EQ(out,
            "capture,flow_id,src_ip,src_port,dest_ip,dest_port,proto,start,end,packets,bytes,"
            "category,attack_truth,attack_predicted,reel_probability,reel_predicted,"
            "anomaly_score,anomaly_alert\n"
            "\"lab, run 2/\"\"capture\"\".pcap\",42,10.0.0.1,50000,10.0.0.2,443,TCP,1.500000,"
            "2.250000,20,2001000,reel,benign,benign,0.875000,1,0.500000,0\n"
            "\"lab, run 2/\"\"capture\"\".pcap\",7,10.0.0.1,0,::,443,UDP,3.000000,3.000000,1,60,"
            "scan,scan,scan,,,,\n");
}

}  // namespace
}  // namespace edgesense::evaluation
