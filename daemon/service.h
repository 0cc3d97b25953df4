#pragma once
/// The daemon's side of systemd (sd_notify through libsystemd; without
/// NOTIFY_SOCKET every call is a no-op) and the watchdog thread that decides
/// whether the pipeline is alive. The Watchdog is built and stopped by the
/// main thread; its thread ("watchdog") calls the probes, every `tick`:
///  * alive while every capture thread's heartbeat moved within
///    `stall_after` and the output thread keeps up (or has nothing to do);
///    systemd gets WATCHDOG=1 only then (when WatchdogSec= is set);
///  * READY=1 once every capture thread has started reading;
///  * STATUS= with the probes' summary every `status_every`;
///  * housekeeping (flushing the EVE files, the log's "suppressed" lines).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edgesense::daemon {

/// sd_notify(3) with one assignment or several ("READY=1\nSTATUS=...").
void notifySystemd(const std::string& state);

class Watchdog {
 public:
  struct Probes {
    std::function<std::vector<std::uint64_t>()>
        heartbeats;                                  // one per capture thread; 0: not started
    std::function<std::uint64_t()> output_progress;  // records the output thread has handled
    std::function<std::uint64_t()> output_backlog;   // records waiting for it
    std::function<std::string()> status;             // the STATUS= text
    std::function<void()> housekeeping;
  };
  struct Timing {
    std::chrono::milliseconds tick{250};
    std::chrono::milliseconds stall_after{5000};
    std::chrono::milliseconds status_every{5000};
  };

  Watchdog(Probes probes, Timing timing);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// The watchdog's last judgement (for /healthz); any thread.
  bool healthy() const noexcept { return healthy_.load(std::memory_order_relaxed); }
  /// Any thread: true once READY=1 has been sent.
  bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }
  /// Stops the thread after one last housekeeping round.
  void stop();

 private:
  void run();
  bool judge(std::chrono::steady_clock::time_point now);

  Probes probes_;
  Timing timing_;
  std::chrono::microseconds watchdog_usec_{0};  // systemd's WatchdogSec=, 0: off
  std::atomic<bool> healthy_{true};
  std::atomic<bool> ready_{false};
  std::vector<std::uint64_t> last_beats_;
  std::vector<std::chrono::steady_clock::time_point> last_moved_;
  std::uint64_t last_progress_ = 0;
  std::chrono::steady_clock::time_point progress_moved_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edgesense::daemon
