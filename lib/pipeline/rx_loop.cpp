// The capture thread's loop: capture -> decode -> flow table -> features.
// This is the per-packet path: no allocation, no lock, no log, no throw. The
// counters are copied out under a lock once per publication (every few
// thousand packets, 250 ms or read timeout), never per packet.

#include "pipeline/rx_loop.h"

#include <time.h>

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

decode::TimeUs realtimeMicros() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<decode::TimeUs>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

RxSnapshot RxLoop::published() const {
  std::lock_guard lock(published_mutex_);
  return published_;
}

void RxLoop::publish() noexcept {
  // Copied outside the lock; pcap_stats is a system call, made here (at most
  // a few times a second), never per packet.
  RxSnapshot s;
  s.rx = stats_;
  s.flows = table_.stats();
  s.hosts = hosts_.stats();
  s.source = source_.stats();
  last_publish_ = std::chrono::steady_clock::now();
  packets_at_publish_ = stats_.packets;
  std::lock_guard lock(published_mutex_);
  s.publications = published_.publications + 1;
  published_ = s;
}

void RxLoop::maybePublish() noexcept {
  // Called per packet: a countdown, and a look at the clock every 64 packets.
  if (--until_check_ > 0) return;
  until_check_ = kCheckEvery;
  if (stats_.packets - packets_at_publish_ >= cfg_.publish_every_packets ||
      std::chrono::steady_clock::now() - last_publish_ >= cfg_.publish_interval) {
    publish();
  }
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
      // Undecodable frames still move time forward, so flows expire on time
      // (their times are checked for jumps like any packet's).
      table_.passTime(s.packet.ts_us, extractor_);
    }
    s.full = false;
  };

  decode::Frame frame;
  bool failed = false;
  last_publish_ = std::chrono::steady_clock::now();
  for (;;) {
    // A plain store, not a read-modify-write: the watchdog only needs to see
    // it move.
    heartbeat_.store(++turns_, std::memory_order_relaxed);
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
        maybePublish();
      } else if (st == capture::ReadStatus::kTimeout) {
        idle = true;
      } else {
        failed = st == capture::ReadStatus::kError;
        source_done = true;
      }
    } else {
      source_done = true;
    }
    if (idle) {
      // A quiet live link: finish the packets in flight, oldest first, then
      // move the table to the wall clock so idle flows end with no packet to
      // carry the time forward.
      for (std::size_t k = 1; k <= 2; ++k) {
        Stage& pending = ring[(head + k) % 3];
        if (pending.full) processStage(pending);
      }
      if (cfg_.wall_clock) table_.advance(cfg_.wall_clock(), extractor_);
      publish();
      continue;
    }
    const bool empty = !ring[0].full && !ring[1].full && !ring[2].full;
    if (empty && source_done) break;
    Stage& mid = ring[(head + 2) % 3];  // filled one turn ago
    if (mid.full && mid.decoded && mid.packet.fragment != decode::Fragment::kLater) {
      table_.prefetchFlow(mid.lookup);
    }
    Stage& out = ring[(head + 1) % 3];  // filled two turns ago
    if (out.full) processStage(out);
    head = (head + 1) % 3;
  }
  table_.flushAll(extractor_);
  if (failed) error_ = source_.lastError();
  publish();
}

}  // namespace edgesense::pipeline
