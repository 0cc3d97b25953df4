#pragma once
/// The daemon's own log: spdlog to stderr (the journal under systemd), as
/// text or one JSON object per line. Repeated warnings and errors are rate
/// limited per message (digits ignored, so "3 writes failed" and "4 writes
/// failed" are one message): at most `burst` per window, then one line
/// "suppressed K similar messages" when the window ends. setupLogging() is
/// called once by the main thread before other threads start; logging and
/// reportSuppressedLogs() are safe from any thread.

#include <chrono>
#include <cstddef>
#include <memory>

#include <spdlog/sinks/sink.h>

#include "config/config.h"

namespace edgesense::daemon {

struct LogLimits {
  std::size_t burst = 5;
  std::chrono::steady_clock::duration window = std::chrono::seconds(60);
};

/// Replaces the default logger with one writing to `target` (stderr if
/// null) at the configured level and format.
void setupLogging(const config::LoggingConfig& cfg, LogLimits limits = {},
                  std::shared_ptr<spdlog::sinks::sink> target = nullptr);

/// Writes the "suppressed" line of every window that has ended (of every
/// window, at exit). Called now and then by the watchdog thread.
void reportSuppressedLogs(bool all = false);

}  // namespace edgesense::daemon
