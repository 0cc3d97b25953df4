#pragma once
/// The feature schema: every per-flow feature, defined once. Extraction, the
/// CSV header, `edgesense features`, docs/features.md and the model bundles
/// all read this table. Changing it changes schemaHash(), and models trained
/// on another schema are refused. Read-only, shared by every thread.
///
/// Conventions: "forward" (fwd) is the initiator's direction (the sender of
/// the first packet seen, unless it shows the flow began earlier: see
/// FlowTable::initiatorIsLo()), "backward" (bwd) the responder's. Sizes are frame
/// lengths on the wire (pcap orig_len), as tshark and Suricata count bytes;
/// payload_* are transport payload bytes. Times are seconds. A value that is
/// undefined for a flow (a mean of nothing, a TCP field of a UDP flow) is NaN.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgesense::features {

// X(id, name, type, unit, definition)
#define EDGESENSE_FEATURES(X)                                                                     \
  /* volume and duration */                                                                       \
  X(kDuration, "duration", "float", "s", "time from the first to the last packet")                \
  X(kFwdPackets, "fwd_packets", "int", "packets", "packets sent by the initiator")                \
  X(kBwdPackets, "bwd_packets", "int", "packets", "packets sent by the responder")                \
  X(kFwdBytes, "fwd_bytes", "int", "bytes", "frame bytes sent by the initiator")                  \
  X(kBwdBytes, "bwd_bytes", "int", "bytes", "frame bytes sent by the responder")                  \
  X(kFwdPayloadBytes, "fwd_payload_bytes", "int", "bytes",                                        \
    "transport payload bytes sent by the initiator")                                              \
  X(kBwdPayloadBytes, "bwd_payload_bytes", "int", "bytes",                                        \
    "transport payload bytes sent by the responder")                                              \
  X(kBytesPerSecond, "bytes_per_second", "float", "bytes/s",                                      \
    "frame bytes both ways over duration; NaN if duration is 0")                                  \
  X(kPacketsPerSecond, "packets_per_second", "float", "packets/s",                                \
    "packets both ways over duration; NaN if duration is 0")                                      \
  /* packet sizes: IP payload bytes (transport header and payload), not frame lengths, so  */     \
  /* link type, VLAN tags and IP version do not change them                                */     \
  X(kFwdLenMin, "fwd_len_min", "float", "bytes", "smallest initiator packet size")                \
  X(kFwdLenMax, "fwd_len_max", "float", "bytes", "largest initiator packet size")                 \
  X(kFwdLenMean, "fwd_len_mean", "float", "bytes", "mean initiator packet size")                  \
  X(kFwdLenStd, "fwd_len_std", "float", "bytes",                                                  \
    "population standard deviation of initiator packet sizes")                                    \
  X(kBwdLenMin, "bwd_len_min", "float", "bytes", "smallest responder packet size")                \
  X(kBwdLenMax, "bwd_len_max", "float", "bytes", "largest responder packet size")                 \
  X(kBwdLenMean, "bwd_len_mean", "float", "bytes", "mean responder packet size")                  \
  X(kBwdLenStd, "bwd_len_std", "float", "bytes",                                                  \
    "population standard deviation of responder packet sizes")                                    \
  X(kLenMin, "len_min", "float", "bytes", "smallest packet size, both directions")                \
  X(kLenMax, "len_max", "float", "bytes", "largest packet size, both directions")                 \
  X(kLenMean, "len_mean", "float", "bytes", "mean packet size, both directions")                  \
  X(kLenStd, "len_std", "float", "bytes",                                                         \
    "population standard deviation of packet sizes, both directions")                             \
  /* inter-arrival times */                                                                       \
  X(kFwdIatMin, "fwd_iat_min", "float", "s", "shortest gap between initiator packets")            \
  X(kFwdIatMax, "fwd_iat_max", "float", "s", "longest gap between initiator packets")             \
  X(kFwdIatMean, "fwd_iat_mean", "float", "s", "mean gap between initiator packets")              \
  X(kFwdIatStd, "fwd_iat_std", "float", "s",                                                      \
    "standard deviation of gaps between initiator packets")                                       \
  X(kBwdIatMin, "bwd_iat_min", "float", "s", "shortest gap between responder packets")            \
  X(kBwdIatMax, "bwd_iat_max", "float", "s", "longest gap between responder packets")             \
  X(kBwdIatMean, "bwd_iat_mean", "float", "s", "mean gap between responder packets")              \
  X(kBwdIatStd, "bwd_iat_std", "float", "s",                                                      \
    "standard deviation of gaps between responder packets")                                       \
  X(kIatMin, "iat_min", "float", "s", "shortest gap between packets, both directions")            \
  X(kIatMax, "iat_max", "float", "s", "longest gap between packets, both directions")             \
  X(kIatMean, "iat_mean", "float", "s", "mean gap between packets, both directions")              \
  X(kIatStd, "iat_std", "float", "s",                                                             \
    "standard deviation of gaps between packets, both directions")                                \
  /* TCP */                                                                                       \
  X(kFwdSyn, "fwd_syn", "int", "packets", "initiator packets with SYN (NaN unless TCP)")          \
  X(kFwdFin, "fwd_fin", "int", "packets", "initiator packets with FIN (NaN unless TCP)")          \
  X(kFwdRst, "fwd_rst", "int", "packets", "initiator packets with RST (NaN unless TCP)")          \
  X(kFwdPsh, "fwd_psh", "int", "packets", "initiator packets with PSH (NaN unless TCP)")          \
  X(kFwdAck, "fwd_ack", "int", "packets", "initiator packets with ACK (NaN unless TCP)")          \
  X(kFwdUrg, "fwd_urg", "int", "packets", "initiator packets with URG (NaN unless TCP)")          \
  X(kBwdSyn, "bwd_syn", "int", "packets", "responder packets with SYN (NaN unless TCP)")          \
  X(kBwdFin, "bwd_fin", "int", "packets", "responder packets with FIN (NaN unless TCP)")          \
  X(kBwdRst, "bwd_rst", "int", "packets", "responder packets with RST (NaN unless TCP)")          \
  X(kBwdPsh, "bwd_psh", "int", "packets", "responder packets with PSH (NaN unless TCP)")          \
  X(kBwdAck, "bwd_ack", "int", "packets", "responder packets with ACK (NaN unless TCP)")          \
  X(kBwdUrg, "bwd_urg", "int", "packets", "responder packets with URG (NaN unless TCP)")          \
  X(kFwdInitWindow, "fwd_init_window", "int", "bytes",                                            \
    "TCP window of the initiator's first packet (unscaled)")                                      \
  X(kBwdInitWindow, "bwd_init_window", "int", "bytes",                                            \
    "TCP window of the responder's first packet (unscaled)")                                      \
  X(kHandshake, "handshake", "int", "flag",                                                       \
    "1 if SYN, SYN-ACK and ACK were seen in order, else 0 (NaN unless TCP)")                      \
  X(kConnState, "conn_state", "category", "code",                                                 \
    "Zeek-style connection state as its index in conn_state_names (NaN unless TCP)")              \
  /* active and idle periods (activity separated by gaps > flows.idle_threshold) */               \
  X(kActiveMean, "active_mean", "float", "s", "mean length of active periods")                    \
  X(kActiveMax, "active_max", "float", "s", "longest active period")                              \
  X(kActiveStd, "active_std", "float", "s", "standard deviation of active period lengths")        \
  X(kIdleMean, "idle_mean", "float", "s", "mean idle gap between active periods (NaN if none)")   \
  X(kIdleMax, "idle_max", "float", "s", "longest idle gap (NaN if none)")                         \
  X(kIdleStd, "idle_std", "float", "s", "standard deviation of idle gaps (NaN if none)")          \
  /* bursts (runs of packets separated by gaps > flows.burst_gap) */                              \
  X(kBurstCount, "burst_count", "int", "bursts", "number of bursts")                              \
  X(kBurstBytesMean, "burst_bytes_mean", "float", "bytes", "mean bytes per burst (packet sizes)") \
  X(kBurstBytesMax, "burst_bytes_max", "float", "bytes",                                          \
    "bytes of the largest burst (packet sizes)")                                                  \
  X(kBurstBytesStd, "burst_bytes_std", "float", "bytes", "standard deviation of burst sizes")     \
  X(kBurstDurationMean, "burst_duration_mean", "float", "s",                                      \
    "mean time from first to last packet of a burst")                                             \
  X(kBurstGapMean, "burst_gap_mean", "float", "s", "mean gap between bursts (NaN if one burst)")  \
  X(kBurstGapMax, "burst_gap_max", "float", "s", "longest gap between bursts (NaN if one burst)") \
  X(kBurstGapStd, "burst_gap_std", "float", "s",                                                  \
    "standard deviation of gaps between bursts (NaN if one burst)")                               \
  X(kBurstLargestShare, "burst_largest_share", "float", "ratio",                                  \
    "share of all packet-size bytes in the largest burst")                                        \
  X(kDownUpRatio, "down_up_ratio", "float", "ratio",                                              \
    "responder frame bytes over initiator frame bytes")                                           \
  /* exchanges (a run of initiator payload and the responder payload after it) */                 \
  X(kExchanges, "exchanges", "int", "exchanges",                                                  \
    "request/response exchanges: runs of initiator payload, each with the responder payload "     \
    "that follows it")                                                                            \
  X(kRequestBytesMean, "request_bytes_mean", "float", "bytes",                                    \
    "mean initiator payload bytes per exchange (NaN if no payload)")                              \
  X(kRequestBytesMax, "request_bytes_max", "float", "bytes",                                      \
    "initiator payload bytes of the largest request (NaN if no payload)")                         \
  X(kResponseBytesMean, "response_bytes_mean", "float", "bytes",                                  \
    "mean responder payload bytes per exchange (NaN if no payload)")                              \
  X(kResponseBytesMax, "response_bytes_max", "float", "bytes",                                    \
    "responder payload bytes of the largest response (NaN if no payload)")                        \
  X(kResponseBytesStd, "response_bytes_std", "float", "bytes",                                    \
    "standard deviation of responder payload bytes per exchange (NaN if no payload)")             \
  /* the first packets: signed packet size (+ initiator, - responder) and gaps */                 \
  X(kFirstSize1, "first_size_1", "int", "bytes", "signed size of packet 1")                       \
  X(kFirstSize2, "first_size_2", "int", "bytes", "signed size of packet 2 (NaN if fewer)")        \
  X(kFirstSize3, "first_size_3", "int", "bytes", "signed size of packet 3 (NaN if fewer)")        \
  X(kFirstSize4, "first_size_4", "int", "bytes", "signed size of packet 4 (NaN if fewer)")        \
  X(kFirstSize5, "first_size_5", "int", "bytes", "signed size of packet 5 (NaN if fewer)")        \
  X(kFirstSize6, "first_size_6", "int", "bytes", "signed size of packet 6 (NaN if fewer)")        \
  X(kFirstSize7, "first_size_7", "int", "bytes", "signed size of packet 7 (NaN if fewer)")        \
  X(kFirstSize8, "first_size_8", "int", "bytes", "signed size of packet 8 (NaN if fewer)")        \
  X(kFirstGap2, "first_gap_2", "float", "s", "gap from packet 1 to packet 2 (NaN if fewer)")      \
  X(kFirstGap3, "first_gap_3", "float", "s", "gap from packet 2 to packet 3 (NaN if fewer)")      \
  X(kFirstGap4, "first_gap_4", "float", "s", "gap from packet 3 to packet 4 (NaN if fewer)")      \
  X(kFirstGap5, "first_gap_5", "float", "s", "gap from packet 4 to packet 5 (NaN if fewer)")      \
  X(kFirstGap6, "first_gap_6", "float", "s", "gap from packet 5 to packet 6 (NaN if fewer)")      \
  X(kFirstGap7, "first_gap_7", "float", "s", "gap from packet 6 to packet 7 (NaN if fewer)")      \
  X(kFirstGap8, "first_gap_8", "float", "s", "gap from packet 7 to packet 8 (NaN if fewer)")      \
  /* host context: the initiator (src) and responder (dst) hosts over decaying windows,  */       \
  /* read when the flow starts (KDD'99's time-based traffic features are taken so too) */         \
  X(kSrcFlows10s, "src_flows_10s", "float", "flows",                                              \
    "flows the initiator started in the 10 s up to this flow's start, this one included")         \
  X(kSrcFlows60s, "src_flows_60s", "float", "flows",                                              \
    "flows the initiator started in the 60 s up to this flow's start, this one included")         \
  X(kSrcDstPorts10s, "src_dst_ports_10s", "float", "ports",                                       \
    "distinct responder ports the initiator contacted in the 10 s up to this flow's start")       \
  X(kSrcDstPorts60s, "src_dst_ports_60s", "float", "ports",                                       \
    "distinct responder ports the initiator contacted in the 60 s up to this flow's start")       \
  X(kSrcDstHosts10s, "src_dst_hosts_10s", "float", "hosts",                                       \
    "distinct responder hosts the initiator contacted in the 10 s up to this flow's start")       \
  X(kSrcDstHosts60s, "src_dst_hosts_60s", "float", "hosts",                                       \
    "distinct responder hosts the initiator contacted in the 60 s up to this flow's start")       \
  X(kSrcFailedShare10s, "src_failed_share_10s", "float", "ratio",                                 \
    "share of the initiator's flows that ended in the 10 s before this flow's start with no "     \
    "reply or a reset (NaN if none ended)")                                                       \
  X(kSrcFailedShare60s, "src_failed_share_60s", "float", "ratio",                                 \
    "share of the initiator's flows that ended in the 60 s before this flow's start with no "     \
    "reply or a reset (NaN if none ended)")                                                       \
  X(kDstSrcs10s, "dst_srcs_10s", "float", "hosts",                                                \
    "distinct initiators that contacted the responder in the 10 s up to this flow's start")       \
  X(kDstSrcs60s, "dst_srcs_60s", "float", "hosts",                                                \
    "distinct initiators that contacted the responder in the 60 s up to this flow's start")       \
  X(kDstFlows10s, "dst_flows_10s", "float", "flows",                                              \
    "flows started towards the responder in the 10 s up to this flow's start, this one included") \
  X(kDstFlows60s, "dst_flows_60s", "float", "flows",                                              \
    "flows started towards the responder in the 60 s up to this flow's start, this one included")

enum class Feature : std::uint16_t {
#define X(id, name, type, unit, doc) id,
  EDGESENSE_FEATURES(X)
#undef X
};

inline constexpr std::size_t kFeatureCount = 0
#define X(id, name, type, unit, doc) +1
    EDGESENSE_FEATURES(X)
#undef X
    ;

struct FeatureDef {
  std::string_view name;
  std::string_view type;  // "int", "float" or "category" (all stored as double)
  std::string_view unit;
  std::string_view definition;
};

inline constexpr std::array<FeatureDef, kFeatureCount> kSchema = {{
#define X(id, name, type, unit, doc) {name, type, unit, doc},
    EDGESENSE_FEATURES(X)
#undef X
}};

/// One flow's feature values, indexed by Feature.
using FeatureVector = std::array<double, kFeatureCount>;

constexpr std::size_t index(Feature f) noexcept {
  return static_cast<std::size_t>(f);
}

/// The host features, the schema's last block (kSrcFlows10s .. kDstFlows60s),
/// as a flow keeps them from its first packet until it is reported.
inline constexpr Feature kFirstHostFeature = Feature::kSrcFlows10s;
inline constexpr std::size_t kHostFeatureCount = kFeatureCount - index(kFirstHostFeature);
static_assert(index(Feature::kDstFlows60s) + 1 == kFeatureCount, "host features come last");
using HostContext = std::array<float, kHostFeatureCount>;

/// Zeek's conn_state values, in the order the conn_state feature encodes them.
inline constexpr std::array<std::string_view, 13> kConnStateNames = {
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"};

/// Raised when a feature keeps its name, type and unit but changes meaning,
/// so that a model trained on the old meaning is refused like one of another
/// schema. 2: host context is read when the flow starts (it was read when the
/// flow was reported, up to an idle timeout later), and packet sizes are IP
/// payloads (they were frame lengths).
inline constexpr int kSchemaRevision = 2;

/// 16 hex digits: FNV-1a over every feature's name, type and unit, in order,
/// then kSchemaRevision.
std::string schemaHash();

}  // namespace edgesense::features
