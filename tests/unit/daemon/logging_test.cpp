// daemon: the run command's log through spdlog into a string, as JSON, with
// repeated warnings and errors held back beyond their burst.

#include "logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace edgesense::daemon {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::LoggingConfig cfg;
    cfg.level = config::LogLevel::kInfo;
    cfg.format = config::LogFormat::kJson;
    setupLogging(cfg, LogLimits{3, std::chrono::milliseconds(300)},
                 std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }

  // Later tests log too: not into this fixture's stream, gone by then.
  void TearDown() override {
    reportSuppressedLogs(true);
    config::LoggingConfig cfg;
    cfg.level = config::LogLevel::kInfo;
    setupLogging(cfg);
  }

  std::vector<nlohmann::json> lines() {
    std::vector<nlohmann::json> v;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line));
    return v;
  }

  std::ostringstream out_;
};

TEST_F(LoggingTest, JsonLinesWithTimeLevelAndMessage) {
  spdlog::info("capturing on {}", "eth0");
  spdlog::debug("not at this level");
  spdlog::warn("a \"quoted\"\nmessage");
  const auto v = lines();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]["level"], "info");
  EXPECT_EQ(v[0]["message"], "capturing on eth0");
  EXPECT_EQ(v[1]["level"], "warning");
  EXPECT_EQ(v[1]["message"], "a \"quoted\"\nmessage");
  EXPECT_TRUE(v[0]["time"].get<std::string>().ends_with("Z"));
}

TEST_F(LoggingTest, RepeatedErrorsAreHeldBackAndCounted) {
  for (int i = 0; i < 10; ++i) spdlog::error("EVE output: {} writes failed", i);
  for (int i = 0; i < 2; ++i) spdlog::error("another problem");
  for (int i = 0; i < 5; ++i) spdlog::info("reloaded {}", i);  // info is never held back
  reportSuppressedLogs();  // the window is still open: nothing to say yet
  auto v = lines();
  ASSERT_EQ(v.size(), 3u + 2u + 5u);
  EXPECT_EQ(v[2]["message"], "EVE output: 2 writes failed");
  EXPECT_EQ(v[3]["message"], "another problem");

  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  reportSuppressedLogs();
  v = lines();
  ASSERT_EQ(v.size(), 11u);
  EXPECT_EQ(v[10]["level"], "error");
  const std::string summary = v[10]["message"];
  EXPECT_NE(summary.find("suppressed 7 similar messages"), std::string::npos) << summary;
  EXPECT_NE(summary.find("EVE output: 3 writes failed"), std::string::npos) << summary;

  // A new window: the burst is allowed again.
  spdlog::error("EVE output: {} writes failed", 11);
  EXPECT_EQ(lines().size(), 12u);
}

TEST_F(LoggingTest, ExitReportsWhatIsHeldBack) {
  for (int i = 0; i < 5; ++i) spdlog::warn("kernel dropped {} packets", i);
  reportSuppressedLogs(true);
  const auto v = lines();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_NE(v[3]["message"].get<std::string>().find("suppressed 2 similar"), std::string::npos);
}

}  // namespace
}  // namespace edgesense::daemon
