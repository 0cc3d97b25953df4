// The capture thread's loop: capture -> decode -> flow table -> features.
// This is the per-packet path: no allocation, no lock, no log, no throw.

#include "pipeline/rx_loop.h"

#include <chrono>
#include <thread>

namespace edgesense::pipeline {

RxLoop::RxLoop(const RxConfig& cfg, capture::PacketSource& source, features::RecordSink& sink)
    : cfg_(cfg),
      source_(source),
      hosts_(cfg.hosts),
      extractor_(cfg.features, hosts_, sink),
      table_(cfg.flows) {}

std::size_t RxLoop::bytesPerFlow() noexcept {
  // Pool entry, generation, free-list entry, and two hash slots of 8 bytes
  // (the table is kept at most half full).
  return sizeof(features::FeatureFlow) + 2 * sizeof(std::uint32_t) + 2 * 2 * sizeof(std::uint32_t);
}

void RxLoop::pace(decode::TimeUs ts) noexcept {
  using namespace std::chrono;
  const std::int64_t now_ns = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  if (first_ts_ < 0) {
    first_ts_ = ts;
    wall_start_ns_ = now_ns;
    return;
  }
  const auto due_ns = wall_start_ns_ + static_cast<std::int64_t>(static_cast<double>(ts - first_ts_) * 1000.0 / cfg_.speed);
  if (due_ns > now_ns) std::this_thread::sleep_for(nanoseconds(due_ns - now_ns));
}

void RxLoop::run(std::stop_token stop) {
  decode::Frame frame;
  decode::Packet packet;
  while (!stop.stop_requested()) {
    const capture::ReadStatus st = source_.next(frame);
    if (st == capture::ReadStatus::kTimeout) continue;
    if (st != capture::ReadStatus::kPacket) break;
    ++stats_.packets;
    stats_.bytes += frame.wire_len;
    if (cfg_.speed > 0) pace(frame.ts_us);
    const decode::DecodeError err = decode::decode(frame, packet);
    if (err != decode::DecodeError::kNone) {
      ++stats_.decode_errors[static_cast<std::size_t>(err)];
      // Undecodable frames still move time forward, so flows expire on time.
      table_.advance(frame.ts_us, extractor_);
      continue;
    }
    table_.process(packet, extractor_);
  }
  table_.flushAll(extractor_);
}

}  // namespace edgesense::pipeline
