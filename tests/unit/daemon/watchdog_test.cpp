// daemon: the watchdog thread talking to a NOTIFY_SOCKET this test binds,
// as systemd would: READY=1 once capture runs, WATCHDOG=1 only while the
// heartbeats move and the output keeps up, STATUS= with the probes' text.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "service.h"

namespace edgesense::daemon {
namespace {

using namespace std::chrono_literals;

/// The systemd end of sd_notify: a datagram socket at a temporary path.
class NotifyListener {
 public:
  NotifyListener() {
    path_ = "/tmp/edgesense-notify-" + std::to_string(getpid());
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifyListener() {
    close(fd_);
    unlink(path_.c_str());
    unsetenv("NOTIFY_SOCKET");
  }
  /// Every datagram received since the last call.
  std::vector<std::string> take() {
    std::vector<std::string> got;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return got;
      got.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }
  static int count(const std::vector<std::string>& msgs, const std::string& prefix) {
    int n = 0;
    for (const std::string& m : msgs) n += m.find(prefix) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Watchdog, PingsSystemdOnlyWhileThePipelineMoves) {
  NotifyListener systemd;
  setenv("WATCHDOG_USEC", "200000", 1);  // a ping every 50 ms
  std::atomic<std::uint64_t> beat{0}, emitted{0}, backlog{0};
  Watchdog::Probes probes;
  probes.heartbeats = [&] { return std::vector<std::uint64_t>{beat.load(), beat.load()}; };
  probes.output_progress = [&] { return emitted.load(); };
  probes.output_backlog = [&] { return backlog.load(); };
  probes.status = [] { return std::string("capturing on es0: 12 packets"); };
  Watchdog::Timing timing{20ms, 200ms, 100ms};
  Watchdog dog(probes, timing);

  auto run_for = [&](std::chrono::milliseconds d, bool beating) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      if (beating) ++beat;
      std::this_thread::sleep_for(5ms);
    }
  };

  run_for(100ms, false);  // capture has not started reading
  EXPECT_FALSE(dog.ready());
  EXPECT_EQ(NotifyListener::count(systemd.take(), "READY=1"), 0);

  run_for(400ms, true);
  auto msgs = systemd.take();
  EXPECT_TRUE(dog.ready());
  EXPECT_EQ(NotifyListener::count(msgs, "READY=1"), 1);
  EXPECT_GE(NotifyListener::count(msgs, "WATCHDOG=1"), 3);
  EXPECT_GE(NotifyListener::count(msgs, "STATUS=capturing on es0: 12 packets"), 2);
  EXPECT_TRUE(dog.healthy());

  // The capture threads stop moving: unhealthy after stall_after, no pings.
  run_for(400ms, false);
  systemd.take();
  EXPECT_FALSE(dog.healthy());
  run_for(200ms, false);
  EXPECT_EQ(NotifyListener::count(systemd.take(), "WATCHDOG=1"), 0);

  // Moving again: healthy, pings again.
  run_for(200ms, true);
  EXPECT_TRUE(dog.healthy());
  EXPECT_GE(NotifyListener::count(systemd.take(), "WATCHDOG=1"), 1);

  // The output thread stuck with records waiting: unhealthy too.
  backlog = 5;
  run_for(500ms, true);
  EXPECT_FALSE(dog.healthy());
  systemd.take();
  run_for(150ms, true);
  EXPECT_EQ(NotifyListener::count(systemd.take(), "WATCHDOG=1"), 0);
  ++emitted;  // it moves
  run_for(100ms, true);
  EXPECT_TRUE(dog.healthy());

  dog.stop();
  unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace edgesense::daemon
