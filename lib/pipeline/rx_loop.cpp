// The capture thread's loop: capture -> decode -> flow table -> features.
// This is the per-packet path: no allocation, no lock, no log, no throw.

#include "pipeline/rx_loop.h"

#include <array>
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
  const std::int64_t now_ns =
      duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  if (first_ts_ < 0) {
    first_ts_ = ts;
    wall_start_ns_ = now_ns;
    return;
  }
  const auto due_ns =
      wall_start_ns_ +
      static_cast<std::int64_t>(static_cast<double>(ts - first_ts_) * 1000.0 / cfg_.speed);
  if (due_ns > now_ns) std::this_thread::sleep_for(nanoseconds(due_ns - now_ns));
}

void RxLoop::run(std::stop_token stop) {
  // A three-stage software pipeline hides the two cache misses of a flow
  // lookup (hash slot, then flow) on a table far larger than the caches:
  // frame i is decoded and its slot prefetched, frame i-1's flow is
  // prefetched, frame i-2 is processed. Packets are values, so holding them
  // across reads is safe; order and results are the same as one at a time.
  struct Stage {
    decode::Packet packet;
    features::FeatureFlowTable::Lookup lookup;
    bool decoded = false;
    bool full = false;
  };
  std::array<Stage, 3> ring{};
  std::size_t head = 0;  // the stage being filled
  bool source_done = false;

  auto processStage = [this](Stage& s) {
    if (s.decoded) {
      table_.process(s.packet, s.lookup, extractor_);
    } else {
      // Undecodable frames still move time forward, so flows expire on time.
      table_.advance(s.packet.ts_us, extractor_);
    }
    s.full = false;
  };

  decode::Frame frame;
  for (;;) {
    Stage& in = ring[head];
    bool idle = false;
    if (!source_done && !stop.stop_requested()) {
      const capture::ReadStatus st = source_.next(frame);
      if (st == capture::ReadStatus::kPacket) {
        ++stats_.packets;
        stats_.bytes += frame.wire_len;
        if (cfg_.speed > 0) pace(frame.ts_us);
        const decode::DecodeError err = decode::decode(frame, in.packet);
        in.decoded = err == decode::DecodeError::kNone;
        if (!in.decoded) {
          ++stats_.decode_errors[static_cast<std::size_t>(err)];
          in.packet.ts_us = frame.ts_us;
        } else if (in.packet.fragment != decode::Fragment::kLater) {
          table_.prepare(in.packet, in.lookup);
          table_.prefetchSlot(in.lookup);
        }
        in.full = true;
      } else if (st == capture::ReadStatus::kTimeout) {
        idle = true;  // a quiet live link: the packets in flight still go through
      } else {
        source_done = true;
      }
    } else {
      source_done = true;
    }
    const bool empty = !ring[0].full && !ring[1].full && !ring[2].full;
    if (empty && (source_done || idle)) {
      if (source_done) break;
      continue;
    }
    Stage& mid = ring[(head + 2) % 3];  // filled one turn ago
    if (mid.full && mid.decoded && mid.packet.fragment != decode::Fragment::kLater) {
      table_.prefetchFlow(mid.lookup);
    }
    Stage& out = ring[(head + 1) % 3];  // filled two turns ago
    if (out.full) processStage(out);
    head = (head + 1) % 3;
  }
  table_.flushAll(extractor_);
}

}  // namespace edgesense::pipeline
