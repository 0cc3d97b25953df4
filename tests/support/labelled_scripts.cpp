// Flow scripts of the labelled capture: TCP programs on a shared timeline, UDP probes with
// their ICMP answers, and the wrapper that measures an activity's label window.

#include "labelled_scripts.h"

#include <algorithm>
#include <utility>

namespace edgesense::testsupport {

namespace {

// Segments per step of a long send: even, so cutting a transfer adds no ACKs (the receiver
// ACKs every second segment and the last one of each send()).
constexpr size_t kSegmentsPerStep = 128;

}  // namespace

TcpProgram& TcpProgram::exchange(int64_t at_ns, int64_t after_ns, size_t request,
                                 int64_t server_time_ns, size_t response, int64_t response_gap_ns) {
  add({.kind = TcpOpKind::kSend, .at_ns = at_ns, .after_ns = after_ns, .bytes = request});
  return add({.kind = TcpOpKind::kSend,
              .dir = Direction::kToClient,
              .after_ns = server_time_ns,
              .bytes = response,
              .gap_ns = response_gap_ns});
}

// ---------------------------------------------------------------- TcpProgramScript

TcpProgramScript::TcpProgramScript(TcpProgram program, uint32_t snaplen)
    : FlowScript(program.spec.start_ns, snaplen), program_(std::move(program)) {}

bool TcpProgramScript::step() {
  if (!session_) session_.emplace(queue_, program_.spec, program_.options);
  TcpSession& s = *session_;
  while (next_ < program_.ops.size()) {
    const TcpOp& op = program_.ops[next_];
    if (bytes_left_ == 0) {
      s.at(std::max(s.now() + op.after_ns, op.at_ns));
      if (op.kind == TcpOpKind::kSend) {
        bytes_left_ = op.bytes;
        if (bytes_left_ == 0) {
          ++next_;
          continue;
        }
      }
    }
    switch (op.kind) {
      case TcpOpKind::kHandshake:
        s.handshake();
        break;
      case TcpOpKind::kSyn:
        s.segment(Direction::kToServer, kTcpSyn);
        break;
      case TcpOpKind::kSynAck:
        s.segment(Direction::kToClient, kTcpSyn | kTcpAck);
        break;
      case TcpOpKind::kSend: {
        const size_t part = std::min(bytes_left_, kSegmentsPerStep * s.maxSegmentPayload());
        s.send(op.dir, part, op.gap_ns);
        bytes_left_ -= part;
        if (bytes_left_ > 0) return true;
        break;
      }
      case TcpOpKind::kRst:
        s.reset(op.dir, true);
        break;
      case TcpOpKind::kBareRst:
        s.reset(op.dir, false);
        break;
      case TcpOpKind::kFin:
        s.closeFin(op.dir);
        break;
      case TcpOpKind::kRetransmit:
        s.retransmit(op.dir);
        break;
    }
    ++next_;
    return next_ < program_.ops.size();
  }
  return false;
}

// ---------------------------------------------------------------- UdpProbeScript

UdpProbeScript::UdpProbeScript(UdpProbePlan plan, uint32_t snaplen)
    : FlowScript(plan.spec.start_ns, snaplen), plan_(std::move(plan)) {}

bool UdpProbeScript::step() {
  UdpSession s(queue_, plan_.spec);
  const FlowSpec& f = plan_.spec;
  s.send(Direction::kToServer, plan_.probe_bytes);
  switch (plan_.reply) {
    case UdpReply::kNone:
      for (int i = 0; i < plan_.retries; ++i) {
        s.wait(plan_.retry_gap_ns);
        s.send(Direction::kToServer, plan_.probe_bytes);
      }
      break;
    case UdpReply::kDatagram:
      s.wait(f.rtt_ns);
      s.send(Direction::kToClient, plan_.reply_bytes);
      break;
    case UdpReply::kPortUnreachable: {
      // The error quotes the probe's IP header and the first 8 bytes after it (RFC 792);
      // ICMPv6 quotes as much as fits, here the whole probe.
      const Frame probe = PacketBuilder()
                              .ip(f.client, f.server, f.client_ttl)
                              .udp(f.client_port, f.server_port)
                              .payload(plan_.probe_bytes, 1)
                              .build();
      const bool v6 = f.client.isV6();
      const size_t quoted_end = v6 ? probe.size() : probe.l4_offset + kUdpHeaderSize;
      Bytes quoted(probe.bytes.begin() + static_cast<std::ptrdiff_t>(probe.l3_offset),
                   probe.bytes.begin() + static_cast<std::ptrdiff_t>(quoted_end));
      const size_t quoted_size = quoted.size();
      const IcmpSpec unreachable = v6 ? IcmpSpec{1, 4, 0} : icmpUnreachable(3);
      s.wait(f.rtt_ns);
      s.emitFrame(
          Direction::kToClient,
          s.builder(Direction::kToClient).icmp(unreachable).payload(std::move(quoted)).build(),
          quoted_size);
      break;
    }
  }
  return false;
}

// ---------------------------------------------------------------- TrackedScript

TrackedScript::TrackedScript(std::unique_ptr<FlowScript> inner, TimeSpan& span, uint32_t snaplen)
    : FlowScript(inner->startNs(), snaplen), inner_(std::move(inner)), span_(span) {}

bool TrackedScript::step() {
  const bool more = inner_->step();
  RecordQueue& q = inner_->queue();
  while (!q.empty()) {
    span_.include(q.frontTs());
    q.popTo(queue_);
  }
  return more;
}

}  // namespace edgesense::testsupport
