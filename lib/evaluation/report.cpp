// The eval command's outputs after its replays: metrics.json, the text
// summary and the per-flow CSV (report.html is report_html.cpp), and the
// SHAP means the report draws.

#include "evaluation/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "output/eve.h"

namespace edgesense::evaluation {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

Json prfJson(const Prf& p) {
  return {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}, {"support", p.support}};
}

Json attackJson(const AttackMetrics& a) {
  Json j;
  Json per_class = Json::object();
  for (std::size_t c = 0; c < a.classes.size(); ++c)
    per_class[a.classes[c]] = prfJson(a.per_class[c]);
  j["per_class"] = per_class;
  j["macro_f1"] = a.macro_f1;
  j["benign_fpr"] = a.benign_fpr;
  Json confusion = Json::object();
  for (std::size_t t = 0; t < a.classes.size(); ++t) {
    Json row = Json::object();
    for (std::size_t p = 0; p < a.classes.size(); ++p) row[a.classes[p]] = a.confusion.at(t, p);
    confusion[a.classes[t]] = row;
  }
  j["confusion"] = confusion;
  j["classes"] = a.classes;
  return j;
}

Json reelJson(const BinaryMetrics& r) {
  return {{"precision", r.prf.precision},
          {"recall", r.prf.recall},
          {"f1", r.prf.f1},
          {"roc_auc", number(r.roc_auc)},
          {"average_precision", number(r.average_precision)},
          {"support", r.prf.support},
          {"flows", r.positives + r.negatives},
          {"true_positives", r.true_positives},
          {"false_positives", r.false_positives},
          {"scored", r.scored}};
}

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(const std::string& s, std::size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

ShapSummary meanAbsShap(const model::Bundle& bundle, std::span<const FeatureSample> samples) {
  ShapSummary s;
  if (bundle.kind() != model::ModelKind::kXgboost || samples.empty()) return s;
  const bool reel = bundle.task() == model::Task::kReel;
  const std::vector<std::size_t>& columns = bundle.featureIndices();
  std::vector<std::size_t> classes;
  for (std::size_t c = 1; c < bundle.classes().size(); ++c) {
    classes.push_back(c);
    s.series.push_back(bundle.classes()[c]);
  }
  std::vector<std::vector<double>> sums(columns.size(), std::vector<double>(classes.size(), 0));
  std::vector<float> out(columns.size() + 1);
  for (const FeatureSample& sample : samples) {
    if (reel && !sample.reel_gated) continue;
    ++s.rows;
    for (std::size_t k = 0; k < classes.size(); ++k) {
      bundle.contributions(sample.features, classes[k], out);
      for (std::size_t c = 0; c < columns.size(); ++c) sums[c][k] += std::abs(out[c]);
    }
  }
  if (s.rows == 0) return {};
  std::vector<std::size_t> order(columns.size());
  std::iota(order.begin(), order.end(), 0);
  auto total = [&](std::size_t c) { return std::accumulate(sums[c].begin(), sums[c].end(), 0.0); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return total(a) > total(b); });
  for (std::size_t c : order) {
    s.features.push_back(columns[c]);
    std::vector<double> means;
    for (double v : sums[c]) means.push_back(v / static_cast<double>(s.rows));
    s.mean_abs.push_back(std::move(means));
  }
  return s;
}

std::string metricsJson(const Report& r) {
  Json j;
  j["attack"] = attackJson(r.attack);
  j["reel"] = r.reel ? reelJson(*r.reel) : Json(nullptr);
  if (r.anomaly) {
    j["anomaly"] = {{"roc_auc", number(r.anomaly->roc_auc)},
                    {"alerting_benign_flows", r.anomaly->alerting_benign},
                    {"alerting_attack_flows", r.anomaly->alerting_attack}};
  } else {
    j["anomaly"] = nullptr;
  }
  j["packets_per_second"] = r.packets_per_second;
  j["packets"] = r.packets;
  j["flows"] = r.flows;
  j["snapshots"] = r.snapshots;
  j["wall_seconds"] = r.wall_seconds;
  j["flows_by_category"] = r.flows_by_category;
  j["excluded_flows"] = r.excluded_flows;
  j["excludes"] = r.exclude_files;
  Json baselines = Json::object();
  for (const BaselineResult& b : r.baselines) {
    baselines[b.key] = {
        {"description", b.description},
        {"attack", b.attack ? attackJson(*b.attack) : Json(nullptr)},
        {"reel", b.reel ? reelJson(*b.reel) : Json(nullptr)},
        {"anomaly", b.anomaly ? Json{{"roc_auc", number(b.anomaly->roc_auc)}} : Json(nullptr)}};
  }
  j["baselines"] = baselines;
  Json alerts = Json::object();
  for (const TechniqueCount& t : r.techniques) {
    alerts[t.class_name] = {{"technique_id", t.technique_id}, {"flows", t.flows}};
  }
  j["alerting_flows"] = alerts;
  Json models = Json::object();
  for (const ModelInfo& m : r.models) models[m.head] = {{"name", m.name}, {"version", m.version}};
  j["models"] = models;
  j["captures"] = r.captures;
  j["labels"] = r.label_files;
  return j.dump(1) + "\n";
}

std::string textSummary(const Report& r) {
  std::string out;
  out += "edgesense eval: " + std::to_string(r.flows) + " flows, " + std::to_string(r.packets) +
         " packets, " + fmt(r.wall_seconds, 2) + " s, " + fmt(r.packets_per_second, 0) +
         " packets/s\n";
  if (!r.exclude_files.empty()) {
    out += "excluded: " + std::to_string(r.excluded_flows) + " flows matching " +
           std::to_string(r.exclude_files.size()) + " --exclude file(s), in no figure\n";
  }
  out += "\n";
  out += "attack head (a flow's class: its first alerting snapshot's, else benign)\n";
  out += pad("class", 12, false) + pad("precision", 10) + pad("recall", 10) + pad("f1", 10) +
         pad("support", 10) + "\n";
  for (std::size_t c = 0; c < r.attack.classes.size(); ++c) {
    const Prf& p = r.attack.per_class[c];
    out += pad(r.attack.classes[c], 12, false) + pad(fmt(p.precision), 10) +
           pad(fmt(p.recall), 10) + pad(fmt(p.f1), 10) + pad(std::to_string(p.support), 10) + "\n";
  }
  out += pad("macro-F1", 12, false) + pad(fmt(r.attack.macro_f1), 30) + "   (attack classes)\n";
  out += pad("benign FPR", 12, false) + pad(fmt(r.attack.benign_fpr, 4), 30) + "\n\n";

  out += "confusion (rows: true, columns: predicted)\n" + pad("", 12, false);
  for (const std::string& c : r.attack.classes) out += pad(c, 11);
  out += "\n";
  for (std::size_t t = 0; t < r.attack.classes.size(); ++t) {
    out += pad(r.attack.classes[t], 12, false);
    for (std::size_t p = 0; p < r.attack.classes.size(); ++p)
      out += pad(std::to_string(r.attack.confusion.at(t, p)), 11);
    out += "\n";
  }
  out += "\n";
  if (r.reel) {
    out += "reel head: precision " + fmt(r.reel->prf.precision) + ", recall " +
           fmt(r.reel->prf.recall) + ", f1 " + fmt(r.reel->prf.f1) + ", ROC-AUC " +
           fmt(r.reel->roc_auc) + " (" + std::to_string(r.reel->prf.support) + " reel flows, " +
           std::to_string(r.reel->scored) + " flows through the gate)\n";
  }
  if (r.anomaly)
    out += "anomaly head: ROC-AUC " + fmt(r.anomaly->roc_auc) + " (attack vs benign flows)\n";
  if (!r.baselines.empty()) {
    out += "\nbaselines" + std::string(27, ' ') + pad("macro-F1", 10) + pad("benign FPR", 12) +
           pad("reel F1", 10) + pad("anomaly AUC", 13) + "\n";
    out += pad("full model", 36, false) + pad(fmt(r.attack.macro_f1), 10) +
           pad(fmt(r.attack.benign_fpr, 4), 12) + pad(r.reel ? fmt(r.reel->prf.f1) : "n/a", 10) +
           pad(r.anomaly ? fmt(r.anomaly->roc_auc) : "n/a", 13) + "\n";
    for (const BaselineResult& b : r.baselines) {
      out += pad(b.title, 36, false) + pad(b.attack ? fmt(b.attack->macro_f1) : "n/a", 10) +
             pad(b.attack ? fmt(b.attack->benign_fpr, 4) : "n/a", 12) +
             pad(b.reel ? fmt(b.reel->prf.f1) : "n/a", 10) +
             pad(b.anomaly ? fmt(b.anomaly->roc_auc) : "n/a", 13) + "\n";
    }
  }
  return out;
}

std::string flowsCsvHeader() {
  return "capture,flow_id,src_ip,src_port,dest_ip,dest_port,proto,start,end,packets,bytes,"
         "category,attack_truth,attack_predicted,reel_probability,reel_predicted,anomaly_score,"
         "anomaly_alert\n";
}

void appendFlowsCsv(std::string& out, std::string_view capture,
                    std::span<const FlowOutcome> flows) {
  // A capture path is the one free-text field: quoted when it must be.
  std::string cap;
  if (capture.find_first_of(",\"\n") == std::string_view::npos) {
    cap = capture;
  } else {
    cap = "\"";
    for (char c : capture) {
      if (c == '"') cap += '"';
      cap += c;
    }
    cap += '"';
  }
  char src[64], dst[64], line[512];
  for (const FlowOutcome& f : flows) {
    decode::formatAddress(f.src, src, sizeof src);
    decode::formatAddress(f.dst, dst, sizeof dst);
    std::string reel = ",";
    if (f.reel_scored) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.6f,%d", f.reel_probability, f.reel_predicted ? 1 : 0);
      reel = buf;
    }
    std::string anomaly = ",";
    if (f.anomaly_scored) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.6f,%d", f.anomaly_score, f.anomaly_alert ? 1 : 0);
      anomaly = buf;
    }
    std::snprintf(line, sizeof line, ",%llu,%s,%u,%s,%u,%s,%.6f,%.6f,%llu,%llu,%s,%s,%s,",
                  static_cast<unsigned long long>(f.flow_id), src, f.src_port, dst, f.dst_port,
                  output::protoName(f.proto).c_str(), static_cast<double>(f.start_us) * 1e-6,
                  static_cast<double>(f.end_us) * 1e-6,
                  static_cast<unsigned long long>(f.pkts[0] + f.pkts[1]),
                  static_cast<unsigned long long>(f.bytes[0] + f.bytes[1]), f.category.c_str(),
                  attackTruth(f.category).c_str(), f.attack_predicted.c_str());
    out += cap;
    out += line;
    out += reel;
    out += ',';
    out += anomaly;
    out += '\n';
  }
}

}  // namespace edgesense::evaluation
