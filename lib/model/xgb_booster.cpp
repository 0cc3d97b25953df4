// Model: the XGBoost C API behind Booster. Inference workers call predict()
// on one shared Booster per bundle; contributions() explains the flows that
// alert; `edgesense train` boosts new models through Trainer. The only file
// that includes xgboost/c_api.h.

#include "model/xgb_booster.h"
#include "model/xgb_trainer.h"

#include <omp.h>
#include <xgboost/c_api.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgesense::model {

namespace {

/// XGBoost's last error (kept per thread by XGBoost) as one line: its first,
/// without the time stamp; the rest is a stack trace or an excerpt of input.
std::string lastError() {
  std::string_view e = XGBGetLastError();
  if (const auto cut = e.find('\n'); cut != std::string_view::npos) e = e.substr(0, cut);
  if (e.starts_with('[')) {
    if (const auto close = e.find("] "); close != std::string_view::npos)
      e.remove_prefix(close + 2);
  }
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.remove_suffix(1);
  return std::string(e.empty() ? "unknown XGBoost error" : e);
}

/// Keeps XGBoost's OpenMP loops on the calling thread for one call. nthread =
/// 1 covers prediction, but loading a model runs loops over the trees before
/// the learner reads nthread, and would start a pool of OpenMP threads; the
/// OpenMP thread count is a per-thread setting, so this changes nothing for
/// other threads.
class OneOmpThread {
 public:
  OneOmpThread() noexcept : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneOmpThread() { omp_set_num_threads(saved_); }
  OneOmpThread(const OneOmpThread&) = delete;
  OneOmpThread& operator=(const OneOmpThread&) = delete;

 private:
  int saved_;
};

/// The one place an XGBoost return code becomes an error.
void check(int rc, std::string_view what) {
  if (rc != 0) throw XgbError(std::string(what) + ": " + lastError());
}

// Prediction configs (see XGBoosterPredictFromDMatrix in c_api.h). missing is
// NaN: the feature schema's undefined value. strict_shape makes the output
// (rows, groups) and (rows, groups, columns + 1) for every objective.
constexpr const char* kValueConfig =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": true, "missing": NaN, "cache_id": 0})";
constexpr const char* kMarginConfig =
    R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": true, "missing": NaN, "cache_id": 0})";
constexpr const char* kContribConfig =
    R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": true})";
constexpr const char* kDMatrixConfig = R"({"missing": NaN, "nthread": 1})";

/// The __array_interface__ of a row-major float matrix, written into `buf`
/// (no allocation: this runs for every batch).
struct ArrayInterface {
  char buf[160];
  ArrayInterface(const float* rows, std::size_t n_rows, std::size_t n_cols) {
    std::snprintf(buf, sizeof buf,
                  R"({"data": [%)" PRIuPTR R"(, true], "shape": [%zu, %zu], "typestr": "<f4",)"
                  R"( "version": 3})",
                  reinterpret_cast<std::uintptr_t>(rows), n_rows, n_cols);
  }
};

class DMatrix {
 public:
  DMatrix(const float* rows, std::size_t n_rows, std::size_t n_cols) {
    const ArrayInterface ai(rows, n_rows, n_cols);
    check(XGDMatrixCreateFromDense(ai.buf, kDMatrixConfig, &handle_), "XGBoost DMatrix");
  }
  ~DMatrix() { XGDMatrixFree(handle_); }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  DMatrixHandle get() const noexcept { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

std::size_t parseCount(const nlohmann::json& j, std::string_view what) {
  // The learner config holds numbers as strings.
  const std::string s = j.get<std::string>();
  std::size_t pos = 0;
  const unsigned long long v = std::stoull(s, &pos);
  if (pos != s.size()) throw XgbError("XGBoost config: " + std::string(what) + " is " + s);
  return static_cast<std::size_t>(v);
}

}  // namespace

Booster::Booster(const std::filesystem::path& model_file) {
  const OneOmpThread one;
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(nullptr, 0, &h), "XGBoost booster");
  handle_ = h;
  try {
    check(XGBoosterSetParam(h, "nthread", "1"), "XGBoost nthread");
    check(XGBoosterLoadModel(h, model_file.c_str()), "XGBoost cannot load " + model_file.string());

    bst_ulong n = 0;
    check(XGBoosterGetNumFeature(h, &n), "XGBoost number of features");
    num_features_ = static_cast<std::size_t>(n);

    bst_ulong len = 0;
    const char* text = nullptr;
    check(XGBoosterSaveJsonConfig(h, &len, &text), "XGBoost config");
    const auto config = nlohmann::json::parse(std::string_view(text, len));
    const auto& learner = config.at("learner");
    objective_ = learner.at("objective").at("name").get<std::string>();
    booster_name_ = learner.at("gradient_booster").at("name").get<std::string>();
    num_class_ = parseCount(learner.at("learner_model_param").at("num_class"), "num_class");
    if (parseCount(learner.at("generic_param").at("nthread"), "nthread") != 1) {
      throw XgbError("XGBoost model " + model_file.string() + ": nthread is not 1 after loading");
    }
    num_groups_ = std::max<std::size_t>(1, num_class_);
    num_outputs_ = objective_ == "multi:softmax" ? 1 : num_groups_;
    if (booster_name_ != "gbtree" && booster_name_ != "dart") {
      throw XgbError("XGBoost model " + model_file.string() + " uses the " + booster_name_ +
                     " booster; only tree boosters (gbtree, dart) are supported");
    }
    if (num_features_ == 0)
      throw XgbError("XGBoost model " + model_file.string() + " has no features");

    // Finish XGBoost's lazy configuration here, on the loading thread, so
    // that concurrent callers only ever read the learner.
    const std::vector<float> row(num_features_, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> out(num_groups_ * (num_features_ + 1));
    predict(row.data(), 1, num_features_, out.data());
    contributions(row.data(), 1, num_features_, out.data());
  } catch (const nlohmann::json::exception& e) {
    XGBoosterFree(h);
    throw XgbError("XGBoost config of " + model_file.string() + ": " + e.what());
  } catch (...) {
    XGBoosterFree(h);
    throw;
  }
}

Booster::~Booster() {
  if (handle_) XGBoosterFree(handle_);
}

Booster::Booster(Booster&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      num_features_(other.num_features_),
      num_outputs_(other.num_outputs_),
      num_groups_(other.num_groups_),
      num_class_(other.num_class_),
      objective_(std::move(other.objective_)),
      booster_name_(std::move(other.booster_name_)) {}

Booster& Booster::operator=(Booster&& other) noexcept {
  if (this != &other) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    num_features_ = other.num_features_;
    num_outputs_ = other.num_outputs_;
    num_groups_ = other.num_groups_;
    num_class_ = other.num_class_;
    objective_ = std::move(other.objective_);
    booster_name_ = std::move(other.booster_name_);
  }
  return *this;
}

void Booster::checkColumns(std::size_t n_cols) const {
  if (n_cols != num_features_) {
    throw std::invalid_argument("XGBoost model takes " + std::to_string(num_features_) +
                                " columns, not " + std::to_string(n_cols));
  }
}

void Booster::inplace(const char* config, std::size_t width, const float* rows, std::size_t n_rows,
                      std::size_t n_cols, float* out) const {
  checkColumns(n_cols);
  if (n_rows == 0) return;
  const OneOmpThread one;
  const ArrayInterface ai(rows, n_rows, n_cols);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDense(handle_, ai.buf, config, nullptr, &shape, &dim, &result),
        "XGBoost prediction");
  if (dim != 2 || shape[0] != n_rows || shape[1] != width) {
    throw XgbError("XGBoost prediction: unexpected output shape");
  }
  // The result lives in XGBoost's per-thread buffer until this thread's next call.
  std::copy_n(result, n_rows * width, out);
}

void Booster::predict(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out) const {
  inplace(kValueConfig, num_outputs_, rows, n_rows, n_cols, out);
}

void Booster::margins(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out) const {
  inplace(kMarginConfig, num_groups_, rows, n_rows, n_cols, out);
}

void Booster::contributions(const float* rows, std::size_t n_rows, std::size_t n_cols,
                            float* out) const {
  checkColumns(n_cols);
  if (n_rows == 0) return;
  const OneOmpThread one;
  const DMatrix m(rows, n_rows, n_cols);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, m.get(), kContribConfig, &shape, &dim, &result),
        "XGBoost contributions");
  if (dim != 3 || shape[0] != n_rows || shape[1] != num_groups_ || shape[2] != n_cols + 1) {
    throw XgbError("XGBoost contributions: unexpected output shape");
  }
  std::copy_n(result, n_rows * num_groups_ * (n_cols + 1), out);
}

// ---- training ----

TrainMatrix::TrainMatrix(std::span<const float> rows, std::size_t n_cols,
                         std::span<const float> labels, std::span<const float> weights,
                         int nthread) {
  if (n_cols == 0 || rows.size() % n_cols != 0) {
    throw std::invalid_argument("TrainMatrix: rows are not a whole number of columns");
  }
  n_rows_ = rows.size() / n_cols;
  n_cols_ = n_cols;
  if (labels.size() != n_rows_ || (!weights.empty() && weights.size() != n_rows_)) {
    throw std::invalid_argument("TrainMatrix: one label (and weight) per row");
  }
  const ArrayInterface ai(rows.data(), n_rows_, n_cols);
  char config[64];
  std::snprintf(config, sizeof config, R"({"missing": NaN, "nthread": %d})", nthread);
  DMatrixHandle h = nullptr;
  check(XGDMatrixCreateFromDense(ai.buf, config, &h), "XGBoost training matrix");
  handle_ = h;
  try {
    check(XGDMatrixSetFloatInfo(h, "label", labels.data(), labels.size()), "XGBoost labels");
    if (!weights.empty()) {
      check(XGDMatrixSetFloatInfo(h, "weight", weights.data(), weights.size()), "XGBoost weights");
    }
  } catch (...) {
    XGDMatrixFree(h);
    handle_ = nullptr;
    throw;
  }
}

TrainMatrix::~TrainMatrix() {
  if (handle_) XGDMatrixFree(handle_);
}

TrainMatrix::TrainMatrix(TrainMatrix&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      n_rows_(other.n_rows_),
      n_cols_(other.n_cols_) {}

TrainMatrix& TrainMatrix::operator=(TrainMatrix&& other) noexcept {
  if (this != &other) {
    if (handle_) XGDMatrixFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    n_rows_ = other.n_rows_;
    n_cols_ = other.n_cols_;
  }
  return *this;
}

Trainer::Trainer(const TrainMatrix& train, std::span<const TrainMatrix* const> cached,
                 const XgbParams& params) {
  std::vector<DMatrixHandle> cache{train.handle_};
  for (const TrainMatrix* m : cached) cache.push_back(m->handle_);
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(cache.data(), cache.size(), &h), "XGBoost booster");
  handle_ = h;
  try {
    for (const auto& [name, value] : params) {
      check(XGBoosterSetParam(h, name.c_str(), value.c_str()),
            "XGBoost parameter " + name + "=" + value);
    }
  } catch (...) {
    XGBoosterFree(h);
    handle_ = nullptr;
    throw;
  }
}

Trainer::~Trainer() {
  if (handle_) XGBoosterFree(handle_);
}

Trainer::Trainer(Trainer&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), rounds_(other.rounds_) {}

Trainer& Trainer::operator=(Trainer&& other) noexcept {
  if (this != &other) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    rounds_ = other.rounds_;
  }
  return *this;
}

void Trainer::boost(const TrainMatrix& train) {
  check(XGBoosterUpdateOneIter(handle_, static_cast<int>(rounds_), train.handle_),
        "XGBoost boosting round " + std::to_string(rounds_ + 1));
  ++rounds_;
}

void Trainer::predict(const TrainMatrix& m, std::size_t rounds, std::vector<float>& out) const {
  if (rounds > rounds_) throw std::invalid_argument("Trainer::predict: more rounds than boosted");
  char config[160];
  std::snprintf(config, sizeof config,
                R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": %zu,)"
                R"( "strict_shape": true})",
                rounds == rounds_ ? std::size_t{0} : rounds);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, m.handle_, config, &shape, &dim, &result),
        "XGBoost prediction");
  if (dim != 2 || shape[0] != m.rows()) {
    throw XgbError("XGBoost prediction: unexpected output shape");
  }
  out.assign(result, result + shape[0] * shape[1]);
}

std::string Trainer::modelJson(std::size_t rounds) const {
  if (rounds > rounds_) throw std::invalid_argument("Trainer::modelJson: more rounds than boosted");
  BoosterHandle h = handle_;
  BoosterHandle sliced = nullptr;
  if (rounds != 0 && rounds != rounds_) {
    check(XGBoosterSlice(handle_, 0, static_cast<int>(rounds), 1, &sliced), "XGBoost slice");
    h = sliced;
  }
  bst_ulong len = 0;
  const char* buf = nullptr;
  const int rc = XGBoosterSaveModelToBuffer(h, R"({"format": "json"})", &len, &buf);
  std::string json;
  if (rc == 0) json.assign(buf, len);
  if (sliced) XGBoosterFree(sliced);
  check(rc, "XGBoost save model");
  return json;
}

}  // namespace edgesense::model
