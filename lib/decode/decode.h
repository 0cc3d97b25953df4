#pragma once
/// decode: a pure function from one captured frame to a Packet value, or the
/// reason it could not be decoded. No allocation, no exceptions, no logging;
/// every read is checked against the end of the captured bytes. Called on the
/// capture thread, once per packet.

#include <array>
#include <cstdint>
#include <string_view>

#include "decode/packet.h"

namespace edgesense::decode {

/// Why a frame was not turned into a Packet. The names double as the values
/// of the `reason` label of edgesense_decode_errors_total and the keys of the
/// replay summary, so keep them stable.
#define EDGESENSE_DECODE_ERRORS(X)                                                 \
  X(kUnsupportedLinkType, "unsupported_link_type")                                 \
  X(kTruncatedLink, "truncated_link") /* shorter than its link header */           \
  X(kVlanTooDeep, "vlan_too_deep")    /* more than 2 VLAN tags */                  \
  X(kNonIp, "non_ip")                 /* ARP, LLDP, ...: not an error */           \
  X(kTruncatedIpv4, "truncated_ipv4")                                              \
  X(kBadIpVersion, "bad_ip_version")                                               \
  X(kBadIpv4HeaderLength, "bad_ipv4_header_length")                                \
  X(kBadIpv4TotalLength, "bad_ipv4_total_length")                                  \
  X(kTruncatedIpv6, "truncated_ipv6")                                              \
  X(kTruncatedIpv6ExtHeader, "truncated_ipv6_ext_header")                          \
  X(kIpv6ExtHeaderChainTooLong, "ipv6_ext_header_chain_too_long")                  \
  X(kUnsupportedIpProto, "unsupported_ip_proto") /* GRE, ESP, ...: not an error */ \
  X(kTruncatedTcp, "truncated_tcp")                                                \
  X(kBadTcpHeaderLength, "bad_tcp_header_length")                                  \
  X(kTruncatedUdp, "truncated_udp")                                                \
  X(kBadUdpLength, "bad_udp_length")                                               \
  X(kTruncatedIcmp, "truncated_icmp")

enum class DecodeError : std::uint8_t {
  kNone = 0,
#define X(name, label) name,
  EDGESENSE_DECODE_ERRORS(X)
#undef X
};

inline constexpr std::size_t kDecodeErrorCount = 1 + 0
#define X(name, label) +1
                                                 EDGESENSE_DECODE_ERRORS(X)
#undef X
    ;

/// The label of a reason ("truncated_tcp"); "none" for kNone.
std::string_view decodeErrorName(DecodeError e) noexcept;

/// Non-IP frames and IP protocols without a flow model (GRE, ESP, ...) are
/// counted as skipped, not as malformed.
constexpr bool isMalformed(DecodeError e) noexcept {
  return e != DecodeError::kNone && e != DecodeError::kNonIp &&
         e != DecodeError::kUnsupportedIpProto;
}

/// One captured frame as the capture stage hands it over. `data` points into
/// the capture library's buffer and is valid only until the next read.
struct Frame {
  const std::uint8_t* data = nullptr;
  std::uint32_t cap_len = 0;
  std::uint32_t wire_len = 0;
  TimeUs ts_us = 0;
  LinkType link = LinkType::kEthernet;
};

/// Decodes frame into out. On error out is left partly filled and must not be
/// used. IPv4 later fragments (offset > 0) decode with Fragment::kLater and no
/// ports; the flow table attributes them.
[[nodiscard]] DecodeError decode(const Frame& frame, Packet& out) noexcept;

/// Per-reason counters, a plain array owned by one thread.
using DecodeErrorCounts = std::array<std::uint64_t, kDecodeErrorCount>;

}  // namespace edgesense::decode
