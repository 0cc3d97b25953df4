// report.html: the eval command's figures as one self-contained page. Every
// chart is inline SVG drawn here; the page loads nothing and runs no script,
// so it opens the same from a file, a mail or an air-gapped box.

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "evaluation/report.h"
#include "features/schema.h"

namespace edgesense::evaluation {
namespace {

// ---- text helpers ----

std::string format(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* f, ...) {
  va_list ap, again;
  va_start(ap, f);
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, f, ap);
  va_end(ap);
  std::string out(static_cast<std::size_t>(std::max(n, 0)), '\0');
  std::vsnprintf(out.data(), out.size() + 1, f, again);
  va_end(again);
  return out;
}

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double v, int digits = 3) {
  return std::isfinite(v) ? format("%.*f", digits, v) : std::string("n/a");
}

/// 1234567 -> "1,234,567".
std::string thousands(double v) {
  std::string digits = format("%.0f", v);
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[i];
    if (digits[i] != '-' && (n - i - 1) % 3 == 0 && i + 1 < n) out += ',';
  }
  return out;
}

std::string baseName(const std::string& path) {
  const auto cut = path.find_last_of('/');
  return cut == std::string::npos ? path : path.substr(cut + 1);
}

// ---- colours ----

constexpr const char* kInk = "#1e293b";
constexpr const char* kMuted = "#64748b";
constexpr const char* kGrid = "#e2e8f0";

std::string classColor(const std::string& name, std::size_t index) {
  if (name == "benign") return "#64748b";
  if (name == "scan") return "#2563eb";
  if (name == "dos") return "#dc2626";
  if (name == "bruteforce") return "#d97706";
  if (name == "slowdos") return "#7c3aed";
  if (name == "reel") return "#0d9488";
  if (name == "anomaly") return "#db2777";
  static constexpr const char* kMore[] = {"#0891b2", "#65a30d", "#c026d3", "#ea580c", "#4f46e5"};
  return kMore[index % 5];
}

/// White to deep blue, t in [0, 1].
std::string heat(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double r0 = 248, g0 = 250, b0 = 252, r1 = 30, g1 = 64, b1 = 175;
  return format("rgb(%d,%d,%d)", static_cast<int>(r0 + (r1 - r0) * t),
                static_cast<int>(g0 + (g1 - g0) * t), static_cast<int>(b0 + (b1 - b0) * t));
}

// ---- SVG pieces ----

struct Frame {
  double width, height, left, right, top, bottom;
  double plotW() const { return width - left - right; }
  double plotH() const { return height - top - bottom; }
  double x(double u) const { return left + u * plotW(); }  // u in [0, 1]
  double y(double v) const { return top + (1 - v) * plotH(); }
};

std::string svgOpen(const Frame& f, const std::string& label) {
  return format(
             "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
             "height=\"%.0f\" role=\"img\" aria-label=\"",
             f.width, f.height, f.width, f.height) +
         esc(label) + "\">";
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle",
                 const char* extra = "") {
  return format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, extra) +
         esc(s) + "</text>";
}

/// Axes of a unit square chart with grid lines every 0.2 and axis titles.
std::string unitAxes(const Frame& f, const std::string& xlabel, const std::string& ylabel) {
  std::string s;
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", f.x(0),
                f.y(v), f.x(1), f.y(v), kGrid);
    s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", f.x(v),
                f.y(0), f.x(v), f.y(1), kGrid);
    s += text(f.x(v), f.y(0) + 16, format("%.1f", v), "middle", "class=\"tick\"");
    s += text(f.x(0) - 6, f.y(v) + 4, format("%.1f", v), "end", "class=\"tick\"");
  }
  s += format(
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
      "stroke=\"#94a3b8\"/>",
      f.x(0), f.y(1), f.plotW(), f.plotH());
  s += text(f.x(0.5), f.height - 8, xlabel, "middle", "class=\"axis\"");
  s += format(
           "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
           "class=\"axis\">",
           f.y(0.5)) +
       esc(ylabel) + "</text>";
  return s;
}

struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // in [0, 1]^2
  bool dashed = false;
  std::optional<std::pair<double, double>> marker;  // the operating point at the threshold
};

std::string legend(double x, double y, const std::vector<Series>& series) {
  std::string s;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double yy = y + 18.0 * static_cast<double>(i);
    s += format(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
        "stroke-width=\"3\"%s/>",
        x, yy - 4, x + 18, yy - 4, series[i].color.c_str(),
        series[i].dashed ? " stroke-dasharray=\"5 4\"" : "");
    s += text(x + 24, yy, series[i].name, "start", "class=\"legend\"");
  }
  return s;
}

std::string lineChart(const std::string& label, const std::string& xlabel,
                      const std::string& ylabel, const std::vector<Series>& series, bool diagonal,
                      bool legend_bottom_right) {
  const Frame f{420, 360, 58, 16, 14, 48};
  std::string s = svgOpen(f, label) + unitAxes(f, xlabel, ylabel);
  if (diagonal) {
    s += format(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#94a3b8\" "
        "stroke-dasharray=\"4 4\"/>",
        f.x(0), f.y(0), f.x(1), f.y(1));
  }
  for (const Series& ser : series) {
    if (ser.points.empty()) continue;
    std::string d;
    for (const auto& [u, v] : ser.points) {
      d += format("%s%.1f,%.1f ", d.empty() ? "M" : "L", f.x(u), f.y(v));
    }
    s += format(
        "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
        "stroke-linejoin=\"round\"%s/>",
        d.c_str(), ser.color.c_str(), ser.dashed ? " stroke-dasharray=\"6 4\"" : "");
  }
  for (const Series& ser : series) {
    if (!ser.marker) continue;
    s += format(
             "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\" fill=\"%s\" stroke=\"#fff\" "
             "stroke-width=\"2\"><title>",
             f.x(ser.marker->first), f.y(ser.marker->second), ser.color.c_str()) +
         esc(ser.name) +
         format(" at its decision threshold: (%.3f, %.3f)</title></circle>", ser.marker->first,
                ser.marker->second);
  }
  const double lx = legend_bottom_right ? f.x(0.42) : f.x(0.05);
  const double ly = legend_bottom_right
                        ? f.y(0.05) - 18.0 * (static_cast<double>(series.size()) - 1)
                        : f.y(0.95) + 12;
  s += legend(lx, ly, series);
  return s + "</svg>";
}

/// Confusion heatmap: cells coloured by row share, labelled with counts.
std::string confusionChart(const AttackMetrics& a, const std::string& label, double cell) {
  const std::size_t n = a.classes.size();
  const double left = 96, top = 56;
  const Frame f{left + cell * static_cast<double>(n) + 16,
                top + cell * static_cast<double>(n) + 40,
                left,
                16,
                top,
                40};
  std::string s = svgOpen(f, label);
  s += text(left + cell * static_cast<double>(n) / 2, 16, "predicted class", "middle",
            "class=\"axis\"");
  s += format(
      "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
      "class=\"axis\">true class</text>",
      top + cell * static_cast<double>(n) / 2);
  for (std::size_t p = 0; p < n; ++p) {
    s += text(left + cell * (static_cast<double>(p) + 0.5), top - 10, a.classes[p], "middle",
              "class=\"tick\"");
  }
  for (std::size_t t = 0; t < n; ++t) {
    const double y = top + cell * static_cast<double>(t);
    s += text(left - 8, y + cell / 2 + 4, a.classes[t], "end", "class=\"tick\"");
    const std::uint64_t row = a.confusion.rowSum(t);
    for (std::size_t p = 0; p < n; ++p) {
      const double x = left + cell * static_cast<double>(p);
      const std::uint64_t count = a.confusion.at(t, p);
      const double share = row > 0 ? static_cast<double>(count) / static_cast<double>(row) : 0;
      s += format(
               "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
               "stroke=\"#fff\" stroke-width=\"2\"%s><title>",
               x, y, cell, cell, heat(share).c_str(), t == p ? " rx=\"3\"" : "") +
           esc(a.classes[t]) + " as " + esc(a.classes[p]) +
           format(": %llu</title></rect>", static_cast<unsigned long long>(count));
      const char* ink = share > 0.55 ? "#ffffff" : kInk;
      if (count > 0 || row > 0) {
        s += format(
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"cell\" "
            "fill=\"%s\">%s</text>",
            x + cell / 2, y + cell / 2 + (cell > 60 ? 0 : 4), ink,
            thousands(static_cast<double>(count)).c_str());
        if (cell > 60 && row > 0) {
          s += format(
              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"share\" "
              "fill=\"%s\">%.0f%%</text>",
              x + cell / 2, y + cell / 2 + 16, ink, share * 100);
        }
      }
    }
  }
  s += text(left + cell * static_cast<double>(n) / 2, f.height - 12,
            "colour: share of the true class's flows", "middle", "class=\"note\"");
  return s + "</svg>";
}

/// Overlaid histograms of the share of each group's flows per bin.
std::string histogramChart(const AnomalyMetrics& a) {
  const Frame f{560, 360, 58, 16, 14, 48};
  const std::size_t bins = a.benign_histogram.size();
  std::uint64_t nb = 0, na = 0;
  for (auto c : a.benign_histogram) nb += c;
  for (auto c : a.attack_histogram) na += c;
  double ymax = 0.05;
  for (std::size_t b = 0; b < bins; ++b) {
    if (nb)
      ymax = std::max(ymax, static_cast<double>(a.benign_histogram[b]) / static_cast<double>(nb));
    if (na)
      ymax = std::max(ymax, static_cast<double>(a.attack_histogram[b]) / static_cast<double>(na));
  }
  // A round top, so the five grid steps read as round percentages.
  for (double step : {0.01, 0.02, 0.05, 0.1, 0.2}) {
    if (ymax <= 5 * step) {
      ymax = 5 * step;
      break;
    }
  }
  std::string s = svgOpen(f, "anomaly score histograms");
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", f.x(0),
                f.y(v), f.x(1), f.y(v), kGrid);
    s += text(f.x(0) - 6, f.y(v) + 4, format("%.0f%%", v * ymax * 100), "end", "class=\"tick\"");
    s += text(f.x(v), f.y(0) + 16, format("%.1f", v), "middle", "class=\"tick\"");
  }
  const double bw = f.plotW() / static_cast<double>(bins);
  auto bars = [&](const std::vector<std::uint64_t>& h, std::uint64_t n, const char* color,
                  double offset) {
    std::string out;
    if (n == 0) return out;
    for (std::size_t b = 0; b < bins; ++b) {
      const double share = static_cast<double>(h[b]) / static_cast<double>(n);
      if (share <= 0) continue;
      const double y = f.y(share / ymax);
      out += format(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
          "fill-opacity=\"0.85\"><title>%.3f&#8211;%.3f: %llu flows (%.1f%%)</title></rect>",
          f.left + bw * static_cast<double>(b) + offset, y, bw / 2 - 1, f.y(0) - y, color,
          static_cast<double>(b) / static_cast<double>(bins),
          static_cast<double>(b + 1) / static_cast<double>(bins),
          static_cast<unsigned long long>(h[b]), share * 100);
    }
    return out;
  };
  s += bars(a.benign_histogram, nb, "#64748b", 0.5);
  s += bars(a.attack_histogram, na, "#dc2626", bw / 2);
  s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#94a3b8\"/>", f.x(0),
              f.y(0), f.x(1), f.y(0));
  s += text(f.x(0.5), f.height - 8, "anomaly score (highest over the flow's snapshots)", "middle",
            "class=\"axis\"");
  s += format(
      "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
      "class=\"axis\">share of the group's flows</text>",
      f.y(0.5));
  s += legend(
      f.x(0.62), f.y(0.95) + 12,
      {{format("benign and reel (%s)", thousands(static_cast<double>(nb)).c_str()),
        "#64748b",
        {},
        false},
       {format("attacks (%s)", thousands(static_cast<double>(na)).c_str()), "#dc2626", {}, false}});
  return s + "</svg>";
}

struct Bar {
  std::string label;
  double value = 0;
  std::string color;
  std::string value_text;
};

/// Horizontal bars, one row each, scaled to the largest.
std::string hbarChart(const std::string& label, const std::vector<Bar>& bars,
                      const std::string& xlabel, double width = 560) {
  const double row = 30, left = 250, right = 80, top = 10;
  const Frame f{width, top + row * static_cast<double>(bars.size()) + 40, left, right, top, 40};
  double vmax = 0;
  for (const Bar& b : bars) vmax = std::max(vmax, b.value);
  if (vmax <= 0) vmax = 1;
  std::string s = svgOpen(f, label);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double y = top + row * static_cast<double>(i);
    const double w = f.plotW() * bars[i].value / vmax;
    s += text(left - 10, y + row / 2 + 4, bars[i].label, "end", "class=\"tick\"");
    s += format(
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\" "
        "fill=\"%s\"/>",
        left, y + 5, std::max(w, 1.0), row - 10, bars[i].color.c_str());
    s += text(left + w + 6, y + row / 2 + 4, bars[i].value_text, "start", "class=\"value\"");
  }
  s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#94a3b8\"/>", left,
              top, left, f.height - 40);
  s += text(left + f.plotW() / 2, f.height - 12, xlabel, "middle", "class=\"axis\"");
  return s + "</svg>";
}

/// Stacked horizontal bars of mean |SHAP| per feature, one colour per class.
std::string shapChart(const ShapSummary& shap, std::size_t top_n) {
  const std::size_t n = std::min(top_n, shap.features.size());
  const double row = 26, left = 170, right = 56, top = 10;
  const double legend_h = 24;
  const Frame f{536, top + row * static_cast<double>(n) + 48 + legend_h, left, right, top, 48};
  double vmax = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (double v : shap.mean_abs[i]) sum += v;
    vmax = std::max(vmax, sum);
  }
  if (vmax <= 0) vmax = 1;
  std::string s = svgOpen(f, "mean absolute SHAP per feature");
  for (std::size_t i = 0; i < n; ++i) {
    const double y = top + row * static_cast<double>(i);
    s += text(left - 10, y + row / 2 + 4, std::string(features::kSchema[shap.features[i]].name),
              "end", "class=\"tick mono\"");
    double x = left, sum = 0;
    for (std::size_t k = 0; k < shap.series.size(); ++k) {
      const double w = f.plotW() * shap.mean_abs[i][k] / vmax;
      sum += shap.mean_abs[i][k];
      s += format(
               "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
               "<title>",
               x, y + 4, w, row - 8, classColor(shap.series[k], k).c_str()) +
           esc(shap.series[k]) + format(": %.3f</title></rect>", shap.mean_abs[i][k]);
      x += w;
    }
    s += text(x + 6, y + row / 2 + 4, format("%.2f", sum), "start", "class=\"value\"");
  }
  const double axis_y = top + row * static_cast<double>(n);
  s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#94a3b8\"/>", left,
              top, left, axis_y);
  s += text(left + f.plotW() / 2, axis_y + 20,
            shap.series.size() > 1 ? "mean |SHAP value| (log-odds), stacked by class"
                                   : "mean |SHAP value| (log-odds)",
            "middle", "class=\"axis\"");
  double lx = left;
  for (std::size_t k = 0; k < shap.series.size(); ++k) {
    s += format("<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", lx,
                axis_y + 32, classColor(shap.series[k], k).c_str());
    s += text(lx + 17, axis_y + 42, shap.series[k], "start", "class=\"legend\"");
    lx += 30 + 8.0 * static_cast<double>(shap.series[k].size());
  }
  return s + "</svg>";
}

/// Grouped vertical bars: one group per metric, one bar per system.
std::string comparisonChart(
    const std::vector<std::string>& metrics, const std::vector<std::string>& systems,
    const std::vector<std::vector<double>>& values,  // [system][metric], NaN: n/a
    const std::vector<std::string>& colors) {
  const Frame f{640, 340, 58, 16, 40, 48};
  std::string s = svgOpen(f, "full model against the baselines");
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", f.x(0),
                f.y(v), f.x(1), f.y(v), kGrid);
    s += text(f.x(0) - 6, f.y(v) + 4, format("%.1f", v), "end", "class=\"tick\"");
  }
  const double group = f.plotW() / static_cast<double>(metrics.size());
  const double bw = std::min(44.0, (group - 30) / static_cast<double>(systems.size()));
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const double gx = f.left + group * static_cast<double>(m) +
                      (group - bw * static_cast<double>(systems.size())) / 2;
    for (std::size_t k = 0; k < systems.size(); ++k) {
      const double v = values[k][m];
      const double x = gx + bw * static_cast<double>(k);
      if (!std::isfinite(v)) {
        s += text(x + bw / 2, f.y(0) - 6, "n/a", "middle", "class=\"note\"");
        continue;
      }
      const double y = f.y(std::clamp(v, 0.0, 1.0));
      s += format(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" "
          "fill=\"%s\"/>",
          x + 2, y, bw - 4, std::max(f.y(0) - y, 0.5), colors[k].c_str());
      s += text(x + bw / 2, y - 5, v < 0.1 && v > 0 ? format("%.3f", v) : format("%.2f", v),
                "middle", "class=\"value small\"");
    }
    s += text(f.left + group * (static_cast<double>(m) + 0.5), f.y(0) + 18, metrics[m], "middle",
              "class=\"axis\"");
  }
  s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#94a3b8\"/>", f.x(0),
              f.y(0), f.x(1), f.y(0));
  double lx = f.left;
  for (std::size_t k = 0; k < systems.size(); ++k) {
    s += format("<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", lx,
                colors[k].c_str());
    s += text(lx + 17, 18, systems[k], "start", "class=\"legend\"");
    lx += 40 + 7.0 * static_cast<double>(systems[k].size());
  }
  s += text(f.x(0.5), f.height - 6, "higher is better, except benign FPR", "middle",
            "class=\"note\"");
  return s + "</svg>";
}

std::vector<std::pair<double, double>> rocPoints(const std::vector<CurvePoint>& c) {
  std::vector<std::pair<double, double>> p;
  for (const CurvePoint& q : c) p.emplace_back(q.fpr, q.tpr);
  return p;
}

std::vector<std::pair<double, double>> prPoints(const std::vector<CurvePoint>& c) {
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 1; i < c.size(); ++i) p.emplace_back(c[i].tpr, c[i].precision);
  return p;
}

/// (false-positive rate, recall) and (recall, precision) at the decision threshold.
std::optional<std::pair<double, double>> rocMarker(const BinaryMetrics& m) {
  if (m.positives == 0 || m.negatives == 0) return std::nullopt;
  return std::make_pair(static_cast<double>(m.false_positives) / static_cast<double>(m.negatives),
                        m.prf.recall);
}

std::optional<std::pair<double, double>> prMarker(const BinaryMetrics& m) {
  if (m.true_positives + m.false_positives == 0) return std::nullopt;
  return std::make_pair(m.prf.recall, m.prf.precision);
}

std::optional<std::pair<double, double>> anomalyMarker(const AnomalyMetrics& m) {
  std::uint64_t benign = 0, attack = 0;
  for (auto c : m.benign_histogram) benign += c;
  for (auto c : m.attack_histogram) attack += c;
  if (benign == 0 || attack == 0) return std::nullopt;
  return std::make_pair(static_cast<double>(m.alerting_benign) / static_cast<double>(benign),
                        static_cast<double>(m.alerting_attack) / static_cast<double>(attack));
}

std::string card(const std::string& value, const std::string& label, const std::string& hint = "") {
  return "<div class=\"card\"><div class=\"v\">" + esc(value) + "</div><div class=\"l\">" +
         esc(label) + "</div>" + (hint.empty() ? "" : "<div class=\"h\">" + esc(hint) + "</div>") +
         "</div>";
}

std::string perClassTable(const AttackMetrics& a) {
  std::string s =
      "<table class=\"metrics\"><thead><tr><th>class</th><th>precision</th><th>recall</th>"
      "<th>F1</th><th class=\"barcol\"></th><th>support</th></tr></thead><tbody>";
  for (std::size_t c = 0; c < a.classes.size(); ++c) {
    const Prf& p = a.per_class[c];
    s += "<tr><td><span class=\"dot\" style=\"background:" + classColor(a.classes[c], c) +
         "\"></span>" + esc(a.classes[c]) + "</td><td>" + fixed(p.precision) + "</td><td>" +
         fixed(p.recall) + "</td><td><b>" + fixed(p.f1) + "</b></td>" +
         format(
             "<td class=\"barcol\"><div class=\"bar\"><div style=\"width:%.1f%%;background:%s\">"
             "</div></div></td>",
             p.f1 * 100, classColor(a.classes[c], c).c_str()) +
         "<td>" + thousands(static_cast<double>(p.support)) + "</td></tr>";
  }
  s += "</tbody><tfoot><tr><td>macro-F1 (attack classes)</td><td></td><td></td><td><b>" +
       fixed(a.macro_f1) +
       "</b></td><td></td><td></td></tr><tr><td>benign false-positive rate</td>"
       "<td></td><td></td><td><b>" +
       fixed(a.benign_fpr, 4) + "</b></td><td></td><td></td></tr></tfoot></table>";
  return s;
}

constexpr const char* kStyle = R"(
:root{--ink:#1e293b;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--accent:#1d4ed8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 "DejaVu Sans","Liberation Sans",Helvetica,Arial,sans-serif}
header{background:linear-gradient(120deg,#0f172a,#1e3a8a);color:#f8fafc;padding:28px 32px 24px}
header h1{margin:0;font-size:26px;font-weight:600;letter-spacing:.2px}
header .sub{color:#cbd5e1;margin-top:4px;font-size:14px}
header .models{margin-top:10px;font-size:13px;color:#bfdbfe}
header code{background:rgba(255,255,255,.12);padding:1px 6px;border-radius:4px;color:#fff}
main{max-width:1240px;margin:0 auto;padding:24px 32px 48px}
.cards{display:flex;flex-wrap:wrap;gap:14px;margin:-8px 0 22px}
.card{flex:1 1 140px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 16px;box-shadow:0 1px 2px rgba(15,23,42,.05)}
.card .v{font-size:24px;font-weight:600;color:var(--accent)}
.card .l{font-size:12.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.5px}
.card .h{font-size:12px;color:var(--muted)}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:20px 24px;margin:0 0 22px;box-shadow:0 1px 2px rgba(15,23,42,.05)}
section h2{margin:0 0 4px;font-size:19px;font-weight:600}
section p.lead{margin:0 0 14px;color:var(--muted);font-size:14px;max-width:900px}
.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
figure{margin:0}
figcaption{font-size:13.5px;font-weight:600;margin:0 0 6px;color:var(--ink)}
figcaption span{font-weight:400;color:var(--muted)}
svg{font-family:"DejaVu Sans","Liberation Sans",Helvetica,Arial,sans-serif;fill:var(--ink)}
svg .tick{font-size:11.5px;fill:#475569}
svg .mono{font-family:"DejaVu Sans Mono",monospace;font-size:11px}
svg .axis{font-size:12.5px;fill:#334155}
svg .legend{font-size:12px;fill:#334155}
svg .value{font-size:11.5px;fill:#334155}
svg .small{font-size:10.5px}
svg .note{font-size:11px;fill:#94a3b8}
svg .cell{font-size:13px;font-weight:600}
svg .share{font-size:10.5px}
table.metrics{border-collapse:collapse;font-size:14px}
table.metrics th{text-align:right;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px;padding:6px 8px;border-bottom:2px solid var(--line)}
table.metrics td{text-align:right;padding:6px 8px;border-bottom:1px solid var(--line);font-variant-numeric:tabular-nums}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
table.metrics tfoot td{border-bottom:none;color:var(--ink)}
.barcol{width:96px}
.bar{background:#f1f5f9;border-radius:3px;height:10px;width:88px}
.bar div{height:10px;border-radius:3px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:8px;vertical-align:0}
dl{display:grid;grid-template-columns:200px 1fr;gap:6px 18px;font-size:13.5px;margin:0}
dt{font-weight:600}dd{margin:0;color:#334155}
footer{color:var(--muted);font-size:12.5px;text-align:center;padding:0 0 30px}
)";

}  // namespace

std::string reportHtml(const Report& r) {
  std::string captures;
  for (const std::string& c : r.captures) captures += (captures.empty() ? "" : ", ") + baseName(c);
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>edgesense eval: " +
      esc(captures) + "</title><style>" + kStyle + "</style></head><body>";

  // Header: what was measured, with which models.
  h += "<header><h1>edgesense evaluation</h1><div class=\"sub\">" + esc(captures) + " &middot; " +
       thousands(static_cast<double>(r.flows)) + " flows &middot; " +
       thousands(static_cast<double>(r.packets)) + " packets &middot; generated " +
       esc(r.generated_utc) + "</div><div class=\"models\">models:";
  for (const ModelInfo& m : r.models) {
    h += " " + esc(m.head) + " <code>" + esc(m.name) + " " + esc(m.version) + "</code>";
  }
  h += "</div></header><main>";

  h += "<div class=\"cards\">";
  h += card(fixed(r.attack.macro_f1), "attack macro-F1");
  h += card(fixed(r.attack.benign_fpr, 4), "benign false-positive rate");
  h += card(r.reel ? fixed(r.reel->prf.f1) : "n/a", "reel F1",
            r.reel ? "ROC-AUC " + fixed(r.reel->roc_auc) : "");
  h += card(r.anomaly ? fixed(r.anomaly->roc_auc) : "n/a", "anomaly ROC-AUC");
  h += card(thousands(r.packets_per_second), "packets / s", "replay with scoring, wall clock");
  std::string mix;
  for (const auto& [cat, n] : r.flows_by_category) {
    mix += (mix.empty() ? "" : ", ") + cat + " " + thousands(static_cast<double>(n));
  }
  if (!r.exclude_files.empty()) {
    mix += (mix.empty() ? "" : "; ") + thousands(static_cast<double>(r.excluded_flows)) +
           " excluded (--exclude), in no figure";
  }
  h += card(thousands(static_cast<double>(r.flows)), "flows", mix);
  h += "</div>";

  // Attack head.
  h += "<section id=\"attack\"><h2>Attack head</h2><p class=\"lead\">A flow's predicted class is "
       "that of its "
       "first snapshot that raised an alert, else benign; its true class is its label, with reels "
       "counted as benign.</p><div class=\"row\"><div>" +
       perClassTable(r.attack) +
       "</div><figure><figcaption>Confusion matrix <span>(rows: true class, columns: "
       "predicted)</span></figcaption>" +
       confusionChart(r.attack, "attack confusion matrix", 70) + "</figure></div></section>";

  // Baselines.
  if (!r.baselines.empty()) {
    std::vector<std::string> systems{"full model"};
    std::vector<std::string> colors{"#1d4ed8", "#f59e0b", "#94a3b8", "#10b981"};
    std::vector<std::vector<double>> values{{r.attack.macro_f1, r.attack.benign_fpr,
                                             r.reel ? r.reel->prf.f1 : std::nan(""),
                                             r.anomaly ? r.anomaly->roc_auc : std::nan("")}};
    for (const BaselineResult& b : r.baselines) {
      systems.push_back(b.title);
      values.push_back({b.attack ? b.attack->macro_f1 : std::nan(""),
                        b.attack ? b.attack->benign_fpr : std::nan(""),
                        b.reel ? b.reel->prf.f1 : std::nan(""),
                        b.anomaly ? b.anomaly->roc_auc : std::nan("")});
    }
    colors.resize(systems.size(), "#10b981");
    h += "<section id=\"baselines\"><h2>Against the baselines</h2><p class=\"lead\">The same "
         "flows, the same "
         "labels, scored by simpler detectors, so the worth of the full feature set is measured "
         "rather than claimed.</p><dl>";
    for (const BaselineResult& b : r.baselines)
      h += "<dt>" + esc(b.title) + "</dt><dd>" + esc(b.description) + "</dd>";
    h += "</dl><div class=\"row\" style=\"margin-top:16px\"><figure><figcaption>Macro-F1, benign "
         "false-positive rate, reel F1, anomaly ROC-AUC</figcaption>" +
         comparisonChart({"attack macro-F1", "benign FPR", "reel F1", "anomaly ROC-AUC"}, systems,
                         values, colors) +
         "</figure>";
    for (const BaselineResult& b : r.baselines) {
      if (!b.attack) continue;
      h += "<figure><figcaption>" + esc(b.title) + " <span>(confusion)</span></figcaption>" +
           confusionChart(*b.attack, b.title + " confusion matrix", 60) + "</figure>";
    }
    h += "</div></section>";
  }

  // Reel head.
  if (r.reel) {
    std::vector<Series> roc{{format("reel head (AUC %s)", fixed(r.reel->roc_auc).c_str()),
                             "#0d9488", rocPoints(r.reel->curve), false, rocMarker(*r.reel)}};
    std::vector<Series> pr{{format("reel head (AP %s)", fixed(r.reel->average_precision).c_str()),
                            "#0d9488", prPoints(r.reel->curve), false, prMarker(*r.reel)}};
    for (const BaselineResult& b : r.baselines) {
      if (!b.reel) continue;
      roc.push_back({format("%s (AUC %s)", b.title.c_str(), fixed(b.reel->roc_auc).c_str()),
                     "#f59e0b", rocPoints(b.reel->curve), true, rocMarker(*b.reel)});
      pr.push_back({format("%s (AP %s)", b.title.c_str(), fixed(b.reel->average_precision).c_str()),
                    "#f59e0b", prPoints(b.reel->curve), true, prMarker(*b.reel)});
    }
    h += "<section id=\"reel\"><h2>Reel head</h2><p class=\"lead\">" +
         format(
             "Precision %s, recall %s, F1 %s over %s reel flows; %s flows passed the reel gate. "
             "A flow the gate never let through counts as predicted non-reel with probability "
             "0.",
             fixed(r.reel->prf.precision).c_str(), fixed(r.reel->prf.recall).c_str(),
             fixed(r.reel->prf.f1).c_str(),
             thousands(static_cast<double>(r.reel->prf.support)).c_str(),
             thousands(static_cast<double>(r.reel->scored)).c_str()) +
         "</p><div class=\"row\"><figure><figcaption>ROC curve <span>(dot: the decision "
         "threshold)</span></figcaption>" +
         lineChart("reel ROC curve", "false-positive rate", "true-positive rate", roc, true, true) +
         "</figure><figure><figcaption>Precision&#8211;recall curve <span>(dot: the decision "
         "threshold)</span></figcaption>" +
         lineChart("reel precision-recall curve", "recall", "precision", pr, false, false) +
         "</figure></div></section>";
  }

  // Anomaly head.
  if (r.anomaly) {
    std::vector<Series> anomaly_roc{
        {format("isolation forest (AUC %s)", fixed(r.anomaly->roc_auc).c_str()), "#db2777",
         rocPoints(r.anomaly->curve), false, anomalyMarker(*r.anomaly)}};
    for (const BaselineResult& b : r.baselines) {
      if (!b.anomaly) continue;
      anomaly_roc.push_back(
          {format("%s (AUC %s)", b.title.c_str(), fixed(b.anomaly->roc_auc).c_str()), "#f59e0b",
           rocPoints(b.anomaly->curve), true, anomalyMarker(*b.anomaly)});
    }
    h += "<section id=\"anomaly\"><h2>Anomaly head</h2><p class=\"lead\">" +
         format(
             "A flow's score is the highest over its snapshots; attack flows are the positives. "
             "Over the alert threshold: %s benign and reel flows, %s attack flows.",
             thousands(static_cast<double>(r.anomaly->alerting_benign)).c_str(),
             thousands(static_cast<double>(r.anomaly->alerting_attack)).c_str()) +
         "</p><div class=\"row\"><figure><figcaption>Score distribution, benign against "
         "attack flows</figcaption>" +
         histogramChart(*r.anomaly) +
         "</figure><figure><figcaption>ROC curve <span>(dot: the decision "
         "threshold)</span></figcaption>" +
         lineChart("anomaly ROC curve", "false-positive rate", "true-positive rate", anomaly_roc,
                   true, true) +
         "</figure></div></section>";
  }

  // Explanations.
  if (!r.attack_shap.features.empty() || !r.reel_shap.features.empty()) {
    h +=
        "<section id=\"shap\"><h2>What the models look at</h2><p class=\"lead\">Mean absolute SHAP "
        "contribution (XGBoost's TreeSHAP, in log-odds) of each feature, over a sample of up to "
        "200 final flow snapshots per label category, so rare attacks weigh as much as common "
        "traffic. Longer bars move the model's output more.</p><div class=\"row\">";
    if (!r.attack_shap.features.empty()) {
      h += format(
               "<figure><figcaption>Attack head <span>(%zu flows; top 15 features)</span>"
               "</figcaption>",
               r.attack_shap.rows) +
           shapChart(r.attack_shap, 15) + "</figure>";
    }
    if (!r.reel_shap.features.empty()) {
      h += format(
               "<figure><figcaption>Reel head <span>(%zu gated flows; top 10 features)"
               "</span></figcaption>",
               r.reel_shap.rows) +
           shapChart(r.reel_shap, 10) + "</figure>";
    }
    h += "</div></section>";
  }

  // Alerts per technique.
  if (!r.techniques.empty()) {
    std::vector<Bar> bars;
    for (std::size_t i = 0; i < r.techniques.size(); ++i) {
      const TechniqueCount& t = r.techniques[i];
      const std::string label = t.technique_id.empty() ? t.class_name + " (no technique)"
                                                       : t.technique_id + " " + t.technique;
      bars.push_back({label, static_cast<double>(t.flows), classColor(t.class_name, i),
                      thousands(static_cast<double>(t.flows)) + " " + t.class_name});
    }
    h += "<section id=\"mitre\"><h2>Alerts per MITRE ATT&amp;CK technique</h2><p "
         "class=\"lead\">Flows the "
         "attack head flagged, by the technique of the class it gave them, and flows the anomaly "
         "head flagged. The sensor aggregates these into far fewer alert records.</p>" +
         hbarChart("alerting flows per technique", bars, "alerting flows", 760) + "</section>";
  }

  h += "<section id=\"definitions\"><h2>Definitions</h2><dl>"
       "<dt>unit</dt><dd>the flow: its interim snapshots and final record together</dd>"
       "<dt>macro-F1</dt><dd>mean F1 over the attack classes that occur as truth or "
       "prediction; benign excluded</dd>"
       "<dt>benign FPR</dt><dd>benign flows (reels included) predicted as any attack, over "
       "benign flows</dd>"
       "<dt>throughput</dt><dd>packets replayed per second of wall clock, scoring included</dd>"
       "</dl><p class=\"lead\" style=\"margin-top:10px\">docs/evaluation.md has the full "
       "definitions.</p></section>";
  h += "</main><footer>edgesense eval &middot; labels: ";
  std::string labels;
  for (const std::string& l : r.label_files) labels += (labels.empty() ? "" : ", ") + baseName(l);
  h += esc(labels) + "</footer></body></html>\n";
  return h;
}

}  // namespace edgesense::evaluation
