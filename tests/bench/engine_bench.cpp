// Benchmark of the native evaluator (model/tree_ensemble.h) against the
// XGBoost C API it replaced at run time, on ONE thread, on the feature rows
// of a real capture (its flows through the real pipeline, cycled to 20,000
// rows or more), gathered into each bundle's columns.
//
//   edgesense-engine-bench MODELS_DIR CAPTURE [BATCH]
// prints one JSON line per XGBoost bundle (reel, attack): verdicts per
// second both ways at BATCH rows per call (default 256), the largest output
// difference, the native kernel in use, the margins rates of the scalar,
// AVX2 and AVX-512 kernels, and the cost of one explanation both ways
// (native TreeSHAP for one class; XGBoost's pred_contribs for one row, every
// class).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "model/bundle.h"
#include "model/tree_ensemble.h"
#include "model/xgb_booster.h"
#include "pipeline/rx_loop.h"

namespace {

using namespace edgesense;
using Clock = std::chrono::steady_clock;

struct Collect final : features::RecordSink {
  std::vector<features::FlowRecord> records;
  void onRecord(const features::FlowRecord& r) override { records.push_back(r); }
};

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// Best of `reps` runs of `fn`, in seconds: the machine is shared.
template <class Fn>
double best(int reps, Fn fn) {
  double b = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    fn();
    b = std::min(b, seconds(t0));
  }
  return b;
}

int benchBundle(const std::filesystem::path& dir, const std::vector<features::FlowRecord>& records,
                std::size_t batch) {
  const auto bundle = model::Bundle::load(dir);
  if (bundle->kind() != model::ModelKind::kXgboost) return 0;
  const std::filesystem::path file = dir / "model.json";
  const model::TreeEnsemble native = model::TreeEnsemble::load(file);
  const model::Booster xgb(file);
  const std::size_t cols = native.numFeatures(), k = native.numOutputs(), g = native.numGroups();

  // Whole batches only, 20,000 rows or more, cycling through the flows.
  const std::size_t n = (std::max<std::size_t>(20'000, records.size()) + batch - 1) / batch * batch;
  std::vector<float> x(n * cols);
  for (std::size_t i = 0; i < n; ++i) {
    const features::FeatureVector& f = records[i % records.size()].features;
    for (std::size_t c = 0; c < cols; ++c) {
      x[i * cols + c] = static_cast<float>(f[bundle->featureIndices()[c]]);
    }
  }

  std::vector<float> out_native(n * k), out_xgb(n * k);
  const auto run_native = [&] {
    for (std::size_t i = 0; i < n; i += batch) {
      native.predict(&x[i * cols], batch, &out_native[i * k]);
    }
  };
  // The portable scalar kernel too, to show what the dispatched one gains.
  std::vector<float> out_scalar(n * k), m_scalar(n * g), m_native(n * g);
  const auto run_scalar = [&] {
    for (std::size_t i = 0; i < n; i += batch) {
      native.margins(&x[i * cols], batch, &m_scalar[i * g], model::TreeEnsemble::Kernel::kScalar);
    }
  };
  // Margins alone with each SIMD kernel forced, as the scalar one: AVX2,
  // which CPUs without AVX-512F dispatch to, and AVX-512, where this CPU and
  // model take them (every CPU with a SIMD kernel has AVX2); so the kernels
  // compare like for like, without predict()'s sigmoid or softmax.
  using Kernel = model::TreeEnsemble::Kernel;
  struct Forced {
    Kernel kernel;
    bool runs;
    std::vector<float> m{};
    double t = 1e300;
    std::size_t mismatches = 0;
  };
  Forced forced[] = {{Kernel::kAvx2, native.kernel() != Kernel::kScalar},
                     {Kernel::kAvx512, native.kernel() == Kernel::kAvx512}};
  for (Forced& f : forced) f.m.resize(n * g);
  const auto run_forced = [&](Forced& f) {
    for (std::size_t i = 0; i < n; i += batch) {
      native.margins(&x[i * cols], batch, &f.m[i * g], f.kernel);
    }
  };
  const auto run_xgb = [&] {
    for (std::size_t i = 0; i < n; i += batch) {
      xgb.predict(&x[i * cols], batch, cols, &out_xgb[i * k]);
    }
  };
  // Alternate them so all see the same state of the machine.
  double t_native = 1e300, t_xgb = 1e300, t_scalar = 1e300;
  for (int rep = 0; rep < 5; ++rep) {
    t_native = std::min(t_native, best(1, run_native));
    t_xgb = std::min(t_xgb, best(1, run_xgb));
    t_scalar = std::min(t_scalar, best(1, run_scalar));
    for (Forced& f : forced) {
      if (f.runs) f.t = std::min(f.t, best(1, [&] { run_forced(f); }));
    }
  }
  // The dispatched kernel's margins are the scalar one's, bit for bit, and
  // so are each SIMD kernel's.
  native.margins(x.data(), n, m_native.data());
  std::size_t kernel_mismatches = 0;
  for (std::size_t i = 0; i < n * g; ++i) kernel_mismatches += m_native[i] != m_scalar[i];
  std::size_t simd_mismatches = 0;
  for (Forced& f : forced) {
    for (std::size_t i = 0; f.runs && i < n * g; ++i) simd_mismatches += f.m[i] != m_scalar[i];
  }
  // A forced kernel's rate; null where this CPU or model does not take it.
  const auto rate = [&](const Forced& f) {
    char s[32] = "null";
    if (f.runs) std::snprintf(s, sizeof s, "%.0f", static_cast<double>(n) / f.t);
    return std::string(s);
  };
  double max_diff = 0;
  for (std::size_t i = 0; i < n * k; ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(out_native[i] - out_xgb[i])));
  }

  // One explanation: native TreeSHAP for the last class (the decided one
  // for reel; an attack class) on one row, against XGBoost's pred_contribs
  // on one row, which makes a DMatrix and explains every class.
  const std::size_t group = g - 1;
  const std::size_t explain_native_rows = std::min<std::size_t>(n, 2000);
  const std::size_t explain_xgb_rows = std::min<std::size_t>(n, 200);
  std::vector<float> c_native(cols + 1), c_xgb(g * (cols + 1));
  model::ShapScratch scratch(native);
  const double e_native = best(3, [&] {
    for (std::size_t i = 0; i < explain_native_rows; ++i) {
      native.contributions(&x[i * cols], group, c_native.data(), scratch);
    }
  });
  const double e_xgb = best(3, [&] {
    for (std::size_t i = 0; i < explain_xgb_rows; ++i) {
      xgb.contributions(&x[i * cols], 1, cols, c_xgb.data());
    }
  });
  double max_shap_diff = 0;
  for (std::size_t i = 0; i < explain_xgb_rows; ++i) {
    native.contributions(&x[i * cols], group, c_native.data(), scratch);
    xgb.contributions(&x[i * cols], 1, cols, c_xgb.data());
    for (std::size_t c = 0; c <= cols; ++c) {
      const double d = std::fabs(c_native[c] - c_xgb[group * (cols + 1) + c]);
      max_shap_diff = std::max(max_shap_diff, d);
    }
  }

  const bool same =
      max_diff <= 1e-6 && max_shap_diff <= 1e-5 && kernel_mismatches == 0 && simd_mismatches == 0;
  std::printf(
      "{\"bundle\":\"%s\",\"trees\":%zu,\"features\":%zu,\"batch\":%zu,\"rows\":%zu,"
      "\"native_verdicts_per_second\":%.0f,\"xgboost_verdicts_per_second\":%.0f,"
      "\"ratio\":%.2f,\"kernel\":\"%s\",\"scalar_verdicts_per_second\":%.0f,"
      "\"kernel_over_scalar\":%.2f,\"kernel_mismatches\":%zu,\"avx2_verdicts_per_second\":%s,"
      "\"avx512_verdicts_per_second\":%s,\"simd_mismatches\":%zu,\"max_abs_diff\":%.3g,"
      "\"explain_"
      "native_us\":%.1f,"
      "\"explain_xgboost_us\":%.1f,\"explain_ratio\":%.1f,\"max_abs_shap_diff\":%.3g,"
      "\"identical\":%s}\n",
      std::string(model::taskName(bundle->task())).c_str(), native.numTrees(), cols, batch, n,
      static_cast<double>(n) / t_native, static_cast<double>(n) / t_xgb, t_xgb / t_native,
      model::TreeEnsemble::kernelName(native.kernel()), static_cast<double>(n) / t_scalar,
      t_scalar / t_native, kernel_mismatches, rate(forced[0]).c_str(), rate(forced[1]).c_str(),
      simd_mismatches, max_diff, e_native / static_cast<double>(explain_native_rows) * 1e6,
      e_xgb / static_cast<double>(explain_xgb_rows) * 1e6,
      (e_xgb / static_cast<double>(explain_xgb_rows)) /
          (e_native / static_cast<double>(explain_native_rows)),
      max_shap_diff, same ? "true" : "false");
  std::fflush(stdout);
  return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODELS_DIR CAPTURE [BATCH]\n", argv[0]);
    return 2;
  }
  const std::size_t batch = argc == 4 ? std::strtoul(argv[3], nullptr, 10) : 256;
  if (batch == 0) return 2;
  auto source = capture::openFiles({argv[2]});
  Collect rows;
  pipeline::RxLoop rx(pipeline::RxConfig{}, *source, rows);
  rx.run(std::stop_token{});
  if (rows.records.empty()) return 1;

  int status = 0;
  for (const char* name : {"attack", "reel"}) {
    const std::filesystem::path dir = std::filesystem::path(argv[1]) / name;
    if (std::filesystem::exists(dir / "bundle.json"))
      status |= benchBundle(dir, rows.records, batch);
  }
  return status;
}
