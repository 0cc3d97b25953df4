// Our own pcap/pcapng encoder: file header on open, one record per append, a large
// buffer between the callers and fwrite so the benchmark generator stays I/O-bound.

#include "pcap_writer.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "byte_io.h"

namespace edgesense::testsupport {

namespace {

constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;
constexpr uint32_t kPcapngSectionHeader = 0x0a0d0d0a;
constexpr uint32_t kPcapngInterfaceDescription = 1;
constexpr uint32_t kPcapngEnhancedPacket = 6;
constexpr uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;
constexpr std::string_view kUserAppl = "edgesense-pcapgen";

constexpr size_t kPcapRecordHeaderSize = 16;
constexpr size_t kPcapngEpbOverhead = 32;  // block header, fields and trailing length

size_t pad4(size_t n) {
  return (n + 3) & ~static_cast<size_t>(3);
}

int64_t powerOf10(int exponent) {
  int64_t v = 1;
  for (int i = 0; i < exponent; ++i) v *= 10;
  return v;
}

}  // namespace

PcapWriter::PcapWriter(const std::filesystem::path& path, PcapWriterOptions options)
    : options_(std::move(options)) {
  if (options_.pcapng_tsresol > 9) throw std::invalid_argument("pcapng_tsresol must be 0..9");
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) throw std::runtime_error("cannot create " + path.string());
  buffer_.reserve(options_.buffer_bytes + 2 * kMaxSnaplen);
  writeFileHeader();
}

PcapWriter::~PcapWriter() {
  if (file_ == nullptr) return;
  try {
    close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors must not throw
  }
}

PcapWriter::PcapWriter(PcapWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      options_(std::move(other.options_)),
      buffer_(std::move(other.buffer_)),
      records_(other.records_),
      bytes_written_(other.bytes_written_),
      failed_(other.failed_),
      sealed_(other.sealed_) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) {
      try {
        close();
      } catch (...) {  // NOLINT(bugprone-empty-catch)
      }
    }
    file_ = std::exchange(other.file_, nullptr);
    options_ = std::move(other.options_);
    buffer_ = std::move(other.buffer_);
    records_ = other.records_;
    bytes_written_ = other.bytes_written_;
    failed_ = other.failed_;
    sealed_ = other.sealed_;
  }
  return *this;
}

void PcapWriter::writeFileHeader() {
  Bytes h;
  if (options_.format == CaptureFormat::kPcapng) {
    // Section header block with shb_userappl, then one interface with if_tsresol.
    const size_t appl_padded = pad4(kUserAppl.size());
    const auto shb_len = static_cast<uint32_t>(28 + 4 + appl_padded + 4);
    appendLe32(h, options_.magic.value_or(kPcapngSectionHeader));
    appendLe32(h, shb_len);
    appendLe32(h, kPcapngByteOrderMagic);
    appendLe16(h, 1);
    appendLe16(h, 0);
    appendLe64(h, ~0ULL);  // section length unknown
    appendLe16(h, 4);      // shb_userappl
    appendLe16(h, static_cast<uint16_t>(kUserAppl.size()));
    h.insert(h.end(), kUserAppl.begin(), kUserAppl.end());
    h.insert(h.end(), appl_padded - kUserAppl.size(), 0);
    appendLe32(h, 0);  // opt_endofopt
    appendLe32(h, shb_len);

    appendLe32(h, kPcapngInterfaceDescription);
    appendLe32(h, 32);
    appendLe16(h, static_cast<uint16_t>(options_.link_type));
    appendLe16(h, 0);
    appendLe32(h, options_.snaplen);
    appendLe16(h, 9);  // if_tsresol
    appendLe16(h, 1);
    h.push_back(options_.pcapng_tsresol);
    h.insert(h.end(), 3, 0);
    appendLe32(h, 0);  // opt_endofopt
    appendLe32(h, 32);
  } else {
    const uint32_t magic =
        options_.format == CaptureFormat::kPcapNano ? kPcapMagicNano : kPcapMagicMicro;
    appendLe32(h, options_.magic.value_or(magic));
    appendLe16(h, 2);
    appendLe16(h, 4);
    appendLe32(h, 0);  // thiszone
    appendLe32(h, 0);  // sigfigs
    appendLe32(h, options_.snaplen);
    appendLe32(h, options_.link_type);
  }
  put(h);
}

void PcapWriter::put(std::span<const uint8_t> bytes) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  if (buffer_.size() >= options_.buffer_bytes) flushBuffer();
}

void PcapWriter::flushBuffer() {
  if (file_ == nullptr || buffer_.empty()) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) failed_ = true;
  bytes_written_ += buffer_.size();
  buffer_.clear();
}

void PcapWriter::appendRecord(int64_t ts_ns, uint32_t caplen, uint32_t orig_len,
                              std::span<const uint8_t> body, size_t declared_body) {
  if (file_ == nullptr) throw std::logic_error("PcapWriter used after close()");
  if (sealed_) throw std::logic_error("PcapWriter: nothing may follow a cut record");
  if (ts_ns < 0) throw std::invalid_argument("negative timestamp");
  uint8_t header[28];
  size_t n = 0;
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) header[n++] = static_cast<uint8_t>(v >> (8 * i));
  };
  if (options_.format == CaptureFormat::kPcapng) {
    const int64_t unit = powerOf10(9 - options_.pcapng_tsresol);
    const auto ts = static_cast<uint64_t>(ts_ns / unit);
    le32(kPcapngEnhancedPacket);
    le32(static_cast<uint32_t>(kPcapngEpbOverhead + pad4(declared_body)));
    le32(0);  // interface id
    le32(static_cast<uint32_t>(ts >> 32));
    le32(static_cast<uint32_t>(ts));
  } else {
    const auto sec = static_cast<uint32_t>(ts_ns / kNsPerSec);
    const int64_t frac_ns = ts_ns % kNsPerSec;
    le32(sec);
    le32(static_cast<uint32_t>(options_.format == CaptureFormat::kPcapNano ? frac_ns
                                                                           : frac_ns / kNsPerUs));
  }
  le32(caplen);
  le32(orig_len);
  put(std::span<const uint8_t>(header, n));
  put(body);
  if (options_.format == CaptureFormat::kPcapng && body.size() >= declared_body) {
    static constexpr uint8_t kZeros[4] = {};
    put(std::span<const uint8_t>(kZeros, pad4(declared_body) - declared_body));
    n = 0;
    le32(static_cast<uint32_t>(kPcapngEpbOverhead + pad4(declared_body)));
    put(std::span<const uint8_t>(header, n));
  }
  ++records_;
}

void PcapWriter::append(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t orig_len) {
  const auto caplen = static_cast<uint32_t>(std::min<size_t>(frame.size(), options_.snaplen));
  if (orig_len == 0) orig_len = static_cast<uint32_t>(frame.size());
  appendRecord(ts_ns, caplen, orig_len, frame.first(caplen), caplen);
}

void PcapWriter::appendCut(int64_t ts_ns, std::span<const uint8_t> frame, size_t body_bytes) {
  const auto caplen = static_cast<uint32_t>(std::min<size_t>(frame.size(), options_.snaplen));
  if (body_bytes >= caplen) throw std::invalid_argument("appendCut: body_bytes must be < caplen");
  appendRecord(ts_ns, caplen, static_cast<uint32_t>(frame.size()), frame.first(body_bytes), caplen);
  sealed_ = true;
}

void PcapWriter::appendWithCaplen(int64_t ts_ns, uint32_t caplen, uint32_t orig_len,
                                  std::span<const uint8_t> body) {
  appendRecord(ts_ns, caplen, orig_len, body, body.size());
}

void PcapWriter::appendRaw(std::span<const uint8_t> bytes) {
  if (file_ == nullptr) throw std::logic_error("PcapWriter used after close()");
  put(bytes);
}

void PcapWriter::close() {
  if (file_ == nullptr) return;
  flushBuffer();
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  if (failed_) throw std::runtime_error("PcapWriter: write failed");
}

void PcapWriter::writeEmptyFile(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fclose(f) != 0) {
    throw std::runtime_error("cannot create " + path.string());
  }
}

}  // namespace edgesense::testsupport
