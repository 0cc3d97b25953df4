#pragma once
/// FeatureExtractor: the observer the flow table calls on the capture thread.
/// It feeds each packet to the flow's accumulator, keeps the host table up to
/// date (a flow keeps the host context read at its start), and on every
/// snapshot or end builds a FlowRecord and hands it to the RecordSink. FeatureFlowTable is the flow
/// table with this per-flow state.

#include <cstdint>

#include "features/accumulator.h"
#include "features/flow_record.h"
#include "features/host_table.h"
#include "flow/flow_table.h"

namespace edgesense::features {

using FeatureFlowTable = flow::FlowTable<FlowAccumulator>;
using FeatureFlow = flow::Flow<FlowAccumulator>;

class FeatureExtractor {
 public:
  FeatureExtractor(const FeatureParams& params, HostTable& hosts, RecordSink& sink) noexcept
      : params_(params), hosts_(hosts), sink_(sink) {}

  void onStart(FeatureFlow& f, const decode::Packet& p) noexcept {
    f.ext.setHostContext(hosts_.onFlowStart(f.initiatorAddr(), f.responderAddr(), f.responderPort(),
                                            f.key.proto, p.ts_us));
  }
  void onPacket(FeatureFlow& f, const decode::Packet& p, flow::Direction dir) noexcept {
    f.ext.onPacket(p, dir, params_);
  }
  void onSnapshot(const FeatureFlow& f, decode::TimeUs now) noexcept {
    emit(f, flow::EndReason::kActiveTimeout, now);
  }
  void onEnd(const FeatureFlow& f, flow::EndReason reason, decode::TimeUs now) noexcept;

 private:
  void emit(const FeatureFlow& f, flow::EndReason reason, decode::TimeUs report_ts) noexcept;

  FeatureParams params_;
  HostTable& hosts_;
  RecordSink& sink_;
  FlowRecord record_;  // reused: records are built in place, not allocated
};

/// A flow failed, for the host context, when nothing came back or either
/// side reset it.
bool flowFailed(const FeatureFlow& f) noexcept;

}  // namespace edgesense::features
