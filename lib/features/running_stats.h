#pragma once
/// RunningStats: count, min, max, mean and standard deviation of a stream of
/// non-negative integer samples (frame lengths in bytes, gaps in
/// microseconds) in O(1) memory and time per sample. Sums are kept as exact
/// integers (the sum of squares in 128 bits), so an update costs no division
/// and results do not depend on the order of arithmetic; values become
/// floating point only when read.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace edgesense::features {

__extension__ typedef unsigned __int128 Uint128;  // GCC and clang; exact sums of squares

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct RunningStats {
  std::uint64_t n = 0;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  std::uint64_t sum = 0;
  Uint128 sum_sq = 0;

  void add(std::uint64_t x) noexcept {
    min = n == 0 ? x : std::min(min, x);
    max = n == 0 ? x : std::max(max, x);
    ++n;
    sum += x;
    sum_sq += static_cast<Uint128>(x) * x;
  }

  /// Combines two disjoint sets of samples.
  static RunningStats merge(const RunningStats& a, const RunningStats& b) noexcept {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    return {a.n + b.n, std::min(a.min, b.min), std::max(a.max, b.max), a.sum + b.sum,
            a.sum_sq + b.sum_sq};
  }

  // Readers; `scale` converts the sample unit (1e-6 turns microseconds into
  // seconds). NaN when there are no samples.
  double minOrNaN(double scale = 1) const noexcept {
    return n ? static_cast<double>(min) * scale : kNaN;
  }
  double maxOrNaN(double scale = 1) const noexcept {
    return n ? static_cast<double>(max) * scale : kNaN;
  }
  double meanOrNaN(double scale = 1) const noexcept {
    return n ? static_cast<double>(sum) / static_cast<double>(n) * scale : kNaN;
  }
  /// Population standard deviation: sqrt(n * sum_sq - sum^2) / n, exact up
  /// to the final square root; 0 for one sample.
  double stdOrNaN(double scale = 1) const noexcept {
    if (n == 0) return kNaN;
    const Uint128 s = sum;
    const Uint128 spread = static_cast<Uint128>(n) * sum_sq - s * s;
    return std::sqrt(static_cast<double>(spread)) / static_cast<double>(n) * scale;
  }
};

}  // namespace edgesense::features
