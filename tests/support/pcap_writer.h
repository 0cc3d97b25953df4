#pragma once

/// Writes classic pcap (microsecond or nanosecond magic) and pcapng files with our own
/// code, so tests can also write files that are broken on purpose. A PcapWriter owns its
/// FILE and a write buffer; it is move-only and used by one thread. The file header is
/// written on construction; the destructor flushes and closes, swallowing errors, so call
/// close() to see them. Every number is written little-endian, whatever the host.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "packet_builder.h"
#include "packet_sink.h"

namespace edgesense::testsupport {

enum class CaptureFormat {
  kPcap,      // magic 0xa1b2c3d4, microsecond timestamps
  kPcapNano,  // magic 0xa1b23c4d, nanosecond timestamps
  kPcapng,    // SHB, one IDB, EPBs
};

/// The largest caplen libpcap accepts in a file record (its MAXIMUM_SNAPLEN).
inline constexpr uint32_t kMaxSnaplen = 262144;

struct PcapWriterOptions {
  CaptureFormat format = CaptureFormat::kPcap;
  uint32_t link_type = kLinkTypeEthernet;
  uint32_t snaplen = kMaxSnaplen;  // records are cut to this many captured bytes
  uint8_t pcapng_tsresol = 6;      // pcapng if_tsresol: 10^-N seconds, N in 0..9
  std::optional<uint32_t> magic;   // write this magic instead (a bad one, on purpose)
  size_t buffer_bytes = 1 << 20;
};

class PcapWriter final : public PacketSink {
 public:
  /// Creates (truncates) `path` and writes the file header; throws std::runtime_error.
  explicit PcapWriter(const std::filesystem::path& path, PcapWriterOptions options = {});
  ~PcapWriter() override;
  PcapWriter(PcapWriter&& other) noexcept;
  PcapWriter& operator=(PcapWriter&& other) noexcept;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  /// One record: caplen = min(frame.size(), snaplen), orig_len as given (0 = frame.size()).
  void append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len = 0) override;
  void append(int64_t ts_ns, const Frame& frame) { append(ts_ns, frame.bytes, 0); }
  void appendUs(int64_t ts_us, std::span<const uint8_t> frame, uint32_t orig_len = 0) {
    append(ts_us * kNsPerUs, frame, orig_len);
  }

  // Broken on purpose.
  /// A record whose header promises the whole frame but whose body stops after
  /// `body_bytes`; nothing may follow it, so the writer refuses further records.
  void appendCut(int64_t ts_ns, std::span<const uint8_t> frame, size_t body_bytes);
  /// A record whose header carries `caplen` verbatim (e.g. > 256 KiB) followed by `body`.
  void appendWithCaplen(int64_t ts_ns, uint32_t caplen, uint32_t orig_len,
                        std::span<const uint8_t> body);
  /// Arbitrary bytes at the current position.
  void appendRaw(std::span<const uint8_t> bytes);

  /// Flushes and closes; throws std::runtime_error if any write failed.
  void close();

  const PcapWriterOptions& options() const { return options_; }
  uint64_t records() const { return records_; }
  uint64_t bytesWritten() const { return bytes_written_; }

  /// A zero-byte file.
  static void writeEmptyFile(const std::filesystem::path& path);

 private:
  void writeFileHeader();
  // Writes one record: header fields verbatim, then `body`; pcapng block lengths assume
  // `declared_body` bytes, and a record with body.size() < declared_body is left open.
  void appendRecord(int64_t ts_ns, uint32_t caplen, uint32_t orig_len,
                    std::span<const uint8_t> body, size_t declared_body);
  void put(std::span<const uint8_t> bytes);
  void flushBuffer();

  std::FILE* file_ = nullptr;
  PcapWriterOptions options_;
  std::vector<uint8_t> buffer_;
  uint64_t records_ = 0;
  uint64_t bytes_written_ = 0;
  bool failed_ = false;
  bool sealed_ = false;  // after appendCut
};

}  // namespace edgesense::testsupport
