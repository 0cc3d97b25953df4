// Model: loading and checking a model bundle (bundle.json + the model file),
// and scoring with it. Loaded off the hot path (start-up, reload); predict()
// runs on the inference workers for every batch, with our own evaluator
// (model/tree_ensemble.h) for XGBoost models: XGBoost itself is not called.

#include "model/bundle.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include "model/isolation_forest.h"
#include "model/tree_ensemble.h"

namespace edgesense::model {

using nlohmann::json;

struct Bundle::Model {
  std::optional<TreeEnsemble> trees;
  std::optional<IsolationForest> forest;
};

std::string_view taskName(Task task) noexcept {
  switch (task) {
    case Task::kReel:
      return "reel";
    case Task::kAttack:
      return "attack";
    case Task::kAnomaly:
      return "anomaly";
  }
  return "?";
}

std::string_view kindName(ModelKind kind) noexcept {
  switch (kind) {
    case ModelKind::kXgboost:
      return "xgboost";
    case ModelKind::kIsolationForest:
      return "isolation_forest";
  }
  return "?";
}

namespace {

constexpr std::array<const char*, 13> kKeys = {
    "format",     "name",     "version",     "task",  "model",    "classes",
    "thresholds", "features", "schema_hash", "mitre", "training", "feature_distribution",
    "samples"};
constexpr std::array<const char*, 5> kRequired = {"classes", "thresholds", "features",
                                                  "schema_hash", "samples"};

std::string inQuotes(std::string_view s) {
  return json(std::string(s)).dump();
}

std::string number(double v) {
  std::ostringstream o;
  o.precision(9);
  o << v;
  return o.str();
}

/// Names and versions end up in metric labels and log lines.
bool isToken(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+';
  });
}

bool isDigits(std::string_view s, std::size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// TA0007; T1046 or T1498.001.
bool isTacticId(std::string_view s) {
  return s.starts_with("TA") && isDigits(s.substr(2), 4);
}
bool isTechniqueId(std::string_view s) {
  if (!s.starts_with('T')) return false;
  if (s.size() == 5) return isDigits(s.substr(1), 4);
  return s.size() == 9 && isDigits(s.substr(1, 4), 4) && s[5] == '.' && isDigits(s.substr(6), 3);
}

std::optional<std::size_t> schemaIndex(std::string_view name) {
  for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
    if (features::kSchema[i].name == name) return i;
  }
  return std::nullopt;
}

}  // namespace

/// Reads and checks one bundle directory; the first problem found ends it
/// with a BundleError.
class BundleLoader {
 public:
  explicit BundleLoader(const std::filesystem::path& dir) : dir_(dir) {}

  std::shared_ptr<const Bundle> load() {
    std::shared_ptr<Bundle> b(new Bundle());
    b->dir_ = dir_;
    readJson();
    readHeader(*b);
    readFeatures(*b);
    readClasses(*b);
    readThresholds(*b);
    readMitre(*b);
    readTraining(*b);
    readDistribution(*b);
    loadModel(*b);
    checkSamples(*b);
    return b;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw BundleError("model bundle " + dir_.string() + ": " + reason);
  }

  const json& require(const json& obj, const char* key, const std::string& where) const {
    if (!obj.contains(key)) fail(where + " lacks " + inQuotes(key));
    return obj[key];
  }

  std::string string(const json& obj, const char* key, const std::string& where) const {
    const json& v = require(obj, key, where);
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      fail(where + ": " + inQuotes(key) + " must be a non-empty string");
    }
    return v.get<std::string>();
  }

  void readJson() {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir_, ec)) {
      fail(std::filesystem::exists(dir_, ec) ? "not a directory" : "no such directory");
    }
    const std::filesystem::path file = dir_ / "bundle.json";
    if (!std::filesystem::is_regular_file(file, ec)) fail("bundle.json is missing");
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) fail("cannot read bundle.json");
    try {
      j_ = json::parse(text);
    } catch (const json::parse_error& e) {
      // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
      std::string_view what = e.what();
      if (const auto p = what.find("] "); what.starts_with('[') && p != std::string_view::npos) {
        what.remove_prefix(p + 2);
      }
      fail("bundle.json is not valid JSON: " + std::string(what));
    }
    if (!j_.is_object()) fail("bundle.json is not a JSON object");
  }

  void readHeader(Bundle& b) {
    const json& format = require(j_, "format", "bundle.json");
    if (!format.is_number_integer() || format.get<std::int64_t>() != 1) {
      fail("format " + format.dump() + " is not supported (this edgesense reads format 1)");
    }
    for (const auto& [key, value] : j_.items()) {
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        fail("bundle.json has an unknown key " + inQuotes(key));
      }
    }
    for (const char* key : kRequired) require(j_, key, "bundle.json");

    b.name_ = string(j_, "name", "bundle.json");
    if (!isToken(b.name_))
      fail("name " + inQuotes(b.name_) + " must be letters, digits and . _ - +");
    b.version_ = string(j_, "version", "bundle.json");
    if (!isToken(b.version_)) {
      fail("version " + inQuotes(b.version_) + " must be letters, digits and . _ - +");
    }

    const std::string task = string(j_, "task", "bundle.json");
    if (task == "reel") {
      b.task_ = Task::kReel;
    } else if (task == "attack") {
      b.task_ = Task::kAttack;
    } else if (task == "anomaly") {
      b.task_ = Task::kAnomaly;
    } else {
      fail("unknown task " + inQuotes(task) + " (expected reel, attack or anomaly)");
    }

    const json& model = require(j_, "model", "bundle.json");
    if (!model.is_object()) fail("\"model\" must be an object with \"kind\" and \"file\"");
    const std::string kind = string(model, "kind", "model");
    if (kind == "xgboost") {
      b.kind_ = ModelKind::kXgboost;
    } else if (kind == "isolation_forest") {
      b.kind_ = ModelKind::kIsolationForest;
    } else {
      fail("unknown model kind " + inQuotes(kind) + " (expected xgboost or isolation_forest)");
    }
    const bool anomaly = b.task_ == Task::kAnomaly;
    if (anomaly != (b.kind_ == ModelKind::kIsolationForest)) {
      fail("a " + task + " bundle needs " + (anomaly ? "an isolation_forest" : "an xgboost") +
           " model, not " + kind);
    }
    model_file_ = string(model, "file", "model");
    if (model_file_.find('/') != std::string::npos || model_file_ == "." || model_file_ == "..") {
      fail("model file " + inQuotes(model_file_) + " must be a file name inside the bundle");
    }

    const json& hash = require(j_, "schema_hash", "bundle.json");
    if (!hash.is_string()) fail("\"schema_hash\" must be a string");
    const std::string ours = features::schemaHash();
    if (hash.get<std::string>() != ours) {
      fail("the model was trained on another feature schema (bundle schema hash " +
           hash.get<std::string>() + ", this edgesense has " + ours +
           "); retrain it with this version's features");
    }
  }

  void readFeatures(Bundle& b) {
    const json& f = j_["features"];
    if (!f.is_array() || f.empty()) fail("\"features\" must be a non-empty array of names");
    for (const json& name : f) {
      if (!name.is_string()) fail("\"features\" must hold feature names (strings)");
      const std::string& s = name.get_ref<const std::string&>();
      const auto index = schemaIndex(s);
      if (!index) fail("unknown feature " + inQuotes(s) + " (not in this edgesense's schema)");
      if (std::find(b.feature_indices_.begin(), b.feature_indices_.end(), *index) !=
          b.feature_indices_.end()) {
        fail("feature " + inQuotes(s) + " is listed twice");
      }
      b.feature_indices_.push_back(*index);
      columns_.push_back(s);
    }
  }

  std::optional<std::size_t> column(std::string_view name) const {
    const auto it = std::find(columns_.begin(), columns_.end(), name);
    if (it == columns_.end()) return std::nullopt;
    return static_cast<std::size_t>(it - columns_.begin());
  }

  void readClasses(Bundle& b) {
    const json& c = j_["classes"];
    if (!c.is_array() || c.empty()) fail("\"classes\" must be a non-empty array of names");
    for (const json& name : c) {
      if (!name.is_string() || !isToken(name.get<std::string>())) {
        fail("class names must be letters, digits and . _ - + (got " + name.dump() + ")");
      }
      const std::string& s = name.get_ref<const std::string&>();
      if (std::find(b.classes_.begin(), b.classes_.end(), s) != b.classes_.end()) {
        fail("class " + inQuotes(s) + " is listed twice");
      }
      b.classes_.push_back(s);
    }
    const auto& k = b.classes_;
    switch (b.task_) {
      case Task::kReel:
        if (k != std::vector<std::string>{"non_reel", "reel"}) {
          fail("a reel bundle's classes must be [\"non_reel\", \"reel\"], not " + c.dump());
        }
        break;
      case Task::kAttack:
        if (k.size() < 2 || k[0] != "benign") {
          fail(
              "an attack bundle's classes must start with \"benign\" and name at least one "
              "attack, not " +
              c.dump());
        }
        break;
      case Task::kAnomaly:
        if (k != std::vector<std::string>{"anomaly"}) {
          fail("an anomaly bundle's classes must be [\"anomaly\"], not " + c.dump());
        }
        break;
    }
  }

  /// Classes that have a threshold: all but the first, except for anomaly.
  std::size_t firstDecided(const Bundle& b) const { return b.task_ == Task::kAnomaly ? 0 : 1; }

  void readThresholds(Bundle& b) {
    const json& t = j_["thresholds"];
    if (!t.is_object()) fail("\"thresholds\" must be an object: class name -> threshold");
    b.thresholds_.assign(b.classes_.size(), std::nan(""));
    for (const auto& [key, value] : t.items()) {
      const auto it = std::find(b.classes_.begin(), b.classes_.end(), key);
      const auto index = static_cast<std::size_t>(it - b.classes_.begin());
      if (it == b.classes_.end() || index < firstDecided(b)) {
        fail("thresholds has " + inQuotes(key) + ", which is not a class with a threshold");
      }
      if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0)) {
        fail("thresholds." + key + " is " + value.dump() + "; it must be a number in [0, 1]");
      }
      b.thresholds_[index] = value.get<double>();
    }
    for (std::size_t i = firstDecided(b); i < b.classes_.size(); ++i) {
      if (std::isnan(b.thresholds_[i])) fail("thresholds lacks " + inQuotes(b.classes_[i]));
    }
  }

  void readMitre(Bundle& b) {
    b.mitre_.assign(b.classes_.size(), std::nullopt);
    if (!j_.contains("mitre")) return;
    if (b.task_ != Task::kAttack) fail("\"mitre\" is only for attack bundles");
    const json& m = j_["mitre"];
    if (!m.is_object()) fail("\"mitre\" must be an object: class name -> entry");
    for (const auto& [key, entry] : m.items()) {
      const auto it = std::find(b.classes_.begin() + 1, b.classes_.end(), key);
      if (it == b.classes_.end())
        fail("mitre has " + inQuotes(key) + ", which is not an attack class");
      const std::string where = "mitre." + key;
      if (!entry.is_object()) fail(where + " must be an object");
      for (const auto& [field, v] : entry.items()) {
        if (field != "tactic_id" && field != "technique_id" && field != "tactic" &&
            field != "technique") {
          fail(where + " has an unknown key " + inQuotes(field));
        }
      }
      MitreEntry e{string(entry, "tactic_id", where), string(entry, "technique_id", where),
                   string(entry, "tactic", where), string(entry, "technique", where)};
      if (!isTacticId(e.tactic_id))
        fail(where + ".tactic_id " + inQuotes(e.tactic_id) + " is not like TA0007");
      if (!isTechniqueId(e.technique_id)) {
        fail(where + ".technique_id " + inQuotes(e.technique_id) +
             " is not like T1046 or T1498.001");
      }
      b.mitre_[static_cast<std::size_t>(it - b.classes_.begin())] = std::move(e);
    }
  }

  void readTraining(Bundle& b) {
    if (!j_.contains("training")) {
      b.training_json_ = "{}";
      return;
    }
    if (!j_["training"].is_object()) fail("\"training\" must be an object");
    b.training_json_ = j_["training"].dump();
  }

  void readDistribution(Bundle& b) {
    b.quantiles_.assign(columns_.size(), {});
    b.shares_.assign(columns_.size(), {});
    if (!j_.contains("feature_distribution")) return;
    const json& d = j_["feature_distribution"];
    if (!d.is_object()) fail("\"feature_distribution\" must be an object: feature -> quantiles");
    for (const auto& [key, entry] : d.items()) {
      const auto col = column(key);
      if (!col)
        fail("feature_distribution has " + inQuotes(key) + ", which is not a model feature");
      const std::string where = "feature_distribution." + key;
      const bool shaped = entry.is_object() && entry.contains("quantiles") &&
                          entry.size() == 1 + (entry.contains("shares") ? 1u : 0u);
      if (!shaped)
        fail(where +
             " must be {\"quantiles\": [...]} or {\"quantiles\": [...], \"shares\": [...]}");
      const json& q = entry["quantiles"];
      if (!q.is_array() || q.size() != kQuantileCount) {
        fail(where + ".quantiles must hold " + std::to_string(kQuantileCount) +
             " numbers (q0, q10, ..., q100)");
      }
      std::vector<double> values;
      for (const json& v : q) {
        if (!v.is_number()) fail(where + ".quantiles must hold numbers");
        values.push_back(v.get<double>());
        if (values.size() > 1 && !(values.back() >= values[values.size() - 2])) {
          fail(where + ".quantiles must not decrease");
        }
      }
      if (entry.contains("shares")) b.shares_[*col] = readShares(entry["shares"], values, where);
      b.quantiles_[*col] = std::move(values);
    }
  }

  /// One share per distinct quantile, each in [0, 1], adding up to 1.
  std::vector<double> readShares(const json& s, const std::vector<double>& quantiles,
                                 const std::string& where) {
    const std::size_t bins = shareEdges(quantiles).size();
    if (!s.is_array() || s.size() != bins) {
      fail(where + ".shares must hold one number per distinct quantile (" + std::to_string(bins) +
           ")");
    }
    std::vector<double> out;
    double sum = 0;
    for (const json& v : s) {
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1)) {
        fail(where + ".shares must hold numbers from 0 to 1");
      }
      out.push_back(v.get<double>());
      sum += out.back();
    }
    if (std::abs(sum - 1) > 1e-6) fail(where + ".shares must add up to 1");
    return out;
  }

  void loadModel(Bundle& b) {
    const std::filesystem::path file = dir_ / model_file_;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      fail("model file " + model_file_ + " is missing");
    b.model_ = std::make_unique<Bundle::Model>();
    const std::size_t n_cols = columns_.size();
    const std::size_t n_classes = b.classes_.size();
    if (b.kind_ == ModelKind::kXgboost) {
      // Unsupported objectives and boosters are refused here, by the
      // evaluator, with the reason.
      try {
        b.model_->trees.emplace(TreeEnsemble::load(file));
      } catch (const std::exception& e) {
        fail(std::string("cannot load the model: ") + e.what());
      }
      const TreeEnsemble& m = *b.model_->trees;
      if (m.numFeatures() != n_cols) {
        fail("the model takes " + std::to_string(m.numFeatures()) +
             " features, but \"features\" lists " + std::to_string(n_cols));
      }
      if (m.objective() == "binary:logistic") {
        if (n_classes != 2) {
          fail("the model is binary (binary:logistic), but the bundle has " +
               std::to_string(n_classes) + " classes");
        }
      } else if (m.objective() == "multi:softprob") {
        if (m.numGroups() != n_classes) {
          fail("the model has " + std::to_string(m.numGroups()) +
               " classes (multi:softprob), but the bundle has " + std::to_string(n_classes));
        }
      } else {
        fail("the model's objective " + m.objective() +
             " is not supported (binary:logistic or multi:softprob)");
      }
    } else {
      std::ifstream in(file, std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      try {
        b.model_->forest.emplace(IsolationForest::fromJson(text));
      } catch (const std::exception& e) {
        fail("cannot load the model " + model_file_ + ": " + e.what());
      }
      if (b.model_->forest->numFeatures() != n_cols) {
        fail("the model takes " + std::to_string(b.model_->forest->numFeatures()) +
             " features, but \"features\" lists " + std::to_string(n_cols));
      }
    }
  }

  void checkSamples(const Bundle& b) {
    const json& s = j_["samples"];
    if (!s.is_array() || s.empty()) {
      fail("\"samples\" must be a non-empty array of {\"features\": ..., \"expected\": [...]}");
    }
    const std::size_t k = b.classes_.size();
    std::vector<features::FeatureVector> rows(s.size());
    std::vector<double> expected;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::string where = "samples[" + std::to_string(i) + "]";
      const json& sample = s[i];
      if (!sample.is_object()) fail(where + " must be an object");
      const json& f = require(sample, "features", where);
      if (!f.is_object()) fail(where + ".features must be an object: feature -> value or null");
      rows[i].fill(std::nan(""));
      for (const auto& [key, value] : f.items()) {
        const auto col = column(key);
        if (!col) fail(where + ".features has " + inQuotes(key) + ", which is not a model feature");
        if (!value.is_null() && !value.is_number()) {
          fail(where + ".features." + key + " must be a number or null");
        }
        rows[i][b.feature_indices_[*col]] = value.is_null() ? std::nan("") : value.get<double>();
      }
      for (const std::string& name : columns_) {
        if (!f.contains(name)) fail(where + ".features lacks " + inQuotes(name));
      }
      const json& e = require(sample, "expected", where);
      if (!e.is_array() || e.size() != k) {
        fail(where + ".expected must hold " + std::to_string(k) + " numbers, one per class");
      }
      for (const json& v : e) {
        if (!v.is_number()) fail(where + ".expected must hold numbers");
        expected.push_back(v.get<double>());
      }
    }

    std::vector<float> out(rows.size() * k);
    try {
      b.predict(rows, out);
    } catch (const std::exception& e) {
      fail(std::string("scoring the samples failed: ") + e.what());
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::size_t worst = 0;
      double off = 0;
      for (std::size_t c = 0; c < k; ++c) {
        const double d = std::fabs(static_cast<double>(out[i * k + c]) - expected[i * k + c]);
        if (!(d <= off)) {  // NaN counts as the worst
          off = d;
          worst = c;
        }
      }
      if (!(off <= kSampleTolerance)) {
        const std::size_t at = i * k + worst;
        fail("samples[" + std::to_string(i) + "]: output " + std::to_string(worst) + " (" +
             inQuotes(b.classes_[worst]) + ") is " + number(out[at]) + ", but the bundle expects " +
             number(expected[at]) + " (off by " + number(off) + ", tolerance " +
             number(kSampleTolerance) + "): the model does not give the outputs recorded with it");
      }
    }
  }

  std::filesystem::path dir_;
  json j_;
  std::string model_file_;
  std::vector<std::string> columns_;  // model features, in model order
};

Bundle::Bundle() = default;
Bundle::~Bundle() = default;

std::shared_ptr<const Bundle> Bundle::load(const std::filesystem::path& dir) {
  return BundleLoader(dir).load();
}

std::optional<std::size_t> Bundle::classIndex(std::string_view class_name) const noexcept {
  const auto it = std::find(classes_.begin(), classes_.end(), class_name);
  if (it == classes_.end()) return std::nullopt;
  return static_cast<std::size_t>(it - classes_.begin());
}

const MitreEntry* Bundle::mitre(std::size_t class_index) const noexcept {
  if (class_index >= mitre_.size() || !mitre_[class_index]) return nullptr;
  return &*mitre_[class_index];
}

const MitreEntry* Bundle::mitre(std::string_view class_name) const noexcept {
  const auto index = classIndex(class_name);
  return index ? mitre(*index) : nullptr;
}

std::span<const double> Bundle::shares(std::size_t column) const noexcept {
  if (column >= shares_.size()) return {};
  return shares_[column];
}

std::span<const double> Bundle::quantiles(std::size_t column) const noexcept {
  if (column >= quantiles_.size()) return {};
  return quantiles_[column];
}

void Bundle::predict(std::span<const features::FeatureVector> rows, std::span<float> out) const {
  const std::size_t k = classes_.size();
  const std::size_t n = rows.size();
  if (out.size() != n * k) {
    throw std::invalid_argument("Bundle::predict: out holds " + std::to_string(out.size()) +
                                " values, not rows x classes = " + std::to_string(n * k));
  }
  if (n == 0) return;
  const std::size_t n_cols = feature_indices_.size();
  // Grows to the largest batch this thread scores, then is reused.
  thread_local std::vector<float> matrix;
  matrix.resize(n * n_cols);
  float* m = matrix.data();
  for (const features::FeatureVector& row : rows) {
    for (const std::size_t index : feature_indices_) *m++ = static_cast<float>(row[index]);
  }
  if (model_->forest) {
    model_->forest->score(matrix.data(), n, out.data());
    return;
  }
  const TreeEnsemble& trees = *model_->trees;
  trees.predict(matrix.data(), n, out.data());
  if (trees.numOutputs() == 1) {
    // Binary: p is in out[0, n); spread it to [1 - p, p] pairs from the back,
    // so every value is read before its slot is written.
    for (std::size_t i = n; i-- > 0;) {
      const float p = out[i];
      out[2 * i + 1] = p;
      out[2 * i] = 1.0f - p;
    }
  }
}

void Bundle::contributions(const features::FeatureVector& row, std::size_t class_index,
                           std::span<float> out) const {
  if (!model_->trees) throw std::logic_error("Bundle::contributions: not an xgboost bundle");
  const std::size_t n_cols = feature_indices_.size();
  if (class_index >= classes_.size()) {
    throw std::out_of_range("Bundle::contributions: no class " + std::to_string(class_index));
  }
  if (out.size() != n_cols + 1) {
    throw std::invalid_argument("Bundle::contributions: out must hold features + 1 values");
  }
  const TreeEnsemble& trees = *model_->trees;
  // Grows to the widest model this thread explains, then is reused.
  thread_local std::vector<float> x;
  x.resize(n_cols);
  for (std::size_t c = 0; c < n_cols; ++c) x[c] = static_cast<float>(row[feature_indices_[c]]);
  if (trees.numGroups() == 1) {
    // One margin, the log-odds of class 1; class 0's are its negation.
    trees.contributions(x.data(), 0, out.data());
    if (class_index == 0) {
      std::transform(out.begin(), out.end(), out.begin(), [](float v) { return -v; });
    }
  } else {
    trees.contributions(x.data(), class_index, out.data());
  }
}

std::vector<double> shareEdges(std::span<const double> quantiles) {
  std::vector<double> edges(quantiles.begin(), quantiles.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return edges;
}

}  // namespace edgesense::model
