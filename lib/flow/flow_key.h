#pragma once
/// FlowKey: the canonical, direction-neutral identity of a bidirectional flow
/// (addresses, ports, protocol, IP version, VLAN tags). Both directions of a
/// conversation map to the same key; which side initiated is kept in the
/// flow, not here.

#include <bit>
#include <cstdint>
#include <cstring>

#include "decode/packet.h"
#include "flow/keyed_hash.h"

namespace edgesense::flow {

using decode::IpAddress;
using decode::TimeUs;

struct alignas(8) FlowKey {
  IpAddress lo_addr;  // the lower (address, port) endpoint
  IpAddress hi_addr;
  std::uint16_t lo_port = 0;
  std::uint16_t hi_port = 0;
  std::uint16_t vlan_outer = 0;
  std::uint16_t vlan_inner = 0;
  std::uint8_t proto = 0;
  /// 4 or 6. IPv4 addresses are stored IPv4-mapped, so without it an IPv6
  /// packet between ::ffff:a.b.c.d addresses would join an IPv4 flow.
  std::uint8_t ip_version = 0;
  std::uint8_t pad_[6] = {};  // zeroed so the key compares as six words

  std::uint64_t word(int i) const noexcept {
    std::uint64_t w;
    std::memcpy(&w, reinterpret_cast<const char*>(this) + 8 * i, 8);
    return w;
  }
  friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
    std::uint64_t diff = 0;
    for (int i = 0; i < 6; ++i) diff |= a.word(i) ^ b.word(i);
    return diff == 0;
  }
};
static_assert(sizeof(FlowKey) == 48);

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
  const bool endpoints = portsAreEndpoints(p.proto);
  const std::uint64_t s0 = p.src.word(0), s1 = p.src.word(1);
  const std::uint64_t d0 = p.dst.word(0), d1 = p.dst.word(1);
  const bool less = s0 < d0 || (s0 == d0 && s1 < d1);
  const bool same = s0 == d0 && s1 == d1;
  src_is_lo = less || (same && (!endpoints || p.src_port <= p.dst_port));
  const bool keep_ports = src_is_lo || !endpoints;
  const std::uint64_t lo_port = keep_ports ? p.src_port : p.dst_port;
  const std::uint64_t hi_port = keep_ports ? p.dst_port : p.src_port;
  // Whole words, written once: the key is read back as words at once, and
  // narrow stores followed by a wide load would stall store forwarding.
  const std::uint64_t words[6] = {
      src_is_lo ? s0 : d0,
      src_is_lo ? s1 : d1,
      src_is_lo ? d0 : s0,
      src_is_lo ? d1 : s1,
      lo_port | hi_port << 16 | std::uint64_t{p.vlan[0]} << 32 | std::uint64_t{p.vlan[1]} << 48,
      p.proto | std::uint64_t{p.ip_version} << 8};
  static_assert(std::endian::native == std::endian::little, "FlowKey words assume little endian");
  FlowKey k;
  std::memcpy(&k, words, sizeof words);
  return k;
}

/// The table hash of a key: SipHash-1-3 of its six words under the
/// process's key, so the bucket a flow lands in cannot be chosen from
/// outside (see keyed_hash.h).
inline std::uint64_t hashKey(const FlowKey& k, const HashKey& key) noexcept {
  const std::uint64_t words[6] = {k.word(0), k.word(1), k.word(2), k.word(3), k.word(4), k.word(5)};
  return sipHashWords(key, words);
}

/// The unkeyed hash behind flow_id: fixed, so a flow's id is the same
/// whatever the table key, run after run and sensor to sensor. Never used to
/// place anything in a table. It covers the addresses, ports, VLAN tags and
/// protocol, not the IP version, so ids are what they were before the
/// version joined the key (the addresses already tell IPv4 from IPv6, bar
/// IPv6 between IPv4-mapped addresses). The words are multiplied
/// independently (they pipeline) and then mixed (the murmur3 finalizer) so
/// every input bit reaches every output bit.
inline std::uint64_t flowIdHash(const FlowKey& k) noexcept {
  auto rotl = [](std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
  std::uint64_t h = k.word(0) * 0x9e3779b97f4a7c15ULL;
  h ^= rotl(k.word(1) * 0xc2b2ae3d27d4eb4fULL, 13);
  h ^= rotl(k.word(2) * 0x165667b19e3779f9ULL, 23);
  h ^= rotl(k.word(3) * 0xd6e8feb86659fd93ULL, 37);
  h ^= rotl(k.word(4) * 0xff51afd7ed558ccdULL, 47);
  h ^= rotl((k.word(5) & 0xff) * 0x94d049bb133111ebULL, 53);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

}  // namespace edgesense::flow
