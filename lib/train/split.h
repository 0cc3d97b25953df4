#pragma once
/// The train / validation / test split of a Dataset, by flow: every snapshot
/// of one flow lands in the same part, or the test part would hold snapshots
/// of flows the model trained on. Stratified by category (each category's
/// flows are split 70/15/15 on their own), from a seed, and deterministic:
/// the same seed and the same rows in the same order give the same split, on
/// any machine and with any thread count (one splitmix64 stream per
/// category, no std:: distributions, no threads).
///
/// Threads: plain functions of their arguments.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "train/dataset.h"

namespace edgesense::train {

enum class Part : std::uint8_t { kTrain, kValidation, kTest };
std::string_view partName(Part p) noexcept;  // "train", "validation", "test"

struct Split {
  std::vector<Part> part;  // per row
  std::string method;      // how it was made, for the training record
  std::array<std::size_t, 3> rows{};
  std::array<std::size_t, 3> flows{};

  /// Row indices of a part, ascending.
  std::vector<std::size_t> rowsOf(Part p) const;
};

/// The shares of the stratified split.
struct Shares {
  double train = 0.70;
  double validation = 0.15;
};

/// The category of a flow, for stratification: that of its first row.
/// Stratified split of the flows: per category, flows in a seeded order,
/// the first 70% train, the next 15% validation, the rest test (a category
/// with 3 flows or more puts at least one in validation and one in test).
Split splitStratified(const Dataset& d, std::uint64_t seed, Shares shares = {});

/// By input file: the last file is the test part, the one before it the
/// validation part, all earlier ones train. Throws DatasetError with fewer
/// than three input files.
Split splitByFile(const Dataset& d);

/// K-fold cross-validation: flows dealt stratified into K folds from `seed`;
/// fold i is the test part of split i, fold (i + 1) mod K its validation
/// part, the rest trains. K >= 3.
std::vector<Split> splitFolds(const Dataset& d, std::size_t k, std::uint64_t seed);

/// splitmix64: the seeded generator of the split and the sample rows.
class SeededRng {
 public:
  explicit SeededRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n) noexcept {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }
  template <class T>
  void shuffle(std::vector<T>& v) noexcept {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

}  // namespace edgesense::train
