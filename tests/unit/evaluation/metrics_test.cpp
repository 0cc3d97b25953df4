// The arithmetic of `edgesense eval` on cases small enough to check by hand.

#include "evaluation/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace edgesense::evaluation {
namespace {

TEST(Prf, FromCounts) {
  // 3 right, 1 false alarm, 2 missed: P = 3/4, R = 3/5, F1 = 2PR/(P+R) = 2/3.
  const Prf m = prf(3, 1, 2);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.6);
  EXPECT_DOUBLE_EQ(m.f1, 2 * 0.75 * 0.6 / 1.35);
  EXPECT_EQ(m.support, 5u);
}

TEST(Prf, EmptyDenominatorsAreZero) {
  const Prf none = prf(0, 0, 0);
  EXPECT_EQ(none.precision, 0);
  EXPECT_EQ(none.recall, 0);
  EXPECT_EQ(none.f1, 0);
  const Prf missed = prf(0, 0, 4);
  EXPECT_EQ(missed.precision, 0);
  EXPECT_EQ(missed.recall, 0);
  EXPECT_EQ(missed.support, 4u);
}

TEST(Confusion, SumsAndPerClassFigures) {
  // classes: 0 benign, 1 scan, 2 dos
  Confusion c(3);
  c.add(0, 0, 90);
  c.add(0, 1, 10);  // benign flagged as scan
  c.add(1, 1, 8);
  c.add(1, 0, 2);
  c.add(2, 2, 5);
  c.add(2, 1, 5);  // dos taken for scan
  EXPECT_EQ(c.total(), 120u);
  EXPECT_EQ(c.rowSum(0), 100u);
  EXPECT_EQ(c.columnSum(1), 23u);
  const Prf scan = c.classPrf(1);
  EXPECT_DOUBLE_EQ(scan.precision, 8.0 / 23);
  EXPECT_DOUBLE_EQ(scan.recall, 0.8);
  EXPECT_EQ(scan.support, 10u);
  const Prf dos = c.classPrf(2);
  EXPECT_DOUBLE_EQ(dos.precision, 1.0);
  EXPECT_DOUBLE_EQ(dos.recall, 0.5);
  EXPECT_DOUBLE_EQ(c.falsePositiveRate(0), 0.1);
  const std::vector<std::size_t> attacks{1, 2};
  EXPECT_DOUBLE_EQ(c.macroF1(attacks), (scan.f1 + dos.f1) / 2);
}

TEST(Confusion, MacroF1SkipsClassesNeverSeen) {
  Confusion c(3);
  c.add(1, 1, 4);
  const std::vector<std::size_t> attacks{1, 2};
  EXPECT_DOUBLE_EQ(c.macroF1(attacks), 1.0);  // class 2 neither true nor predicted
  c.add(0, 2);                                // now predicted once, wrongly
  EXPECT_DOUBLE_EQ(c.macroF1(attacks), 0.5);
}

TEST(Curve, PerfectSeparationHasAreaOne) {
  const auto pts = curve({{0.9, true}, {0.8, true}, {0.3, false}, {0.1, false}});
  ASSERT_EQ(pts.size(), 5u);
  EXPECT_DOUBLE_EQ(rocAuc(pts), 1.0);
  EXPECT_DOUBLE_EQ(averagePrecision(pts), 1.0);
  EXPECT_DOUBLE_EQ(pts.back().fpr, 1.0);
  EXPECT_DOUBLE_EQ(pts.back().tpr, 1.0);
}

TEST(Curve, HandCheckedArea) {
  // Positives 0.9, 0.4; negatives 0.6, 0.1. Pairs (pos > neg): (0.9,0.6),
  // (0.9,0.1), (0.4,0.1) = 3 of 4, so AUC 0.75.
  const auto pts = curve({{0.9, true}, {0.6, false}, {0.4, true}, {0.1, false}});
  EXPECT_DOUBLE_EQ(rocAuc(pts), 0.75);
  // AP: recall 0.5 at precision 1, recall 1 at precision 2/3.
  EXPECT_DOUBLE_EQ(averagePrecision(pts), 0.5 * 1.0 + 0.5 * (2.0 / 3));
}

TEST(Curve, TiesCountHalf) {
  // Every score equal: one diagonal step, AUC 0.5, not a staircase.
  const auto pts = curve({{0.5, true}, {0.5, false}, {0.5, true}, {0.5, false}});
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_DOUBLE_EQ(rocAuc(pts), 0.5);
  // A positive tied with one of two negatives: (1 + 0.5) / 2.
  const auto tied = curve({{0.7, true}, {0.7, false}, {0.2, false}});
  EXPECT_DOUBLE_EQ(rocAuc(tied), 0.75);
}

TEST(Curve, OneClassMissingIsEmptyAndNaN) {
  const auto pts = curve({{0.3, true}, {0.6, true}});
  EXPECT_TRUE(pts.empty());
  EXPECT_TRUE(std::isnan(rocAuc(pts)));
  EXPECT_TRUE(std::isnan(averagePrecision(pts)));
}

TEST(Curve, ThinKeepsEnds) {
  std::vector<Scored> many;
  for (int i = 0; i < 1000; ++i) many.push_back({i / 1000.0, i % 3 == 0});
  const auto pts = curve(many);
  const auto few = thin(pts, 50);
  ASSERT_EQ(few.size(), 50u);
  EXPECT_EQ(few.front().tpr, pts.front().tpr);
  EXPECT_EQ(few.back().fpr, pts.back().fpr);
}

TEST(Histogram, BinsClampsAndSkipsNaN) {
  const std::vector<double> v{0.0, 0.1, 0.24, 0.25, 0.99, 1.0, 1.5, -1, std::nan("")};
  const auto h = histogram(v, 4, 0.0, 1.0);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0], 4u);  // 0, 0.1, 0.24, -1 (clamped)
  EXPECT_EQ(h[1], 1u);  // 0.25
  EXPECT_EQ(h[2], 0u);
  EXPECT_EQ(h[3], 3u);  // 0.99, 1.0 and 1.5 (clamped)
}

}  // namespace
}  // namespace edgesense::evaluation
