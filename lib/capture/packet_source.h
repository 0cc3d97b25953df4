#pragma once
/// PacketSource: where frames come from, a live interface or capture files,
/// both over libpcap (included by pcap_source.cpp only). A source is owned and
/// read by one capture thread; next() is the per-packet call and never
/// throws, allocates or logs. Opening is where errors are reported: a
/// CaptureError whose message names the file or interface.

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "decode/decode.h"

namespace edgesense::capture {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ReadStatus : std::uint8_t {
  kPacket,   // frame is filled; its data is valid until the next call
  kTimeout,  // live only: nothing arrived within the read timeout
  kEnd,      // every file read, or the live handle was broken off
  kError,    // live only: the handle failed; see lastError()
};

struct SourceStats {
  std::uint64_t packets = 0;          // frames handed out
  std::uint64_t kernel_dropped = 0;   // pcap_stats ps_drop (live)
  std::uint64_t if_dropped = 0;       // pcap_stats ps_ifdrop (live)
  std::uint64_t truncated_files = 0;  // files that ended mid-record (offline)
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  virtual ReadStatus next(decode::Frame& frame) noexcept = 0;
  /// Counters as of now; for a live source this calls pcap_stats, so call it
  /// periodically, not per packet.
  virtual SourceStats stats() noexcept = 0;
  /// Makes a blocked next() return kEnd soon; callable from another thread.
  virtual void breakLoop() noexcept = 0;
  /// Non-fatal problems met while reading (a truncated file), in order.
  virtual std::vector<std::string> takeWarnings() = 0;
  virtual std::string lastError() const = 0;
};

/// Opens capture files (pcap or pcapng) to be read one after another. Every
/// file is checked up front: unreadable, not a capture, or of a link type
/// decode does not support is a CaptureError naming the file.
std::unique_ptr<PacketSource> openFiles(const std::vector<std::string>& paths);

/// The same for a capture file's image in memory (fuzzing, tests); `name`
/// stands for the file in messages. The bytes must outlive the source.
std::unique_ptr<PacketSource> openMemory(std::span<const std::uint8_t> image,
                                         const std::string& name);

/// How the capture threads of one interface share its packets (a
/// PACKET_FANOUT group; see openLive()).
enum class FanoutMode : std::uint8_t {
  /// A classic BPF program hashes the IP address pair, symmetric in source
  /// and destination: every packet between two hosts, fragments included,
  /// reaches the same thread as it is on the wire, so each thread sees what a
  /// single-thread capture (and a replay of it) sees of those hosts.
  kIpPair,
  /// The kernel's symmetric flow hash (addresses and ports) with
  /// PACKET_FANOUT_FLAG_DEFRAG: IPv4 datagrams arrive reassembled, one
  /// packet where the wire carried several; IPv6 fragments are hashed
  /// without ports, so a flow's fragments may reach another thread.
  kFlow,
};

struct LiveOptions {
  std::string interface;
  std::string bpf;  // empty: everything
  int snaplen = 262144;
  bool promiscuous = true;
  int buffer_size = 64 << 20;  // kernel ring, bytes
  bool immediate = false;      // deliver each packet at once
  int timeout_ms = 100;        // read timeout, for idle ticks
  /// PACKET_FANOUT group (0..65535) shared by the capture threads of one
  /// interface: the kernel sends each packet to one member, both directions
  /// of a flow alike, by `fanout_mode`. -1: no group, this handle sees every
  /// packet.
  int fanout_group = -1;
  FanoutMode fanout_mode = FanoutMode::kIpPair;
};

/// Opens and activates a live capture handle (and joins its fanout group). A
/// missing interface, missing permission, a BPF filter that does not compile
/// or a fanout group that cannot be joined is a CaptureError.
std::unique_ptr<PacketSource> openLive(const LiveOptions& options);

}  // namespace edgesense::capture
