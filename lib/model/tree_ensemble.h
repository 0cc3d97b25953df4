#pragma once
/// TreeEnsemble: our own evaluator for an XGBoost tree model (gbtree,
/// binary:logistic or multi:softprob), built from the JSON file XGBoost
/// writes (Booster.save_model("x.json"), XGBoost 1.7). It gives the same
/// margins and probabilities as XGBoost's predictor (float arithmetic, trees
/// in order) and exact TreeSHAP contributions for one output group, without
/// XGBoost at run time: XGBoost trains the models and is the reference the
/// tests hold this to.
///
/// Ownership and threads: built once, off the hot path (bundle load); all
/// checks happen there, and a model we cannot evaluate exactly as XGBoost
/// would is refused with one TreeEnsembleError. After that it is immutable:
/// every method is const, takes no lock and throws nothing past a thread's
/// first call, so any number of inference workers may share one instance.
/// Scratch is per thread: margins() and predict() keep a thread-local block
/// of transposed rows, contributions() a TreeSHAP path (a caller-owned
/// ShapScratch, or a thread-local one); each is sized on a thread's first
/// call (and again only if a wider or deeper model comes along), then
/// reused, so steady-state calls allocate nothing.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgesense::model {

/// The model file could not be read or is not one we evaluate; what() is one
/// line: "XGBoost model FILE: reason".
class TreeEnsembleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TreeEnsemble;

/// Working memory for TreeEnsemble::contributions(), sized for one ensemble
/// (its deepest tree and its feature count). One per thread.
class ShapScratch {
 public:
  ShapScratch() = default;
  explicit ShapScratch(const TreeEnsemble& ensemble);

  /// One feature on the path from a tree's root to the current node.
  struct PathElement {
    double zero;    // share of the cover that reaches here when the feature is unknown
    double one;     // 1 if the row's own value leads here, else 0
    double weight;  // permutation weight of the subsets of this length
    std::uint32_t feature;
  };

 private:
  friend class TreeEnsemble;
  std::vector<PathElement> path_;
  std::vector<double> phi_;
};

class TreeEnsemble {
 public:
  /// Reads and checks an XGBoost JSON model file. Throws TreeEnsembleError.
  static TreeEnsemble load(const std::filesystem::path& file);
  /// The same from the file's text; `name` stands for the file in messages.
  static TreeEnsemble fromJson(std::string_view text, const std::string& name);

  /// Deepest tree allowed (root at depth 0); deeper models are refused.
  static constexpr std::size_t kMaxDepth = 64;

  std::size_t numFeatures() const noexcept { return num_features_; }
  /// Output groups (num_class for multi:softprob, else 1): values per row
  /// from margins().
  std::size_t numGroups() const noexcept { return num_groups_; }
  /// Values per row from predict(): 1 (p) for binary:logistic, num_class for
  /// multi:softprob; as Booster::numOutputs().
  std::size_t numOutputs() const noexcept { return binary_ ? 1 : num_groups_; }
  std::size_t numTrees() const noexcept { return tree_root_.size(); }
  /// "binary:logistic" or "multi:softprob".
  const std::string& objective() const noexcept { return objective_; }
  /// The margin every row starts from, per group (base_score as XGBoost
  /// turns it into a margin).
  float baseMargin() const noexcept { return base_margin_; }

  /// How margins() walks the trees. kScalar is the portable reference; the
  /// SIMD kernels score the trees padded to complete depth, for models no
  /// deeper than kMaxSimdDepth, and are chosen at run time on x86-64: kAvx512
  /// (16 rows per vector) on CPUs with AVX-512F, else kAvx2 (8 rows per
  /// vector) on CPUs with AVX2. All give the same bits.
  enum class Kernel : std::uint8_t { kScalar, kAvx512, kAvx2 };
  static constexpr std::size_t kMaxSimdDepth = 5;
  /// Steps from the root to the deepest leaf of any tree.
  std::size_t maxDepth() const noexcept { return max_depth_; }
  /// The kernel margins() and predict() use on this CPU for this model.
  Kernel kernel() const noexcept;
  static const char* kernelName(Kernel k) noexcept;

  /// Margins of `n_rows` row-major rows of numFeatures() floats (NaN =
  /// missing) into `out`: n_rows x numGroups().
  void margins(const float* rows, std::size_t n_rows, float* out) const noexcept;
  /// The same with a given kernel (for tests and benchmarks); one this CPU or
  /// model cannot run falls back to kScalar.
  void margins(const float* rows, std::size_t n_rows, float* out, Kernel k) const noexcept;
  /// Probabilities into `out`: n_rows x numOutputs() (sigmoid of the margin
  /// for binary:logistic, softmax of the groups for multi:softprob).
  void predict(const float* rows, std::size_t n_rows, float* out) const noexcept;

  /// Exact TreeSHAP values of one row for output group `group` (< numGroups())
  /// into `out`: numFeatures() values, then the bias (the group's expected
  /// margin: the cover-weighted mean leaf of each of its trees, plus the base
  /// margin). They add up to the group's margin. `scratch` grows to fit this
  /// ensemble if it was made for a smaller one (the only allocation).
  void contributions(const float* row, std::size_t group, float* out, ShapScratch& scratch) const;
  /// The same with this thread's own scratch.
  void contributions(const float* row, std::size_t group, float* out) const;

 private:
  friend class ShapScratch;
  friend class TreeEnsembleBuilder;

  /// A node as TreeSHAP walks it, in XGBoost's terms. Children of a node
  /// are adjacent (left, left + 1); a leaf has step 0.
  struct Node {
    float threshold;            // go left when x < threshold; a leaf's value
    std::uint32_t feature;      // column; 0 for a leaf
    std::uint32_t left;         // index in nodes_ of the left child; itself for a leaf
    std::uint8_t default_left;  // where a missing value (NaN) goes
    std::uint8_t step;          // 1 for a split, 0 for a leaf
    std::uint16_t pad;
  };
  static_assert(sizeof(Node) == 16);

  /// The same node as scoring walks it (see margins()): the next node is
  /// `first + (v >= threshold)`, v being the row's value or its negation,
  /// read at `offset` in a column-major block of rows (see slot_column_).
  /// The child a missing value goes to is `first`, as NaN >= anything is
  /// false. A leaf has a NaN threshold and itself as `first`, so it stays.
  struct ScoreNode {
    float threshold;
    std::uint32_t offset;  // slot x block rows
    std::uint32_t first;
    float leaf;  // the value if a leaf
  };
  static_assert(sizeof(ScoreNode) == 16);

  TreeEnsemble() = default;
  /// Fills the column-major block of rows [b, b + nb) that every kernel reads.
  void fillBlock(const float* rows, std::size_t b, std::size_t nb, float* xt) const noexcept;
  void marginsScalar(const float* rows, std::size_t n_rows, float* out) const noexcept;
  void marginsAvx512(const float* rows, std::size_t n_rows, float* out) const noexcept;
  void marginsAvx2(const float* rows, std::size_t n_rows, float* out) const noexcept;
  std::size_t shapPathSize() const noexcept;
  /// The block slot of a column or its negation, given one on first use.
  std::uint32_t slot(std::uint32_t feature, bool negated);
  void fit(ShapScratch& s) const;
  void shapTree(const float* row, std::uint32_t root, ShapScratch& s) const noexcept;
  void shapRecurse(const float* row, std::uint32_t node, ShapScratch::PathElement* parent,
                   std::size_t parent_len, double zero, double one, std::uint32_t feature,
                   ShapScratch& s) const noexcept;

  std::size_t num_features_ = 0;
  std::size_t num_groups_ = 1;
  bool binary_ = true;
  std::string objective_;
  float base_margin_ = 0.0f;
  std::size_t max_depth_ = 0;

  std::vector<Node> nodes_;                // every tree, each breadth first
  std::vector<ScoreNode> score_nodes_;     // the same trees, for scoring
  std::vector<std::uint32_t> score_root_;  // per tree: index of its root in score_nodes_
  // The block margins() scores from holds, per slot, a column some split
  // reads, negated or not.
  std::vector<std::uint32_t> slot_column_;
  std::vector<std::uint8_t> slot_negated_;
  std::vector<std::uint32_t> slot_of_;  // build time: 2 x column + negated -> slot
  // The trees again for the SIMD kernels, each padded to a complete tree of
  // its own depth D in heap order (children of i at 2i + 1, the missing-value
  // one, and 2i + 2): per tree from pad_at_[t], 2^D - 1 thresholds then 2^D
  // leaves in pad_value_, and 2^D - 1 offsets in pad_offset_. Nodes below a
  // shallower leaf have a NaN threshold and that leaf's value at every leaf.
  // Empty when the model is deeper than kMaxSimdDepth.
  std::vector<float> pad_value_;
  std::vector<std::uint32_t> pad_offset_;
  std::vector<std::uint32_t> pad_at_;
  std::vector<double> cover_;              // per node: sum_hessian
  std::vector<double> mean_;               // per node: cover-weighted mean leaf below it
  std::vector<std::uint32_t> tree_root_;   // per tree: index of its root in nodes_
  std::vector<std::uint32_t> tree_depth_;  // per tree: steps from root to its deepest leaf
  std::vector<std::uint32_t> tree_group_;  // per tree: its output group
  std::vector<std::vector<std::uint32_t>> group_trees_;  // per group: its trees, in order
  std::vector<double> group_bias_;  // per group: base margin + sum of its trees' root means
};

}  // namespace edgesense::model
