// config: the defaults come from the key table; every kind of problem is
// reported with its exact line, all of them at once; config/edgesense.yaml
// and docs/configuration.md are what the table generates; the conversions
// hand each stage its own units.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "capture/packet_source.h"
#include "config/config.h"
#include "features/accumulator.h"
#include "features/extractor.h"
#include "features/host_table.h"
#include "flow/flow_table.h"

namespace edgesense::config {
namespace {

const std::string kRoot = EDGESENSE_SOURCE_DIR;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The problems of `yaml` as the command prints them, file named "f.yaml".
std::vector<std::string> problems(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Problem& p : loadString(yaml, "f.yaml").problems) out.push_back(format(p));
  return out;
}

using Lines = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, AreTheDocumentedValues) {
  const Config c;
  EXPECT_EQ(c.capture.interfaces, Lines{"eth0"});
  EXPECT_EQ(c.capture.bpf, "");
  EXPECT_EQ(c.capture.snaplen, 262144);
  EXPECT_TRUE(c.capture.promiscuous);
  EXPECT_EQ(c.capture.buffer_size, 64 << 20);
  EXPECT_FALSE(c.capture.immediate);
  EXPECT_EQ(c.capture.threads, 1);
  EXPECT_DOUBLE_EQ(c.capture.read_timeout, 0.1);

  EXPECT_EQ(c.flows.max, 131072u);
  EXPECT_DOUBLE_EQ(c.flows.idle_timeout, 120);
  EXPECT_FALSE(c.flows.udp_idle_timeout.has_value());
  EXPECT_FALSE(c.flows.icmp_idle_timeout.has_value());
  EXPECT_DOUBLE_EQ(c.flows.active_timeout, 30);
  EXPECT_DOUBLE_EQ(c.flows.tcp_close_linger, 2);
  EXPECT_DOUBLE_EQ(c.flows.burst_gap, 1);
  EXPECT_DOUBLE_EQ(c.flows.idle_threshold, 5);
  EXPECT_EQ(c.flows.host_table_size, 32768u);
  EXPECT_DOUBLE_EQ(c.flows.host_short_window, 10);
  EXPECT_DOUBLE_EQ(c.flows.host_long_window, 60);
  EXPECT_EQ(c.flows.fragment_slots, 4096u);
  EXPECT_EQ(c.flows.memcap, 0u);
  EXPECT_EQ(c.flows.emergency_recovery, 30u);
  EXPECT_DOUBLE_EQ(c.flows.emergency_half_open_timeout, 10);
  EXPECT_FALSE(c.flows.emergency_one_packet_timeout.has_value());
  EXPECT_FALSE(c.flows.emergency_established_timeout.has_value());

  EXPECT_EQ(c.inference.workers, 2u);
  EXPECT_EQ(c.inference.batch_size, 64u);
  EXPECT_DOUBLE_EQ(c.inference.max_wait, 0.05);
  EXPECT_EQ(c.inference.queue_capacity, 16384u);
  EXPECT_EQ(c.inference.max_in_flight, 32768u);
  EXPECT_EQ(c.inference.models_dir, "/var/lib/edgesense/models");
  EXPECT_EQ(c.inference.reel_gate.protocols, (Lines{"tcp", "udp"}));
  EXPECT_EQ(c.inference.reel_gate.min_bytes, 20000u);
  EXPECT_EQ(c.inference.reel_gate.min_packets, 10u);
  EXPECT_EQ(c.inference.thresholds, ThresholdsConfig{});
  EXPECT_EQ(c.inference.shadow, ShadowConfig{});

  EXPECT_DOUBLE_EQ(c.alerts.aggregation_window, 60);
  ASSERT_EQ(c.alerts.sinks.size(), 1u);
  EXPECT_EQ(c.alerts.sinks[0], (AlertSink{AlertSink::Kind::kFile, "/var/log/edgesense/eve.json"}));
  EXPECT_TRUE(c.alerts.flow_records);

  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9750");
  EXPECT_EQ(c.metrics.path, "/metrics");
  EXPECT_EQ(c.logging.level, LogLevel::kInfo);
  EXPECT_EQ(c.logging.format, LogFormat::kText);
  EXPECT_EQ(c.run.user, "edgesense");
  EXPECT_EQ(c.run.group, "edgesense");
  EXPECT_EQ(c.run.pid_file, "");
}

TEST(ConfigDefaults, AnEmptyFileOrSectionKeepsThem) {
  for (const char* yaml : {"", "# nothing but a comment\n", "capture:\nflows: {}\n", "---\n"}) {
    const LoadResult r = loadString(yaml);
    EXPECT_TRUE(r.ok()) << yaml;
    EXPECT_EQ(r.config, Config{}) << yaml;
  }
}

// ---------------------------------------------------------------------------
// Reading values

TEST(ConfigLoad, ReadsEveryKindOfValue) {
  const LoadResult r = loadString(R"(
capture:
  interfaces: [eth1, "wlan 0"]
  bpf: tcp port 443
  snaplen: +128
  promiscuous: no
  buffer_size: 1048576
  threads: 4
  read_timeout: 1e-2
flows:
  max: 268435456
  idle_timeout: 60.5
  udp_idle_timeout: 30
  icmp_idle_timeout: ~
  active_timeout: 0
inference:
  models_dir: /srv/models
  reel_gate:
    protocols:
      - udp
  thresholds: {reel: 0.75, anomaly: 1}
  shadow:
    attack: /srv/shadow/attack
alerts:
  sinks:
    - stdout: true
    - syslog: local5
    - file: "/var/log/a b.json"
    - stdout: false
metrics:
  listen: "[::1]:9100"
logging: {level: critical, format: json}
run:
  user:
  pid_file: /run/edgesense.pid
)");
  ASSERT_TRUE(r.ok()) << format(r.problems.front());
  const Config& c = r.config;
  EXPECT_EQ(c.capture.interfaces, (Lines{"eth1", "wlan 0"}));
  EXPECT_EQ(c.capture.bpf, "tcp port 443");
  EXPECT_EQ(c.capture.snaplen, 128);
  EXPECT_FALSE(c.capture.promiscuous);
  EXPECT_EQ(c.capture.buffer_size, 1 << 20);
  EXPECT_EQ(c.capture.threads, 4);
  EXPECT_DOUBLE_EQ(c.capture.read_timeout, 0.01);
  EXPECT_EQ(c.flows.max, 1u << 28);
  EXPECT_DOUBLE_EQ(c.flows.idle_timeout, 60.5);
  EXPECT_EQ(c.flows.udp_idle_timeout, 30.0);
  EXPECT_FALSE(c.flows.icmp_idle_timeout.has_value());
  EXPECT_DOUBLE_EQ(c.flows.active_timeout, 0);
  EXPECT_EQ(c.inference.models_dir, "/srv/models");
  EXPECT_EQ(c.inference.reel_gate.protocols, Lines{"udp"});
  EXPECT_EQ(c.inference.thresholds.reel, 0.75);
  EXPECT_FALSE(c.inference.thresholds.attack.has_value());
  EXPECT_EQ(c.inference.thresholds.anomaly, 1.0);
  EXPECT_EQ(c.inference.shadow.attack, "/srv/shadow/attack");
  EXPECT_EQ(c.alerts.sinks,
            (std::vector<AlertSink>{{AlertSink::Kind::kStdout, ""},
                                    {AlertSink::Kind::kSyslog, "local5"},
                                    {AlertSink::Kind::kFile, "/var/log/a b.json"}}));
  EXPECT_EQ(c.metrics.listen, "[::1]:9100");
  EXPECT_EQ(c.logging.level, LogLevel::kCritical);
  EXPECT_EQ(c.logging.format, LogFormat::kJson);
  EXPECT_EQ(c.run.user, "");  // nothing after the colon: empty
  EXPECT_EQ(c.run.group, "edgesense");
  EXPECT_EQ(c.run.pid_file, "/run/edgesense.pid");
}

// ---------------------------------------------------------------------------
// Problems, each with its line

TEST(ConfigProblems, UnknownKeySuggestsTheNearMiss) {
  EXPECT_EQ(problems("flows:\n  max: 10\n  idle_timout: 30\n"),
            Lines{"f.yaml:3:3: flows.idle_timout: unknown key; did you mean 'idle_timeout'?"});
  EXPECT_EQ(problems("capture:\n  promisc: true\n"),
            Lines{"f.yaml:2:3: capture.promisc: unknown key; did you mean 'promiscuous'?"});
  EXPECT_EQ(problems("flow:\n  max: 10\n"),
            Lines{"f.yaml:1:1: flow: unknown section; did you mean 'flows'?"});
}

TEST(ConfigProblems, UnknownKeyNamesTheRightSectionOrTheChoices) {
  EXPECT_EQ(problems("capture:\n  max: 10\n"),
            Lines{"f.yaml:2:3: capture.max: unknown key; did you mean flows.max?"});
  EXPECT_EQ(problems("logging:\n  colour: true\n"),
            Lines{"f.yaml:2:3: logging.colour: unknown key; logging has level, format"});
  EXPECT_EQ(problems("zzz: 1\n"),
            Lines{"f.yaml:1:1: zzz: unknown section; the sections are capture, flows, inference, "
                  "alerts, metrics, logging, run"});
}

TEST(ConfigProblems, WrongTypes) {
  EXPECT_EQ(problems("capture:\n  promiscuous: maybe\n"),
            Lines{"f.yaml:2:16: capture.promiscuous: expected true or false, got 'maybe'"});
  EXPECT_EQ(problems("capture:\n  threads: 1.5\n"),
            Lines{"f.yaml:2:12: capture.threads: expected a whole number, got '1.5'"});
  EXPECT_EQ(problems("capture:\n  buffer_size: \"64\"\n"),
            Lines{"f.yaml:2:16: capture.buffer_size: expected a whole number of bytes, got the "
                  "quoted string \"64\""});
  EXPECT_EQ(problems("flows:\n  idle_timeout: 2m\n"),
            Lines{"f.yaml:2:17: flows.idle_timeout: expected a number of seconds, got '2m'"});
  EXPECT_EQ(problems("flows:\n  idle_timeout:\n"),
            Lines{"f.yaml:2:3: flows.idle_timeout: expected a number of seconds, got nothing"});
  EXPECT_EQ(problems("capture:\n  interfaces: eth0\n"),
            Lines{"f.yaml:2:15: capture.interfaces: expected a list such as [eth0], got 'eth0'"});
  EXPECT_EQ(problems("run:\n  pid_file: [a]\n"),
            Lines{"f.yaml:2:13: run.pid_file: expected a string, got a list"});
  EXPECT_EQ(problems("flows: 5\n"),
            Lines{"f.yaml:1:8: flows: expected a mapping of keys, got '5'"});
  EXPECT_EQ(problems("- capture\n"),
            Lines{"f.yaml:1:1: expected a mapping of sections (capture:, flows:, ...), got a "
                  "list"});
  EXPECT_EQ(problems("inference:\n  thresholds:\n    reel: high\n"),
            Lines{"f.yaml:3:11: inference.thresholds.reel: expected a number or null, got 'high'"});
}

TEST(ConfigProblems, OutOfRange) {
  EXPECT_EQ(problems("capture:\n  snaplen: 10\n"),
            Lines{"f.yaml:2:12: capture.snaplen: must be between 64 and 262144, got 10"});
  EXPECT_EQ(problems("flows:\n  max: 99999999999999999999999\n"),
            Lines{"f.yaml:2:8: flows.max: must be between 1 and 268435456, got "
                  "99999999999999999999999"});
  EXPECT_EQ(problems("flows:\n  active_timeout: -1\n"),
            Lines{"f.yaml:2:19: flows.active_timeout: must be between 0 and 86400, got -1"});
  EXPECT_EQ(problems("inference:\n  thresholds: {attack: 1.01}\n"),
            Lines{"f.yaml:2:24: inference.thresholds.attack: must be between 0 and 1, got 1.01"});
  EXPECT_EQ(problems("capture:\n  interfaces: []\n"),
            Lines{"f.yaml:2:15: capture.interfaces: expected between 1 and 64 items, got 0"});
  EXPECT_EQ(problems("flows:\n  burst_gap: .nan\n"),
            Lines{"f.yaml:2:14: flows.burst_gap: expected a number of seconds, got '.nan'"});
}

TEST(ConfigProblems, BadChoices) {
  EXPECT_EQ(problems("logging:\n  level: warning\n"),
            Lines{"f.yaml:2:10: logging.level: expected one of trace, debug, info, warn, error, "
                  "critical; got 'warning'; did you mean 'warn'?"});
  EXPECT_EQ(problems("logging:\n  format: xml\n"),
            Lines{"f.yaml:2:11: logging.format: expected one of text, json; got 'xml'"});
  EXPECT_EQ(problems("inference:\n  reel_gate:\n    protocols: [tcp, quic, tcp]\n"),
            (Lines{"f.yaml:3:22: inference.reel_gate.protocols[1]: expected one of tcp, udp; got "
                   "'quic'",
                   "f.yaml:3:28: inference.reel_gate.protocols[2]: 'tcp' is listed twice"}));
}

TEST(ConfigProblems, MalformedYamlWithItsLine) {
  EXPECT_EQ(problems("flows:\n  max: 10\n  idle_timeout: [1, 2\n  burst_gap: 1\n"),
            Lines{"f.yaml:4:12: malformed YAML: end of sequence flow not found"});
  EXPECT_EQ(problems("flows:\n  max: 10\n   idle_timeout: 3\n"),
            Lines{"f.yaml:3:16: malformed YAML: illegal map value"});
  EXPECT_EQ(problems("flows:\n  max: 10\n---\nrun: {}\n"),
            Lines{"f.yaml:4:1: a config is one YAML document; another one starts here"});
}

TEST(ConfigProblems, DuplicateKeys) {
  EXPECT_EQ(problems("flows:\n  max: 10\n  max: 20\n"),
            Lines{"f.yaml:3:3: flows.max: given twice (first on line 2)"});
}

TEST(ConfigProblems, SeveralAtOnceAreAllReportedInFileOrder) {
  const LoadResult r = loadString(R"(capture:
  interface: [eth0]
  snaplen: 10
flows:
  idle_timeout: 30
  idle_threshold: soon
logging:
  level: loud
alerts:
  sinks: [{stdout: true}, {syslog: local9}]
  flow_records: yes
oops: [
)",
                                  "f.yaml");
  // Malformed YAML stops the reading: its error is the only one there can be.
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 13);

  const std::vector<std::string> all = problems(R"(capture:
  interface: [eth0]
  snaplen: 10
flows:
  idle_timeout: 30
  idle_threshold: soon
logging:
  level: loud
alerts:
  sinks: [{stdout: true}, {syslog: local9}]
  flow_records: yes
metrics: {listen: "localhost:http", path: metrics}
)");
  EXPECT_EQ(
      all,
      (Lines{
          "f.yaml:2:3: capture.interface: unknown key; did you mean 'interfaces'?",
          "f.yaml:3:12: capture.snaplen: must be between 64 and 262144, got 10",
          "f.yaml:6:19: flows.idle_threshold: expected a number of seconds, got 'soon'",
          "f.yaml:8:10: logging.level: expected one of trace, debug, info, warn, error, critical; "
          "got 'loud'",
          "f.yaml:10:36: alerts.sinks[1].syslog: expected one of user, daemon, local0, local1, "
          "local2, local3, local4, local5, local6, local7; got 'local9'; did you mean 'local0'?",
          "f.yaml:12:19: metrics.listen: the port must be a number from 1 to 65535, got 'http'",
          "f.yaml:12:43: metrics.path: must start with '/'",
      }));
}

TEST(ConfigProblems, GoodValuesAreKeptAndBadOnesDefault) {
  const LoadResult r = loadString("flows:\n  max: 1000\n  idle_timeout: -5\n");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, "flows.idle_timeout");
  EXPECT_EQ(r.problems[0].line, 3);
  EXPECT_EQ(r.problems[0].column, 17);
  EXPECT_EQ(r.config.flows.max, 1000u);
  EXPECT_DOUBLE_EQ(r.config.flows.idle_timeout, 120);
}

TEST(ConfigProblems, HostWindowsMustBeOrdered) {
  EXPECT_EQ(problems("flows:\n  host_short_window: 30\n  host_long_window: 20\n"),
            Lines{"f.yaml:3:21: flows.host_long_window: the long window (20 s) must be at least "
                  "the short window (30 s)"});
  EXPECT_EQ(problems("flows:\n  host_short_window: 100\n"),
            Lines{"f.yaml:2:22: flows.host_short_window: the long window (60 s) must be at least "
                  "the short window (100 s)"});
  // A refused value is reported once, not again by the rule between keys.
  EXPECT_EQ(problems("flows:\n  host_short_window: 5000\n").size(), 1u);
}

TEST(ConfigProblems, Sinks) {
  EXPECT_EQ(problems("alerts:\n  sinks:\n    - stdot: true\n"),
            Lines{"f.yaml:3:7: alerts.sinks[0]: unknown sink 'stdot'; sinks are file, stdout and "
                  "syslog; did you mean 'stdout'?"});
  EXPECT_EQ(problems("alerts:\n  sinks:\n    - {file: a, stdout: true}\n"),
            Lines{"f.yaml:3:7: alerts.sinks[0]: expected a one-key mapping such as {file: PATH}, "
                  "{stdout: true} or {syslog: local5}, got a mapping of 2 keys"});
  EXPECT_EQ(problems("alerts:\n  sinks:\n    - file:\n"),
            Lines{"f.yaml:3:7: alerts.sinks[0].file: expected a file path, got nothing"});
  EXPECT_EQ(problems("alerts:\n  sinks:\n    - stdout: true\n    - stdout: yes\n"),
            Lines{"f.yaml:4:7: alerts.sinks[1]: this sink is listed twice"});
  EXPECT_EQ(problems("alerts:\n  sinks: stdout\n"),
            Lines{"f.yaml:2:10: alerts.sinks: expected a list of sinks, each a one-key mapping "
                  "such as {file: PATH}, {stdout: true} or {syslog: local5}; got 'stdout'"});
  const LoadResult none = loadString("alerts:\n  sinks: []\n");
  EXPECT_TRUE(none.ok());
  EXPECT_TRUE(none.config.alerts.sinks.empty());
}

TEST(ConfigProblems, MissingFileIsOneProblemNamingIt) {
  const std::string path = "/nonexistent/edgesense.yaml";
  const LoadResult r = load(path);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 0);
  EXPECT_EQ(format(r.problems[0]), path + ": cannot read: No such file or directory");
  EXPECT_EQ(r.config, Config{});
}

TEST(ConfigProblems, ProblemsNameTheFileGiven) {
  const LoadResult r = load(kRoot + "/tests/unit/config");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(format(r.problems[0]), kRoot + "/tests/unit/config: cannot read: is a directory");
}

TEST(ConfigProblems, AMemcapTooSmallForOneFlowIsOneProblem) {
  const std::uint64_t one = features::FeatureFlowTable::bytesFor(1, 4096);
  const Lines p = problems("flows:\n  memcap: 1000\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "f.yaml:2:11: flows.memcap: 1000 bytes do not hold a flow table of one flow, "
            "which takes " +
                std::to_string(one) +
                " bytes with fragment_slots 4096; give at least that, or 0 for no memcap");
  EXPECT_TRUE(problems("flows:\n  memcap: " + std::to_string(one) + "\n").empty());
  EXPECT_TRUE(problems("flows:\n  memcap: 0\n").empty());
  EXPECT_EQ(problems("flows:\n  memcap: -1\n").size(), 1u);
}

// ---------------------------------------------------------------------------
// The generated files

TEST(ConfigFiles, ExampleFileIsTheGeneratedOne) {
  EXPECT_EQ(readFile(kRoot + "/config/edgesense.yaml"), exampleYaml())
      << "regenerate it: build/daemon/edgesense check-config --print-example > "
         "config/edgesense.yaml";
}

TEST(ConfigFiles, ExampleFileLoadsToTheDefaults) {
  const LoadResult r = load(kRoot + "/config/edgesense.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : format(r.problems.front()));
  EXPECT_EQ(r.config, Config{});
}

TEST(ConfigFiles, DocsPageIsTheGeneratedOne) {
  EXPECT_EQ(readFile(kRoot + "/docs/configuration.md"), markdown())
      << "regenerate it: build/daemon/edgesense check-config --markdown > docs/configuration.md";
}

TEST(ConfigFiles, ExampleShowsEveryKeyAsTheEffectiveConfigWritesIt) {
  // The example without its comments and blank lines is the effective config
  // of the defaults: each default in the table is written the canonical way.
  std::istringstream example(exampleYaml());
  std::string bare;
  for (std::string line; std::getline(example, line);) {
    if (line.empty() || line.find_first_not_of(' ') == line.find('#')) continue;
    bare += line + "\n";
  }
  std::istringstream effective(effectiveYaml(Config{}));
  std::string bare_effective;
  for (std::string line; std::getline(effective, line);) {
    if (!line.empty()) bare_effective += line + "\n";
  }
  EXPECT_EQ(bare, bare_effective);
}

TEST(ConfigFiles, EffectiveYamlReadsBackToTheSameConfig) {
  Config c;
  c.capture.interfaces = {"eth1", "yes", "123", "a: b", "#x", "- y", "[z]", "q\"uote\\", "é"};
  c.capture.bpf = "tcp port 80 and not host 10.0.0.1 #1";
  c.capture.read_timeout = 0.3;
  c.flows.udp_idle_timeout = 1e-3;
  c.flows.idle_timeout = 86400;
  c.inference.thresholds.reel = 0.1 + 0.2;
  c.inference.shadow.reel = "null";
  c.alerts.sinks = {{AlertSink::Kind::kFile, "/var/log/x, y.json"},
                    {AlertSink::Kind::kStdout, ""},
                    {AlertSink::Kind::kSyslog, "daemon"}};
  c.logging.level = LogLevel::kTrace;
  c.run.pid_file = " spaced ";
  const LoadResult r = loadString(effectiveYaml(c));
  ASSERT_TRUE(r.ok()) << format(r.problems.front()) << "\n" << effectiveYaml(c);
  EXPECT_EQ(r.config, c) << effectiveYaml(c);

  const LoadResult defaults = loadString(effectiveYaml(Config{}));
  EXPECT_TRUE(defaults.ok());
  EXPECT_EQ(defaults.config, Config{});
}

// ---------------------------------------------------------------------------
// Conversions to the stages' structs

TEST(ConfigConvert, FlowConfigInMicroseconds) {
  const LoadResult r = loadString(
      "flows:\n  max: 1000\n  idle_timeout: 90\n  udp_idle_timeout: 0.3\n"
      "  active_timeout: 0\n  tcp_close_linger: 1.5\n  fragment_slots: 16\n");
  ASSERT_TRUE(r.ok());
  const flow::FlowConfig f = r.config.toFlowConfig();
  EXPECT_EQ(f.max_flows, 1000u);
  EXPECT_EQ(f.idle_timeout_us, 90'000'000);
  EXPECT_EQ(f.udp_idle_timeout_us, 300'000);      // rounded, not truncated
  EXPECT_EQ(f.icmp_idle_timeout_us, 90'000'000);  // null: follows idle_timeout
  EXPECT_EQ(f.active_timeout_us, 0);
  EXPECT_EQ(f.tcp_close_linger_us, 1'500'000);
  EXPECT_EQ(f.fragment_slots, 16u);
  EXPECT_EQ(f.fragment_timeout_us, flow::FlowConfig{}.fragment_timeout_us);
}

TEST(ConfigConvert, MemcapAndEmergencyMode) {
  const LoadResult r = loadString(
      "flows:\n  memcap: 67108864\n  emergency_recovery: 40\n"
      "  emergency_half_open_timeout: 5\n  emergency_one_packet_timeout: 2.5\n"
      "  emergency_established_timeout: 100\n");
  ASSERT_TRUE(r.ok());
  const flow::FlowConfig f = r.config.toFlowConfig();
  EXPECT_EQ(f.memcap_bytes, 64u << 20);
  EXPECT_EQ(f.emergency_recovery_percent, 40u);
  EXPECT_EQ(f.emergency_half_open_timeout_us, 5'000'000);
  EXPECT_EQ(f.emergency_one_packet_timeout_us, 2'500'000);
  EXPECT_EQ(f.emergency_established_timeout_us, 100'000'000);
  // The memcap, not flows.max (131072), sizes the table.
  const std::uint32_t cap = features::FeatureFlowTable::capacityFor(f);
  EXPECT_LT(cap, 131072u);
  EXPECT_LE(features::FeatureFlowTable::bytesFor(cap, f.fragment_slots), 64u << 20);
  EXPECT_FALSE(loadString("flows:\n  emergency_recovery: 0\n").ok());
  EXPECT_FALSE(loadString("flows:\n  emergency_recovery: 101\n").ok());
}

TEST(ConfigConvert, HashSeedKeysBothTables) {
  const LoadResult r = loadString("flows:\n  hash_seed: 12345\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.toFlowConfig().hash_key, flow::HashKey::fromSeed(12345));
  EXPECT_EQ(r.config.toHostTableConfig().hash_key, flow::HashKey::fromSeed(12345));
  EXPECT_NE(flow::HashKey::fromSeed(12345), flow::kDefaultHashKey);
  EXPECT_FALSE(loadString("flows:\n  hash_seed: -1\n").ok());
}

TEST(ConfigConvert, DefaultsMatchTheStagesOwn) {
  // Where a stage has its own default, the config's agrees with it.
  const Config c;
  const flow::FlowConfig f = c.toFlowConfig();
  const flow::FlowConfig own;
  EXPECT_EQ(f.max_flows, own.max_flows);
  EXPECT_EQ(f.idle_timeout_us, own.idle_timeout_us);
  EXPECT_EQ(f.udp_idle_timeout_us, own.udp_idle_timeout_us);
  EXPECT_EQ(f.icmp_idle_timeout_us, own.icmp_idle_timeout_us);
  EXPECT_EQ(f.active_timeout_us, own.active_timeout_us);
  EXPECT_EQ(f.tcp_close_linger_us, own.tcp_close_linger_us);
  EXPECT_EQ(f.fragment_slots, own.fragment_slots);
  EXPECT_EQ(f.max_clock_jump_us, own.max_clock_jump_us);
  EXPECT_EQ(f.tcp_half_open_timeout_us, own.tcp_half_open_timeout_us);
  EXPECT_EQ(f.hash_key, own.hash_key);  // seed 0: the built-in key (run draws its own)
  EXPECT_EQ(f.memcap_bytes, own.memcap_bytes);
  EXPECT_EQ(f.emergency_recovery_percent, own.emergency_recovery_percent);
  EXPECT_EQ(f.emergency_half_open_timeout_us, own.emergency_half_open_timeout_us);
  EXPECT_EQ(f.emergency_one_packet_timeout_us, own.emergency_one_packet_timeout_us);
  EXPECT_EQ(f.emergency_established_timeout_us, own.emergency_established_timeout_us);

  const features::FeatureParams p = c.toFeatureParams();
  EXPECT_EQ(p.burst_gap_us, features::FeatureParams{}.burst_gap_us);
  EXPECT_EQ(p.idle_threshold_us, features::FeatureParams{}.idle_threshold_us);

  const features::HostTableConfig h = c.toHostTableConfig();
  EXPECT_EQ(h.max_hosts, features::HostTableConfig{}.max_hosts);
  EXPECT_EQ(h.short_window_us, features::HostTableConfig{}.short_window_us);
  EXPECT_EQ(h.long_window_us, features::HostTableConfig{}.long_window_us);
  EXPECT_EQ(h.hash_key, features::HostTableConfig{}.hash_key);

  const capture::LiveOptions l = c.toLiveOptions("eth0");
  const capture::LiveOptions own_live;
  EXPECT_EQ(l.snaplen, own_live.snaplen);
  EXPECT_EQ(l.promiscuous, own_live.promiscuous);
  EXPECT_EQ(l.buffer_size, own_live.buffer_size);
  EXPECT_EQ(l.immediate, own_live.immediate);
  EXPECT_EQ(l.timeout_ms, own_live.timeout_ms);
}

TEST(ConfigConvert, FeatureAndHostParams) {
  const LoadResult r = loadString(
      "flows:\n  burst_gap: 0.25\n  idle_threshold: 2\n  host_table_size: 100\n"
      "  host_short_window: 5\n  host_long_window: 30\n");
  ASSERT_TRUE(r.ok());
  const features::FeatureParams p = r.config.toFeatureParams();
  EXPECT_EQ(p.burst_gap_us, 250'000);
  EXPECT_EQ(p.idle_threshold_us, 2'000'000);
  const features::HostTableConfig h = r.config.toHostTableConfig();
  EXPECT_EQ(h.max_hosts, 100u);
  EXPECT_EQ(h.short_window_us, 5'000'000);
  EXPECT_EQ(h.long_window_us, 30'000'000);
}

TEST(ConfigConvert, LiveOptionsPerInterface) {
  const LoadResult r = loadString(
      "capture:\n  interfaces: [eth1, eth2]\n  bpf: udp\n  snaplen: 128\n"
      "  promiscuous: false\n  buffer_size: 2097152\n  immediate: true\n"
      "  read_timeout: 0.25\n");
  ASSERT_TRUE(r.ok());
  const capture::LiveOptions o = r.config.toLiveOptions("eth2");
  EXPECT_EQ(o.interface, "eth2");
  EXPECT_EQ(o.bpf, "udp");
  EXPECT_EQ(o.snaplen, 128);
  EXPECT_FALSE(o.promiscuous);
  EXPECT_EQ(o.buffer_size, 2 << 20);
  EXPECT_TRUE(o.immediate);
  EXPECT_EQ(o.timeout_ms, 250);
  EXPECT_EQ(loadString("capture:\n  read_timeout: 0.001\n").config.toLiveOptions("x").timeout_ms,
            1);
}

TEST(ConfigConvert, Names) {
  EXPECT_EQ(ipProtocolNumber("tcp"), 6);
  EXPECT_EQ(ipProtocolNumber("udp"), 17);
  EXPECT_EQ(logLevelName(LogLevel::kWarn), "warn");
  EXPECT_EQ(logLevelName(loadString("logging: {level: error}").config.logging.level), "error");
}

}  // namespace
}  // namespace edgesense::config
