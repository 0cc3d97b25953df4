#pragma once
/// writeBundle(): makes a model bundle directory (docs/model-bundle.md) from a
/// trained model and what is known about its training; `edgesense train`
/// calls it once its model is trained. The caller gives the model file's
/// contents; the writer adds what is computed from data: the quantiles of
/// every model feature over the training rows, and the expected outputs of
/// the sample rows, scored by the model as written to the bundle (not by the
/// caller's copy), so the bundle carries its own check.
///
/// Atomic: everything goes into a temporary directory beside the target
/// (".NAME.tmp-XXXXXX"), is flushed to disk and checked with Bundle::load(),
/// and only then renamed to the target. An existing bundle there is swapped
/// out in the same rename (renameat2 RENAME_EXCHANGE; on a file system
/// without it, moved aside to ".NAME.old-XXXXXX" first) and then removed. A
/// daemon loading the target sees the old bundle or the new one, never a mix;
/// on any failure the target is left as it was. Whoever scans a models
/// directory should skip names starting with '.'.
///
/// Threads and lifetime: a plain function of its arguments, for the offline
/// train command and tests, never the packet path (it writes and fsyncs
/// files). Two writers racing for the same target are not supported.

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "features/schema.h"
#include "model/bundle.h"

namespace edgesense::model {

/// bundle.json's "training" object: free-form JSON objects (as text, each
/// "{...}"), kept as given, and when it was trained.
struct TrainingRecord {
  std::string params_json = "{}";   // how: the model's parameters, the split, the seed
  std::string metrics_json = "{}";  // how well: hold-out metrics, thresholds and what they give
  std::string data_json = "{}";     // on what: input files with digests, row counts per label
  std::string timings_json = "{}";  // how long: seconds per step
  std::string trained_at;           // "2026-11-21T10:00:00Z"; empty: now (UTC)
};

/// Everything a bundle holds, in bundle.json's words. The spans are only read
/// during writeBundle().
struct BundleContents {
  std::string name;
  std::string version;
  Task task = Task::kAnomaly;
  ModelKind kind = ModelKind::kIsolationForest;
  std::vector<std::string> classes;          // output order
  std::map<std::string, double> thresholds;  // class -> threshold
  /// The model's input columns, in model order: schema names (all of
  /// schemaFeatureNames() or a subset).
  std::vector<std::string> features;
  std::string model_file = "model.json";
  /// The model file's contents: IsolationForest::toJson(), or an XGBoost JSON
  /// model.
  std::string model_json;
  std::map<std::string, MitreEntry> mitre;  // attack bundles only; may be empty
  TrainingRecord training;
  /// The rows the model was trained on (schema order), for the quantiles of
  /// feature_distribution; none: no distribution.
  std::span<const features::FeatureVector> training_rows;
  /// At least one row (schema order, finite or NaN values): written with the
  /// model's outputs for them.
  std::span<const features::FeatureVector> sample_rows;
};

/// writeBundle() failed; what() is one line: "cannot write model bundle DIR:
/// reason".
class BundleWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes `contents` as the bundle directory `dir` (its parent is created if
/// missing), replacing the bundle that is there. Refuses to replace anything
/// but a bundle (a directory with bundle.json) or an empty directory. Returns
/// true if it replaced a bundle. Throws BundleWriteError, the target left as
/// it was.
bool writeBundle(const std::filesystem::path& dir, const BundleContents& contents);

/// Every feature name, in schema order: the default model columns.
std::vector<std::string> schemaFeatureNames();

/// Whether `s` may be a bundle name, version or class name: letters, digits
/// and . _ - +, 1 to 64 characters.
bool isBundleToken(std::string_view s) noexcept;

/// The kQuantileCount quantiles q0, q10, ..., q100 of the finite values in
/// `values` (NaN and infinities ignored), interpolated linearly between
/// order statistics (numpy's default); empty if no value is finite.
std::vector<double> quantilesOf(std::span<const double> values);

/// The share of the finite values in each bin of shareEdges(quantiles)
/// (bundle.h): what drift metrics expect of a feature whose values repeat,
/// which quantiles alone cannot tell.
std::vector<double> sharesOf(std::span<const double> values, std::span<const double> quantiles);

/// SHA-256 of a file's bytes as 64 lowercase hex digits (what sha256sum
/// prints): the digest training records for its inputs. Throws
/// std::runtime_error if the file cannot be read.
std::string sha256File(const std::filesystem::path& file);
/// SHA-256 of `bytes`, as sha256File().
std::string sha256(std::string_view bytes);

}  // namespace edgesense::model
