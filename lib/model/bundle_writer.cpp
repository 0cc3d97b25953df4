// Model: writing a bundle directory, the last step of `edgesense train`.
// Offline only: the daemon reads what this writes with Bundle::load() when it
// starts or reloads.

#include "model/bundle_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>

#include "model/isolation_forest.h"
#include "model/xgb_booster.h"

namespace edgesense::model {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keys in the documented order, not sorted

namespace {

[[noreturn]] void sysFail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// Writes a new file and flushes it to disk, so that after the rename the
/// bundle is whole even across a power cut.
void writeFileSynced(const fs::path& file, std::string_view text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) sysFail("cannot create " + file.string());
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      sysFail("cannot write " + file.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    sysFail("cannot flush " + file.string());
  }
  if (::close(fd) != 0) sysFail("cannot write " + file.string());
}

/// Makes directory entries (a new file, a rename) durable.
bool syncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// A fresh directory "parent/.NAME.TAG-XXXXXX".
fs::path makeSiblingDir(const fs::path& target, const char* tag) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) about "." + string.
  std::string name = ".";
  name += target.filename().string();
  name += '.';
  name += tag;
  name += "-XXXXXX";
  std::string tmpl = (target.parent_path() / name).string();
  if (::mkdtemp(tmpl.data()) == nullptr) sysFail("cannot create a directory beside the target");
  return tmpl;
}

/// Removes a directory at scope exit unless released.
class DirGuard {
 public:
  explicit DirGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~DirGuard() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  DirGuard(const DirGuard&) = delete;
  DirGuard& operator=(const DirGuard&) = delete;
  void release() { dir_.clear(); }

 private:
  fs::path dir_;
};

std::string utcNow() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json jsonObject(const std::string& text, const char* what) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw std::invalid_argument(std::string("training ") + what +
                                " is not valid JSON: " + e.what());
  }
  if (!j.is_object())
    throw std::invalid_argument(std::string("training ") + what + " is not a JSON object");
  return j;
}

std::vector<std::size_t> schemaIndices(const std::vector<std::string>& names) {
  if (names.empty()) throw std::invalid_argument("no model features");
  std::vector<std::size_t> out;
  for (const std::string& name : names) {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < features::kSchema.size(); ++i) {
      if (features::kSchema[i].name == name) found = i;
    }
    if (!found) throw std::invalid_argument("\"" + name + "\" is not a feature of this schema");
    if (std::find(out.begin(), out.end(), *found) != out.end()) {
      throw std::invalid_argument("feature \"" + name + "\" is listed twice");
    }
    out.push_back(*found);
  }
  return out;
}

/// The sample rows' model columns as the model sees them (floats), row-major.
std::vector<float> gather(std::span<const features::FeatureVector> rows,
                          const std::vector<std::size_t>& columns) {
  std::vector<float> x;
  x.reserve(rows.size() * columns.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (const std::size_t c : columns) {
      const float v = static_cast<float>(rows[r][c]);
      if (std::isinf(v)) {
        // JSON has no infinity, and null would read back as NaN, which the
        // model treats otherwise.
        throw std::invalid_argument("sample row " + std::to_string(r) + " has an infinite " +
                                    std::string(features::kSchema[c].name));
      }
      x.push_back(v);
    }
  }
  return x;
}

/// Scores the samples with the model file as written into the bundle:
/// rows x classes outputs, as Bundle::predict gives them.
std::vector<float> scoreWithModelFile(const fs::path& model_path, ModelKind kind,
                                      const std::vector<float>& x, std::size_t n_rows,
                                      std::size_t n_cols, std::size_t n_classes) {
  std::vector<float> out;
  if (kind == ModelKind::kIsolationForest) {
    const IsolationForest forest = IsolationForest::fromJson(readFile(model_path));
    if (forest.numFeatures() != n_cols) {
      throw std::invalid_argument("the model takes " + std::to_string(forest.numFeatures()) +
                                  " features, but " + std::to_string(n_cols) + " are listed");
    }
    if (n_classes != 1) throw std::invalid_argument("an isolation forest has one output");
    out.resize(n_rows);
    forest.score(x.data(), n_rows, out.data());
    return out;
  }
  const Booster booster(model_path);
  if (booster.numFeatures() != n_cols) {
    throw std::invalid_argument("the model takes " + std::to_string(booster.numFeatures()) +
                                " features, but " + std::to_string(n_cols) + " are listed");
  }
  const std::size_t k = booster.numOutputs();
  if (!(k == n_classes || (k == 1 && n_classes == 2))) {
    throw std::invalid_argument("the model has " + std::to_string(k) + " outputs for " +
                                std::to_string(n_classes) + " classes");
  }
  std::vector<float> raw(n_rows * k);
  booster.predict(x.data(), n_rows, n_cols, raw.data());
  if (k == n_classes) return raw;
  out.resize(n_rows * 2);
  for (std::size_t i = 0; i < n_rows; ++i) {
    out[2 * i] = 1.0f - raw[i];
    out[2 * i + 1] = raw[i];
  }
  return out;
}

Json distribution(const BundleContents& c, const std::vector<std::size_t>& columns) {
  Json d = Json::object();
  std::vector<double> values(c.training_rows.size());
  for (std::size_t j = 0; j < columns.size(); ++j) {
    for (std::size_t r = 0; r < c.training_rows.size(); ++r) {
      values[r] = c.training_rows[r][columns[j]];
    }
    const std::vector<double> q = quantilesOf(values);
    if (q.empty()) continue;  // no finite value: left out
    d[c.features[j]] = Json{{"quantiles", q}, {"shares", sharesOf(values, q)}};
  }
  return d;
}

Json bundleJson(const BundleContents& c, const std::vector<std::size_t>& columns,
                const std::vector<float>& x, const std::vector<float>& outputs) {
  Json j;
  j["format"] = 1;
  j["name"] = c.name;
  j["version"] = c.version;
  j["task"] = std::string(taskName(c.task));
  j["model"] = Json{{"kind", std::string(kindName(c.kind))}, {"file", c.model_file}};
  j["classes"] = c.classes;
  Json thresholds = Json::object();
  for (const auto& [cls, t] : c.thresholds) thresholds[cls] = t;
  j["thresholds"] = thresholds;
  j["features"] = c.features;
  j["schema_hash"] = features::schemaHash();
  if (!c.mitre.empty()) {
    Json m = Json::object();
    for (const auto& [cls, e] : c.mitre) {
      m[cls] = Json{{"tactic_id", e.tactic_id},
                    {"technique_id", e.technique_id},
                    {"tactic", e.tactic},
                    {"technique", e.technique}};
    }
    j["mitre"] = m;
  }
  const TrainingRecord& t = c.training;
  j["training"] = Json{{"params", jsonObject(t.params_json, "params")},
                       {"metrics", jsonObject(t.metrics_json, "metrics")},
                       {"data", jsonObject(t.data_json, "data")},
                       {"timings", jsonObject(t.timings_json, "timings")},
                       {"trained_at", t.trained_at.empty() ? utcNow() : t.trained_at}};
  if (!c.training_rows.empty()) j["feature_distribution"] = distribution(c, columns);

  const std::size_t n_cols = columns.size();
  const std::size_t k = c.classes.size();
  Json samples = Json::array();
  for (std::size_t r = 0; r < c.sample_rows.size(); ++r) {
    Json f = Json::object();
    for (std::size_t col = 0; col < n_cols; ++col) {
      const float v = x[r * n_cols + col];
      f[c.features[col]] = std::isnan(v) ? Json(nullptr) : Json(static_cast<double>(v));
    }
    Json expected = Json::array();
    for (std::size_t i = 0; i < k; ++i) expected.push_back(static_cast<double>(outputs[r * k + i]));
    samples.push_back(Json{{"features", f}, {"expected", expected}});
  }
  j["samples"] = samples;
  return j;
}

/// Puts the staged bundle at `target`, swapping out whatever bundle is there.
/// Returns true if one was there.
bool install(const fs::path& staged, const fs::path& target, bool exists) {
  if (!exists) {
    if (::rename(staged.c_str(), target.c_str()) != 0) sysFail("cannot rename it into place");
    return false;
  }
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    std::error_code ec;
    fs::remove_all(staged, ec);  // now the old bundle
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    sysFail("cannot swap it into place");
  }
  // No atomic exchange here: move the old one aside (onto an empty
  // directory, which rename may replace), then the new one in.
  const fs::path old = makeSiblingDir(target, "old");
  if (::rename(target.c_str(), old.c_str()) != 0) {
    const int err = errno;
    ::rmdir(old.c_str());
    errno = err;
    sysFail("cannot move the old bundle aside");
  }
  if (::rename(staged.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(old.c_str(), target.c_str());  // put the old one back
    errno = err;
    sysFail("cannot rename it into place");
  }
  std::error_code ec;
  fs::remove_all(old, ec);
  return true;
}

// SHA-256, FIPS 180-4.
class Sha256 {
 public:
  void update(const unsigned char* p, std::size_t n) {
    length_ += n;
    while (n > 0) {
      const std::size_t take = std::min(n, block_.size() - used_);
      std::memcpy(block_.data() + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
      if (used_ == block_.size()) {
        compress();
        used_ = 0;
      }
    }
  }

  std::string hex() {
    const std::uint64_t bits = length_ * 8;
    const unsigned char pad = 0x80;
    update(&pad, 1);
    const unsigned char zero = 0;
    while (used_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const std::uint32_t w : h_) {
      for (int s = 28; s >= 0; s -= 4) out += kHex[(w >> s) & 0xf];
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void compress() {
    static constexpr std::array<std::uint32_t, 64> kK = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::array<std::uint32_t, 64> w;
    for (std::size_t i = 0; i < 16; ++i) {
      w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
             std::uint32_t{block_[4 * i + 2]} << 8 | std::uint32_t{block_[4 * i + 3]};
    }
    for (std::size_t i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
                  h = h_[7];
    for (std::size_t i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
      const std::uint32_t t2 =
          (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::array<std::uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, 64> block_{};
  std::size_t used_ = 0;
  std::uint64_t length_ = 0;
};

}  // namespace

bool isBundleToken(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+';
  });
}

std::vector<std::string> schemaFeatureNames() {
  std::vector<std::string> out;
  for (const features::FeatureDef& d : features::kSchema) out.emplace_back(d.name);
  return out;
}

std::vector<double> sharesOf(std::span<const double> values, std::span<const double> quantiles) {
  const std::vector<double> edges = shareEdges(quantiles);
  std::vector<double> shares(edges.size(), 0.0);
  std::size_t n = 0;
  for (const double x : values) {
    if (!std::isfinite(x)) continue;
    const auto k =
        static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
    if (k < shares.size()) shares[k] += 1;  // above the top quantile: none, it is the maximum
    ++n;
  }
  if (n > 0)
    for (double& s : shares) s /= static_cast<double>(n);
  return shares;
}

std::vector<double> quantilesOf(std::span<const double> values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (const double x : values) {
    if (std::isfinite(x)) v.push_back(x);
  }
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  std::vector<double> q(kQuantileCount);
  for (std::size_t i = 0; i < kQuantileCount; ++i) {
    const double pos = static_cast<double>(i) * static_cast<double>(n - 1) /
                       static_cast<double>(kQuantileCount - 1);
    const auto lo = std::min(static_cast<std::size_t>(pos), n - 1);
    const std::size_t hi = std::min(lo + 1, n - 1);
    const double t = pos - static_cast<double>(lo);
    // From the nearer end, as numpy does, so the value stays within [v[lo], v[hi]].
    double x = t < 0.5 ? v[lo] + (v[hi] - v[lo]) * t : v[hi] - (v[hi] - v[lo]) * (1 - t);
    x = std::clamp(x, v[lo], v[hi]);
    q[i] = i > 0 ? std::max(x, q[i - 1]) : x;
  }
  return q;
}

std::string sha256(std::string_view bytes) {
  Sha256 h;
  h.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return h.hex();
}

std::string sha256File(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  Sha256 h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(reinterpret_cast<const unsigned char*>(buf.data()),
             static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error("cannot read " + file.string());
  return h.hex();
}

bool writeBundle(const fs::path& dir, const BundleContents& c) {
  fs::path target = fs::absolute(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "out/"
  const auto fail = [&](const std::string& reason) -> BundleWriteError {
    return BundleWriteError("cannot write model bundle " + dir.string() + ": " + reason);
  };
  if (target == target.root_path()) throw fail("not a directory a bundle can take");

  // What would fail the load, said in the writer's terms and before any file
  // is touched; the load of the staged bundle below checks the rest.
  if (!isBundleToken(c.name))
    throw fail("name \"" + c.name + "\" must be letters, digits and . _ - +");
  if (!isBundleToken(c.version)) {
    throw fail("version \"" + c.version + "\" must be letters, digits and . _ - + (at most 64)");
  }
  if (c.model_json.empty()) throw fail("no model");
  if (c.model_file.empty() || c.model_file.find('/') != std::string::npos || c.model_file == "." ||
      c.model_file == ".." || c.model_file == "bundle.json") {
    throw fail("model file \"" + c.model_file + "\" must be a plain file name");
  }
  if (c.sample_rows.empty()) throw fail("no sample rows");
  std::vector<std::size_t> columns;
  std::vector<float> x;
  try {
    columns = schemaIndices(c.features);
    x = gather(c.sample_rows, columns);
  } catch (const std::invalid_argument& e) {
    throw fail(e.what());
  }

  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  const bool exists = fs::exists(st);
  if (exists) {
    if (!fs::is_directory(st)) throw fail("it exists and is not a directory");
    if (!fs::exists(target / "bundle.json", ec) && !fs::is_empty(target, ec)) {
      throw fail("it exists and is not a model bundle (no bundle.json); not replacing it");
    }
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw fail("cannot create " + target.parent_path().string() + ": " + ec.message());

  try {
    const fs::path staged = makeSiblingDir(target, "tmp");
    DirGuard guard(staged);
    fs::permissions(staged, fs::perms(0755));  // mkdtemp makes it 0700; the daemon's user reads it

    writeFileSynced(staged / c.model_file, c.model_json);
    std::vector<float> outputs;
    try {
      outputs = scoreWithModelFile(staged / c.model_file, c.kind, x, c.sample_rows.size(),
                                   columns.size(), c.classes.size());
    } catch (const std::exception& e) {
      throw fail(std::string("cannot score the samples with the model: ") + e.what());
    }
    Json j;
    try {
      j = bundleJson(c, columns, x, outputs);
    } catch (const std::invalid_argument& e) {
      throw fail(e.what());
    }
    writeFileSynced(staged / "bundle.json", j.dump(1) + "\n");
    if (!syncDirectory(staged)) sysFail("cannot flush " + staged.string());

    try {
      Bundle::load(staged);
    } catch (const BundleError& e) {
      // "model bundle STAGED: reason" -> the reason.
      std::string_view why = e.what();
      if (const auto p = why.find(staged.string() + ": "); p != std::string_view::npos) {
        why.remove_prefix(p + staged.string().size() + 2);
      }
      throw fail("it would not load: " + std::string(why));
    }

    const bool replaced = install(staged, target, exists);
    guard.release();
    syncDirectory(target.parent_path());
    return replaced;
  } catch (const BundleWriteError&) {
    throw;
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
}

}  // namespace edgesense::model
