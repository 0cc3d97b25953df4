#pragma once
/// Explanations: why a verdict alerted, as the few features that weighed
/// most. They are dear (exact TreeSHAP walks every tree of the alerting
/// class), so they are made only where they are read: the output thread
/// asks for one when it writes an alert record, after aggregation, and a
/// flood of a million alerting flows costs a handful. A record is explained
/// at most once; its ModelSet travels with it, so the explanation comes from
/// the models that scored it, however they were swapped since.
///
/// Threads: explain() is called by one thread per ExplainScratch (the output
/// thread); the bundles it reads are shared and immutable.

#include <vector>

#include "inference/verdict.h"

namespace edgesense::inference {

/// Scratch space of one explaining thread, reused from record to record.
struct ExplainScratch {
  std::vector<float> contributions;
  std::vector<double> weights;
};

/// Fills s.verdict's top features, once: for an attack alert from an XGBoost
/// bundle, the SHAP contributions to the log-odds of the alerting class; for
/// an anomaly alert, how many interquartile ranges each feature lies from
/// the training median. Returns true if it computed an explanation now;
/// false if the record does not alert, has no bundle to ask, or was already
/// explained.
bool explain(ScoredRecord& s, ExplainScratch& scratch);

}  // namespace edgesense::inference
