// Flow-table lookup cost under keys an attacker chose to collide with the old
// unkeyed hash, against random keys: the keyed table (flow/keyed_hash.h)
// should cost the same for both, and the old scheme, re-created here as it
// was (linear probing on the unkeyed hash), shows what the attack did.
// Printed, not checked: timing goals live in benchmarks (scripts/bench-hash).
//
//   edgesense-hash-bench [--flows N] [--rounds R]

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "flow/flow_table.h"

namespace {

using edgesense::decode::IpAddress;
using edgesense::decode::Packet;
using edgesense::flow::FlowKey;

struct Ext {};
struct NullObserver {
  void onStart(edgesense::flow::Flow<Ext>&, const Packet&) {}
  void onPacket(edgesense::flow::Flow<Ext>&, const Packet&, edgesense::flow::Direction) {}
  void onSnapshot(const edgesense::flow::Flow<Ext>&, edgesense::flow::TimeUs) {}
  void onEnd(const edgesense::flow::Flow<Ext>&, edgesense::flow::EndReason,
             edgesense::flow::TimeUs) {}
};

std::uint64_t inverse(std::uint64_t c) {  // c odd: Newton's iteration mod 2^64
  std::uint64_t x = c;
  for (int i = 0; i < 6; ++i) x *= 2 - c * x;
  return x;
}

std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

/// The murmur3 finalizer the old hash ended with, undone.
std::uint64_t unmix(std::uint64_t h) {
  h ^= h >> 33;
  h *= inverse(0xc4ceb9fe1a85ec53ULL);
  h ^= h >> 33;
  h *= inverse(0xff51afd7ed558ccdULL);
  return h ^ (h >> 33);
}

/// The table hash before keyed hashing: the unkeyed hash flow ids still
/// use (flowIdHash), which was also the slot hash, truncated to 32 bits.
std::uint32_t oldHash(const FlowKey& k) {
  return static_cast<std::uint32_t>(edgesense::flow::flowIdHash(k));
}

Packet packetOf(const std::uint64_t (&w)[6]) {
  Packet p;
  std::memcpy(p.src.bytes.data(), &w[0], 8);
  std::memcpy(p.src.bytes.data() + 8, &w[1], 8);
  std::memcpy(p.dst.bytes.data(), &w[2], 8);
  std::memcpy(p.dst.bytes.data() + 8, &w[3], 8);
  p.src_port = static_cast<std::uint16_t>(w[4]);
  p.dst_port = static_cast<std::uint16_t>(w[4] >> 16);
  p.proto = edgesense::decode::ipproto::kUdp;
  p.ip_version = 6;
  p.wire_len = p.cap_len = 100;
  return p;
}

/// n spoofed IPv6 UDP packets of distinct flows. Crafted: every key's old
/// hash has the same home slot in a table of `slots` slots; the source
/// address's first word is solved for it (the old hash multiplied each word
/// by an odd constant, which has an inverse mod 2^64).
std::vector<Packet> makePackets(std::size_t n, std::uint32_t slots, bool crafted,
                                std::mt19937_64& rng) {
  std::vector<Packet> out;
  out.reserve(n);
  const std::uint64_t c0_inv = inverse(0x9e3779b97f4a7c15ULL);
  while (out.size() < n) {
    std::uint64_t w[6];
    w[1] = rng();
    w[2] = ~std::uint64_t{0};  // the destination sorts after any source
    w[3] = rng();
    w[4] = (rng() & 0xffff) | std::uint64_t{53} << 16;  // source port, port 53
    w[5] = edgesense::decode::ipproto::kUdp | std::uint64_t{6} << 8;
    if (crafted) {
      // Any 64-bit value whose low bits are the home slot 0.
      const std::uint64_t target = rng() & ~std::uint64_t{slots - 1};
      const std::uint64_t rest =
          rotl(w[1] * 0xc2b2ae3d27d4eb4fULL, 13) ^ rotl(w[2] * 0x165667b19e3779f9ULL, 23) ^
          rotl(w[3] * 0xd6e8feb86659fd93ULL, 37) ^ rotl(w[4] * 0xff51afd7ed558ccdULL, 47) ^
          rotl((w[5] & 0xff) * 0x94d049bb133111ebULL, 53);
      w[0] = (unmix(target) ^ rest) * c0_inv;
    } else {
      w[0] = rng();
    }
    if (w[0] == w[2]) continue;
    out.push_back(packetOf(w));
  }
  return out;
}

double nsPer(std::chrono::steady_clock::duration d, std::size_t n) {
  return std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(n);
}

struct Figures {
  double insert_ns = 0;
  double lookup_ns = 0;
  double probes = 0;  // mean slots looked at per lookup (old scheme only)
};

/// The old scheme, as flow_table.h had it: slots of (hash, index), linear
/// probing from hash & mask, keys compared when the hashes match.
Figures oldTable(const std::vector<Packet>& pkts, std::uint32_t slots, int rounds) {
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t idx = 0xffffffffu;
  };
  std::vector<Slot> table(slots);
  std::vector<FlowKey> keys;
  keys.reserve(pkts.size());
  const std::uint32_t mask = slots - 1;
  std::uint64_t probes = 0;
  auto find = [&](const FlowKey& k, std::uint32_t h) {
    for (std::uint32_t i = h & mask;; i = (i + 1) & mask) {
      ++probes;
      if (table[i].idx == 0xffffffffu) return i;
      if (table[i].hash == h && keys[table[i].idx] == k) return i;
    }
  };
  Figures f;
  auto t0 = std::chrono::steady_clock::now();
  for (const Packet& p : pkts) {
    bool lo = false;
    const FlowKey k = edgesense::flow::makeKey(p, lo);
    const std::uint32_t h = oldHash(k);
    const std::uint32_t i = find(k, h);
    if (table[i].idx == 0xffffffffu) {
      table[i] = Slot{h, static_cast<std::uint32_t>(keys.size())};
      keys.push_back(k);
    }
  }
  f.insert_ns = nsPer(std::chrono::steady_clock::now() - t0, pkts.size());
  probes = 0;
  std::uint64_t found = 0;
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const Packet& p : pkts) {
      bool lo = false;
      const FlowKey k = edgesense::flow::makeKey(p, lo);
      found += table[find(k, oldHash(k))].idx != 0xffffffffu;
    }
  }
  const std::size_t n = pkts.size() * static_cast<std::size_t>(rounds);
  f.lookup_ns = nsPer(std::chrono::steady_clock::now() - t0, n);
  f.probes = static_cast<double>(probes) / static_cast<double>(n);
  if (found != n) std::fprintf(stderr, "old table lost keys\n");
  return f;
}

/// The real FlowTable: the first round creates the flows, the others find
/// them (each packet a whole process() call, as the capture loop makes).
Figures keyedTable(const std::vector<Packet>& pkts, int rounds) {
  edgesense::flow::FlowConfig cfg;
  cfg.max_flows = static_cast<std::uint32_t>(pkts.size());
  cfg.active_timeout_us = 0;
  edgesense::flow::FlowTable<Ext> table(cfg);
  NullObserver obs;
  std::vector<Packet> timed = pkts;
  for (Packet& p : timed) p.ts_us = 1'767'225'600'000'000;
  Figures f;
  auto t0 = std::chrono::steady_clock::now();
  for (const Packet& p : timed) table.process(p, obs);
  f.insert_ns = nsPer(std::chrono::steady_clock::now() - t0, timed.size());
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const Packet& p : timed) table.process(p, obs);
  }
  const std::size_t n = timed.size() * static_cast<std::size_t>(rounds);
  f.lookup_ns = nsPer(std::chrono::steady_clock::now() - t0, n);
  if (table.stats().created != timed.size())
    std::fprintf(stderr, "keyed table created %llu flows, not %zu\n",
                 static_cast<unsigned long long>(table.stats().created), timed.size());
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t flows = 20000;
  int rounds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--flows") {
      flows = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (a == "--rounds") {
      rounds = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: edgesense-hash-bench [--flows N] [--rounds R]\n");
      return 2;
    }
  }
  // The slot count FlowTable picks for `flows` flows: a power of two, at
  // least twice the flows.
  std::uint32_t slots = 1;
  while (slots < flows * 2) slots <<= 1;
  std::mt19937_64 rng(1);
  const std::vector<Packet> random = makePackets(flows, slots, false, rng);
  const std::vector<Packet> crafted = makePackets(flows, slots, true, rng);
  std::printf(
      "%zu flows, %u slots, %d lookup rounds; crafted keys share one home slot under "
      "the old unkeyed hash\n",
      flows, slots, rounds);
  std::printf("%-30s %-8s %12s %12s %14s\n", "table", "keys", "insert ns", "lookup ns",
              "probes/lookup");
  std::printf("(old: the bare probe loop; FlowTable: a whole process() call per packet)\n");
  // Best of three, by lookup time: the machine is shared and noisy.
  auto best = [](auto measure) {
    Figures b = measure();
    for (int i = 0; i < 2; ++i) {
      const Figures f = measure();
      if (f.lookup_ns < b.lookup_ns) b = f;
    }
    return b;
  };
  for (const bool c : {false, true}) {
    const Figures f = best([&] { return oldTable(c ? crafted : random, slots, rounds); });
    std::printf("%-30s %-8s %12.1f %12.1f %14.1f\n", "old: unkeyed, linear probing",
                c ? "crafted" : "random", f.insert_ns, f.lookup_ns, f.probes);
  }
  for (const bool c : {false, true}) {
    const Figures f = best([&] { return keyedTable(c ? crafted : random, rounds); });
    std::printf("%-30s %-8s %12.1f %12.1f %14s\n", "FlowTable: SipHash-1-3 keyed",
                c ? "crafted" : "random", f.insert_ns, f.lookup_ns, "-");
  }
  return 0;
}
