// Training: the reel and attack heads, boosted through model::Trainer over
// the grid, after the split and before calibration and the bundle.

#include "train/xgb_head.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace edgesense::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string text(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

model::XgbParams paramsFor(const GridPoint& p, const XgbHeadOptions& o) {
  model::XgbParams params;
  if (o.n_classes == 2) {
    params.emplace_back("objective", "binary:logistic");
    params.emplace_back("eval_metric", "logloss");
  } else {
    params.emplace_back("objective", "multi:softprob");
    params.emplace_back("eval_metric", "mlogloss");
    params.emplace_back("num_class", std::to_string(o.n_classes));
  }
  params.emplace_back("tree_method", "hist");
  params.emplace_back("nthread", std::to_string(o.threads));
  params.emplace_back("seed", std::to_string(o.seed));
  for (const auto& [k, v] : p.params) params.emplace_back(k, text(v));
  return params;
}

/// Probabilities as n x k rows ([1 - p, p] for a binary model's single column).
std::vector<float> widen(std::vector<float> out, std::size_t k) {
  if (k != 2) return out;
  std::vector<float> wide(out.size() * 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    wide[2 * i] = 1.0f - out[i];
    wide[2 * i + 1] = out[i];
  }
  return wide;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double logLoss(const std::vector<float>& probs, const std::vector<std::uint32_t>& y,
               std::size_t k) {
  double loss = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    loss -= std::log(std::clamp(static_cast<double>(probs[i * k + y[i]]), 1e-15, 1.0));
  }
  return loss / static_cast<double>(y.size());
}

}  // namespace

HeadRows headRows(const Dataset& d, const std::vector<std::size_t>& columns, const Split& split,
                  Part part, model::Task task, std::vector<std::size_t>* picked) {
  HeadRows h;
  h.cols = columns.size();
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (split.part[i] != part) continue;
    const labels::Category c = d.category[i];
    std::uint32_t y = 0;
    if (task == model::Task::kReel) {
      if (!passesReelGate(d.rows[i], d.proto[i])) continue;
      y = static_cast<std::uint32_t>(labels::reelClassIndex(c));
    } else {
      y = static_cast<std::uint32_t>(labels::attackClassIndex(c));
    }
    for (const std::size_t col : columns) h.x.push_back(static_cast<float>(d.rows[i][col]));
    h.y.push_back(y);
    const bool sourced = i < d.file.size() && d.file[i] < d.sources.size();
    h.w.push_back(static_cast<float>(sourced ? d.sources[d.file[i]].weight : 1.0));
    if (picked) picked->push_back(i);
  }
  return h;
}

std::vector<double> classWeights(const std::vector<std::uint32_t>& y, std::size_t k, double cap) {
  std::vector<std::size_t> n(k, 0);
  for (const std::uint32_t c : y) ++n[c];
  std::vector<double> w(k, 0);
  for (std::size_t c = 0; c < k; ++c) {
    if (n[c] == 0) continue;
    w[c] = std::min(
        cap, static_cast<double>(y.size()) / (static_cast<double>(k) * static_cast<double>(n[c])));
  }
  return w;
}

XgbHeadResult trainXgbHead(const HeadRows& train, const HeadRows& validation, const HeadRows& test,
                           const XgbHeadOptions& o) {
  if (train.size() == 0) throw std::invalid_argument("no training rows");
  if (validation.size() == 0) throw std::invalid_argument("no validation rows");
  const std::size_t k = o.n_classes;
  const auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };

  XgbHeadResult r;
  r.class_weights = classWeights(train.y, k, o.max_class_weight);
  std::vector<float> weights(train.size()), train_labels(train.size());
  for (std::size_t i = 0; i < train.size(); ++i) {
    weights[i] =
        static_cast<float>(r.class_weights[train.y[i]]) * (train.w.empty() ? 1.f : train.w[i]);
    train_labels[i] = static_cast<float>(train.y[i]);
  }
  std::vector<float> valid_labels(validation.y.begin(), validation.y.end());
  std::vector<float> test_labels(test.y.begin(), test.y.end());
  const model::TrainMatrix dtrain(train.x, train.cols, train_labels, weights, o.threads);
  const model::TrainMatrix dvalid(validation.x, validation.cols, valid_labels, {}, o.threads);
  const model::TrainMatrix* cached[] = {&dvalid};

  const std::vector<GridPoint> points = o.grid.points();
  std::optional<model::Trainer> best_trainer;
  for (std::size_t g = 0; g < points.size(); ++g) {
    const GridPoint& point = points[g];
    const auto t0 = Clock::now();
    model::Trainer trainer(dtrain, cached, paramsFor(point, o));
    GridTrial trial{point, 0, 0, std::numeric_limits<double>::infinity(), 0};
    std::vector<float> out;
    for (std::size_t round = 1; round <= point.num_round; ++round) {
      trainer.boost(dtrain);
      trainer.predict(dvalid, 0, out);
      const double loss = logLoss(widen(std::move(out), k), validation.y, k);
      out.clear();
      // A better round must gain more than noise: 1e-4 of the loss (or 1e-9
      // absolute), or a model that has converged would boost on for nothing.
      if (loss <
          trial.validation_loss - std::max(1e-9, 1e-4 * std::min(trial.validation_loss, 1e300))) {
        trial.validation_loss = loss;
        trial.best_rounds = round;
      }
      trial.rounds_run = round;
      if (o.early_stopping && round - trial.best_rounds >= o.early_stopping) break;
      if (round % 50 == 0) {
        say("  round " + std::to_string(round) + ": validation log loss " + shortNumber(loss) +
            " (best " + shortNumber(trial.validation_loss) + " at round " +
            std::to_string(trial.best_rounds) + ")");
      }
    }
    trial.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    say("grid point " + std::to_string(g + 1) + "/" + std::to_string(points.size()) + " (" +
        point.describe() + "): best validation log loss " + shortNumber(trial.validation_loss) +
        " at round " + std::to_string(trial.best_rounds) + " of " +
        std::to_string(trial.rounds_run) + ", " + seconds(trial.seconds));
    r.trials.push_back(trial);
    if (!best_trainer || trial.validation_loss < r.best.validation_loss) {
      r.best = trial;
      r.params = paramsFor(point, o);
      best_trainer.emplace(std::move(trainer));
    }
  }

  // The kept model: its best round, as saved, and its predictions.
  r.model_json = best_trainer->modelJson(r.best.best_rounds);
  std::vector<float> out;
  best_trainer->predict(dvalid, r.best.best_rounds, out);
  r.validation_probs = widen(std::move(out), k);
  if (test.size() > 0) {
    const model::TrainMatrix dtest(test.x, test.cols, test_labels, {}, o.threads);
    std::vector<float> t;
    best_trainer->predict(dtest, r.best.best_rounds, t);
    r.test_probs = widen(std::move(t), k);
  }
  return r;
}

}  // namespace edgesense::train
