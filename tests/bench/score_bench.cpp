// Benchmark of scoring: verdicts per second of one worker (one thread) for
// a models directory, at several batch sizes, on the feature rows of a real
// capture (the flows of the file given, through the real pipeline).
//
//   edgesense-score-bench MODELS_DIR CAPTURE [BATCH...]
// prints one JSON line per batch size.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <vector>

#include "capture/packet_source.h"
#include "inference/model_set.h"
#include "pipeline/rx_loop.h"

namespace {

using namespace edgesense;

struct Collect final : features::RecordSink {
  std::vector<features::FlowRecord> records;
  void onRecord(const features::FlowRecord& r) override { records.push_back(r); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODELS_DIR CAPTURE [BATCH...]\n", argv[0]);
    return 2;
  }
  std::vector<std::size_t> batches;
  for (int i = 3; i < argc; ++i) batches.push_back(std::strtoul(argv[i], nullptr, 10));
  if (batches.empty()) batches = {1, 16, 256};

  const auto models = inference::loadModelSet(argv[1]);
  auto source = capture::openFiles({argv[2]});
  Collect rows;
  pipeline::RxLoop rx(pipeline::RxConfig{}, *source, rows);
  rx.run(std::stop_token{});
  if (rows.records.empty()) return 1;

  // Enough records for a stable figure: cycle through the capture's flows.
  const std::size_t total = std::max<std::size_t>(20'000, rows.records.size());
  std::vector<inference::ScoredRecord> scored(total);
  for (std::size_t i = 0; i < total; ++i) scored[i].record = rows.records[i % rows.records.size()];
  inference::ScoringScratch scratch;
  inference::ScoringOptions opts;
  for (std::size_t batch : batches) {
    std::vector<inference::ScoredRecord*> ptrs;
    double best = 1e300;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < total; i += batch) {
        ptrs.clear();
        for (std::size_t j = i; j < std::min(total, i + batch); ++j) ptrs.push_back(&scored[j]);
        inference::scoreBatch(*models, opts, ptrs, scratch, nullptr);
      }
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::size_t alerts = 0;
    for (const auto& s : scored) alerts += s.verdict.alerted();
    std::printf(
        "{\"batch\":%zu,\"verdicts\":%zu,\"seconds\":%.6f,\"verdicts_per_second\":%.0f,"
        "\"alerting\":%zu}\n",
        batch, total, best, static_cast<double>(total) / best, alerts);
  }
  return 0;
}
