#pragma once
/// LineSink: where EVE lines go. A file (reopened on request, for
/// logrotate's copy-less rotation), standard output, or syslog. Written by
/// the output thread only; reopen() is requested from the signal-handling
/// thread and carried out by the output thread at its next write.

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace edgesense::output {

class LineSink {
 public:
  virtual ~LineSink() = default;
  /// One record, without its newline. False if the write failed.
  virtual bool write(std::string_view line) = 0;
  virtual bool flush() = 0;
  /// Asks for the file to be reopened before the next write (SIGHUP).
  virtual void requestReopen() noexcept {}
  virtual std::string describe() const = 0;
};

/// Writes to a file, creating it; appends (the daemon's log, rotated
/// outside) or truncates (a replay's output). Throws std::runtime_error
/// naming the path if it cannot be opened.
enum class FileMode { kAppend, kTruncate };
std::unique_ptr<LineSink> openFileSink(const std::string& path, FileMode mode = FileMode::kAppend);
std::unique_ptr<LineSink> openStdoutSink();
/// syslog(3) with the given facility name ("daemon", "local0".."local7",
/// "user"); throws std::invalid_argument for another name.
std::unique_ptr<LineSink> openSyslogSink(const std::string& facility);

}  // namespace edgesense::output
