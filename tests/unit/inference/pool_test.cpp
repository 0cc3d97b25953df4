// inference: the worker pool with real bundles (python-xgboost made, from
// the model fixture): results in submission order and independent of the
// number of workers, every record accounted for when the queue overflows,
// a model swap under load, and the cap on records in flight (which bounds
// the reorder buffer) reached with exact counts.

#include "inference/pool.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "../model/test_bundles.h"

namespace edgesense::inference {
namespace {

using model::test::pythonBundles;

std::shared_ptr<ModelSet> bothHeads() {
  auto set = std::make_shared<ModelSet>();
  set->attack = model::Bundle::load(pythonBundles() / "attack");
  set->reel = model::Bundle::load(pythonBundles() / "reel");
  return set;
}

/// Records to submit: the rows python scored, each as a flow record.
std::vector<features::FlowRecord> records(std::size_t n) {
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  std::vector<features::FlowRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].flow_id = i;
    out[i].features = check.rows[i % check.rows.size()];
    out[i].proto = 6;
    out[i].pkts = {20, 20};
    out[i].bytes = {50'000, 50'000};
  }
  return out;
}

struct Collect final : ScoredSink {
  std::vector<ScoredRecord> got;
  void onScored(ScoredRecord&& s) override { got.push_back(std::move(s)); }
};

std::vector<ScoredRecord> runPool(unsigned workers, std::size_t batch,
                                  const std::vector<features::FlowRecord>& in) {
  ModelRegistry registry;
  registry.publish(bothHeads());
  Collect sink;
  PoolConfig cfg;
  cfg.workers = workers;
  cfg.batch_size = batch;
  cfg.block_when_full = true;
  cfg.queue_capacity = 256;
  InferencePool pool(cfg, registry, sink);
  for (const auto& r : in) pool.onRecord(r);
  pool.drain();
  EXPECT_EQ(pool.stats().dropped.load(), 0u);
  return std::move(sink.got);
}

TEST(InferencePool, OrderAndResultsDoNotDependOnWorkers) {
  const auto in = records(3000);
  const auto one = runPool(1, 64, in);
  const auto three = runPool(3, 7, in);
  ASSERT_EQ(one.size(), in.size());
  ASSERT_EQ(three.size(), in.size());
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  for (std::size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(one[i].seq, i);
    ASSERT_EQ(three[i].record.flow_id, i);
    const Verdict &a = one[i].verdict, &b = three[i].verdict;
    EXPECT_EQ(a.attack_class, b.attack_class);
    EXPECT_EQ(a.attack_probability, b.attack_probability);
    EXPECT_EQ(a.reel_probability, b.reel_probability);
    EXPECT_TRUE(a.attack_scored && a.reel_scored);
    // The probabilities are python-xgboost's.
    const auto& want = check.proba[i % check.proba.size()];
    for (std::size_t c = 0; c < want.size(); ++c) {
      EXPECT_NEAR(a.attack_probabilities[c], want[c], 1e-6) << i << " class " << c;
    }
  }
}

TEST(InferencePool, ShadowBundlesAreScoredAndCompared) {
  ModelRegistry registry;
  auto set = bothHeads();
  set->shadow_attack = set->attack;  // the same model: agrees every time
  set->shadow_reel = model::Bundle::load(pythonBundles() / "reel");
  registry.publish(set);
  Collect sink;
  PoolConfig cfg;
  cfg.block_when_full = true;
  InferencePool pool(cfg, registry, sink);
  const auto in = records(500);
  for (const auto& r : in) pool.onRecord(r);
  pool.drain();
  const ShadowStats& sh = pool.shadowStats();
  EXPECT_EQ(sh.compared[1].load(), 500u);
  EXPECT_EQ(sh.agreed[1].load(), 500u);
  EXPECT_EQ(sh.compared[0].load(), 500u);  // every record passes the reel gate here
  EXPECT_EQ(sh.agreed[0].load(), 500u);
  EXPECT_EQ(sh.compared[2].load(), 0u);  // no anomaly shadow
}

TEST(InferencePool, ReelGateSkipsSmallFlows) {
  auto in = records(10);
  in[3].bytes = {100, 100};
  in[4].proto = 1;  // ICMP
  const auto out = runPool(2, 4, in);
  EXPECT_FALSE(out[3].verdict.reel_scored);
  EXPECT_FALSE(out[4].verdict.reel_scored);
  EXPECT_TRUE(out[5].verdict.reel_scored);
  EXPECT_TRUE(out[3].verdict.attack_scored);  // the attack head scores every flow
}

/// A sink that holds the output thread until released, so the queue fills.
struct GatedSink final : ScoredSink {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::size_t count = 0;
  void onScored(ScoredRecord&&) override {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return open; });
    ++count;
  }
  void release() {
    std::lock_guard lock(m);
    open = true;
    cv.notify_all();
  }
};

TEST(InferencePool, AFullQueueDropsAndCountsNeverBlocks) {
  ModelRegistry registry;
  registry.publish(bothHeads());
  GatedSink sink;
  PoolConfig cfg;
  cfg.workers = 1;
  cfg.batch_size = 8;
  cfg.queue_capacity = 64;
  cfg.block_when_full = false;
  InferencePool pool(cfg, registry, sink);
  const auto in = records(20'000);
  for (const auto& r : in) pool.onRecord(r);  // returns although nothing drains
  const std::uint64_t submitted = pool.stats().submitted.load(),
                      dropped = pool.stats().dropped.load();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(submitted + dropped, in.size());
  sink.release();
  pool.drain();
  EXPECT_EQ(sink.count, submitted);  // everything queued reached the sink
  EXPECT_EQ(pool.stats().emitted.load(), submitted);
}

/// Holds the first scored batch in its worker (on_batch runs before the
/// batch goes to the output thread) until released, so every later record
/// waits in the reorder buffer behind it.
struct FirstBatchGate {
  std::mutex m;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;
  void onBatch() {
    std::unique_lock lock(m);
    if (entered) return;
    entered = true;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
  }
  void waitEntered() {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return entered; });
  }
  void release() {
    std::lock_guard lock(m);
    open = true;
    cv.notify_all();
  }
};

/// Two workers; record 0 is submitted alone and held in its worker, then
/// the rest follow: the other worker scores them, and they can only wait.
PoolConfig gatedConfig(FirstBatchGate& gate, std::size_t max_in_flight, bool block) {
  PoolConfig cfg;
  cfg.workers = 2;
  cfg.batch_size = 8;
  cfg.max_wait = std::chrono::microseconds(1000);
  cfg.queue_capacity = 256;  // above the cap: no drop is the queue's
  cfg.max_in_flight = max_in_flight;
  cfg.block_when_full = block;
  cfg.on_batch = [&gate](std::size_t, double) { gate.onBatch(); };
  return cfg;
}

void waitForPeak(const InferencePool& pool, std::uint64_t peak) {
  while (pool.stats().reorder_peak.load() < peak) std::this_thread::yield();
}

TEST(InferencePool, InFlightCapDropsExactlyTheExcessAndBoundsTheReorderBuffer) {
  constexpr std::size_t kCap = 100, kRecords = 1000;
  ModelRegistry registry;
  registry.publish(bothHeads());
  Collect sink;
  FirstBatchGate gate;
  InferencePool pool(gatedConfig(gate, kCap, /*block=*/false), registry, sink);
  const auto in = records(kRecords);
  pool.onRecord(in[0]);
  gate.waitEntered();                                                // record 0 is scored and held
  for (std::size_t i = 1; i < in.size(); ++i) pool.onRecord(in[i]);  // returns: never waits
  // Nothing is through the sink, so exactly kCap records were admitted.
  EXPECT_EQ(pool.stats().submitted.load(), kCap);
  EXPECT_EQ(pool.stats().in_flight_dropped.load(), kRecords - kCap);
  EXPECT_EQ(pool.stats().dropped.load(), 0u);
  // Records 1..kCap-1 reach the reorder buffer and wait there for record 0.
  waitForPeak(pool, kCap - 1);
  EXPECT_EQ(pool.stats().emitted.load(), 0u);
  gate.release();
  pool.drain();
  EXPECT_EQ(pool.stats().reorder_peak.load(), kCap - 1);  // never more
  ASSERT_EQ(sink.got.size(), kCap);
  for (std::size_t i = 0; i < kCap; ++i) ASSERT_EQ(sink.got[i].record.flow_id, i);
  EXPECT_EQ(pool.stats().emitted.load(), kCap);
}

TEST(InferencePool, InFlightCapWaitsWhenBlockingAndKeepsEveryRecordInOrder) {
  constexpr std::size_t kCap = 100, kRecords = 1000;
  ModelRegistry registry;
  registry.publish(bothHeads());
  Collect sink;
  FirstBatchGate gate;
  InferencePool pool(gatedConfig(gate, kCap, /*block=*/true), registry, sink);
  const auto in = records(kRecords);
  pool.onRecord(in[0]);
  gate.waitEntered();
  std::thread capture([&] {
    for (std::size_t i = 1; i < in.size(); ++i) pool.onRecord(in[i]);
  });
  // The submitter is held at the cap while record 0 is: kCap admitted, the
  // reorder buffer full at kCap - 1.
  waitForPeak(pool, kCap - 1);
  EXPECT_EQ(pool.stats().submitted.load(), kCap);
  gate.release();
  capture.join();
  pool.drain();
  EXPECT_EQ(pool.stats().in_flight_dropped.load(), 0u);
  EXPECT_EQ(pool.stats().dropped.load(), 0u);
  EXPECT_EQ(pool.stats().reorder_peak.load(), kCap - 1);
  ASSERT_EQ(sink.got.size(), kRecords);
  for (std::size_t i = 0; i < kRecords; ++i) ASSERT_EQ(sink.got[i].record.flow_id, i);
}

TEST(InferencePool, SwappedModelsServeNewBatchesAndTheOldFinishes) {
  ModelRegistry registry;
  auto first = bothHeads();
  registry.publish(first);
  Collect sink;
  PoolConfig cfg;
  cfg.workers = 2;
  cfg.batch_size = 16;
  cfg.block_when_full = true;
  InferencePool pool(cfg, registry, sink);
  const auto in = records(4000);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i == 2000) {
      // Swap once the first half is through, while the pool keeps running.
      while (pool.stats().emitted.load() < 2000) std::this_thread::yield();
      auto second = std::make_shared<ModelSet>();
      second->attack = first->attack;  // the reel head is dropped in the new set
      registry.publish(second);
    }
    pool.onRecord(in[i]);
  }
  pool.drain();
  ASSERT_EQ(sink.got.size(), in.size());
  for (const ScoredRecord& s : sink.got) {
    ASSERT_TRUE(s.models);
    // A record queued after the swap is scored by the new set; each record
    // was scored by the set it carries.
    EXPECT_EQ(s.models->generation, s.seq < 2000 ? 1u : 2u) << s.seq;
    EXPECT_EQ(s.verdict.reel_scored, s.models->reel != nullptr);
  }
}

}  // namespace
}  // namespace edgesense::inference
