// Model: the isolation forest behind the anomaly head. Trained offline (or by
// a test) on benign flows; inference workers score every flow with it.

#include "model/isolation_forest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace edgesense::model {

namespace {

constexpr double kEulerGamma = 0.5772156649;
constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr std::size_t kMaxDepthLimit = 64;

/// splitmix64 (Steele, Lea and Flood, 2014): seeds xoshiro from one word.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

/// xoshiro256** (Blackman and Vigna, 2018).
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) noexcept {
    SplitMix64 sm{seed};
    for (std::uint64_t& w : s_) w = sm.next();
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n) noexcept {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }
  /// Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// Infinities count as the largest finite floats.
float clampFinite(float x) noexcept {
  return std::clamp(x, -kFloatMax, kFloatMax);
}

/// The one split rule of training and scoring: NaN goes left, and so does
/// anything below the split point.
bool goesLeft(float x, float split) noexcept {
  return std::isnan(x) || clampFinite(x) < split;
}

std::size_t depthFor(std::size_t psi) noexcept {
  std::size_t d = 0;
  while ((std::size_t{1} << d) < psi) ++d;  // ceil(log2 psi)
  return d;
}

/// Grows one tree over a sample of rows (row-major, `n_cols` floats each).
class TreeBuilder {
 public:
  struct Node {
    std::int32_t feature = -1;
    float split = 0;
    std::uint32_t left = 0;
    std::uint32_t size = 0;
  };

  TreeBuilder(const std::vector<float>& sample, std::size_t n_cols, std::size_t max_depth,
              Xoshiro256& rng)
      : sample_(sample), n_cols_(n_cols), max_depth_(max_depth), rng_(rng) {}

  std::vector<Node> build(std::size_t n_rows) {
    rows_.resize(n_rows);
    for (std::size_t i = 0; i < n_rows; ++i) rows_[i] = static_cast<std::uint32_t>(i);
    nodes_.assign(1, Node{});
    grow(0, 0, n_rows, 0);
    return std::move(nodes_);
  }

 private:
  struct Candidate {
    std::size_t column;
    float lo, hi;  // range of the non-NaN values, clamped to finite
    bool has_nan, has_number;
  };

  float value(std::uint32_t row, std::size_t column) const {
    return sample_[static_cast<std::size_t>(row) * n_cols_ + column];
  }

  void grow(std::size_t node, std::size_t begin, std::size_t end, std::size_t depth) {
    nodes_[node].size = static_cast<std::uint32_t>(end - begin);
    if (depth >= max_depth_ || end - begin <= 1) return;

    candidates_.clear();
    for (std::size_t c = 0; c < n_cols_; ++c) {
      Candidate k{c, kFloatMax, -kFloatMax, false, false};
      for (std::size_t i = begin; i < end; ++i) {
        const float x = value(rows_[i], c);
        if (std::isnan(x)) {
          k.has_nan = true;
        } else {
          const float f = clampFinite(x);
          k.lo = std::min(k.lo, f);
          k.hi = std::max(k.hi, f);
          k.has_number = true;
        }
      }
      if ((k.has_number && k.lo < k.hi) || (k.has_nan && k.has_number)) candidates_.push_back(k);
    }
    if (candidates_.empty()) return;  // every column constant here: a leaf

    const Candidate k = candidates_[rng_.below(candidates_.size())];
    float split = k.lo;  // lo == hi: NaN goes left, the number right
    if (k.lo < k.hi) {
      const double lo = k.lo, hi = k.hi;
      split = static_cast<float>(lo + rng_.uniform() * (hi - lo));
      // At least the smallest value goes left (rounding may land on lo).
      if (split <= k.lo) split = std::nextafter(k.lo, kFloatMax);
    }

    // Partition rows_[begin, end): left ones first.
    std::size_t mid = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (goesLeft(value(rows_[i], k.column), split)) std::swap(rows_[i], rows_[mid++]);
    }

    const std::size_t left = nodes_.size();
    nodes_.resize(left + 2);
    nodes_[node].feature = static_cast<std::int32_t>(k.column);
    nodes_[node].split = split;
    nodes_[node].left = static_cast<std::uint32_t>(left);
    grow(left, begin, mid, depth + 1);
    grow(left + 1, mid, end, depth + 1);
  }

  const std::vector<float>& sample_;
  std::size_t n_cols_;
  std::size_t max_depth_;
  Xoshiro256& rng_;
  std::vector<std::uint32_t> rows_;
  std::vector<Node> nodes_;
  std::vector<Candidate> candidates_;
};

[[noreturn]] void bad(const std::string& why) {
  throw std::runtime_error("isolation forest JSON: " + why);
}

}  // namespace

double averagePathLength(std::size_t n) noexcept {
  if (n <= 1) return 0.0;
  if (n == 2) return 1.0;
  const double m = static_cast<double>(n - 1);
  return 2.0 * (std::log(m) + kEulerGamma) - 2.0 * m / static_cast<double>(n);
}

IsolationForest IsolationForest::train(std::span<const double> rows, std::size_t n_cols,
                                       const IsolationForestParams& params) {
  std::vector<float> f(rows.size());
  std::transform(rows.begin(), rows.end(), f.begin(),
                 [](double v) { return static_cast<float>(v); });
  return train(std::span<const float>(f), n_cols, params);
}

IsolationForest IsolationForest::train(std::span<const float> rows, std::size_t n_cols,
                                       const IsolationForestParams& params) {
  if (n_cols == 0 || rows.size() % n_cols != 0) {
    throw std::invalid_argument("isolation forest: the rows are not a matrix of " +
                                std::to_string(n_cols) + " columns");
  }
  const std::size_t n_rows = rows.size() / n_cols;
  if (n_rows < 2) throw std::invalid_argument("isolation forest: needs at least two rows");
  if (n_rows > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("isolation forest: too many rows");
  }
  if (params.n_trees == 0) throw std::invalid_argument("isolation forest: needs a tree");
  if (params.sample_size < 2) throw std::invalid_argument("isolation forest: psi must be >= 2");

  IsolationForest forest;
  forest.params_ = params;
  forest.n_features_ = n_cols;
  forest.sample_size_ = std::min(params.sample_size, n_rows);
  forest.max_depth_ = depthFor(forest.sample_size_);
  const std::size_t psi = forest.sample_size_;

  std::vector<std::uint32_t> perm(n_rows);
  std::vector<float> sample(psi * n_cols);
  for (std::size_t t = 0; t < params.n_trees; ++t) {
    // Each tree has its own stream, so a tree depends only on (seed, t).
    Xoshiro256 rng(params.seed ^ (0xd1b54a32d192ed03ULL * (t + 1)));
    for (std::size_t i = 0; i < n_rows; ++i) perm[i] = static_cast<std::uint32_t>(i);
    for (std::size_t i = 0; i < psi; ++i) {  // partial Fisher-Yates: psi rows, no repeats
      const std::size_t j = i + static_cast<std::size_t>(rng.below(n_rows - i));
      std::swap(perm[i], perm[j]);
      std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>(perm[i] * n_cols), n_cols,
                  sample.begin() + static_cast<std::ptrdiff_t>(i * n_cols));
    }
    TreeBuilder builder(sample, n_cols, forest.max_depth_, rng);
    const auto tree = builder.build(psi);
    const auto base = static_cast<std::uint32_t>(forest.nodes_.size());
    forest.roots_.push_back(base);
    for (const TreeBuilder::Node& n : tree) {
      Node node;
      node.feature = n.feature;
      node.split = n.split;
      node.left = n.feature < 0 ? 0 : base + n.left;
      node.size = n.size;
      forest.nodes_.push_back(node);
    }
  }
  forest.fillPaths();
  return forest;
}

void IsolationForest::fillPaths() {
  struct Item {
    std::uint32_t node;
    std::size_t depth;
  };
  std::vector<Item> stack;
  for (const std::uint32_t root : roots_) {
    stack.push_back({root, 0});
    while (!stack.empty()) {
      const Item it = stack.back();
      stack.pop_back();
      Node& n = nodes_[it.node];
      if (n.feature < 0) {
        n.path = static_cast<double>(it.depth) + averagePathLength(n.size);
      } else {
        stack.push_back({n.left, it.depth + 1});
        stack.push_back({n.left + 1, it.depth + 1});
      }
    }
  }
}

double IsolationForest::meanPathLength(std::span<const float> row) const {
  if (row.size() != n_features_) {
    throw std::invalid_argument("isolation forest takes " + std::to_string(n_features_) +
                                " values, not " + std::to_string(row.size()));
  }
  double total = 0;
  for (const std::uint32_t root : roots_) {
    const Node* n = &nodes_[root];
    while (n->feature >= 0) {
      const bool left = goesLeft(row[static_cast<std::size_t>(n->feature)], n->split);
      n = &nodes_[left ? n->left : n->left + 1];
    }
    total += n->path;
  }
  return total / static_cast<double>(roots_.size());
}

double IsolationForest::score(std::span<const float> row) const {
  return std::exp2(-meanPathLength(row) / averagePathLength(sample_size_));
}

void IsolationForest::score(const float* rows, std::size_t n_rows, float* out) const {
  for (std::size_t i = 0; i < n_rows; ++i) {
    out[i] = static_cast<float>(score(std::span<const float>(rows + i * n_features_, n_features_)));
  }
}

std::string IsolationForest::toJson() const {
  using nlohmann::json;
  json trees = json::array();
  for (std::size_t t = 0; t < roots_.size(); ++t) {
    const std::uint32_t begin = roots_[t];
    const std::size_t end = t + 1 < roots_.size() ? roots_[t + 1] : nodes_.size();
    json feature = json::array(), split = json::array(), left = json::array(), size = json::array();
    for (std::size_t i = begin; i < end; ++i) {
      const Node& n = nodes_[i];
      feature.push_back(n.feature);
      split.push_back(static_cast<double>(n.split));
      left.push_back(n.feature < 0 ? 0 : n.left - begin);
      size.push_back(n.size);
    }
    trees.push_back(json{{"feature", feature}, {"split", split}, {"left", left}, {"size", size}});
  }
  const json j = {
      {"format", 1},
      {"kind", "isolation_forest"},
      {"n_features", n_features_},
      {"sample_size", sample_size_},
      {"max_depth", max_depth_},
      {"params",
       {{"n_trees", params_.n_trees},
        {"sample_size", params_.sample_size},
        {"seed", params_.seed}}},
      {"trees", trees},
  };
  return j.dump();
}

IsolationForest IsolationForest::fromJson(std::string_view text) {
  using nlohmann::json;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    bad(e.what());
  }
  const auto count = [&](const json& obj, const char* key) -> std::uint64_t {
    if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number_unsigned()) {
      bad(std::string("\"") + key + "\" must be a non-negative integer");
    }
    return obj[key].get<std::uint64_t>();
  };
  if (!j.is_object()) bad("not an object");
  if (count(j, "format") != 1) bad("format " + j["format"].dump() + " is not supported");
  if (j.value("kind", "") != "isolation_forest") bad("\"kind\" is not \"isolation_forest\"");

  IsolationForest forest;
  forest.n_features_ = count(j, "n_features");
  forest.sample_size_ = count(j, "sample_size");
  forest.max_depth_ = count(j, "max_depth");
  if (forest.n_features_ == 0) bad("n_features is 0");
  if (forest.sample_size_ < 2) bad("sample_size is below 2");
  if (forest.max_depth_ > kMaxDepthLimit) bad("max_depth is over 64");
  if (!j.contains("params")) bad("\"params\" is missing");
  forest.params_.n_trees = count(j["params"], "n_trees");
  forest.params_.sample_size = count(j["params"], "sample_size");
  forest.params_.seed = count(j["params"], "seed");

  if (!j.contains("trees") || !j["trees"].is_array() || j["trees"].empty()) {
    bad("\"trees\" must be a non-empty array");
  }
  for (std::size_t t = 0; t < j["trees"].size(); ++t) {
    const json& tree = j["trees"][t];
    const std::string where = "trees[" + std::to_string(t) + "]";
    const auto column = [&](const char* key) -> const json& {
      if (!tree.is_object() || !tree.contains(key) || !tree[key].is_array()) {
        bad(where + "." + key + " must be an array");
      }
      return tree[key];
    };
    const json &feature = column("feature"), &split = column("split"), &left = column("left"),
               &size = column("size");
    const std::size_t n = feature.size();
    if (n == 0 || split.size() != n || left.size() != n || size.size() != n) {
      bad(where + ": feature, split, left and size must have the same non-zero length");
    }
    const auto base = static_cast<std::uint32_t>(forest.nodes_.size());
    forest.roots_.push_back(base);
    std::vector<std::uint8_t> parents(n, 0);
    std::vector<std::size_t> depth(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string at = where + " node " + std::to_string(i);
      if (!feature[i].is_number_integer() || !split[i].is_number() ||
          !left[i].is_number_unsigned() || !size[i].is_number_unsigned()) {
        bad(at + ": wrong value types");
      }
      Node node;
      const auto f = feature[i].get<std::int64_t>();
      node.size = size[i].get<std::uint32_t>();
      if (f >= 0) {
        if (static_cast<std::uint64_t>(f) >= forest.n_features_) bad(at + ": no such feature");
        const double s = split[i].get<double>();
        if (!std::isfinite(s)) bad(at + ": split is not finite");
        const auto l = left[i].get<std::uint64_t>();
        // Children come after their parent: no cycles, every node reachable once.
        if (l <= i || l + 1 >= n) bad(at + ": children out of range");
        if (++parents[l] > 1 || ++parents[l + 1] > 1) bad(at + ": a node has two parents");
        depth[l] = depth[l + 1] = depth[i] + 1;
        if (depth[l] > kMaxDepthLimit) bad(at + ": too deep");
        node.feature = static_cast<std::int32_t>(f);
        node.split = static_cast<float>(s);
        node.left = base + static_cast<std::uint32_t>(l);
      } else if (f != -1) {
        bad(at + ": feature must be -1 (leaf) or a column");
      }
      forest.nodes_.push_back(node);
    }
    for (std::size_t i = 1; i < n; ++i) {
      if (parents[i] != 1) bad(where + " node " + std::to_string(i) + " has no parent");
    }
  }
  forest.fillPaths();
  return forest;
}

}  // namespace edgesense::model
