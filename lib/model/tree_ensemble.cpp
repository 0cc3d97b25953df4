// Model: the native evaluator of the XGBoost heads. Built from model.json
// when a bundle loads; margins()/predict() run on the inference workers for
// every batch, contributions() for the flows that alert.

#include "model/tree_ensemble.h"

#include <nlohmann/json.hpp>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

namespace edgesense::model {

using nlohmann::json;

namespace {

/// The root's place-holder on a TreeSHAP path: no feature gets its share.
constexpr std::uint32_t kNoFeature = std::numeric_limits<std::uint32_t>::max();

/// Rows scored together: each tree is walked for all of them while it is in
/// cache, and their block (both signs of every column) stays in L1 or L2.
constexpr std::size_t kBlockRows = 32;
constexpr auto kBlockRows32 = static_cast<std::uint32_t>(kBlockRows);
/// Rows walked in lock step through one tree: independent chains of loads
/// the core overlaps, where one row at a time waits on every node. Eight
/// lanes keep every lane's node index in a register on x86-64.
constexpr std::size_t kLanes = 8;

}  // namespace

/// Reads the JSON into a TreeEnsemble; the first problem ends it with a
/// TreeEnsembleError naming the file.
class TreeEnsembleBuilder {
 public:
  explicit TreeEnsembleBuilder(const std::string& name) : name_(name) {}

  TreeEnsemble build(std::string_view text) {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::parse_error& e) {
      std::string_view what = e.what();
      if (const auto p = what.find("] "); what.starts_with('[') && p != std::string_view::npos) {
        what.remove_prefix(p + 2);
      }
      fail("not valid JSON: " + std::string(what));
    }
    try {
      return fromJson(j);
    } catch (const json::exception& e) {
      // A field of the wrong JSON type deep in a tree: nlohmann names the type.
      std::string_view what = e.what();
      if (const auto p = what.find("] "); what.starts_with('[') && p != std::string_view::npos) {
        what.remove_prefix(p + 2);
      }
      fail("unexpected JSON: " + std::string(what));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw TreeEnsembleError("XGBoost model " + name_ + ": " + reason);
  }

  const json& at(const json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object() || !obj.contains(key)) fail(where + " lacks \"" + key + "\"");
    return obj[key];
  }

  /// XGBoost writes its parameters as strings ("5E-1", "98").
  float floatParam(const json& v, const std::string& what) const {
    if (v.is_number()) return v.get<float>();
    if (!v.is_string()) fail(what + " is not a number");
    const std::string& s = v.get_ref<const std::string&>();
    float f = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(f)) {
      fail(what + " is \"" + s + "\", not a number");
    }
    return f;
  }

  std::size_t countParam(const json& v, const std::string& what, std::size_t max) const {
    std::size_t n = 0;
    if (v.is_number_unsigned()) {
      n = v.get<std::size_t>();
    } else if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size()) {
        fail(what + " is \"" + s + "\", not a count");
      }
    } else {
      fail(what + " is not a count");
    }
    if (n > max) fail(what + " is " + std::to_string(n) + ", over " + std::to_string(max));
    return n;
  }

  const json& array(const json& tree, const char* key, std::size_t size,
                    const std::string& where) const {
    const json& a = at(tree, key, where);
    if (!a.is_array() || a.size() != size) {
      fail(where + ": \"" + key + "\" must hold num_nodes (" + std::to_string(size) + ") values" +
           (a.is_array() ? ", not " + std::to_string(a.size()) : ""));
    }
    return a;
  }

  TreeEnsemble fromJson(const json& j) {
    TreeEnsemble e;
    const json& learner = at(j, "learner", "the model");
    e.objective_ =
        at(at(learner, "objective", "learner"), "name", "learner.objective").get<std::string>();
    const json& gb = at(learner, "gradient_booster", "learner");
    const std::string booster = at(gb, "name", "gradient_booster").get<std::string>();
    if (booster != "gbtree") {
      fail("uses the " + booster + " booster; only gbtree is supported" +
           (booster == "dart" ? " (dart's dropout weights are not)" : ""));
    }
    const json& param = at(learner, "learner_model_param", "learner");
    e.num_features_ = countParam(at(param, "num_feature", "learner_model_param"), "num_feature",
                                 std::numeric_limits<std::uint32_t>::max() - 1);
    if (e.num_features_ == 0) fail("num_feature is 0");
    const std::size_t num_class =
        countParam(at(param, "num_class", "learner_model_param"), "num_class", 1u << 16);
    if (param.contains("num_target") &&
        countParam(param["num_target"], "num_target", 1u << 16) != 1) {
      fail("num_target is not 1: multi-target models are not supported");
    }
    const float base_score =
        floatParam(at(param, "base_score", "learner_model_param"), "base_score");
    if (e.objective_ == "binary:logistic") {
      if (num_class > 1) fail("binary:logistic with num_class " + std::to_string(num_class));
      if (!(base_score > 0.0f && base_score < 1.0f)) {
        fail("base_score must be in (0, 1) for binary:logistic");
      }
      e.binary_ = true;
      e.num_groups_ = 1;
      // XGBoost 1.7 turns the base probability into a margin in float:
      // -log(1/p - 1), the logit.
      e.base_margin_ = -std::log(1.0f / base_score - 1.0f);
    } else if (e.objective_ == "multi:softprob") {
      if (num_class < 2) fail("multi:softprob with num_class " + std::to_string(num_class));
      e.binary_ = false;
      e.num_groups_ = num_class;
      // Softmax has no inverse link in XGBoost: base_score is every group's
      // starting margin as it is.
      e.base_margin_ = base_score;
    } else {
      fail("objective " + e.objective_ + " is not supported (binary:logistic or multi:softprob)");
    }

    const json& model = at(gb, "model", "gradient_booster");
    const json& trees = at(model, "trees", "gradient_booster.model");
    const json& info = at(model, "tree_info", "gradient_booster.model");
    if (!trees.is_array() || trees.empty()) fail("\"trees\" must be a non-empty array");
    if (!info.is_array() || info.size() != trees.size()) {
      fail("\"tree_info\" must hold one group per tree (" + std::to_string(trees.size()) + ")");
    }
    if (model.contains("gbtree_model_param")) {
      const json& gp = model["gbtree_model_param"];
      if (gp.contains("num_trees") &&
          countParam(gp["num_trees"], "num_trees", trees.size()) != trees.size()) {
        fail("num_trees is not the number of trees (" + std::to_string(trees.size()) + ")");
      }
    }

    e.group_trees_.resize(e.num_groups_);
    e.group_bias_.assign(e.num_groups_, static_cast<double>(e.base_margin_));
    for (std::size_t t = 0; t < trees.size(); ++t) {
      const std::size_t group =
          countParam(info[t], "tree_info[" + std::to_string(t) + "]", e.num_groups_ - 1);
      const auto root = static_cast<std::uint32_t>(e.nodes_.size());
      readTree(e, trees[t], "tree " + std::to_string(t));
      e.tree_root_.push_back(root);
      e.tree_group_.push_back(static_cast<std::uint32_t>(group));
      e.group_trees_[group].push_back(static_cast<std::uint32_t>(t));
      e.group_bias_[group] += e.mean_[root];
    }
    if (e.max_depth_ <= TreeEnsemble::kMaxSimdDepth) {
      for (std::size_t t = 0; t < e.score_root_.size(); ++t) addPaddedTree(e, t);
      // Leaf loads read a whole vector (16 or 32 values) past the last tree's.
      e.pad_value_.resize(e.pad_value_.size() + 32, 0.0f);
      e.pad_offset_.resize(e.pad_value_.size(), 0);
    }
    return e;
  }

  /// Tree t again, padded to a complete tree of its depth (see pad_value_).
  static void addPaddedTree(TreeEnsemble& e, std::size_t t) {
    const std::uint32_t depth = e.tree_depth_[t];
    const std::size_t inner = (std::size_t{1} << depth) - 1;
    const auto at = static_cast<std::uint32_t>(e.pad_value_.size());
    e.pad_at_.push_back(at);
    e.pad_value_.resize(at + 2 * inner + 1, std::numeric_limits<float>::quiet_NaN());
    e.pad_offset_.resize(e.pad_value_.size(), 0);
    // (score node, heap position, level); a leaf above the last level fills
    // every leaf below its position (inner nodes there keep NaN: go first).
    std::vector<std::array<std::uint32_t, 3>> stack{{e.score_root_[t], 0, 0}};
    while (!stack.empty()) {
      const auto [i, h, level] = stack.back();
      stack.pop_back();
      const TreeEnsemble::ScoreNode& nd = e.score_nodes_[i];
      if (nd.first == i) {
        const std::size_t below = std::size_t{1} << (depth - level);
        // First leaf under heap position h: h * 2^(depth-level) + (2^(depth-level) - 1)
        // in heap numbering, minus `inner` for the leaf index.
        const std::size_t leaf = (h + 1) * below - 1 - inner;
        for (std::size_t k = 0; k < below; ++k) e.pad_value_[at + inner + leaf + k] = nd.leaf;
        continue;
      }
      e.pad_value_[at + h] = nd.threshold;
      e.pad_offset_[at + h] = nd.offset;
      stack.push_back({nd.first, 2 * h + 1, level + 1});
      stack.push_back({nd.first + 1, 2 * h + 2, level + 1});
    }
  }

  /// Appends one tree to e's arrays, breadth first from its root, so that
  /// siblings are adjacent; only nodes reachable from the root are kept.
  void readTree(TreeEnsemble& e, const json& tree, const std::string& where) {
    const json& tp = at(tree, "tree_param", where);
    const std::size_t n = countParam(at(tp, "num_nodes", where + ".tree_param"),
                                     where + ": num_nodes", std::size_t{1} << 24);
    if (n == 0) fail(where + ": num_nodes is 0");
    if (tp.contains("size_leaf_vector") &&
        countParam(tp["size_leaf_vector"], where + ": size_leaf_vector", 1u << 16) != 0) {
      fail(where + ": leaf vectors (multi-target trees) are not supported");
    }
    const json& lc = array(tree, "left_children", n, where);
    const json& rc = array(tree, "right_children", n, where);
    const json& si = array(tree, "split_indices", n, where);
    const json& sc = array(tree, "split_conditions", n, where);
    const json& dl = array(tree, "default_left", n, where);
    const json& sh = array(tree, "sum_hessian", n, where);
    array(tree, "base_weights", n, where);
    if (tree.contains("split_type")) {
      const json& st = array(tree, "split_type", n, where);
      for (std::size_t i = 0; i < n; ++i) {
        if (st[i].get<int>() != 0) {
          fail(where + ": node " + std::to_string(i) +
               " is a categorical split; categorical features are not supported");
        }
      }
    }
    if (tree.contains("categories_nodes") && !tree["categories_nodes"].empty()) {
      fail(where + ": categorical splits are not supported");
    }

    // Old node id -> new index; BFS queue of old ids.
    std::vector<std::uint32_t> index(n, kNoFeature);
    std::vector<std::uint32_t> depth(n, 0);
    std::vector<std::uint32_t> order{0};
    if (e.nodes_.size() + n > std::numeric_limits<std::uint32_t>::max() / 2) {
      fail("too many nodes");
    }
    index[0] = static_cast<std::uint32_t>(e.nodes_.size());
    std::uint32_t max_depth = 0;
    e.nodes_.emplace_back();
    for (std::size_t q = 0; q < order.size(); ++q) {
      const std::uint32_t id = order[q];
      const std::string node = where + ": node " + std::to_string(id);
      const double cover = sh[id].get<double>();
      if (!(cover >= 0.0) || !std::isfinite(cover)) fail(node + ": sum_hessian is not >= 0");
      const double cond = sc[id].get<double>();
      if (!std::isfinite(cond)) fail(node + ": split_conditions is not finite");
      TreeEnsemble::Node& out = e.nodes_[index[id]];
      e.cover_.resize(e.nodes_.size());
      e.cover_[index[id]] = cover;
      const std::int64_t l = lc[id].get<std::int64_t>();
      const std::int64_t r = rc[id].get<std::int64_t>();
      if (l == -1) {
        if (r != -1) fail(node + ": a leaf (left child -1) with a right child");
        out = {static_cast<float>(cond), 0, index[id], 0, 0, 0};
        continue;
      }
      const auto in_range = [n](std::int64_t c) {
        return c > 0 && static_cast<std::uint64_t>(c) < n;
      };
      if (!in_range(l) || !in_range(r) || l == r) {
        fail(node + ": children " + std::to_string(l) + " and " + std::to_string(r) +
             " are not two other nodes of the tree's " + std::to_string(n));
      }
      if (index[l] != kNoFeature || index[r] != kNoFeature) {
        fail(node + ": a child is reached twice (the nodes do not form a tree)");
      }
      if (depth[id] + 1 > TreeEnsemble::kMaxDepth) {
        fail(where + " is deeper than " + std::to_string(TreeEnsemble::kMaxDepth));
      }
      const std::int64_t feature = si[id].get<std::int64_t>();
      if (feature < 0 || static_cast<std::size_t>(feature) >= e.num_features_) {
        fail(node + ": split_indices " + std::to_string(feature) +
             " is not a feature (num_feature " + std::to_string(e.num_features_) + ")");
      }
      const json& d = dl[id];
      const bool default_left = d.is_boolean() ? d.get<bool>() : d.get<std::int64_t>() != 0;
      const auto left = static_cast<std::uint32_t>(e.nodes_.size());
      out = {static_cast<float>(cond),
             static_cast<std::uint32_t>(feature),
             left,
             static_cast<std::uint8_t>(default_left),
             1,
             0};
      index[l] = left;
      index[r] = left + 1;
      depth[l] = depth[r] = depth[id] + 1;
      max_depth = std::max(max_depth, depth[id] + 1);
      e.nodes_.emplace_back();
      e.nodes_.emplace_back();  // `out` is not used past this point
      order.push_back(static_cast<std::uint32_t>(l));
      order.push_back(static_cast<std::uint32_t>(r));
    }
    e.cover_.resize(e.nodes_.size());
    e.tree_depth_.push_back(max_depth);
    e.max_depth_ = std::max<std::size_t>(e.max_depth_, max_depth);

    // The expected value below each node, children before parents (reverse
    // breadth-first order): the cover-weighted mean of its children's, over
    // the node's own cover as XGBoost records it.
    e.mean_.resize(e.nodes_.size());
    for (std::size_t q = order.size(); q-- > 0;) {
      const std::uint32_t i = index[order[q]];
      const TreeEnsemble::Node& nd = e.nodes_[i];
      if (nd.step == 0) {
        e.mean_[i] = nd.threshold;
      } else {
        const std::uint32_t a = nd.left, b = nd.left + 1;
        e.mean_[i] = (e.mean_[a] * e.cover_[a] + e.mean_[b] * e.cover_[b]) / e.cover_[i];
      }
    }
    addScoreTree(e, index[0]);
  }

  /// The tree rooted at nodes_[root] again as ScoreNodes, breadth first,
  /// each node's missing-value child first.
  static void addScoreTree(TreeEnsemble& e, std::uint32_t root) {
    // nodes_ indices in score order: order[q] becomes score_nodes_[base + q].
    std::vector<std::uint32_t> order{root};
    const auto base = static_cast<std::uint32_t>(e.score_nodes_.size());
    e.score_root_.push_back(base);
    e.score_nodes_.emplace_back();
    for (std::size_t q = 0; q < order.size(); ++q) {
      const TreeEnsemble::Node& nd = e.nodes_[order[q]];
      const auto at = static_cast<std::uint32_t>(base + q);
      TreeEnsemble::ScoreNode& out = e.score_nodes_[at];
      if (nd.step == 0) {
        out = {std::numeric_limits<float>::quiet_NaN(), 0, at, nd.threshold};
        continue;
      }
      const auto first = static_cast<std::uint32_t>(e.score_nodes_.size());
      if (nd.default_left) {
        // x >= t is false for x < t and for NaN: both go left, the first.
        out = {nd.threshold, e.slot(nd.feature, false) * kBlockRows32, first, 0.0f};
        order.push_back(nd.left);
        order.push_back(nd.left + 1);
      } else {
        // Right first, for NaN. x < t is x <= (the float below t), which is
        // -x >= -(the float below t), false for NaN and true to go left.
        const float below = std::nextafter(nd.threshold, -std::numeric_limits<float>::infinity());
        out = {-below, e.slot(nd.feature, true) * kBlockRows32, first, 0.0f};
        order.push_back(nd.left + 1);
        order.push_back(nd.left);
      }
      e.score_nodes_.emplace_back();
      e.score_nodes_.emplace_back();
    }
  }

  std::string name_;
};

std::uint32_t TreeEnsemble::slot(std::uint32_t feature, bool negated) {
  const std::size_t key = 2 * feature + (negated ? 1 : 0);
  if (slot_of_.size() <= key) slot_of_.resize(2 * num_features_, kNoFeature);
  if (slot_of_[key] == kNoFeature) {
    slot_of_[key] = static_cast<std::uint32_t>(slot_column_.size());
    slot_column_.push_back(feature);
    slot_negated_.push_back(negated ? 1 : 0);
  }
  return slot_of_[key];
}

TreeEnsemble TreeEnsemble::fromJson(std::string_view text, const std::string& name) {
  return TreeEnsembleBuilder(name).build(text);
}

TreeEnsemble TreeEnsemble::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TreeEnsembleError("XGBoost model " + file.string() + ": cannot open it");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    throw TreeEnsembleError("XGBoost model " + file.string() + ": cannot read it");
  }
  return fromJson(text, file.string());
}

namespace {

/// The SIMD kernels this CPU runs; checked once.
struct CpuKernels {
  bool avx2 = false;
  bool avx512 = false;
};

const CpuKernels& cpuKernels() noexcept {
#if defined(__x86_64__)
  static const CpuKernels has = [] {
    __builtin_cpu_init();
    return CpuKernels{__builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("avx512f") != 0};
  }();
#else
  static const CpuKernels has;  // the SIMD kernels are built for x86-64 only
#endif
  return has;
}

bool cpuRuns(TreeEnsemble::Kernel k) noexcept {
  switch (k) {
    case TreeEnsemble::Kernel::kAvx512:
      return cpuKernels().avx512;
    case TreeEnsemble::Kernel::kAvx2:
      return cpuKernels().avx2;
    default:
      return true;
  }
}

/// The thread's block of rows, column-major, holding only the columns (or
/// negated columns) some split reads. Grows once per thread to the widest
/// model it scores.
float* threadBlock(std::size_t floats) {
  thread_local std::vector<float> block;
  if (block.size() < floats) block.resize(floats);
  return block.data();
}

}  // namespace

TreeEnsemble::Kernel TreeEnsemble::kernel() const noexcept {
  // The widest this CPU runs, for a model the SIMD kernels take.
  if (pad_at_.empty()) return Kernel::kScalar;
  if (cpuKernels().avx512) return Kernel::kAvx512;
  return cpuKernels().avx2 ? Kernel::kAvx2 : Kernel::kScalar;
}

const char* TreeEnsemble::kernelName(Kernel k) noexcept {
  switch (k) {
    case Kernel::kAvx512:
      return "avx512";
    case Kernel::kAvx2:
      return "avx2";
    default:
      return "scalar";
  }
}

void TreeEnsemble::margins(const float* rows, std::size_t n_rows, float* out) const noexcept {
  margins(rows, n_rows, out, kernel());
}

void TreeEnsemble::margins(const float* rows, std::size_t n_rows, float* out,
                           Kernel k) const noexcept {
  if (pad_at_.empty() || !cpuRuns(k)) k = Kernel::kScalar;
  switch (k) {
    case Kernel::kAvx512:
      marginsAvx512(rows, n_rows, out);
      break;
    case Kernel::kAvx2:
      marginsAvx2(rows, n_rows, out);
      break;
    default:
      marginsScalar(rows, n_rows, out);
      break;
  }
}

void TreeEnsemble::fillBlock(const float* rows, std::size_t b, std::size_t nb,
                             float* xt) const noexcept {
  const std::size_t cols = num_features_;
  const std::size_t slots = slot_column_.size();
  // Lanes past the last row read what an earlier block left (any float
  // leads to some leaf) and are not written out.
  for (std::size_t r = 0; r < nb; ++r) {
    const float* x = rows + (b + r) * cols;
    for (std::size_t k = 0; k < slots; ++k) {
      const float v = x[slot_column_[k]];
      xt[k * kBlockRows + r] = slot_negated_[k] ? -v : v;
    }
  }
}

void TreeEnsemble::marginsScalar(const float* rows, std::size_t n_rows, float* out) const noexcept {
  const std::size_t g = num_groups_;
  const ScoreNode* nodes = score_nodes_.data();
  float* xt = threadBlock(slot_column_.size() * kBlockRows);
  for (std::size_t b = 0; b < n_rows; b += kBlockRows) {
    const std::size_t nb = std::min(kBlockRows, n_rows - b);
    fillBlock(rows, b, nb, xt);
    float* o = out + b * g;
    std::fill(o, o + nb * g, base_margin_);
    for (std::size_t t = 0; t < score_root_.size(); ++t) {
      const std::uint32_t root = score_root_[t];
      const std::uint32_t depth = tree_depth_[t];
      const std::uint32_t group = tree_group_[t];
      for (std::size_t r0 = 0; r0 < nb; r0 += kLanes) {
        const float* x = xt + r0;
        std::uint32_t at[kLanes];
        for (std::size_t l = 0; l < kLanes; ++l) at[l] = root;
        // Every lane steps until the tree's depth, or until no lane moved
        // (all at leaves: rows often take the same short path); one at a
        // leaf stays there. The lanes are independent chains of loads,
        // which the core runs side by side.
        for (std::uint32_t d = 0; d < depth; ++d) {
          std::uint32_t moved = 0;
          for (std::size_t l = 0; l < kLanes; ++l) {
            const ScoreNode& nd = nodes[at[l]];
            const std::uint32_t next =
                nd.first + static_cast<std::uint32_t>(x[nd.offset + l] >= nd.threshold);
            moved |= next ^ at[l];
            at[l] = next;
          }
          if (moved == 0) break;
        }
        const std::size_t lanes = std::min(kLanes, nb - r0);
        // Trees in order onto each margin, in float, as XGBoost sums them.
        for (std::size_t l = 0; l < lanes; ++l) o[(r0 + l) * g + group] += nodes[at[l]].leaf;
      }
    }
  }
}

#if defined(__x86_64__)
namespace {

/// One tree of depth D (padded, see TreeEnsemble::pad_value_) for the 32
/// rows of a block, onto acc (32 margins of the tree's group). Every node's
/// comparison x >= threshold for all 32 rows gives one bit per row; the bit
/// of each level along each row's own path is picked out of the level's
/// nodes with bitwise selects (no per-row branching or gathers), and the
/// path's bits are the leaf's index.
template <int D>
__attribute__((target("avx512f"))) inline void padTree(const float* value,
                                                       const std::uint32_t* offset, const float* xt,
                                                       float* acc) noexcept {
  constexpr int kInner = (1 << D) - 1;
  std::uint32_t m[kInner];
  for (int i = 0; i < kInner; ++i) {
    const __m512 t = _mm512_set1_ps(value[i]);
    const float* x = xt + offset[i];
    // x >= t, false for NaN on either side: as the scalar first + (x >= t).
    const auto lo =
        static_cast<std::uint32_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(x), t, _CMP_GE_OQ));
    const auto hi =
        static_cast<std::uint32_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(x + 16), t, _CMP_GE_OQ));
    m[i] = lo | (hi << 16);
  }
  // bit[d]: per row, the step taken at level d (1 = the second child).
  std::uint32_t bit[D];
  bit[0] = m[0];
  for (int d = 1; d < D; ++d) {
    // The level's nodes, numbered by the path bits above them (bit[0]
    // highest); fold pairs by the lowest bit first.
    std::uint32_t v[1 << (D - 1)];
    for (int j = 0; j < (1 << d); ++j) v[j] = m[(1 << d) - 1 + j];
    for (int k = d - 1; k >= 0; --k) {
      const int half = 1 << k;
      for (int j = 0; j < half; ++j) v[j] = v[2 * j] ^ ((v[2 * j] ^ v[2 * j + 1]) & bit[k]);
    }
    bit[d] = v[0];
  }
  const float* leaves = value + kInner;
  for (int h = 0; h < 2; ++h) {
    __m512i idx = _mm512_setzero_si512();
    for (int d = 0; d < D; ++d) {
      const auto k = static_cast<__mmask16>(bit[d] >> (16 * h));
      idx = _mm512_mask_add_epi32(idx, k, idx, _mm512_set1_epi32(1 << (D - 1 - d)));
    }
    __m512 leaf;
    if constexpr (D <= 4) {
      // The masked form with every lane set: the plain one trips GCC 12's
      // -Wmaybe-uninitialized on its undefined pass-through operand.
      leaf = _mm512_mask_permutexvar_ps(_mm512_setzero_ps(), static_cast<__mmask16>(0xffff), idx,
                                        _mm512_loadu_ps(leaves));
    } else {
      leaf = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), idx, _mm512_loadu_ps(leaves + 16));
    }
    // Trees in order onto each margin, in float, as XGBoost sums them.
    float* a = acc + 16 * h;
    _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), leaf));
  }
}

}  // namespace

__attribute__((target("avx512f"))) void TreeEnsemble::marginsAvx512(const float* rows,
                                                                    std::size_t n_rows,
                                                                    float* out) const noexcept {
  static_assert(kBlockRows == 32 && kMaxSimdDepth <= 5);
  const std::size_t g = num_groups_;
  float* xt = threadBlock(slot_column_.size() * kBlockRows + kBlockRows * (g + 1));
  // Per group, the block's 32 margins, column-major, after the rows.
  float* acc = xt + slot_column_.size() * kBlockRows;
  const float* value = pad_value_.data();
  const std::uint32_t* offset = pad_offset_.data();
  for (std::size_t b = 0; b < n_rows; b += kBlockRows) {
    const std::size_t nb = std::min(kBlockRows, n_rows - b);
    fillBlock(rows, b, nb, xt);
    std::fill(acc, acc + g * kBlockRows, base_margin_);
    for (std::size_t t = 0; t < pad_at_.size(); ++t) {
      const std::uint32_t at = pad_at_[t];
      float* a = acc + tree_group_[t] * kBlockRows;
      switch (tree_depth_[t]) {
        case 0:
          for (std::size_t r = 0; r < kBlockRows; ++r) a[r] += value[at];
          break;
        case 1:
          padTree<1>(value + at, offset + at, xt, a);
          break;
        case 2:
          padTree<2>(value + at, offset + at, xt, a);
          break;
        case 3:
          padTree<3>(value + at, offset + at, xt, a);
          break;
        case 4:
          padTree<4>(value + at, offset + at, xt, a);
          break;
        default:
          padTree<5>(value + at, offset + at, xt, a);
          break;
      }
    }
    float* o = out + b * g;
    for (std::size_t r = 0; r < nb; ++r) {
      for (std::size_t k = 0; k < g; ++k) o[r * g + k] = acc[k * kBlockRows + r];
    }
  }
}

namespace {

/// Where the AVX2 kernel keeps row r of a block among its 32 comparison bits
/// and margins. Packing the four compares of a node (8 rows each) into one
/// movemask interleaves 4-row chunks within 128-bit lanes: bit p holds row
/// 8 * (p bits 2-3) + 4 * (p bit 4) + (p bits 0-1). The kernel works in that
/// order throughout and reorders only when it writes the margins out.
constexpr std::size_t avx2Position(std::size_t r) noexcept {
  return (r & 3) | ((r >> 3) & 3) << 2 | ((r >> 2) & 1) << 4;
}

/// padTree() for AVX2: the same comparison bits and bitwise selects, 8 rows
/// per vector. Leaves: the last three levels' bits index a permute of 8
/// leaves, the levels above pick among those permutes with blends.
template <int D>
__attribute__((target("avx2"))) inline void padTreeAvx2(const float* value,
                                                        const std::uint32_t* offset,
                                                        const float* xt, float* acc) noexcept {
  constexpr int kInner = (1 << D) - 1;
  std::uint32_t m[kInner];
  for (int i = 0; i < kInner; ++i) {
    const __m256 t = _mm256_set1_ps(value[i]);
    const float* x = xt + offset[i];
    // x >= t, false for NaN on either side: as the scalar first + (x >= t).
    // (A lambda here would not be compiled for AVX2.)
    __m256i ge[4];
    for (int q = 0; q < 4; ++q) {
      ge[q] = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(x + 8 * q), t, _CMP_GE_OQ));
    }
    // All-ones or zero lanes saturate to all-ones or zero bytes.
    const __m256i bytes =
        _mm256_packs_epi16(_mm256_packs_epi32(ge[0], ge[1]), _mm256_packs_epi32(ge[2], ge[3]));
    m[i] = static_cast<std::uint32_t>(_mm256_movemask_epi8(bytes));
  }
  // bit[d]: per row (in avx2Position order), the step taken at level d.
  std::uint32_t bit[D];
  bit[0] = m[0];
  for (int d = 1; d < D; ++d) {
    std::uint32_t v[1 << (D - 1)];
    for (int j = 0; j < (1 << d); ++j) v[j] = m[(1 << d) - 1 + j];
    for (int k = d - 1; k >= 0; --k) {
      const int half = 1 << k;
      for (int j = 0; j < half; ++j) v[j] = v[2 * j] ^ ((v[2 * j] ^ v[2 * j + 1]) & bit[k]);
    }
    bit[d] = v[0];
  }
  constexpr int kTop = D > 3 ? D - 3 : 0;  // levels resolved by blends
  constexpr int kVectors = 1 << kTop;      // of 8 leaves
  const float* leaves = value + kInner;
  __m256 leaf8[kVectors];
  for (int j = 0; j < kVectors; ++j) leaf8[j] = _mm256_loadu_ps(leaves + 8 * j);
  __m256i all[D];
  for (int d = 0; d < D; ++d) all[d] = _mm256_set1_epi32(static_cast<int>(bit[d]));
  for (int h = 0; h < 4; ++h) {
    // Shifts that bring bit 8h + j of a level's word to the sign bit of lane j.
    const __m256i up =
        _mm256_sub_epi32(_mm256_set1_epi32(31 - 8 * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i idx = _mm256_setzero_si256();
    for (int d = kTop; d < D; ++d) {
      // The row's bit alone (the shift left leaves lower bits behind it),
      // then in its place in the leaf index.
      const __m256i b = _mm256_srli_epi32(_mm256_sllv_epi32(all[d], up), 31);
      idx = _mm256_or_si256(idx, _mm256_slli_epi32(b, D - 1 - d));
    }
    __m256 v[kVectors];
    for (int j = 0; j < kVectors; ++j) v[j] = _mm256_permutevar8x32_ps(leaf8[j], idx);
    // Fold pairs by the lowest of the top levels first, as the selects above.
    for (int d = kTop - 1; d >= 0; --d) {
      const __m256 pick = _mm256_castsi256_ps(_mm256_sllv_epi32(all[d], up));
      const int half = 1 << d;
      for (int j = 0; j < half; ++j) v[j] = _mm256_blendv_ps(v[2 * j], v[2 * j + 1], pick);
    }
    // Trees in order onto each margin, in float, as XGBoost sums them.
    float* a = acc + 8 * h;
    _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), v[0]));
  }
}

}  // namespace

__attribute__((target("avx2"))) void TreeEnsemble::marginsAvx2(const float* rows,
                                                               std::size_t n_rows,
                                                               float* out) const noexcept {
  static_assert(kBlockRows == 32 && kMaxSimdDepth <= 5);
  const std::size_t g = num_groups_;
  float* xt = threadBlock(slot_column_.size() * kBlockRows + kBlockRows * (g + 1));
  // Per group, the block's 32 margins in avx2Position order, after the rows.
  float* acc = xt + slot_column_.size() * kBlockRows;
  const float* value = pad_value_.data();
  const std::uint32_t* offset = pad_offset_.data();
  for (std::size_t b = 0; b < n_rows; b += kBlockRows) {
    const std::size_t nb = std::min(kBlockRows, n_rows - b);
    fillBlock(rows, b, nb, xt);
    std::fill(acc, acc + g * kBlockRows, base_margin_);
    for (std::size_t t = 0; t < pad_at_.size(); ++t) {
      const std::uint32_t at = pad_at_[t];
      float* a = acc + tree_group_[t] * kBlockRows;
      switch (tree_depth_[t]) {
        case 0:
          for (std::size_t r = 0; r < kBlockRows; ++r) a[r] += value[at];
          break;
        case 1:
          padTreeAvx2<1>(value + at, offset + at, xt, a);
          break;
        case 2:
          padTreeAvx2<2>(value + at, offset + at, xt, a);
          break;
        case 3:
          padTreeAvx2<3>(value + at, offset + at, xt, a);
          break;
        case 4:
          padTreeAvx2<4>(value + at, offset + at, xt, a);
          break;
        default:
          padTreeAvx2<5>(value + at, offset + at, xt, a);
          break;
      }
    }
    float* o = out + b * g;
    for (std::size_t r = 0; r < nb; ++r) {
      for (std::size_t k = 0; k < g; ++k) o[r * g + k] = acc[k * kBlockRows + avx2Position(r)];
    }
  }
}
#else
void TreeEnsemble::marginsAvx512(const float* rows, std::size_t n_rows, float* out) const noexcept {
  marginsScalar(rows, n_rows, out);  // never chosen: cpuKernels() has none
}
void TreeEnsemble::marginsAvx2(const float* rows, std::size_t n_rows, float* out) const noexcept {
  marginsScalar(rows, n_rows, out);  // never chosen: cpuKernels() has none
}
#endif

void TreeEnsemble::predict(const float* rows, std::size_t n_rows, float* out) const noexcept {
  margins(rows, n_rows, out);
  if (binary_) {
    for (std::size_t i = 0; i < n_rows; ++i) out[i] = 1.0f / (1.0f + std::exp(-out[i]));
    return;
  }
  // Softmax as XGBoost computes it: exponents in float after taking off the
  // largest margin, their sum in double.
  const std::size_t g = num_groups_;
  for (std::size_t i = 0; i < n_rows; ++i) {
    float* m = out + i * g;
    const float top = *std::max_element(m, m + g);
    double sum = 0;
    for (std::size_t k = 0; k < g; ++k) {
      m[k] = std::exp(m[k] - top);
      sum += m[k];
    }
    const auto s = static_cast<float>(sum);
    for (std::size_t k = 0; k < g; ++k) m[k] /= s;
  }
}

// TreeSHAP: Lundberg & Lee 2018, "Consistent individualized feature
// attribution for tree ensembles", Algorithm 2 (also Lundberg, Erion, Lee et
// al., Nature Machine Intelligence 2020). A path holds, for each distinct
// feature split on from the root to the current node, the fraction of
// training cover that follows this path when the feature is unknown (zero)
// and whether the row's value follows it (one), plus the weights of every
// subset size of the features on the path (the Shapley permutation weights),
// which extend() and unwind() update as features join and leave.

namespace {

using PathElement = ShapScratch::PathElement;

/// Appends a feature with fractions (zero, one) to a path of `len` elements.
void extend(PathElement* path, std::size_t len, double zero, double one, std::uint32_t feature) {
  path[len] = {zero, one, len == 0 ? 1.0 : 0.0, feature};
  const auto n = static_cast<double>(len + 1);
  for (std::size_t i = len; i-- > 0;) {
    path[i + 1].weight += one * path[i].weight * static_cast<double>(i + 1) / n;
    path[i].weight = zero * path[i].weight * static_cast<double>(len - i) / n;
  }
}

/// Undoes extend() for element `k` of a path of `len` elements (len - 1 left).
void unwind(PathElement* path, std::size_t len, std::size_t k) {
  const std::size_t last = len - 1;
  const double one = path[k].one, zero = path[k].zero;
  const auto n = static_cast<double>(len);
  double carry = path[last].weight;
  for (std::size_t j = last; j-- > 0;) {
    if (one != 0) {
      const double w = path[j].weight;
      path[j].weight = carry * n / (static_cast<double>(j + 1) * one);
      carry = w - path[j].weight * zero * static_cast<double>(last - j) / n;
    } else {
      path[j].weight = path[j].weight * n / (zero * static_cast<double>(last - j));
    }
  }
  for (std::size_t j = k; j < last; ++j) {
    path[j].zero = path[j + 1].zero;
    path[j].one = path[j + 1].one;
    path[j].feature = path[j + 1].feature;
  }
}

/// The total weight the path would have without element `k` (the sum of
/// unwind(k)'s weights), leaving the path as it is.
double unwoundSum(const PathElement* path, std::size_t len, std::size_t k) {
  const std::size_t last = len - 1;
  const double one = path[k].one, zero = path[k].zero;
  const auto n = static_cast<double>(len);
  double carry = path[last].weight;
  double total = 0;
  for (std::size_t j = last; j-- > 0;) {
    if (one != 0) {
      const double w = carry * n / (static_cast<double>(j + 1) * one);
      total += w;
      carry = path[j].weight - w * zero * static_cast<double>(last - j) / n;
    } else if (zero != 0) {
      total += path[j].weight * n / (zero * static_cast<double>(last - j));
    }
  }
  return total;
}

}  // namespace

ShapScratch::ShapScratch(const TreeEnsemble& ensemble) {
  ensemble.fit(*this);
}

std::size_t TreeEnsemble::shapPathSize() const noexcept {
  // Each level of the recursion copies its parent's path (at most d + 1
  // elements at depth d) just past it: at most (D + 1)(D + 2) / 2 in all.
  return (max_depth_ + 1) * (max_depth_ + 2) / 2;
}

void TreeEnsemble::fit(ShapScratch& s) const {
  if (s.path_.size() < shapPathSize()) s.path_.resize(shapPathSize());
  if (s.phi_.size() < num_features_ + 1) s.phi_.resize(num_features_ + 1);
}

void TreeEnsemble::shapRecurse(const float* row, std::uint32_t node, PathElement* parent,
                               std::size_t parent_len, double zero, double one,
                               std::uint32_t feature, ShapScratch& s) const noexcept {
  PathElement* path = parent + parent_len;
  std::copy(parent, parent + parent_len, path);
  extend(path, parent_len, zero, one, feature);
  std::size_t len = parent_len + 1;

  const Node& nd = nodes_[node];
  if (nd.step == 0) {
    for (std::size_t i = 1; i < len; ++i) {
      const double w = unwoundSum(path, len, i);
      s.phi_[path[i].feature] += w * (path[i].one - path[i].zero) * nd.threshold;
    }
    return;
  }
  const float x = row[nd.feature];
  const bool left = (x < nd.threshold) | (std::isnan(x) & (nd.default_left != 0));
  const std::uint32_t hot = left ? nd.left : nd.left + 1;
  const std::uint32_t cold = left ? nd.left + 1 : nd.left;

  // A feature split on again higher up leaves the path and comes back with
  // the fractions of both splits combined.
  double in_zero = 1, in_one = 1;
  for (std::size_t k = 1; k < len; ++k) {
    if (path[k].feature == nd.feature) {
      in_zero = path[k].zero;
      in_one = path[k].one;
      unwind(path, len, k);
      --len;
      break;
    }
  }
  const double cover = cover_[node];
  shapRecurse(row, hot, path, len, in_zero * cover_[hot] / cover, in_one, nd.feature, s);
  shapRecurse(row, cold, path, len, in_zero * cover_[cold] / cover, 0.0, nd.feature, s);
}

void TreeEnsemble::shapTree(const float* row, std::uint32_t root, ShapScratch& s) const noexcept {
  shapRecurse(row, root, s.path_.data(), 0, 1.0, 1.0, kNoFeature, s);
}

void TreeEnsemble::contributions(const float* row, std::size_t group, float* out,
                                 ShapScratch& scratch) const {
  fit(scratch);
  std::fill(scratch.phi_.begin(), scratch.phi_.end(), 0.0);
  for (const std::uint32_t t : group_trees_[group]) shapTree(row, tree_root_[t], scratch);
  for (std::size_t c = 0; c < num_features_; ++c) out[c] = static_cast<float>(scratch.phi_[c]);
  out[num_features_] = static_cast<float>(group_bias_[group]);
}

void TreeEnsemble::contributions(const float* row, std::size_t group, float* out) const {
  thread_local ShapScratch scratch;
  contributions(row, group, out, scratch);
}

}  // namespace edgesense::model
