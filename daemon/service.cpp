// Beside the pipeline: the watchdog thread tells systemd the daemon is
// ready and alive (only while it is), publishes its status line, and does
// the periodic chores the pipeline's threads must not (flushing files).

#include "service.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>

namespace edgesense::daemon {

void notifySystemd(const std::string& state) {
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::warn("sd_notify {}: {}", state.substr(0, state.find('=')), -rc);
}

Watchdog::Watchdog(Probes probes, Timing timing) : probes_(std::move(probes)), timing_(timing) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = std::chrono::microseconds(usec);
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  stop();
}

void Watchdog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool Watchdog::judge(std::chrono::steady_clock::time_point now) {
  bool alive = true;
  const std::vector<std::uint64_t> beats = probes_.heartbeats();
  if (last_beats_.size() != beats.size()) {
    last_beats_.assign(beats.size(), 0);
    last_moved_.assign(beats.size(), now);
  }
  for (std::size_t i = 0; i < beats.size(); ++i) {
    if (beats[i] != last_beats_[i]) {
      last_beats_[i] = beats[i];
      last_moved_[i] = now;
    } else if (now - last_moved_[i] > timing_.stall_after) {
      alive = false;
      spdlog::error(
          "capture thread rx-{} has not moved for {} ms", i,
          std::chrono::duration_cast<std::chrono::milliseconds>(now - last_moved_[i]).count());
    }
  }
  const std::uint64_t progress = probes_.output_progress();
  if (progress != last_progress_ || probes_.output_backlog() == 0) {
    last_progress_ = progress;
    progress_moved_ = now;
  } else if (now - progress_moved_ > timing_.stall_after) {
    alive = false;
    spdlog::error(
        "the output thread has written nothing for {} ms with {} records waiting",
        std::chrono::duration_cast<std::chrono::milliseconds>(now - progress_moved_).count(),
        probes_.output_backlog());
  }
  return alive;
}

void Watchdog::run() {
  pthread_setname_np(pthread_self(), "watchdog");
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  progress_moved_ = start;
  auto last_status = start;
  auto last_ping = start - std::chrono::hours(1);
  const auto ping_every = watchdog_usec_ / 4;
  std::unique_lock lock(mutex_);
  for (;;) {
    const bool stopping = wake_.wait_for(lock, timing_.tick, [this] { return stopping_; });
    lock.unlock();
    const auto now = clock::now();
    if (probes_.housekeeping) probes_.housekeeping();
    if (stopping) return;
    if (!ready_.load(std::memory_order_relaxed)) {
      const std::vector<std::uint64_t> beats = probes_.heartbeats();
      if (std::all_of(beats.begin(), beats.end(), [](std::uint64_t b) { return b > 0; })) {
        ready_.store(true, std::memory_order_relaxed);
        notifySystemd("READY=1\nSTATUS=" + probes_.status());
        last_status = now;
      }
    } else {
      const bool alive = judge(now);
      healthy_.store(alive, std::memory_order_relaxed);
      if (alive && watchdog_usec_.count() > 0 && now - last_ping >= ping_every) {
        notifySystemd("WATCHDOG=1");
        last_ping = now;
      }
      if (now - last_status >= timing_.status_every) {
        notifySystemd("STATUS=" + probes_.status());
        last_status = now;
      }
    }
    lock.lock();
  }
}

}  // namespace edgesense::daemon
