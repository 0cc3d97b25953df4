#pragma once

/// Merges many lazily generated flows into one time-ordered packet stream, the way a real
/// link carries many flows at once. Each FlowScript owns a RecordQueue its sessions write
/// into and fills it one chunk at a time (a handshake, an exchange, part of a burst); the
/// Interleaver owns the scripts, keeps the earliest queued packet of each in a heap and
/// writes packets to its output in time order, destroying a script once it is finished.
/// Memory therefore grows with the flows alive at once, not with the capture's length.
/// Single-threaded.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "packet_sink.h"

namespace edgesense::testsupport {

/// A FIFO of captured packets; keeps at most `max_stored_bytes` of each frame (the
/// capture snaplen), plus its wire length.
class RecordQueue final : public PacketSink {
 public:
  explicit RecordQueue(uint32_t max_stored_bytes) : max_stored_bytes_(max_stored_bytes) {}

  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) override;
  bool empty() const { return head_ == records_.size(); }
  size_t size() const { return records_.size() - head_; }
  int64_t frontTs() const { return records_[head_].ts_ns; }
  int64_t backTs() const { return records_.back().ts_ns; }
  /// Moves the oldest packet to `out`.
  void popTo(PacketSink& out);

 private:
  struct Record {
    int64_t ts_ns;
    uint32_t orig_len;
    uint32_t length;
    size_t offset;
  };
  uint32_t max_stored_bytes_;
  std::vector<Record> records_;
  std::vector<uint8_t> arena_;
  size_t head_ = 0;
};

class FlowScript {
 public:
  FlowScript(int64_t start_ns, uint32_t max_stored_bytes)
      : queue_(max_stored_bytes), start_ns_(start_ns) {}
  virtual ~FlowScript() = default;
  FlowScript(const FlowScript&) = delete;
  FlowScript& operator=(const FlowScript&) = delete;

  int64_t startNs() const { return start_ns_; }
  RecordQueue& queue() { return queue_; }

  /// Queues the next part of the flow: packets in time order, none before startNs() or
  /// before packets queued earlier. Returns false once nothing more will follow (it may
  /// still have queued packets in that last call).
  virtual bool step() = 0;

 protected:
  RecordQueue queue_;  // sessions created by the script append here

 private:
  int64_t start_ns_;
};

class Interleaver {
 public:
  explicit Interleaver(PacketSink& out) : out_(out) {}

  void add(std::unique_ptr<FlowScript> script) { scripts_.push_back(std::move(script)); }

  /// Runs the scripts, writing packets to the output in time order (ties: the script added
  /// first) until all are done or `max_packets` were written. Throws std::logic_error if a
  /// script queues a packet earlier than one already written. Returns packets written.
  uint64_t run(uint64_t max_packets = UINT64_MAX);

  uint64_t flowsStarted() const { return flows_started_; }

 private:
  PacketSink& out_;
  std::vector<std::unique_ptr<FlowScript>> scripts_;
  uint64_t flows_started_ = 0;
};

}  // namespace edgesense::testsupport
