#pragma once
/// IsolationForest: the anomaly head's model (Liu, Ting and Zhou, 2008,
/// "Isolation Forest", ICDM). Trained on benign flows; a point that random
/// axis-parallel splits isolate in few steps is unlike them.
///
/// Training is deterministic: the same rows, parameters and seed give the
/// same forest, on any machine (our own PRNG, xoshiro256** seeded with
/// splitmix64; no std:: distributions). Each tree draws psi rows without
/// replacement (all rows if fewer), and grows to depth ceil(log2 psi). At a
/// node it picks a column at random among those whose values there are not
/// all equal (as scikit-learn does: constant columns cannot isolate
/// anything), and a split point uniformly between their smallest and largest
/// value; x goes left when x < split. A node where every column is constant
/// is a leaf.
///
/// NaN (an undefined feature) is ordered below every number: it always goes
/// left, in training and in scoring alike. So "undefined" and "defined" can
/// be isolated from each other, and a column holding NaN and one number is
/// not constant (its split point is that number). Split points are drawn
/// from the range of the non-NaN values, infinities counted as the largest
/// finite floats. Values are floats, the type scoring uses; a double matrix
/// is converted first.
///
/// score() is s(x) = 2^(-E[h(x)] / c(psi)) in (0, 1]: E[h(x)] is the mean
/// over the trees of the depth of the leaf x reaches plus c(size of that
/// leaf), the expected depth of the unbuilt subtree. Near 1: anomalous;
/// well below 0.5: normal.
///
/// An IsolationForest is immutable after training or loading; score() is
/// const and safe from any number of threads.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgesense::model {

struct IsolationForestParams {
  std::size_t n_trees = 100;
  std::size_t sample_size = 256;  // psi; capped at the number of training rows
  std::uint64_t seed = 1;
};

/// c(n): the average path length of an unsuccessful search in a binary
/// search tree of n points, 2 H(n - 1) - 2 (n - 1) / n with
/// H(i) = ln(i) + 0.5772156649 (Euler's constant); c(2) = 1, c(n <= 1) = 0.
double averagePathLength(std::size_t n) noexcept;

class IsolationForest {
 public:
  /// Trains on `rows`, row-major with `n_cols` values per row. Needs at least
  /// two rows, one column, one tree and psi >= 2; throws
  /// std::invalid_argument otherwise.
  static IsolationForest train(std::span<const float> rows, std::size_t n_cols,
                               const IsolationForestParams& params = {});
  static IsolationForest train(std::span<const double> rows, std::size_t n_cols,
                               const IsolationForestParams& params = {});

  /// The forest as JSON (the format is in docs/model-bundle.md); the same
  /// forest always gives the same text, and fromJson(toJson()) scores
  /// exactly as the original.
  std::string toJson() const;
  /// Reads toJson()'s format, checking every node; throws
  /// std::runtime_error saying what is wrong.
  static IsolationForest fromJson(std::string_view json);

  std::size_t numFeatures() const noexcept { return n_features_; }
  std::size_t numTrees() const noexcept { return roots_.size(); }
  /// psi as used: the parameter capped at the number of training rows.
  std::size_t sampleSize() const noexcept { return sample_size_; }
  std::size_t maxDepth() const noexcept { return max_depth_; }
  const IsolationForestParams& params() const noexcept { return params_; }

  /// The anomaly score of one row of numFeatures() values.
  double score(std::span<const float> row) const;
  /// Scores of `n_rows` row-major rows into out[0..n_rows).
  void score(const float* rows, std::size_t n_rows, float* out) const;
  /// E[h(x)]: the mean path length of one row over the trees.
  double meanPathLength(std::span<const float> row) const;

 private:
  struct Node {
    std::int32_t feature = -1;  // -1: leaf
    float split = 0;
    std::uint32_t left = 0;  // internal: index of the left child; the right one follows it
    std::uint32_t size = 0;  // training rows that reached the node
    double path = 0;         // leaf: its depth + c(size)
  };

  IsolationForest() = default;
  void fillPaths();  // Node::path of every leaf

  IsolationForestParams params_;
  std::size_t n_features_ = 0;
  std::size_t sample_size_ = 0;
  std::size_t max_depth_ = 0;
  // Every tree's nodes, one tree after another; the two children of a node
  // sit in consecutive slots.
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> roots_;  // each tree's root, an index into nodes_
};

}  // namespace edgesense::model
