#pragma once
/// FlowKey: the canonical, direction-neutral identity of a bidirectional flow
/// (addresses, ports, protocol, VLAN tags). Both directions of a conversation
/// map to the same key; which side initiated is kept in the flow, not here.

#include <cstdint>
#include <cstring>

#include "decode/packet.h"

namespace edgesense::flow {

using decode::IpAddress;
using decode::TimeUs;

struct FlowKey {
  IpAddress lo_addr;  // the lower (address, port) endpoint
  IpAddress hi_addr;
  std::uint16_t lo_port = 0;
  std::uint16_t hi_port = 0;
  std::uint16_t vlan_outer = 0;
  std::uint16_t vlan_inner = 0;
  std::uint8_t proto = 0;
  std::uint8_t pad_[3] = {};  // zeroed so the key hashes and compares as bytes

  friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
    return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 44);

/// Packet direction relative to the flow's initiator.
enum class Direction : std::uint8_t { kForward = 0, kBackward = 1 };

/// ICMP "ports" (type/code and identifier, see decode::Packet) belong to the
/// exchange, not to an endpoint, so they stay in place when the addresses
/// are ordered.
constexpr bool portsAreEndpoints(std::uint8_t proto) noexcept {
  return proto != decode::ipproto::kIcmp && proto != decode::ipproto::kIcmpv6;
}

/// Builds the canonical key of p; sets src_is_lo when p's sender is the lower
/// endpoint.
inline FlowKey makeKey(const decode::Packet& p, bool& src_is_lo) noexcept {
  FlowKey k;
  const bool endpoints = portsAreEndpoints(p.proto);
  const int cmp = std::memcmp(p.src.bytes.data(), p.dst.bytes.data(), 16);
  src_is_lo = cmp < 0 || (cmp == 0 && (!endpoints || p.src_port <= p.dst_port));
  k.lo_addr = src_is_lo ? p.src : p.dst;
  k.hi_addr = src_is_lo ? p.dst : p.src;
  if (src_is_lo || !endpoints) {
    k.lo_port = p.src_port, k.hi_port = p.dst_port;
  } else {
    k.lo_port = p.dst_port, k.hi_port = p.src_port;
  }
  k.vlan_outer = p.vlan[0];
  k.vlan_inner = p.vlan[1];
  k.proto = p.proto;
  return k;
}

/// 64-bit hash of the key bytes; fixed, so flow ids are stable across runs.
inline std::uint64_t hashKey(const FlowKey& k) noexcept {
  std::uint64_t words[6] = {};
  std::memcpy(words, &k, sizeof(FlowKey));  // 44 bytes, last word zero-padded
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t w : words) {
    h ^= w;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 29);
}

}  // namespace edgesense::flow
