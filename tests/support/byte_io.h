#pragma once

/// Small big/little-endian helpers for writing packet and file bytes.
/// Header-only, stateless; callers own the buffers. Used by the builders and the
/// writers in this folder so that output never depends on the host byte order.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgesense::testsupport {

inline void appendBe16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

inline void appendBe32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

inline void appendLe16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

inline void appendLe32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 24));
}

inline void appendLe64(std::vector<uint8_t>& out, uint64_t v) {
  appendLe32(out, static_cast<uint32_t>(v));
  appendLe32(out, static_cast<uint32_t>(v >> 32));
}

inline void putBe16(std::span<uint8_t> out, size_t offset, uint16_t v) {
  out[offset] = static_cast<uint8_t>(v >> 8);
  out[offset + 1] = static_cast<uint8_t>(v);
}

inline void putBe32(std::span<uint8_t> out, size_t offset, uint32_t v) {
  out[offset] = static_cast<uint8_t>(v >> 24);
  out[offset + 1] = static_cast<uint8_t>(v >> 16);
  out[offset + 2] = static_cast<uint8_t>(v >> 8);
  out[offset + 3] = static_cast<uint8_t>(v);
}

inline uint16_t getBe16(std::span<const uint8_t> in, size_t offset) {
  return static_cast<uint16_t>((in[offset] << 8) | in[offset + 1]);
}

inline uint32_t getBe32(std::span<const uint8_t> in, size_t offset) {
  return (static_cast<uint32_t>(in[offset]) << 24) | (static_cast<uint32_t>(in[offset + 1]) << 16) |
         (static_cast<uint32_t>(in[offset + 2]) << 8) | static_cast<uint32_t>(in[offset + 3]);
}

}  // namespace edgesense::testsupport
