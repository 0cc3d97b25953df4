// The daemon's log lines: formatting (text or JSON) and the rate limit on
// repeated warnings and errors, in front of the stderr sink.

#include "logging.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "output/json_writer.h"

namespace edgesense::daemon {
namespace {

/// {"time":"2026-01-01T00:00:00.123Z","level":"error","message":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const std::time_t secs = duration_cast<seconds>(since).count();
    const auto millis = duration_cast<milliseconds>(since).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[80];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    line_.clear();
    output::JsonWriter j(line_);
    j.beginObject();
    j.field("time", std::string_view(stamp));
    const auto level = spdlog::level::to_string_view(msg.level);
    j.field("level", std::string_view(level.data(), level.size()));
    j.field("message", std::string_view(msg.payload.data(), msg.payload.size()));
    j.endObject();
    line_ += '\n';
    dest.append(line_.data(), line_.data() + line_.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::string line_;
};

/// Passes messages on to `target_`, holding back repeats of a warning or
/// error beyond the burst of its window.
class RateLimitedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RateLimitedSink(std::shared_ptr<spdlog::sinks::sink> target, LogLimits limits)
      : target_(std::move(target)), limits_(limits) {}

  void report(bool all) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      Bucket& b = it->second;
      if (all || now - b.start >= limits_.window) {
        summarize(b);
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
    target_->flush();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level < spdlog::level::warn) {
      target_->log(msg);
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::string key = keyOf(msg);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= kMaxKeys) {
        target_->log(msg);  // too many distinct messages to track: let it through
        return;
      }
      it = buckets_.emplace(std::move(key), Bucket{}).first;
      it->second.start = now;
    }
    Bucket& b = it->second;
    if (now - b.start >= limits_.window) {
      summarize(b);
      b = Bucket{};
      b.start = now;
    }
    if (b.passed < limits_.burst) {
      ++b.passed;
      target_->log(msg);
      return;
    }
    if (b.suppressed++ == 0) {
      b.level = msg.level;
      b.example.assign(msg.payload.data(), msg.payload.size());
      b.logger.assign(msg.logger_name.data(), msg.logger_name.size());
    }
  }
  void flush_() override { target_->flush(); }
  void set_pattern_(const std::string& pattern) override { target_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    target_->set_formatter(std::move(f));
  }

 private:
  static constexpr std::size_t kMaxKeys = 1024;
  struct Bucket {
    std::chrono::steady_clock::time_point start;
    std::size_t passed = 0;
    std::size_t suppressed = 0;
    spdlog::level::level_enum level = spdlog::level::err;
    std::string example;  // the first message held back
    std::string logger;
  };

  /// The level and the message with every run of digits as one '#'.
  static std::string keyOf(const spdlog::details::log_msg& msg) {
    std::string key(1, static_cast<char>('0' + msg.level));
    bool in_digits = false;
    for (const char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
      if (!digit)
        key += c;
      else if (!in_digits)
        key += '#';
      in_digits = digit;
    }
    return key;
  }

  void summarize(const Bucket& b) {
    if (b.suppressed == 0) return;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(limits_.window).count();
    const std::string text = "suppressed " + std::to_string(b.suppressed) +
                             " similar messages (at most " + std::to_string(limits_.burst) +
                             " in " + std::to_string(seconds) + " s), the first: " + b.example;
    spdlog::details::log_msg m(b.logger, b.level, text);
    target_->log(m);
  }

  std::shared_ptr<spdlog::sinks::sink> target_;
  LogLimits limits_;
  std::unordered_map<std::string, Bucket> buckets_;
};

std::shared_ptr<RateLimitedSink>& limiter() {
  static std::shared_ptr<RateLimitedSink> sink;
  return sink;
}

}  // namespace

void setupLogging(const config::LoggingConfig& cfg, LogLimits limits,
                  std::shared_ptr<spdlog::sinks::sink> target) {
  if (!target) target = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto sink = std::make_shared<RateLimitedSink>(std::move(target), limits);
  auto logger = std::make_shared<spdlog::logger>("edgesense", sink);
  if (cfg.format == config::LogFormat::kJson)
    logger->set_formatter(std::make_unique<JsonFormatter>());
  const std::string_view level = config::logLevelName(cfg.level);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::trace);  // stderr is unbuffered anyway; the journal reads lines
  spdlog::set_default_logger(logger);
  limiter() = sink;
}

void reportSuppressedLogs(bool all) {
  if (limiter()) limiter()->report(all);
}

}  // namespace edgesense::daemon
