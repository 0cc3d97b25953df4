#pragma once
/// Config: the daemon's whole configuration, a plain typed value filled once
/// from YAML by load() and read by the daemon when it builds the stages. No
/// other module reads YAML: the daemon hands each stage its own struct
/// (toFlowConfig(), toLiveOptions(), ...), converting units on the way.
///
/// One table of keys (lib/config/key_table.cpp) drives the defaults, the
/// validation, the commented config/edgesense.yaml (exampleYaml()) and
/// docs/configuration.md (markdown()). Default values are not written in
/// this header: Config() applies the table's. Times are seconds, sizes bytes.
///
/// load() never throws for a user's mistake: every problem in the file
/// (malformed YAML, unknown key, wrong type, out of range, bad choice) comes
/// back together, each with its line, and the config holds defaults where
/// the file was wrong. Values are immutable once loaded; share them freely.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesense::flow {
struct FlowConfig;
struct HashKey;
}  // namespace edgesense::flow
namespace edgesense::features {
struct FeatureParams;
struct HostTableConfig;
}  // namespace edgesense::features
namespace edgesense::inference {
struct PoolConfig;
}  // namespace edgesense::inference
namespace edgesense::capture {
struct LiveOptions;
enum class FanoutMode : std::uint8_t;  // kIpPair, kFlow
}  // namespace edgesense::capture

namespace edgesense::config {

namespace detail {
struct Defaults;
}

enum class LogLevel : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical };
enum class LogFormat : std::uint8_t { kText, kJson };

/// Where alerts (and flow records) are written: `{file: PATH}`,
/// `{stdout: true}` or `{syslog: FACILITY}`.
struct AlertSink {
  enum class Kind : std::uint8_t { kFile, kStdout, kSyslog };
  Kind kind = Kind::kStdout;
  std::string target;  // file: the path; syslog: the facility; stdout: empty
  friend bool operator==(const AlertSink&, const AlertSink&) = default;
};

struct CaptureConfig {
  std::vector<std::string> interfaces;
  std::string bpf;  // empty: every packet
  int snaplen{};
  bool promiscuous{};
  std::int64_t buffer_size{};  // bytes
  bool immediate{};
  int threads{};                 // per interface
  capture::FanoutMode fanout{};  // how several threads share an interface
  double read_timeout{};         // seconds
  friend bool operator==(const CaptureConfig&, const CaptureConfig&) = default;
};

struct FlowsConfig {
  std::uint32_t max{};
  double idle_timeout{};                    // seconds, TCP
  std::optional<double> udp_idle_timeout;   // seconds; nullopt: idle_timeout
  std::optional<double> icmp_idle_timeout;  // seconds; nullopt: idle_timeout
  double active_timeout{};                  // seconds; 0: no interim snapshots
  double tcp_close_linger{};                // seconds
  double burst_gap{};                       // seconds
  double idle_threshold{};                  // seconds
  std::uint32_t host_table_size{};
  double host_short_window{};  // seconds
  double host_long_window{};   // seconds
  std::uint32_t fragment_slots{};
  double max_clock_jump{};               // seconds; 0: every packet time is believed
  double tcp_half_open_timeout{};        // seconds
  std::uint64_t hash_seed{};             // 0: random in `run`, the built-in seed in replay
  std::uint64_t memcap{};                // bytes; 0: flows.max alone sizes the table
  std::uint32_t emergency_recovery{};    // percent of the capacity
  double emergency_half_open_timeout{};  // seconds
  std::optional<double> emergency_one_packet_timeout;   // seconds; nullopt: unchanged
  std::optional<double> emergency_established_timeout;  // seconds; nullopt: unchanged
  friend bool operator==(const FlowsConfig&, const FlowsConfig&) = default;
};

struct ReelGateConfig {
  std::vector<std::string> protocols;  // "tcp", "udp"
  std::uint64_t min_bytes{};
  std::uint64_t min_packets{};
  friend bool operator==(const ReelGateConfig&, const ReelGateConfig&) = default;
};

/// Per head; nullopt (or empty) keeps what the bundle says.
struct ThresholdsConfig {
  std::optional<double> reel;
  std::optional<double> attack;  // every non-benign class
  std::optional<double> anomaly;
  friend bool operator==(const ThresholdsConfig&, const ThresholdsConfig&) = default;
};

struct ShadowConfig {
  std::string reel;  // bundle directories; empty: none
  std::string attack;
  std::string anomaly;
  friend bool operator==(const ShadowConfig&, const ShadowConfig&) = default;
};

struct InferenceConfig {
  std::uint32_t workers{};
  std::uint32_t batch_size{};
  double max_wait{};  // seconds
  std::uint32_t queue_capacity{};
  std::uint32_t max_in_flight{};
  std::string models_dir;
  ReelGateConfig reel_gate;
  ThresholdsConfig thresholds;
  ShadowConfig shadow;
  friend bool operator==(const InferenceConfig&, const InferenceConfig&) = default;
};

struct AlertsConfig {
  double aggregation_window{};  // seconds
  std::uint32_t max_windows{};
  std::uint32_t max_alerted_flows{};
  std::vector<AlertSink> sinks;
  bool flow_records{};
  friend bool operator==(const AlertsConfig&, const AlertsConfig&) = default;
};

struct MetricsConfig {
  std::string listen;  // HOST:PORT; empty: no metrics endpoint
  std::string path;
  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

struct LoggingConfig {
  LogLevel level{};
  LogFormat format{};
  friend bool operator==(const LoggingConfig&, const LoggingConfig&) = default;
};

struct RunConfig {
  std::string user;  // empty: keep the starting user
  std::string group;
  std::string pid_file;  // empty: none
  friend bool operator==(const RunConfig&, const RunConfig&) = default;
};

struct Config {
  CaptureConfig capture;
  FlowsConfig flows;
  InferenceConfig inference;
  AlertsConfig alerts;
  MetricsConfig metrics;
  LoggingConfig logging;
  RunConfig run;

  /// Every key at the table's default.
  Config();
  friend bool operator==(const Config&, const Config&) = default;

  // The stages' own structs, seconds turned into their units.
  flow::FlowConfig toFlowConfig() const;
  features::FeatureParams toFeatureParams() const;
  features::HostTableConfig toHostTableConfig() const;
  /// The table hash key of flows.hash_seed; for seed 0 the built-in one (a
  /// live sensor replaces it with a random key: see flows.hash_seed).
  flow::HashKey hashKey() const;
  capture::LiveOptions toLiveOptions(const std::string& interface) const;
  /// Workers, batching, queue, reel gate and threshold overrides; whether a
  /// full queue drops or waits is the caller's (live or replay).
  inference::PoolConfig toPoolConfig() const;

 private:
  friend struct detail::Defaults;  // builds the defaults once, from a blank Config
  struct Blank {};
  explicit Config(Blank) noexcept {}
};

/// One thing wrong with a config file. line and column count from 1; 0 when
/// the problem is the file as a whole (it cannot be read).
struct Problem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted path ("flows.idle_timeout"); empty if none
  std::string message;
  friend bool operator==(const Problem&, const Problem&) = default;
};

/// "FILE:LINE:COL: key: message", as compilers print errors.
std::string format(const Problem& p);

struct LoadResult {
  Config config;  // defaults wherever the file had a problem
  std::vector<Problem> problems;
  bool ok() const noexcept { return problems.empty(); }
};

/// Reads and validates a config file.
LoadResult load(const std::string& path);
/// The same for YAML text; `name` stands for the file in problems.
LoadResult loadString(std::string_view yaml, const std::string& name = "<string>");

/// config/edgesense.yaml: every key at its default, with its documentation.
std::string exampleYaml();
/// Every key with its value in `cfg`, as YAML that load() reads back to cfg.
std::string effectiveYaml(const Config& cfg);
/// docs/configuration.md: the keys table.
std::string markdown();

/// A protocol name of reel_gate.protocols as an IP protocol number.
std::uint8_t ipProtocolNumber(std::string_view name) noexcept;
/// A level's name as written in the config ("trace" ... "critical"), which
/// spdlog::level::from_str also reads.
std::string_view logLevelName(LogLevel level) noexcept;

}  // namespace edgesense::config
