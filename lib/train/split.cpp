// Training: the split of labelled rows into train, validation and test parts
// by flow, before any model sees them.

#include "train/split.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace edgesense::train {

namespace {

/// Flows by stratum (the category of each flow's first row), each list in
/// ascending group order.
std::array<std::vector<std::uint64_t>, labels::kCategoryCount> flowsByCategory(const Dataset& d) {
  std::map<std::uint64_t, labels::Category> first;
  for (std::size_t i = 0; i < d.size(); ++i) first.try_emplace(d.group[i], d.category[i]);
  std::array<std::vector<std::uint64_t>, labels::kCategoryCount> out;
  for (const auto& [g, c] : first) out[static_cast<std::size_t>(c)].push_back(g);
  return out;
}

Split fromGroups(const Dataset& d, const std::map<std::uint64_t, Part>& part_of,
                 std::string method) {
  Split s;
  s.method = std::move(method);
  s.part.resize(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    s.part[i] = part_of.at(d.group[i]);
    ++s.rows[static_cast<std::size_t>(s.part[i])];
  }
  for (const auto& [g, p] : part_of) ++s.flows[static_cast<std::size_t>(p)];
  return s;
}

}  // namespace

std::string_view partName(Part p) noexcept {
  switch (p) {
    case Part::kTrain:
      return "train";
    case Part::kValidation:
      return "validation";
    case Part::kTest:
      return "test";
  }
  return "?";
}

std::vector<std::size_t> Split::rowsOf(Part p) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] == p) out.push_back(i);
  }
  return out;
}

Split splitStratified(const Dataset& d, std::uint64_t seed, Shares shares) {
  auto strata = flowsByCategory(d);
  std::map<std::uint64_t, Part> part_of;
  for (std::size_t c = 0; c < strata.size(); ++c) {
    std::vector<std::uint64_t>& flows = strata[c];
    // One stream per category: adding flows of one category leaves the
    // order of the others as it was.
    SeededRng rng(seed * 0x100000001b3ULL + c + 1);
    rng.shuffle(flows);
    const std::size_t n = flows.size();
    const auto round = [&](double share) {
      return static_cast<std::size_t>(std::llround(share * static_cast<double>(n)));
    };
    std::size_t n_val = round(shares.validation);
    std::size_t n_test = round(1.0 - shares.train - shares.validation);
    if (n >= 3) {
      n_val = std::max<std::size_t>(n_val, 1);
      n_test = std::max<std::size_t>(n_test, 1);
    }
    n_val = std::min(n_val, n);
    n_test = std::min(n_test, n - n_val);
    const std::size_t n_train = n - n_val - n_test;
    for (std::size_t i = 0; i < n; ++i) {
      part_of[flows[i]] = i < n_train           ? Part::kTrain
                          : i < n_train + n_val ? Part::kValidation
                                                : Part::kTest;
    }
  }
  return fromGroups(d, part_of, "stratified by category, by flow, seeded");
}

Split splitByFile(const Dataset& d) {
  const std::size_t n = d.sources.size();
  if (n < 3) {
    throw DatasetError(
        "--split-by-file needs at least three input files (train..., validation, "
        "test); there are " +
        std::to_string(n));
  }
  std::map<std::uint64_t, Part> part_of;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const std::size_t f = d.file[i];
    part_of[d.group[i]] = f + 1 == n ? Part::kTest : f + 2 == n ? Part::kValidation : Part::kTrain;
  }
  return fromGroups(d, part_of, "by file: the last input tests, the one before validates");
}

std::vector<Split> splitFolds(const Dataset& d, std::size_t k, std::uint64_t seed) {
  if (k < 3) throw DatasetError("--folds needs at least 3 folds");
  auto strata = flowsByCategory(d);
  std::map<std::uint64_t, std::size_t> fold_of;
  std::size_t dealt = 0;  // continue the deal across categories so small ones spread
  for (std::size_t c = 0; c < strata.size(); ++c) {
    SeededRng rng(seed * 0x100000001b3ULL + c + 1);
    rng.shuffle(strata[c]);
    for (const std::uint64_t g : strata[c]) fold_of[g] = dealt++ % k;
  }
  std::vector<Split> out;
  for (std::size_t i = 0; i < k; ++i) {
    std::map<std::uint64_t, Part> part_of;
    for (const auto& [g, f] : fold_of) {
      part_of[g] = f == i ? Part::kTest : f == (i + 1) % k ? Part::kValidation : Part::kTrain;
    }
    out.push_back(fromGroups(
        d, part_of,
        "fold " + std::to_string(i + 1) + " of " + std::to_string(k) + ", stratified, by flow"));
  }
  return out;
}

}  // namespace edgesense::train
