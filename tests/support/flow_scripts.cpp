// Plays flow plans step by step into an Interleaver; shared by the sample and bench
// generators.

#include "flow_scripts.h"

#include <algorithm>

namespace edgesense::testsupport {

namespace {

// Segments per step of a long transfer: even, so splitting a transfer into steps adds no
// ACKs (the receiver ACKs every second segment and the last one of each send()).
constexpr size_t kSegmentsPerStep = 128;

size_t segmentPayload(const TcpPlan& plan) {
  uint16_t mss = plan.options.mss;
  if (mss == 0) mss = plan.spec.client.isV6() ? 1440 : 1460;
  return mss - (plan.options.timestamps ? 12u : 0u);
}

uint64_t ceilDiv(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

uint64_t transferPackets(size_t bytes, size_t per_segment, int ack_every) {
  const uint64_t segments = ceilDiv(bytes, per_segment);
  return segments + ceilDiv(segments, static_cast<uint64_t>(std::max(ack_every, 1)));
}

}  // namespace

uint64_t estimatePackets(const TcpPlan& plan) {
  switch (plan.opening) {
    case TcpOpening::kRefused:
      return 2;
    case TcpOpening::kProbeOpen:
      return 3;
    case TcpOpening::kUnanswered:
      return 1 + static_cast<uint64_t>(plan.syn_retries);
    case TcpOpening::kHandshake:
      break;
  }
  const size_t per_segment = segmentPayload(plan);
  uint64_t n = 3;
  for (const TcpExchange& ex : plan.exchanges) {
    // Requests and responses are sent in steps of kSegmentsPerStep segments.
    for (const size_t bytes : {ex.request_bytes, ex.response_bytes}) {
      const size_t step_bytes = kSegmentsPerStep * per_segment;
      for (size_t left = bytes; left > 0;) {
        const size_t part = std::min(left, step_bytes);
        n += transferPackets(part, per_segment, plan.options.ack_every);
        left -= part;
      }
    }
  }
  switch (plan.close) {
    case TcpClose::kFinByClient:
    case TcpClose::kFinByServer:
      n += 3;
      break;
    case TcpClose::kRstByClient:
    case TcpClose::kRstByServer:
      n += 1;
      break;
    case TcpClose::kNone:
      break;
  }
  return n;
}

uint64_t estimatePackets(const UdpPlan& plan) {
  uint64_t n = 0;
  for (const UdpTrain& t : plan.trains) {
    if (!t.payload.empty()) {
      n += 1;
      continue;
    }
    n += static_cast<uint64_t>(t.count) * (t.both_ways ? 2 : 1);
    if (t.ack_every > 0 && !t.both_ways) n += t.count / t.ack_every;
  }
  return n;
}

// ---------------------------------------------------------------- TcpScript

TcpScript::TcpScript(TcpPlan plan, uint32_t snaplen)
    : FlowScript(plan.spec.start_ns, snaplen), plan_(std::move(plan)) {}

bool TcpScript::step() {
  if (!session_) session_.emplace(queue_, plan_.spec, plan_.options);
  TcpSession& s = *session_;
  const size_t step_bytes = kSegmentsPerStep * s.maxSegmentPayload();
  switch (stage_) {
    case Stage::kOpen:
      switch (plan_.opening) {
        case TcpOpening::kHandshake:
          s.handshake();
          stage_ = plan_.exchanges.empty() ? Stage::kClose : Stage::kRequest;
          return true;
        case TcpOpening::kRefused:
          s.segment(Direction::kToServer, kTcpSyn);
          s.wait(s.spec().rtt_ns);
          s.reset(Direction::kToClient);
          break;
        case TcpOpening::kProbeOpen:
          s.segment(Direction::kToServer, kTcpSyn);
          s.wait(s.spec().rtt_ns);
          s.segment(Direction::kToClient, kTcpSyn | kTcpAck);
          s.wait(s.spec().ack_delay_ns);
          s.reset(Direction::kToServer, false);
          break;
        case TcpOpening::kUnanswered: {
          s.segment(Direction::kToServer, kTcpSyn);
          int64_t backoff = kNsPerSec;
          for (int i = 0; i < plan_.syn_retries; ++i) {
            s.wait(backoff);
            s.retransmit(Direction::kToServer);
            backoff *= 2;
          }
          break;
        }
      }
      stage_ = Stage::kDone;
      return false;

    case Stage::kRequest: {
      const TcpExchange& ex = plan_.exchanges[exchange_];
      if (!request_started_) {
        s.wait(ex.gap_before_ns);
        bytes_left_ = ex.request_bytes;
        request_started_ = true;
      }
      const size_t part = std::min(bytes_left_, step_bytes);
      s.send(Direction::kToServer, part);
      bytes_left_ -= part;
      if (bytes_left_ == 0) {
        s.wait(ex.server_time_ns);
        bytes_left_ = ex.response_bytes;
        stage_ = Stage::kResponse;
      }
      return true;
    }

    case Stage::kResponse: {
      const TcpExchange& ex = plan_.exchanges[exchange_];
      const size_t part = std::min(bytes_left_, step_bytes);
      s.send(Direction::kToClient, part, ex.response_gap_ns);
      bytes_left_ -= part;
      if (bytes_left_ == 0) {
        ++exchange_;
        stage_ = exchange_ < plan_.exchanges.size() ? Stage::kRequest : Stage::kClose;
        request_started_ = false;
      }
      return true;
    }

    case Stage::kClose:
      s.wait(plan_.close_gap_ns);
      switch (plan_.close) {
        case TcpClose::kFinByClient:
          s.closeFin(Direction::kToServer);
          break;
        case TcpClose::kFinByServer:
          s.closeFin(Direction::kToClient);
          break;
        case TcpClose::kRstByClient:
          s.reset(Direction::kToServer);
          break;
        case TcpClose::kRstByServer:
          s.reset(Direction::kToClient);
          break;
        case TcpClose::kNone:
          break;
      }
      stage_ = Stage::kDone;
      return false;

    case Stage::kDone:
      break;
  }
  return false;
}

// ---------------------------------------------------------------- UdpScript

UdpScript::UdpScript(UdpPlan plan, uint32_t snaplen)
    : FlowScript(plan.spec.start_ns, snaplen), plan_(std::move(plan)) {}

bool UdpScript::step() {
  if (!session_) session_.emplace(queue_, plan_.spec);
  UdpSession& s = *session_;
  if (train_ >= plan_.trains.size()) return false;
  const UdpTrain& t = plan_.trains[train_];
  if (sent_in_train_ == 0) {
    if (train_ > 0 || t.gap_before_ns > 0) s.wait(t.gap_before_ns);
    train_start_ns_ = s.now();
  }
  if (!t.payload.empty()) {
    s.send(t.dir, t.payload);
    sent_in_train_ = t.count;
  } else {
    const uint32_t limit = std::min(t.count, sent_in_train_ + kMaxPacketsPerStep / 2);
    for (; sent_in_train_ < limit; ++sent_in_train_) {
      const int64_t tick = train_start_ns_ + static_cast<int64_t>(sent_in_train_) * t.spacing_ns;
      s.at(tick);
      s.send(t.dir, t.size);
      if (t.both_ways) {
        s.at(tick + t.spacing_ns / 2);
        s.send(reverse(t.dir), t.size);
      } else if (t.ack_every > 0 && (sent_in_train_ + 1) % t.ack_every == 0) {
        s.at(tick + std::max<int64_t>(t.spacing_ns / 2, 1));
        s.send(reverse(t.dir), t.ack_size);
      }
    }
  }
  if (sent_in_train_ >= t.count) {
    ++train_;
    sent_in_train_ = 0;
  }
  return train_ < plan_.trains.size();
}

// ---------------------------------------------------------------- PingScript

PingScript::PingScript(PingPlan plan, uint32_t snaplen)
    : FlowScript(plan.spec.start_ns, snaplen), plan_(std::move(plan)) {}

bool PingScript::step() {
  if (!session_) session_.emplace(queue_, plan_.spec, plan_.id);
  if (sent_ >= plan_.count) return false;
  session_->at(plan_.spec.start_ns + static_cast<int64_t>(sent_) * plan_.interval_ns);
  session_->ping(plan_.data_bytes, plan_.answered);
  ++sent_;
  return sent_ < plan_.count;
}

// ---------------------------------------------------------------- CountingSink

void CountingSink::append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) {
  if (orig_len == 0) orig_len = static_cast<uint32_t>(frame.size());
  if (packets_ == 0) first_ns_ = ts_ns;
  last_ns_ = ts_ns;
  ++packets_;
  wire_bytes_ += orig_len;
  out_.append(ts_ns, frame, orig_len);
}

}  // namespace edgesense::testsupport
