// Test support for lib/model: python-made bundles, their checks, temp dirs.

#include "test_bundles.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

namespace edgesense::model::test {

const std::filesystem::path& pythonBundles() {
  static const std::filesystem::path dir = EDGESENSE_MODEL_BUNDLES;
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::filesystem::exists(dir / "attack" / "check.json")) return;
    const std::string cmd = std::string(EDGESENSE_SYSTEM_PYTHON) + " " + EDGESENSE_SOURCE_DIR +
                            "/tests/unit/model/make_test_bundles.py --edgesense " + EDGESENSE_BIN +
                            " --root " + EDGESENSE_SOURCE_DIR + " --out " + dir.string();
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  });
  return dir;
}

nlohmann::json readJson(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return nlohmann::json::parse(in);
}

void writeJson(const std::filesystem::path& file, const nlohmann::json& j) {
  std::ofstream out(file);
  out << j.dump(1) << '\n';
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

PythonCheck readCheck(const std::filesystem::path& bundle_dir) {
  const nlohmann::json j = readJson(bundle_dir / "check.json");
  PythonCheck c;
  for (const auto& row : j.at("rows")) {
    features::FeatureVector v{};
    if (row.size() != v.size()) throw std::runtime_error("check.json: wrong row width");
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i] = row[i].is_null() ? std::nan("") : row[i].get<double>();
    }
    c.rows.push_back(v);
  }
  c.proba = j.at("proba").get<std::vector<std::vector<double>>>();
  c.margin = j.at("margin").get<std::vector<std::vector<double>>>();
  c.contribs = j.at("contribs").get<std::vector<std::vector<std::vector<double>>>>();
  return c;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "edgesense-model-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeForestBundle(const std::filesystem::path& dir, const IsolationForest& forest,
                       const std::vector<std::string>& names,
                       const std::vector<features::FeatureVector>& sample_rows) {
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "model.json");
    out << forest.toJson();
  }
  std::vector<std::size_t> index;
  for (const std::string& n : names) {
    for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
      if (features::kSchema[i].name == n) index.push_back(i);
    }
  }
  nlohmann::json samples = nlohmann::json::array();
  std::vector<float> x(names.size());
  for (const features::FeatureVector& row : sample_rows) {
    nlohmann::json f = nlohmann::json::object();
    for (std::size_t c = 0; c < names.size(); ++c) {
      x[c] = static_cast<float>(row[index[c]]);
      f[names[c]] = std::isnan(x[c]) ? nlohmann::json(nullptr) : nlohmann::json(x[c]);
    }
    samples.push_back({{"features", f}, {"expected", {forest.score(x)}}});
  }
  writeJson(dir / "bundle.json", {{"format", 1},
                                  {"name", "anomaly-test"},
                                  {"version", "test-1"},
                                  {"task", "anomaly"},
                                  {"model", {{"kind", "isolation_forest"}, {"file", "model.json"}}},
                                  {"classes", {"anomaly"}},
                                  {"thresholds", {{"anomaly", 0.62}}},
                                  {"features", names},
                                  {"schema_hash", features::schemaHash()},
                                  {"training", {{"params", {{"n_trees", forest.numTrees()}}}}},
                                  {"samples", samples}});
}

std::vector<float> gaussianRows(std::size_t n, std::size_t cols, std::uint64_t seed) {
  // splitmix64 and Box-Muller: the same numbers everywhere.
  auto next = [&seed] {
    std::uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  std::vector<float> out(n * cols);
  for (float& v : out) {
    const double u1 = next() + 0x1.0p-54, u2 = next();
    v = static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return out;
}

}  // namespace edgesense::model::test
