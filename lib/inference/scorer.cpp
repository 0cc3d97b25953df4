// Inference workers' scoring: one batch, every head of a ModelSet, into
// verdicts. Explanations wait for the output thread (inference/explain.h).

#include <algorithm>

#include "inference/model_set.h"

namespace edgesense::inference {
namespace {

using model::Bundle;

bool passesReelGate(const features::FlowRecord& r, const ScoringOptions& opts) {
  const bool proto_ok = std::find(opts.reel_protocols.begin(), opts.reel_protocols.end(),
                                  r.proto) != opts.reel_protocols.end();
  return proto_ok && r.bytes[0] + r.bytes[1] >= opts.reel_min_bytes &&
         r.pkts[0] + r.pkts[1] >= opts.reel_min_packets;
}

/// Scores rows[0..n) with `bundle` into scratch.out.
void run(const Bundle& bundle, ScoringScratch& scratch, std::size_t n) {
  scratch.out.resize(n * bundle.classes().size());
  bundle.predict(std::span(scratch.rows.data(), n), scratch.out);
}

/// The decided class of an attack or reel output row: the non-first class
/// whose output is highest among those at or over their threshold; or, when
/// none is, the first class (benign, non_reel).
std::size_t decide(const Bundle& bundle, std::span<const float> probs,
                   std::optional<double> override) {
  const auto& thresholds = bundle.thresholds();
  std::size_t best = 0;
  for (std::size_t c = 1; c < probs.size(); ++c) {
    const double threshold = override.value_or(thresholds[c]);
    if (probs[c] >= threshold && (best == 0 || probs[c] > probs[best])) best = c;
  }
  return best;
}

}  // namespace

void scoreBatch(const ModelSet& m, const ScoringOptions& opts, std::span<ScoredRecord*> batch,
                ScoringScratch& scratch, ShadowStats* shadow) {
  const std::size_t n = batch.size();
  for (ScoredRecord* s : batch) s->verdict = Verdict{};
  scratch.rows.resize(n);

  // Attack and anomaly heads score every record.
  for (std::size_t i = 0; i < n; ++i) scratch.rows[i] = batch[i]->record.features;
  if (m.attack) {
    run(*m.attack, scratch, n);
    const std::size_t k = m.attack->classes().size();
    for (std::size_t i = 0; i < n; ++i) {
      Verdict& v = batch[i]->verdict;
      const std::span<const float> probs(scratch.out.data() + i * k, k);
      const std::size_t decided = decide(*m.attack, probs, opts.attack_threshold);
      v.attack_scored = true;
      v.attack_alert = decided != 0;
      v.attack_class = static_cast<std::uint8_t>(
          decided != 0 ? decided
                       : static_cast<std::size_t>(std::max_element(probs.begin(), probs.end()) -
                                                  probs.begin()));
      v.attack_probability = probs[v.attack_class];
      v.attack_classes = static_cast<std::uint8_t>(std::min(k, kMaxClasses));
      std::copy_n(probs.begin(), v.attack_classes, v.attack_probabilities.begin());
    }
    if (m.shadow_attack && shadow) {
      // Agreement on the decided class, by name (the bundles may order them differently).
      run(*m.shadow_attack, scratch, n);
      const std::size_t ks = m.shadow_attack->classes().size();
      for (std::size_t i = 0; i < n; ++i) {
        const Verdict& v = batch[i]->verdict;
        const std::size_t mine =
            decide(*m.shadow_attack, std::span<const float>(scratch.out.data() + i * ks, ks),
                   opts.attack_threshold);
        const std::size_t live = v.attack_alert ? v.attack_class : 0;
        shadow->compared[1].fetch_add(1, std::memory_order_relaxed);
        if (m.shadow_attack->classes()[mine] == m.attack->classes()[live]) {
          shadow->agreed[1].fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }
  if (m.anomaly) {
    run(*m.anomaly, scratch, n);
    const double threshold = opts.anomaly_threshold.value_or(m.anomaly->thresholds()[0]);
    for (std::size_t i = 0; i < n; ++i) {
      Verdict& v = batch[i]->verdict;
      v.anomaly_scored = true;
      v.anomaly_score = scratch.out[i];
      v.anomaly_alert = scratch.out[i] >= threshold;
    }
    if (m.shadow_anomaly && shadow) {
      run(*m.shadow_anomaly, scratch, n);
      const double t = m.shadow_anomaly->thresholds()[0];
      for (std::size_t i = 0; i < n; ++i) {
        shadow->compared[2].fetch_add(1, std::memory_order_relaxed);
        if ((scratch.out[i] >= t) == batch[i]->verdict.anomaly_alert)
          shadow->agreed[2].fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  // The reel head scores the records its gate lets through.
  if (m.reel) {
    scratch.row_of.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (passesReelGate(batch[i]->record, opts)) {
        scratch.rows[scratch.row_of.size()] = batch[i]->record.features;
        scratch.row_of.push_back(i);
      }
    }
    const std::size_t g = scratch.row_of.size();
    if (g > 0) {
      run(*m.reel, scratch, g);
      const std::size_t k = m.reel->classes().size();
      const std::size_t reel = m.reel->classIndex("reel").value_or(k - 1);
      for (std::size_t j = 0; j < g; ++j) {
        Verdict& v = batch[scratch.row_of[j]]->verdict;
        v.reel_scored = true;
        v.reel_probability = scratch.out[j * k + reel];
        v.is_reel = v.reel_probability >= opts.reel_threshold.value_or(m.reel->thresholds()[reel]);
      }
      if (m.shadow_reel && shadow) {
        run(*m.shadow_reel, scratch, g);
        const std::size_t ks = m.shadow_reel->classes().size();
        const std::size_t sreel = m.shadow_reel->classIndex("reel").value_or(ks - 1);
        for (std::size_t j = 0; j < g; ++j) {
          const bool mine = scratch.out[j * ks + sreel] >= m.shadow_reel->thresholds()[sreel];
          shadow->compared[0].fetch_add(1, std::memory_order_relaxed);
          if (mine == batch[scratch.row_of[j]]->verdict.is_reel)
            shadow->agreed[0].fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }
}

}  // namespace edgesense::inference
