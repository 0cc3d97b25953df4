// output: alert aggregation per (source, class) in packet time, with exact
// suppressed counts.

#include "output/alerts.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

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

}  // namespace
}  // namespace edgesense::output
