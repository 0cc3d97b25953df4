// Time-ordered merge of per-flow packet queues for the sample and bench generators.

#include "interleaver.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>
#include <utility>

namespace edgesense::testsupport {

void RecordQueue::append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) {
  const auto stored = static_cast<uint32_t>(std::min<size_t>(frame.size(), max_stored_bytes_));
  if (orig_len == 0) orig_len = static_cast<uint32_t>(frame.size());
  records_.push_back({ts_ns, orig_len, stored, arena_.size()});
  arena_.insert(arena_.end(), frame.begin(), frame.begin() + stored);
}

void RecordQueue::popTo(PacketSink& out) {
  const Record& r = records_[head_];
  out.append(r.ts_ns, std::span<const uint8_t>(arena_.data() + r.offset, r.length), r.orig_len);
  if (++head_ == records_.size()) {
    // Drained: start over and keep the capacity for the script's next chunk.
    records_.clear();
    arena_.clear();
    head_ = 0;
  }
}

uint64_t Interleaver::run(uint64_t max_packets) {
  using Entry = std::pair<int64_t, size_t>;  // (time, script index)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  std::vector<bool> started(scripts_.size(), false);
  std::vector<bool> finished(scripts_.size(), false);
  for (size_t i = 0; i < scripts_.size(); ++i) {
    if (scripts_[i]) heap.emplace(scripts_[i]->startNs(), i);
  }
  uint64_t written = 0;
  int64_t last_ts = INT64_MIN;
  while (!heap.empty() && written < max_packets) {
    const size_t i = heap.top().second;
    heap.pop();
    FlowScript& script = *scripts_[i];
    if (!started[i]) {
      started[i] = true;
      ++flows_started_;
    } else {
      const int64_t ts = script.queue().frontTs();
      if (ts < last_ts) {
        throw std::logic_error("Interleaver: flow " + std::to_string(i) +
                               " queued a packet earlier than one already written");
      }
      last_ts = ts;
      script.queue().popTo(out_);
      ++written;
    }
    while (script.queue().empty() && !finished[i]) {
      if (!script.step()) finished[i] = true;
    }
    if (script.queue().empty()) {
      scripts_[i].reset();
    } else {
      heap.emplace(script.queue().frontTs(), i);
    }
  }
  return written;
}

}  // namespace edgesense::testsupport
