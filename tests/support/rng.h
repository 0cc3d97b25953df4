#pragma once

/// A seeded PRNG and the samplers the generators need, written here so that a seed gives
/// the same capture on every machine and library version (std:: distributions do not
/// promise that). xoshiro256** seeded through splitmix64. A value type; one per thread.

#include <cmath>
#include <cstdint>

namespace edgesense::testsupport {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) word = splitmix64(seed);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// An independent generator for a sub-stream (a flow, a host), so adding draws in one
  /// place does not shift every later draw elsewhere.
  Rng fork(uint64_t stream) { return Rng(next() ^ (stream * 0xd1342543de82ef95ULL)); }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n); n > 0. Modulo bias is below 2^-32 for the n used here.
  uint64_t below(uint64_t n) { return next() % n; }

  /// Uniform integer in [lo, hi], inclusive.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool chance(double p) { return uniform() < p; }

  double exponential(double mean) { return -mean * std::log1p(-uniform()); }

  /// Standard normal by Box-Muller; draws two uniforms every call, keeps no cache.
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }

  /// Pareto with minimum `scale` and tail index `alpha` (heavier tail for smaller alpha).
  double pareto(double scale, double alpha) {
    return scale / std::pow(1.0 - uniform(), 1.0 / alpha);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace edgesense::testsupport
