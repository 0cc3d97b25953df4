// Capture: the start of the pipeline. Wraps libpcap handles (the only file
// that includes pcap.h) as PacketSources that hand frames to decode.

#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "capture/fanout_program.h"
#include "capture/packet_source.h"

namespace edgesense::capture {
namespace {

/// Move-only owner of a pcap_t.
class PcapHandle {
 public:
  PcapHandle() = default;
  explicit PcapHandle(pcap_t* p) : p_(p) {}
  PcapHandle(PcapHandle&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  PcapHandle& operator=(PcapHandle&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  PcapHandle(const PcapHandle&) = delete;
  PcapHandle& operator=(const PcapHandle&) = delete;
  ~PcapHandle() { reset(); }
  pcap_t* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  void reset() {
    if (p_) pcap_close(p_);
    p_ = nullptr;
  }

 private:
  pcap_t* p_ = nullptr;
};

bool toLinkType(int dlt, decode::LinkType& out) {
  switch (dlt) {
    case DLT_NULL:
      out = decode::LinkType::kNull;
      return true;
    case DLT_EN10MB:
      out = decode::LinkType::kEthernet;
      return true;
    case DLT_RAW:
      out = decode::LinkType::kRaw;
      return true;
    case DLT_LOOP:
      out = decode::LinkType::kLoop;
      return true;
    case DLT_LINUX_SLL:
      out = decode::LinkType::kLinuxSll;
      return true;
    case DLT_IPV4:
      out = decode::LinkType::kIpv4;
      return true;
    case DLT_IPV6:
      out = decode::LinkType::kIpv6;
      return true;
    case DLT_LINUX_SLL2:
      out = decode::LinkType::kLinuxSll2;
      return true;
    default:
      return false;
  }
}

std::string linkTypeText(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return std::to_string(dlt) + (name ? std::string(" (") + name + ")" : std::string());
}

inline void fillFrame(const pcap_pkthdr& hdr, const u_char* data, decode::LinkType link,
                      decode::Frame& frame) noexcept {
  frame.data = data;
  frame.cap_len = hdr.caplen;
  frame.wire_len = hdr.len;
  frame.ts_us = static_cast<decode::TimeUs>(hdr.ts.tv_sec) * 1'000'000 + hdr.ts.tv_usec;
  frame.link = link;
}

constexpr std::size_t kFileBuffer = 1 << 20;

/// One capture image: a file, or bytes in memory (the fuzz target's input).
struct Input {
  std::string name;
  const std::uint8_t* memory = nullptr;
  std::size_t size = 0;
};

/// Capture images read in order. libpcap reads through stdio; a 1 MiB buffer
/// instead of the default 4 KiB one saves most of the read calls.
class FileSource final : public PacketSource {
 public:
  explicit FileSource(std::vector<Input> inputs) : inputs_(std::move(inputs)) {
    for (const Input& input : inputs_) {
      const std::string& path = input.name;
      PcapHandle h = open(input, nullptr);  // validate every file up front
      decode::LinkType link;
      const int dlt = pcap_datalink(h.get());
      if (!toLinkType(dlt, link)) {
        throw CaptureError(path + ": unsupported link type " + linkTypeText(dlt) +
                           "; edgesense reads Ethernet, Linux SLL/SLL2, raw IP and BSD loopback");
      }
    }
  }

  ReadStatus next(decode::Frame& frame) noexcept override {
    for (;;) {
      if (!handle_ && !openNext()) return ReadStatus::kEnd;
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(handle_.get(), &hdr, &data);
      if (rc == 1) {
        fillFrame(*hdr, data, link_, frame);
        ++stats_.packets;
        return ReadStatus::kPacket;
      }
      if (rc == PCAP_ERROR) {
        // A file cut mid-record: keep what was read, say so, go on.
        ++stats_.truncated_files;
        pending_warning_ = true;
        warning_text_ = pcap_geterr(handle_.get());
      }
      handle_.reset();
      if (broken_) return ReadStatus::kEnd;
    }
  }

  SourceStats stats() noexcept override { return stats_; }
  void breakLoop() noexcept override { broken_ = true; }

  std::vector<std::string> takeWarnings() override {
    formatWarning();
    return std::exchange(warnings_, {});
  }
  std::string lastError() const override { return {}; }

 private:
  static PcapHandle open(const Input& input, std::unique_ptr<char[]>* buffer) {
    const std::string& path = input.name;
    FILE* fp = input.memory ? fmemopen(const_cast<std::uint8_t*>(input.memory), input.size, "rb")
                            : std::fopen(path.c_str(), "rb");
    if (fp == nullptr) throw CaptureError(path + ": " + std::strerror(errno));
    if (buffer) {
      *buffer = std::make_unique<char[]>(kFileBuffer);
      std::setvbuf(fp, buffer->get(), _IOFBF, kFileBuffer);
    }
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
    if (p == nullptr) {
      std::fclose(fp);
      throw CaptureError(path + ": not a readable pcap or pcapng file (" + err + ")");
    }
    return PcapHandle(p);  // pcap_close() closes fp
  }

  /// Warnings are formatted between files, off the packet path.
  void formatWarning() {
    if (!pending_warning_) return;
    warnings_.push_back(inputs_[current_ - 1].name + ": " + warning_text_ +
                        "; the packets before the cut were used");
    pending_warning_ = false;
  }

  bool openNext() noexcept {
    formatWarning();
    if (broken_ || current_ == inputs_.size()) return false;
    const Input& input = inputs_[current_++];
    try {
      handle_ = PcapHandle();
      buffer_.reset();
      handle_ = open(input, &buffer_);
    } catch (const CaptureError& e) {
      // The file was readable when checked; it went away since.
      warnings_.push_back(e.what());
      return openNext();
    }
    toLinkType(pcap_datalink(handle_.get()), link_);
    return true;
  }

  std::vector<Input> inputs_;
  std::size_t current_ = 0;
  std::unique_ptr<char[]> buffer_;  // stdio buffer of handle_'s FILE: must outlive it
  PcapHandle handle_;
  decode::LinkType link_ = decode::LinkType::kEthernet;
  SourceStats stats_;
  std::vector<std::string> warnings_;
  std::string warning_text_;
  bool pending_warning_ = false;
  bool broken_ = false;
};

class LiveSource final : public PacketSource {
 public:
  explicit LiveSource(const LiveOptions& o) : name_(o.interface) {
    char err[PCAP_ERRBUF_SIZE] = {};
    handle_ = PcapHandle(pcap_create(o.interface.c_str(), err));
    if (!handle_) throw CaptureError("interface " + name_ + ": " + err);
    pcap_t* p = handle_.get();
    pcap_set_snaplen(p, o.snaplen);
    pcap_set_promisc(p, o.promiscuous ? 1 : 0);
    pcap_set_timeout(p, o.timeout_ms);
    pcap_set_buffer_size(p, o.buffer_size);
    pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
    const int rc = pcap_activate(p);
    if (rc < 0) {
      std::string why = pcap_geterr(p);
      if (rc == PCAP_ERROR_NO_SUCH_DEVICE) why = "no such interface";
      if (rc == PCAP_ERROR_PERM_DENIED)
        why = "permission denied (needs root or CAP_NET_RAW): " + why;
      if (rc == PCAP_ERROR_IFACE_NOT_UP) why = "interface is down";
      throw CaptureError("interface " + name_ + ": " + why);
    }
    const int dlt = pcap_datalink(p);
    if (!toLinkType(dlt, link_)) {
      throw CaptureError("interface " + name_ + ": unsupported link type " + linkTypeText(dlt));
    }
    // Non-blocking reads and a poll of our own: libpcap's blocking read on
    // Linux can wait past its timeout on a silent link, and the capture loop
    // needs to wake up to expire flows.
    char nb_err[PCAP_ERRBUF_SIZE] = {};
    if (pcap_setnonblock(p, 1, nb_err) != 0)
      throw CaptureError("interface " + name_ + ": " + nb_err);
    fd_ = pcap_get_selectable_fd(p);
    timeout_ms_ = o.timeout_ms;
    if (!o.bpf.empty()) {
      bpf_program prog{};
      if (pcap_compile(p, &prog, o.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        throw CaptureError("interface " + name_ + ": BPF filter \"" + o.bpf +
                           "\" does not compile: " + pcap_geterr(p));
      }
      const int set = pcap_setfilter(p, &prog);
      pcap_freecode(&prog);
      if (set != 0) throw CaptureError("interface " + name_ + ": " + pcap_geterr(p));
    }
    if (o.fanout_group >= 0) joinFanout(o.fanout_group, o.fanout_mode);
  }

  ReadStatus next(decode::Frame& frame) noexcept override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (broken_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(handle_.get(), &hdr, &data);
      if (rc == 1) {
        fillFrame(*hdr, data, link_, frame);
        ++packets_;
        return ReadStatus::kPacket;
      }
      if (rc == PCAP_ERROR_BREAK) return ReadStatus::kEnd;
      if (rc != 0) return ReadStatus::kError;
      if (attempt == 1) break;
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = poll(&pfd, 1, timeout_ms_);
      if (ready == 0) return ReadStatus::kTimeout;
      if (ready < 0 && errno != EINTR) return ReadStatus::kError;
    }
    return ReadStatus::kTimeout;
  }

  SourceStats stats() noexcept override {
    SourceStats s;
    s.packets = packets_;
    pcap_stat ps{};
    if (pcap_stats(handle_.get(), &ps) == 0) {
      s.kernel_dropped = ps.ps_drop;
      s.if_dropped = ps.ps_ifdrop;
    }
    return s;
  }
  void breakLoop() noexcept override {
    broken_.store(true, std::memory_order_relaxed);
    pcap_breakloop(handle_.get());
  }
  std::vector<std::string> takeWarnings() override { return {}; }
  std::string lastError() const override {
    return "interface " + name_ + ": " + pcap_geterr(handle_.get());
  }

 private:
  /// Joins the packet socket under the activated handle to the interface's
  /// fanout group. kIpPair: a PACKET_FANOUT_CBPF group whose program
  /// (fanout_program.h) hashes the address pair; every member sets the same
  /// program, the group keeps the last. kFlow: the kernel's flow hash, IPv4
  /// fragments reassembled first (PACKET_FANOUT_FLAG_DEFRAG).
  void joinFanout(int group, FanoutMode mode) {
    if (group > 0xffff) {
      throw CaptureError("interface " + name_ + ": fanout group " + std::to_string(group) +
                         " is not in 0..65535");
    }
    const int fd = pcap_fileno(handle_.get());
    const int type = mode == FanoutMode::kIpPair ? PACKET_FANOUT_CBPF
                                                 : (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG);
    const int arg = group | (type << 16);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
      throw CaptureError("interface " + name_ + ": cannot join packet fanout group " +
                         std::to_string(group) + ": " + std::strerror(errno));
    }
    if (mode != FanoutMode::kIpPair) return;
    std::vector<sock_filter> code = ipPairFanoutProgram();
    const sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0) {
      throw CaptureError("interface " + name_ + ": cannot set the fanout program of group " +
                         std::to_string(group) + ": " + std::strerror(errno) +
                         " (capture.fanout: flow needs no program)");
    }
  }

  std::string name_;
  PcapHandle handle_;
  decode::LinkType link_ = decode::LinkType::kEthernet;
  std::uint64_t packets_ = 0;
  int fd_ = -1;
  int timeout_ms_ = 100;
  std::atomic<bool> broken_{false};  // set from another thread
};

}  // namespace

std::unique_ptr<PacketSource> openFiles(const std::vector<std::string>& paths) {
  if (paths.empty()) throw CaptureError("no capture files given");
  std::vector<Input> inputs;
  for (const std::string& path : paths) inputs.push_back({path});
  return std::make_unique<FileSource>(std::move(inputs));
}

std::unique_ptr<PacketSource> openMemory(std::span<const std::uint8_t> image,
                                         const std::string& name) {
  return std::make_unique<FileSource>(std::vector<Input>{{name, image.data(), image.size()}});
}

std::unique_ptr<PacketSource> openLive(const LiveOptions& options) {
  return std::make_unique<LiveSource>(options);
}

}  // namespace edgesense::capture
