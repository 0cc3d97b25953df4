// output: alert aggregation per (source, class) in packet time, with exact
// suppressed counts.

#include "output/alerts.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <memory>
#include <string>
#include <vector>

#include "output/eve_output.h"

namespace edgesense::output {
namespace {

constexpr decode::TimeUs kSecond = 1'000'000;
constexpr decode::TimeUs kT0 = 1'767'225'600 * kSecond;

decode::IpAddress v4(const char* s) {
  std::uint8_t b[4];
  inet_pton(AF_INET, s, b);
  return decode::IpAddress::fromV4(b);
}

inference::ScoredRecord record(std::uint64_t flow_id) {
  inference::ScoredRecord r;
  r.record.flow_id = flow_id;
  return r;
}

TEST(AlertAggregator, AFloodBecomesAFewAlertsWithExactCounts) {
  AlertAggregator agg(60 * kSecond);
  std::vector<FollowUp> follow_ups;
  int emitted = 0;
  const int kFlows = 100'000;
  // One flow alert every 1.5 ms for 150 s from one source.
  for (int i = 0; i < kFlows; ++i) {
    const decode::TimeUs ts = kT0 + i * 1500;
    agg.expire(ts, follow_ups);
    if (agg.onAlert(v4("10.0.0.66"), "dos", ts, record(static_cast<std::uint64_t>(i)))) ++emitted;
  }
  agg.flushAll(follow_ups);
  EXPECT_EQ(emitted, 3);  // windows opening at 0, 60 and 120 s
  ASSERT_EQ(follow_ups.size(), 3u);
  std::uint64_t suppressed = 0;
  for (const FollowUp& f : follow_ups) {
    suppressed += f.suppressed;
    EXPECT_EQ(f.class_name, "dos");
    EXPECT_EQ(f.window_end - f.window_start, 60 * kSecond);
  }
  EXPECT_EQ(suppressed + static_cast<std::uint64_t>(emitted), static_cast<std::uint64_t>(kFlows));
  EXPECT_EQ(follow_ups.back().last.record.flow_id, static_cast<std::uint64_t>(kFlows - 1));
}

TEST(AlertAggregator, SourcesAndClassesAreSeparate) {
  AlertAggregator agg(60 * kSecond);
  EXPECT_TRUE(agg.onAlert(v4("10.0.0.1"), "scan", kT0, record(1)));
  EXPECT_TRUE(agg.onAlert(v4("10.0.0.2"), "scan", kT0, record(2)));
  EXPECT_TRUE(agg.onAlert(v4("10.0.0.1"), "dos", kT0, record(3)));
  EXPECT_FALSE(agg.onAlert(v4("10.0.0.1"), "scan", kT0 + kSecond, record(4)));
  std::vector<FollowUp> out;
  agg.flushAll(out);
  ASSERT_EQ(out.size(), 1u);  // only the window with something suppressed
  EXPECT_EQ(out[0].suppressed, 1u);
  EXPECT_EQ(out[0].last.record.flow_id, 4u);
}

TEST(AlertAggregator, AnAlertAfterTheWindowGoesOutAtOnce) {
  AlertAggregator agg(10 * kSecond);
  std::vector<FollowUp> out;
  EXPECT_TRUE(agg.onAlert(v4("10.0.0.1"), "scan", kT0, record(1)));
  agg.expire(kT0 + 11 * kSecond, out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(agg.onAlert(v4("10.0.0.1"), "scan", kT0 + 11 * kSecond, record(2)));
}

TEST(AlertCatalog, KnownClassesHaveFixedIdsAndMitre) {
  EXPECT_EQ(alertClass("scan", 1).signature_id, 9000001u);
  EXPECT_EQ(alertClass("scan", 1).mitre_technique_id, "T1046");
  EXPECT_EQ(alertClass("dos", 2).mitre_technique_id, "T1498");
  EXPECT_EQ(alertClass("bruteforce", 3).mitre_technique_id, "T1110");
  EXPECT_EQ(alertClass("slowdos", 4).mitre_technique_id, "T1499");
  EXPECT_EQ(alertClass("anomaly", 0).signature_id, 9000100u);
  EXPECT_EQ(alertClass("exfil", 6).signature_id, 9000016u);
}

TEST(AlertAggregator, TheCapClosesTheOldestWindowWithItsExactCount) {
  AlertAggregator agg(60 * kSecond, 2);
  std::vector<FollowUp> out;
  int written = 0, total = 0;
  auto alert = [&](const char* addr, decode::TimeUs ts) {
    agg.expire(ts, out);
    ++total;
    if (agg.onAlert(v4(addr), "scan", ts, record(static_cast<std::uint64_t>(total)))) ++written;
  };
  for (int i = 0; i < 5; ++i) alert("10.0.0.1", kT0 + i * kSecond);  // 1 written, 4 counted
  for (int i = 5; i < 8; ++i) alert("10.0.0.2", kT0 + i * kSecond);  // 1 written, 2 counted
  EXPECT_EQ(agg.evicted(), 0u);
  alert("10.0.0.3", kT0 + 10 * kSecond);  // a third window: 10.0.0.1's closes
  EXPECT_EQ(agg.evicted(), 1u);
  EXPECT_EQ(agg.openWindows(), 2u);
  EXPECT_TRUE(out.empty());               // written with the next expire()
  alert("10.0.0.1", kT0 + 12 * kSecond);  // a new window (10.0.0.2's closes)
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].suppressed, 4u);
  EXPECT_EQ(out[0].window_start, kT0);
  EXPECT_EQ(out[0].window_end, kT0 + 10 * kSecond);
  EXPECT_EQ(out[0].last.record.flow_id, 5u);
  EXPECT_EQ(agg.evicted(), 2u);
  agg.flushAll(out);
  ASSERT_EQ(out.size(), 2u);  // 10.0.0.2's; the open windows suppressed nothing
  EXPECT_EQ(out[1].suppressed, 2u);
  EXPECT_EQ(out[1].window_end, kT0 + 12 * kSecond);
  EXPECT_EQ(written, 4);
  EXPECT_EQ(static_cast<std::uint64_t>(written) + out[0].suppressed + out[1].suppressed,
            static_cast<std::uint64_t>(total));
}

struct Lines final : LineSink {
  std::vector<std::string>* lines;
  explicit Lines(std::vector<std::string>* l) : lines(l) {}
  bool write(std::string_view line) override {
    lines->emplace_back(line);
    return true;
  }
  bool flush() override { return true; }
  std::string describe() const override { return "memory"; }
};

inference::ScoredRecord anomaly(std::uint64_t flow_id, bool alert, bool final) {
  inference::ScoredRecord s = record(flow_id);
  s.record.src = v4("10.0.0.9");
  s.record.report_us = kT0 + static_cast<decode::TimeUs>(flow_id);
  s.record.reason = final ? flow::EndReason::kIdleTimeout : flow::EndReason::kActiveTimeout;
  s.verdict.anomaly_scored = true;
  s.verdict.anomaly_alert = alert;
  return s;
}

TEST(EveOutput, TheAlertedFlowSetIsCapped) {
  // 100 flows alert in an interim snapshot and their final records never
  // come (dropped on the way): the set keeps the 2 most recent. Then final
  // records of flows 98 and 99 (remembered) and 1 (forgotten).
  std::vector<std::string> lines;
  std::vector<std::unique_ptr<LineSink>> sinks;
  sinks.push_back(std::make_unique<Lines>(&lines));
  EveOutputOptions opts{true, false, 60 * kSecond};
  opts.max_alerted_flows = 2;
  EveOutput out(std::move(sinks), opts);
  for (std::uint64_t id = 0; id < 100; ++id) out.onScored(anomaly(id, true, false));
  EXPECT_EQ(out.stats().alerted_flows_evicted.load(), 98u);
  lines.clear();
  for (std::uint64_t id : {98u, 99u, 1u}) out.onScored(anomaly(id, false, true));
  out.finish();
  std::vector<bool> alerted;
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("event_type") == "flow") alerted.push_back(j.at("flow").at("alerted").get<bool>());
  }
  EXPECT_EQ(alerted, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(out.stats().alerted_flows_evicted.load(), 98u);
}

TEST(EveOutput, AnEvictedWindowWritesItsFollowUp) {
  // Two addresses alternate under a cap of one window: every alert opens
  // a window, and each window closed early with suppressed alerts writes a
  // follow-up with its count.
  std::vector<std::string> lines;
  std::vector<std::unique_ptr<LineSink>> sinks;
  sinks.push_back(std::make_unique<Lines>(&lines));
  EveOutputOptions opts{false, false, 60 * kSecond};
  opts.max_alert_windows = 1;
  EveOutput out(std::move(sinks), opts);
  std::uint64_t id = 0;
  for (const char* addr : {"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"}) {
    inference::ScoredRecord s = anomaly(id++, true, false);
    s.record.src = v4(addr);
    out.onScored(std::move(s));
  }
  out.finish();
  EXPECT_EQ(out.stats().windows_evicted.load(), 1u);
  EXPECT_EQ(out.stats().alerts.load(), 2u);
  EXPECT_EQ(out.stats().suppressed.load(), 2u);
  ASSERT_EQ(out.stats().follow_ups.load(), 1u);
  std::uint64_t counted = 0;
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    const auto& e = j.contains("aggregate") ? j : j.at("edgesense");
    if (e.contains("aggregate")) counted += e.at("aggregate").at("suppressed").get<std::uint64_t>();
  }
  EXPECT_EQ(lines.size(), 3u);  // two alerts and one follow-up
  EXPECT_EQ(counted, 2u);
}

}  // namespace
}  // namespace edgesense::output
