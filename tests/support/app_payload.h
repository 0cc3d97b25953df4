#pragma once

/// Application payloads that reference decoders (tshark) parse cleanly: DNS queries and
/// responses. Pure functions returning new buffers.

#include <cstdint>
#include <string_view>
#include <vector>

#include "packet_builder.h"

namespace edgesense::testsupport {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;

/// A recursive query for `name` (dotted, no trailing dot) of `qtype`, class IN.
Bytes dnsQuery(uint16_t id, std::string_view name, uint16_t qtype);

/// The answer to dnsQuery(id, name, qtype): one A or AAAA record per address (each must
/// match qtype's family); no addresses gives an NXDOMAIN response.
Bytes dnsResponse(uint16_t id, std::string_view name, uint16_t qtype,
                  const std::vector<IpAddress>& answers, uint32_t ttl = 300);

}  // namespace edgesense::testsupport
