#pragma once
/// Keyed hashing for the tables an attacker fills (flows, hosts, fragment
/// slots): SipHash-1-3 (Aumasson and Bernstein's SipHash with one compression
/// and three finalization rounds, the variant Rust's and CPython's hash tables
/// use), over whole 64-bit words. Without the 128-bit key nobody can choose
/// keys that land in one probe chain. A HashKey is a plain value: the daemon
/// makes one at start (from flows.hash_seed, or from getrandom()) and every
/// table copies it; nothing here allocates or locks.

#include <sys/random.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace edgesense::flow {

struct HashKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;

  /// The key a seed stands for (splitmix64 twice): a replay with the same
  /// seed probes the tables the same way.
  static constexpr HashKey fromSeed(std::uint64_t seed) noexcept {
    auto next = [&seed] {
      std::uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      return z ^ (z >> 31);
    };
    const std::uint64_t a = next();
    return HashKey{a, next()};
  }

  /// 128 bits from the kernel's random source; nullopt if it fails.
  static std::optional<HashKey> random() noexcept {
    std::uint64_t k[2];
    if (getrandom(k, sizeof k, 0) != static_cast<ssize_t>(sizeof k)) return std::nullopt;
    return HashKey{k[0], k[1]};
  }

  friend constexpr bool operator==(const HashKey&, const HashKey&) = default;
};

/// The seed of the built-in key, used when flows.hash_seed is 0 in a replay
/// (and by tests and tools): replays are repeatable without configuration.
inline constexpr std::uint64_t kDefaultHashSeed = 0x65646765'73656e73ULL;  // "edgesens"
inline constexpr HashKey kDefaultHashKey = HashKey::fromSeed(kDefaultHashSeed);

namespace detail {

constexpr std::uint64_t rotl(std::uint64_t x, int r) noexcept {
  return (x << r) | (x >> (64 - r));
}

struct SipState {
  std::uint64_t v0, v1, v2, v3;

  constexpr explicit SipState(const HashKey& k) noexcept
      : v0(k.k0 ^ 0x736f6d6570736575ULL),
        v1(k.k1 ^ 0x646f72616e646f6dULL),
        v2(k.k0 ^ 0x6c7967656e657261ULL),
        v3(k.k1 ^ 0x7465646279746573ULL) {}

  constexpr void round() noexcept {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }

  template <int C>
  constexpr void compress(std::uint64_t m) noexcept {
    v3 ^= m;
    for (int i = 0; i < C; ++i) round();
    v0 ^= m;
  }

  template <int D>
  constexpr std::uint64_t finish() noexcept {
    v2 ^= 0xff;
    for (int i = 0; i < D; ++i) round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

}  // namespace detail

/// SipHash-C-D of a message given as little-endian bytes (any length). The
/// reference form, for tests against the published vectors and for odd
/// sizes; the tables use sipHashWords().
template <int C, int D>
constexpr std::uint64_t sipHashBytes(const HashKey& key, const std::uint8_t* data,
                                     std::size_t len) noexcept {
  detail::SipState s(key);
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    std::uint64_t m = 0;
    for (int b = 0; b < 8; ++b) m |= std::uint64_t{data[i + b]} << (8 * b);
    s.compress<C>(m);
  }
  std::uint64_t last = std::uint64_t{len & 0xff} << 56;
  for (int b = 0; i + b < len; ++b) last |= std::uint64_t{data[i + b]} << (8 * b);
  s.compress<C>(last);
  return s.finish<D>();
}

/// SipHash-1-3 of N 64-bit words (the message's bytes in little-endian
/// order): equal to sipHashBytes<1, 3> of those 8 * N bytes.
template <std::size_t N>
constexpr std::uint64_t sipHashWords(const HashKey& key, const std::uint64_t (&words)[N]) noexcept {
  detail::SipState s(key);
  for (std::size_t i = 0; i < N; ++i) s.compress<1>(words[i]);
  s.compress<1>(std::uint64_t{(8 * N) & 0xff} << 56);
  return s.finish<3>();
}

}  // namespace edgesense::flow
