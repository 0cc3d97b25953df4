// Output: the sinks EVE lines are written to.

#include "output/line_sink.h"

#include <syslog.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace edgesense::output {
namespace {

class FileSink final : public LineSink {
 public:
  FileSink(std::string path, FileMode mode) : path_(std::move(path)) {
    open(mode == FileMode::kTruncate ? "w" : "a");
  }
  ~FileSink() override {
    if (fp_) std::fclose(fp_);
  }

  bool write(std::string_view line) override {
    if (reopen_.exchange(false, std::memory_order_acquire)) {
      std::fclose(fp_);
      fp_ = nullptr;
      try {
        open("a");  // the rotated file was moved away; start a new one
      } catch (const std::runtime_error&) {
        return false;  // counted by the caller; retried at the next reopen
      }
    }
    if (fp_ == nullptr) return false;
    if (std::fwrite(line.data(), 1, line.size(), fp_) != line.size() ||
        std::fputc('\n', fp_) == EOF)
      return false;
    // Lines reach the file within a second while records keep coming, so
    // a tail -f or a rotation sees them; an idle writer is flushed by the
    // run watchdog (run_command.cpp) or at the end.
    const std::int64_t now = coarseSeconds();
    if (now != last_flush_) {
      last_flush_ = now;
      return std::fflush(fp_) == 0;
    }
    return true;
  }
  bool flush() override { return fp_ != nullptr && std::fflush(fp_) == 0; }
  void requestReopen() noexcept override { reopen_.store(true, std::memory_order_release); }
  std::string describe() const override { return "file " + path_; }

 private:
  void open(const char* mode) {
    fp_ = std::fopen(path_.c_str(), mode);
    if (fp_ == nullptr)
      throw std::runtime_error("EVE output " + path_ + ": " + std::strerror(errno));
    // One write per 1 MiB (or per second, see write()) rather than per
    // record; a live sensor's watchdog flushes an idle file (run_command.cpp).
    if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferBytes);
    std::setvbuf(fp_, buffer_.get(), _IOFBF, kBufferBytes);
  }

  static std::int64_t coarseSeconds() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
  }

  static constexpr std::size_t kBufferBytes = 1 << 20;

  std::string path_;
  std::unique_ptr<char[]> buffer_;  // declared before fp_: outlives the stream
  std::FILE* fp_ = nullptr;
  std::int64_t last_flush_ = coarseSeconds();
  std::atomic<bool> reopen_{false};
};

class StdoutSink final : public LineSink {
 public:
  bool write(std::string_view line) override {
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size() &&
           std::fputc('\n', stdout) != EOF;
  }
  bool flush() override { return std::fflush(stdout) == 0; }
  std::string describe() const override { return "stdout"; }
};

class SyslogSink final : public LineSink {
 public:
  explicit SyslogSink(int facility, std::string name) : name_(std::move(name)) {
    openlog("edgesense", LOG_NDELAY | LOG_PID, facility);
  }
  ~SyslogSink() override { closelog(); }
  bool write(std::string_view line) override {
    syslog(LOG_INFO, "%.*s", static_cast<int>(line.size()), line.data());
    return true;
  }
  bool flush() override { return true; }
  std::string describe() const override { return "syslog " + name_; }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<LineSink> openFileSink(const std::string& path, FileMode mode) {
  return std::make_unique<FileSink>(path, mode);
}

std::unique_ptr<LineSink> openStdoutSink() {
  return std::make_unique<StdoutSink>();
}

std::unique_ptr<LineSink> openSyslogSink(const std::string& facility) {
  static constexpr std::pair<const char*, int> kFacilities[] = {
      {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0},
      {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
      {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
      {"local7", LOG_LOCAL7}};
  for (const auto& [name, value] : kFacilities) {
    if (facility == name) return std::make_unique<SyslogSink>(value, facility);
  }
  throw std::invalid_argument("syslog facility \"" + facility +
                              "\" is not one of daemon, user, local0..local7");
}

}  // namespace edgesense::output
