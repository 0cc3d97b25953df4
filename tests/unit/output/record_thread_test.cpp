// RecordThread: every record reaches the inner sink, in order, on another
// thread; without block_when_full a full queue drops and counts, and every
// record is either written or counted as dropped.

#include "output/record_thread.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace edgesense::output {
namespace {

struct Collect final : features::RecordSink {
  std::vector<std::uint64_t> ids;
  std::thread::id thread;
  void onRecord(const features::FlowRecord& r) override {
    ids.push_back(r.flow_id);
    thread = std::this_thread::get_id();
  }
};

TEST(RecordThread, EveryRecordArrivesInOrderOnItsOwnThread) {
  Collect inner;
  RecordThread t(inner, 16, /*block_when_full=*/true);
  features::FlowRecord r;
  for (std::uint64_t i = 0; i < 5000; ++i) {
    r.flow_id = i;
    t.onRecord(r);
  }
  t.finish();
  ASSERT_EQ(inner.ids.size(), 5000u);
  for (std::uint64_t i = 0; i < 5000; ++i) ASSERT_EQ(inner.ids[i], i);
  EXPECT_NE(inner.thread, std::this_thread::get_id());
  EXPECT_EQ(t.stats().queued.load(), 5000u);
  EXPECT_EQ(t.stats().written.load(), 5000u);
  EXPECT_EQ(t.stats().dropped.load(), 0u);
}

/// Holds the record thread inside its first onRecord until released.
struct Gate final : features::RecordSink {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::size_t got = 0;
  void onRecord(const features::FlowRecord&) override {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return open; });
    ++got;
  }
  void release() {
    {
      std::lock_guard lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(RecordThread, AFullQueueDropsAndCountsWithoutWaiting) {
  Gate inner;
  RecordThread t(inner, 8, /*block_when_full=*/false);
  features::FlowRecord r;
  for (int i = 0; i < 1000; ++i) t.onRecord(r);  // the sink is stuck: the queue fills
  inner.release();
  t.finish();
  const auto& s = t.stats();
  EXPECT_GT(s.dropped.load(), 0u);
  EXPECT_EQ(s.queued.load() + s.dropped.load(), 1000u);
  EXPECT_EQ(s.written.load(), s.queued.load());
  EXPECT_EQ(inner.got, s.queued.load());
}

}  // namespace
}  // namespace edgesense::output
