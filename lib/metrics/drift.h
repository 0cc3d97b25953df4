#pragma once
/// Feature drift, internal to lib/metrics: which features of a bundle to
/// watch, and the population stability index of recent rows against the
/// bundle's training quantiles. A DriftBins is built once per bundle and
/// then only counts (a binary search per value); the owner (the output
/// thread's sink) keeps the counts.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "model/bundle.h"

namespace edgesense::metrics {

/// Bins from the kQuantileCount training quantiles of one feature, each with
/// the share of training rows expected in it: the bundle's own shares when
/// it has them (exact, however often values repeat), else estimated from the
/// quantiles.
class DriftBins {
 public:
  DriftBins(std::span<const double> quantiles, std::span<const double> shares);
  std::size_t size() const noexcept { return expected_.size(); }
  /// The bin of a value (not NaN).
  std::size_t bin(double value) const noexcept;
  /// PSI of the observed counts against the expected shares; 0 if empty.
  double psi(std::span<const std::uint64_t> counts) const noexcept;

 private:
  std::vector<double> edges_;     // distinct quantile values; bin k is (edges_[k-1], edges_[k]]
  std::vector<double> expected_;  // edges_.size() + 1 shares, the last above q100
};

/// Up to `n` model columns of `bundle` worth watching, most important first:
/// by total split gain in an XGBoost model, by number of splits in an
/// isolation forest, read from the bundle's model file. Columns without
/// training quantiles are skipped. If the model file cannot be read, the
/// first columns with quantiles.
std::vector<std::size_t> driftColumns(const model::Bundle& bundle, std::size_t n);

}  // namespace edgesense::metrics
