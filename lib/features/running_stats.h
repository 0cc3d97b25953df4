#pragma once
/// RunningStats: count, min, max, mean and variance in O(1) memory and time
/// per value (Welford's online algorithm), as a plain value type.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace edgesense::features {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct RunningStats {
  std::uint32_t n = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double m2 = 0;  // sum of squared deviations from the mean

  void add(double x) noexcept {
    if (n == 0) {
      min = max = x;
    } else {
      min = std::min(min, x);
      max = std::max(max, x);
    }
    ++n;
    const double delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }

  /// Combines two disjoint sets (Chan et al.'s parallel formula).
  static RunningStats merge(const RunningStats& a, const RunningStats& b) noexcept {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    RunningStats r;
    r.n = a.n + b.n;
    r.min = std::min(a.min, b.min);
    r.max = std::max(a.max, b.max);
    const double delta = b.mean - a.mean;
    r.mean = a.mean + delta * b.n / r.n;
    r.m2 = a.m2 + b.m2 + delta * delta * (static_cast<double>(a.n) * b.n / r.n);
    return r;
  }

  double minOrNaN() const noexcept { return n ? min : kNaN; }
  double maxOrNaN() const noexcept { return n ? max : kNaN; }
  double meanOrNaN() const noexcept { return n ? mean : kNaN; }
  /// Population standard deviation; 0 for one value, NaN for none.
  double stdOrNaN() const noexcept { return n ? std::sqrt(std::max(0.0, m2 / n)) : kNaN; }
};

}  // namespace edgesense::features
