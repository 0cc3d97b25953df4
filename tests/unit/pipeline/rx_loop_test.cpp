// pipeline: the capture loop over a scripted source (frames built by the
// project's packet builder), checking what the pipelined loop owes: order,
// counting, and that a quiet live link still finishes the packets in flight.

#include "pipeline/rx_loop.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

#include "packet_builder.h"

namespace edgesense::pipeline {
namespace {

namespace ts = testsupport;
constexpr decode::TimeUs kT0 = 1'767'225'600'000'000;

/// Hands out scripted frames, timeouts and the end, and runs a check at
/// each step (on the loop's own thread).
class ScriptedSource final : public capture::PacketSource {
 public:
  struct Step {
    capture::ReadStatus status;
    ts::Frame frame;
    decode::TimeUs ts = 0;
    std::function<void()> check;
  };
  std::deque<Step> steps;

  capture::ReadStatus next(decode::Frame& f) noexcept override {
    if (steps.empty()) return capture::ReadStatus::kEnd;
    current_ = std::move(steps.front());
    steps.pop_front();
    if (current_.check) current_.check();
    if (current_.status == capture::ReadStatus::kPacket) {
      f.data = current_.frame.bytes.data();
      f.cap_len = f.wire_len = static_cast<std::uint32_t>(current_.frame.bytes.size());
      f.ts_us = current_.ts;
      f.link = decode::LinkType::kEthernet;
    }
    return current_.status;
  }
  capture::SourceStats stats() noexcept override { return {}; }
  void breakLoop() noexcept override {}
  std::vector<std::string> takeWarnings() override { return {}; }
  std::string lastError() const override { return {}; }

 private:
  Step current_;
};

ts::Frame udp(std::uint16_t sport, std::size_t payload = 10) {
  ts::PacketBuilder b;
  b.ethernet().ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"}).udp(sport, 53).payload(payload);
  return b.build();
}

struct Collect final : features::RecordSink {
  std::vector<features::FlowRecord> records;
  void onRecord(const features::FlowRecord& r) override { records.push_back(r); }
};

TEST(RxLoop, PacketsInFlightAreProcessedWhileTheLinkIsQuiet) {
  ScriptedSource src;
  Collect sink;
  RxLoop rx(RxConfig{}, src, sink);
  src.steps.push_back({capture::ReadStatus::kPacket, udp(1000), kT0});
  src.steps.push_back({capture::ReadStatus::kPacket, udp(1001), kT0 + 1});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&rx] {
                         // Both flows exist before any further packet arrives.
                         EXPECT_EQ(rx.flowStats().created, 2u);
                       }});
  rx.run(std::stop_token{});
  EXPECT_EQ(sink.records.size(), 2u);
}

TEST(RxLoop, OrderCountsAndDecodeErrorsMatchOneAtATime) {
  ScriptedSource src;
  Collect sink;
  RxLoop rx(RxConfig{}, src, sink);
  ts::Frame broken = udp(9);
  broken.bytes.resize(20);  // cut inside the IPv4 header
  for (int i = 0; i < 50; ++i) {
    src.steps.push_back({capture::ReadStatus::kPacket,
                         i % 7 == 3 ? broken : udp(static_cast<std::uint16_t>(2000 + i % 5), 100),
                         kT0 + i * 1000});
  }
  rx.run(std::stop_token{});
  EXPECT_EQ(rx.stats().packets, 50u);
  EXPECT_EQ(rx.stats().decode_errors[static_cast<std::size_t>(decode::DecodeError::kTruncatedIpv4)],
            7u);
  ASSERT_EQ(sink.records.size(), 5u);
  std::uint64_t total = 0;
  for (const auto& r : sink.records) total += r.pkts[0];
  EXPECT_EQ(total, 43u);
  // Flows end at shutdown in a fixed order: by last packet.
  for (std::size_t i = 1; i < sink.records.size(); ++i) {
    EXPECT_LE(sink.records[i - 1].end_us, sink.records[i].end_us);
  }
}

TEST(RxLoop, StopRequestEndsEveryFlow) {
  ScriptedSource src;
  Collect sink;
  RxLoop rx(RxConfig{}, src, sink);
  std::stop_source stop;
  for (int i = 0; i < 10; ++i)
    src.steps.push_back(
        {capture::ReadStatus::kPacket, udp(static_cast<std::uint16_t>(3000 + i)), kT0 + i});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&stop] { stop.request_stop(); }});
  for (int i = 0; i < 10; ++i)
    src.steps.push_back({capture::ReadStatus::kPacket, udp(4000), kT0 + 100 + i});
  rx.run(stop.get_token());
  EXPECT_EQ(sink.records.size(), 10u);  // everything read before the stop, reported
  for (const auto& r : sink.records) EXPECT_EQ(r.reason, flow::EndReason::kShutdown);
}

// Live: on a silent link the table follows the wall clock, so a flow ends
// once its idle timeout has passed, with no later packet to move time on.
TEST(RxLoop, WallClockTicksEndIdleFlowsOnASilentLink) {
  ScriptedSource src;
  Collect sink;
  RxConfig cfg;
  cfg.flows.udp_idle_timeout_us = 2'000'000;
  decode::TimeUs wall = kT0;
  cfg.wall_clock = [&wall] { return wall; };
  RxLoop rx(cfg, src, sink);
  src.steps.push_back({capture::ReadStatus::kPacket, udp(1000), kT0});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&wall] { wall = kT0 + 1'900'000; }});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&] {
                         EXPECT_TRUE(sink.records.empty()) << "ended before its idle timeout";
                         wall = kT0 + 2'100'000;
                       }});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&] {
                         ASSERT_EQ(sink.records.size(), 1u) << "not ended on the tick after";
                         EXPECT_EQ(sink.records[0].reason, flow::EndReason::kIdleTimeout);
                         EXPECT_EQ(sink.records[0].report_us, kT0 + 2'100'000);
                       }});
  rx.run(std::stop_token{});
  EXPECT_EQ(sink.records.size(), 1u);
}

// Replay has no wall clock: timeouts alone end nothing, time is packet time.
TEST(RxLoop, WithoutAWallClockTimeoutsEndNothing) {
  ScriptedSource src;
  Collect sink;
  RxConfig cfg;
  cfg.flows.udp_idle_timeout_us = 1;
  RxLoop rx(cfg, src, sink);
  src.steps.push_back({capture::ReadStatus::kPacket, udp(1000), kT0});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}});
  src.steps.push_back(
      {capture::ReadStatus::kTimeout, {}, 0, [&] { EXPECT_TRUE(sink.records.empty()); }});
  rx.run(std::stop_token{});
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, flow::EndReason::kShutdown);
}

TEST(RxLoop, PublishesCountersEveryNPacketsAndOnTimeouts) {
  ScriptedSource src;
  Collect sink;
  RxConfig cfg;
  cfg.publish_every_packets = 100;
  cfg.publish_interval = std::chrono::hours(1);  // packet counts alone decide here
  RxLoop rx(cfg, src, sink);
  EXPECT_EQ(rx.heartbeat(), 0u);
  EXPECT_EQ(rx.published().publications, 0u);
  std::uint64_t beat = 0;
  for (int i = 0; i < 150; ++i) {
    std::function<void()> check;
    // Counts are looked at every 64 packets: 64 is short of 100, 128 is not.
    if (i == 127) check = [&rx] { EXPECT_EQ(rx.published().publications, 0u); };
    if (i == 129)
      check = [&rx] {
        const RxSnapshot s = rx.published();
        EXPECT_EQ(s.publications, 1u);
        EXPECT_EQ(s.rx.packets, 128u);
        EXPECT_EQ(s.flows.created, 10u);
      };
    src.steps.push_back({capture::ReadStatus::kPacket,
                         udp(static_cast<std::uint16_t>(5000 + i % 10)), kT0 + i, check});
  }
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&] { beat = rx.heartbeat(); }});
  src.steps.push_back({capture::ReadStatus::kTimeout, {}, 0, [&] {
                         const RxSnapshot s = rx.published();
                         EXPECT_EQ(s.publications, 2u);  // the timeout before published
                         EXPECT_EQ(s.rx.packets, 150u);
                         EXPECT_GT(rx.heartbeat(), beat);  // quiet turns beat too
                       }});
  rx.run(std::stop_token{});
  const RxSnapshot end = rx.published();
  EXPECT_EQ(end.publications, 4u);  // and once more at the end
  EXPECT_EQ(end.flows.ended[static_cast<std::size_t>(flow::EndReason::kShutdown)], 10u);
  EXPECT_TRUE(rx.error().empty());
}

TEST(RxLoop, AFailingSourceEndsTheLoopAndSaysWhy) {
  struct FailingSource final : capture::PacketSource {
    capture::ReadStatus next(decode::Frame&) noexcept override {
      return capture::ReadStatus::kError;
    }
    capture::SourceStats stats() noexcept override { return {}; }
    void breakLoop() noexcept override {}
    std::vector<std::string> takeWarnings() override { return {}; }
    std::string lastError() const override { return "interface es9: The interface went down"; }
  } src;
  Collect sink;
  RxLoop rx(RxConfig{}, src, sink);
  rx.run(std::stop_token{});
  EXPECT_EQ(rx.error(), "interface es9: The interface went down");
}

}  // namespace
}  // namespace edgesense::pipeline
