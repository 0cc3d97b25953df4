// metrics: a real Metrics server on a free loopback port, scraped over real
// HTTP: capture samples summed by interface, a real inference pool with the
// python-made bundles feeding the per-flow instruments and the batch
// histograms, /healthz, /api/v1/models, drift, promtool's verdict on the
// page, and docs/metrics.md against the table.

#include "metrics/metrics.h"
#include "model/bundle_writer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../model/test_bundles.h"
#include "metrics/drift.h"

namespace edgesense::metrics {
namespace {

using model::test::pythonBundles;

struct Response {
  int status = 0;
  std::string body;
};

/// GET over a plain TCP socket, HTTP/1.0, the whole answer read to EOF.
Response httpGet(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << "port " << port;
  const std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  Response r;
  std::sscanf(raw.c_str(), "HTTP/1.%*d %d", &r.status);
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end != std::string::npos) r.body = raw.substr(head_end + 4);
  return r;
}

/// The samples of a text-format page: "name{a="x",b="y"}" -> value.
std::map<std::string, double> parsePage(const std::string& page) {
  std::map<std::string, double> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double sample(const std::map<std::string, double>& page, const std::string& key) {
  const auto it = page.find(key);
  EXPECT_NE(it, page.end()) << "no sample " << key;
  return it == page.end() ? NAN : it->second;
}

/// Every label value on the page.
std::vector<std::string> labelValues(const std::string& page) {
  std::vector<std::string> out;
  static const std::regex kLabel(R"re(\w+="([^"]*)")re");
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (std::sregex_iterator it(line.begin(), line.end(), kLabel), end; it != end; ++it) {
      out.push_back((*it)[1]);
    }
  }
  return out;
}

bool looksLikeAddress(const std::string& v) {
  static const std::regex kV4(R"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})");
  static const std::regex kV6(R"([0-9a-fA-F]{0,4}:[0-9a-fA-F]{0,4}:[0-9a-fA-F:]*)");
  return std::regex_search(v, kV4) || std::regex_search(v, kV6);
}

std::string runCommand(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  status = pclose(p);
  return out;
}

config::MetricsConfig loopback() {
  return {.listen = "127.0.0.1:0", .path = "/metrics"};
}

CaptureSample captureSample(std::string itf, unsigned thread, std::uint64_t base) {
  CaptureSample s;
  s.interface = std::move(itf);
  s.thread = thread;
  s.packets = base * 1000;
  s.bytes = base * 1'500'000;
  s.kernel_drops = base * 3;
  s.interface_drops = base * 2;
  for (std::size_t i = 0; i < decode::kDecodeErrorCount; ++i) s.decode_errors[i] = base * i;
  s.flows.created = base * 100;
  for (std::size_t i = 0; i < flow::kEndReasonCount; ++i) s.flows.ended[i] = base * (i + 10);
  s.flows.fragments_attributed = base * 4;
  s.flows.fragments_unattributed = base * 5;
  s.flows.clock_jumps_ahead = base * 11;
  s.flows.clock_jumps_behind = base * 12;
  s.flows.clock_steps_back = base * 13;
  s.flows.rst_out_of_window = base * 14;
  s.flows.evicted_half_open = base * 15;
  s.flows.evicted_one_packet = base * 16;
  s.flows.evicted_established = base * 17;
  s.flows.direction_from_syn_ack = base * 18;
  s.flows.direction_from_port = base * 19;
  s.flows.active = static_cast<std::uint32_t>(base * 7);
  s.hosts.entries = static_cast<std::uint32_t>(base * 8);
  s.hosts.evicted = base * 9;
  return s;
}

TEST(MetricsServer, CaptureSamplesAreSummedPerInterfaceAndHealthFlips) {
  std::atomic<bool> healthy{true};
  std::atomic<int> scrapes{0};
  Sources src;
  src.capture = [&] {
    ++scrapes;
    return std::vector<CaptureSample>{captureSample("eth0", 0, 1), captureSample("eth0", 1, 2),
                                      captureSample("eth1", 0, 5)};
  };
  src.healthy = [&] { return healthy.load(); };
  Metrics m(loopback(), src);
  ASSERT_NE(m.port(), 0);

  const Response r = httpGet(m.port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(scrapes.load(), 1);  // read at scrape time
  const auto page = parsePage(r.body);
  EXPECT_EQ(sample(page, R"(edgesense_capture_packets_total{interface="eth0"})"), 3000);
  EXPECT_EQ(sample(page, R"(edgesense_capture_packets_total{interface="eth1"})"), 5000);
  EXPECT_EQ(sample(page, R"(edgesense_capture_bytes_total{interface="eth0"})"), 4'500'000);
  EXPECT_EQ(sample(page, R"(edgesense_capture_kernel_drops_total{interface="eth0"})"), 9);
  EXPECT_EQ(sample(page, R"(edgesense_capture_interface_drops_total{interface="eth1"})"), 10);
  for (std::size_t i = 1; i < decode::kDecodeErrorCount; ++i) {
    const std::string reason(decode::decodeErrorName(static_cast<decode::DecodeError>(i)));
    EXPECT_EQ(
        sample(page, "edgesense_decode_errors_total{interface=\"eth0\",reason=\"" + reason + "\"}"),
        3.0 * static_cast<double>(i));
  }
  EXPECT_EQ(page.count(R"(edgesense_decode_errors_total{interface="eth0",reason="none"})"), 0u);
  EXPECT_EQ(sample(page, R"(edgesense_flow_created_total{interface="eth1"})"), 500);
  EXPECT_EQ(sample(page, R"(edgesense_flow_active{interface="eth0"})"), 21);
  for (std::size_t i = 0; i < flow::kEndReasonCount; ++i) {
    const auto reason = static_cast<flow::EndReason>(i);
    const std::string key = "edgesense_flow_ended_total{interface=\"eth1\",reason=\"" +
                            std::string(flow::endReasonName(reason)) + "\"}";
    if (reason == flow::EndReason::kActiveTimeout) {
      EXPECT_EQ(page.count(key), 0u);
      EXPECT_EQ(sample(page, R"(edgesense_flow_snapshots_total{interface="eth1"})"),
                5.0 * static_cast<double>(i + 10));
    } else {
      EXPECT_EQ(sample(page, key), 5.0 * static_cast<double>(i + 10));
    }
  }
  EXPECT_EQ(
      sample(page, R"(edgesense_flow_fragments_total{interface="eth0",result="unattributed"})"),
      15);
  EXPECT_EQ(sample(page, R"(edgesense_flow_clock_jumps_total{interface="eth0",direction="ahead"})"),
            33);
  EXPECT_EQ(
      sample(page, R"(edgesense_flow_clock_jumps_total{interface="eth1",direction="behind"})"), 60);
  EXPECT_EQ(sample(page, R"(edgesense_flow_clock_steps_back_total{interface="eth0"})"), 39);
  EXPECT_EQ(sample(page, R"(edgesense_flow_tcp_rst_out_of_window_total{interface="eth1"})"), 70);
  EXPECT_EQ(sample(page, R"(edgesense_flow_evictions_total{interface="eth0",kind="half_open"})"),
            45);
  EXPECT_EQ(sample(page, R"(edgesense_flow_evictions_total{interface="eth1",kind="established"})"),
            85);
  EXPECT_EQ(
      sample(page, R"(edgesense_flow_direction_flipped_total{interface="eth0",reason="syn_ack"})"),
      54);
  EXPECT_EQ(
      sample(page, R"(edgesense_flow_direction_flipped_total{interface="eth1",reason="port"})"),
      95);
  EXPECT_EQ(sample(page, R"(edgesense_host_table_entries{interface="eth0"})"), 24);
  EXPECT_EQ(sample(page, R"(edgesense_host_table_evictions_total{interface="eth1"})"), 45);
  EXPECT_EQ(sample(page, "edgesense_pipeline_healthy"), 1);
  EXPECT_GT(sample(page, "process_resident_memory_bytes"), 1e6);
  EXPECT_GE(sample(page, "process_open_fds"), 3);
  EXPECT_GT(sample(page, "process_start_time_seconds"), 1.6e9);
  EXPECT_EQ(
      sample(page, "edgesense_build_info{version=\"" + std::string(EDGESENSE_TEST_VERSION) + "\"}"),
      1);

  EXPECT_EQ(httpGet(m.port(), "/healthz").status, 200);
  healthy = false;
  EXPECT_EQ(httpGet(m.port(), "/healthz").status, 503);
  EXPECT_EQ(sample(parsePage(httpGet(m.port(), "/metrics").body), "edgesense_pipeline_healthy"), 0);
  healthy = true;
  EXPECT_EQ(httpGet(m.port(), "/healthz").status, 200);
  EXPECT_EQ(httpGet(m.port(), "/nothing-here").status, 404);
  EXPECT_EQ(httpGet(m.port(), "/metrics", "POST").status, 405);
}

TEST(MetricsServer, BindFailureNamesTheAddress) {
  Metrics first(loopback(), {});
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    Metrics second({.listen = taken, .path = "/metrics"}, {});
    FAIL() << "a second server bound " << taken;
  } catch (const MetricsError& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("metrics.listen " + taken + ": "), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Metrics({.listen = "192.0.2.1:9750", .path = "/metrics"}, {}), MetricsError);
  // IPv6 works only where libcivetweb was built with it (not Debian 12's):
  // then it serves, else the error says why.
  try {
    Metrics v6({.listen = "[::1]:0", .path = "/metrics"}, {});
    int status = 0;
    const std::string code = runCommand("curl -s -o /dev/null -w '%{http_code}' -g 'http://[::1]:" +
                                            std::to_string(v6.port()) + "/healthz'",
                                        status);
    EXPECT_EQ(code, "200");
  } catch (const MetricsError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.listen [::1]:0: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("IPv6"), std::string::npos) << e.what();
  }
  // No address: nothing served, the instruments still count.
  Metrics none({.listen = "", .path = "/metrics"}, {});
  EXPECT_EQ(none.port(), 0);
  none.observeBatch(3, 0.001);
  EXPECT_NE(none.scrape().find("edgesense_inference_batch_size_rows_count 1"), std::string::npos);
}

std::shared_ptr<inference::ModelSet> bothHeads() {
  auto set = std::make_shared<inference::ModelSet>();
  set->attack = model::Bundle::load(pythonBundles() / "attack");
  set->reel = model::Bundle::load(pythonBundles() / "reel");
  return set;
}

/// Flow records made from the rows python scored; every third one an
/// interim snapshot.
std::vector<features::FlowRecord> records(std::size_t n) {
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  std::vector<features::FlowRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].flow_id = i;
    out[i].features = check.rows[i % check.rows.size()];
    out[i].proto = 6;
    out[i].pkts = {20, 20};
    out[i].bytes = {50'000 + i, 70'000};
    out[i].reason = i % 3 == 2 ? flow::EndReason::kActiveTimeout : flow::EndReason::kTcpFin;
  }
  return out;
}

struct Collect final : inference::ScoredSink {
  std::vector<inference::ScoredRecord> got;
  void onScored(inference::ScoredRecord&& s) override { got.push_back(std::move(s)); }
};

struct PipelineRun {
  inference::ModelRegistry registry;
  inference::ReloadStats reloads;
  output::EveOutputStats out;
  Collect sink;
  std::unique_ptr<Metrics> metrics;
  inference::ScoredSink* wrapped = nullptr;
  std::unique_ptr<inference::InferencePool> pool;
};

/// A real pool scoring `n` records through Metrics::wrap into a collector.
void runPipeline(PipelineRun& run, std::size_t n) {
  run.registry.publish(bothHeads());
  run.reloads.succeeded = 4;
  run.reloads.failed = 1;
  run.out.alerts = 11;
  run.out.suppressed = 12;
  run.out.follow_ups = 13;
  run.out.flow_records = 14;
  Sources src;
  src.capture = [] { return std::vector<CaptureSample>{captureSample("eth0", 0, 1)}; };
  src.output = &run.out;
  src.reloads = &run.reloads;
  src.models = &run.registry;
  src.healthy = [] { return true; };
  inference::PoolConfig cfg;
  cfg.workers = 2;
  cfg.batch_size = 32;
  cfg.block_when_full = true;
  cfg.queue_capacity = 256;
  // As the daemon wires it: Metrics first (the pool's sink is wrapped by
  // it), then the pool, then the pool's counters added to the sources.
  run.metrics = std::make_unique<Metrics>(loopback(), src);
  cfg.on_batch = [m = run.metrics.get()](std::size_t rows, double s) { m->observeBatch(rows, s); };
  run.wrapped = &run.metrics->wrap(run.sink);
  run.pool = std::make_unique<inference::InferencePool>(cfg, run.registry, *run.wrapped);
  src.pool = &run.pool->stats();
  src.queue_depth = [p = run.pool.get()] { return p->queueDepth(); };
  run.metrics->setSources(src);
  for (const auto& r : records(n)) run.pool->onRecord(r);
  run.pool->drain();
}

TEST(MetricsServer, PerFlowInstrumentsAndBatchHistogramsFromARealPool) {
  PipelineRun run;
  const std::size_t n = 1500;
  runPipeline(run, n);
  ASSERT_EQ(run.sink.got.size(), n);

  // Expected counts, from the verdicts the sink received.
  std::map<std::string, double> verdicts, alerts;
  double reel_flows = 0, reel_bytes = 0, finals = 0;
  const auto& attack = *run.sink.got[0].models->attack;
  for (const auto& s : run.sink.got) {
    const auto& v = s.verdict;
    ASSERT_TRUE(v.attack_scored);
    if (v.attack_alert) alerts[attack.classes()[v.attack_class]] += 1;
    if (!s.record.isFinal()) continue;
    finals += 1;
    verdicts["attack/" + attack.classes()[v.attack_class]] += 1;
    if (v.reel_scored) verdicts[std::string("reel/") + (v.is_reel ? "reel" : "non_reel")] += 1;
    if (v.reel_scored && v.is_reel) {
      reel_flows += 1;
      reel_bytes += static_cast<double>(s.record.bytes[0] + s.record.bytes[1]);
    }
  }
  ASSERT_GT(reel_flows, 0);
  ASSERT_FALSE(alerts.empty());

  const Response r = httpGet(run.metrics->port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  const auto page = parsePage(r.body);
  double attack_total = 0;
  for (const auto& [key, want] : verdicts) {
    const std::size_t slash = key.find('/');
    EXPECT_EQ(sample(page, "edgesense_inference_verdicts_total{class=\"" + key.substr(slash + 1) +
                               "\",head=\"" + key.substr(0, slash) + "\"}"),
              want)
        << key;
    if (key.starts_with("attack/")) attack_total += want;
  }
  EXPECT_EQ(attack_total, finals);
  for (const auto& [cls, want] : alerts) {
    EXPECT_EQ(sample(page, "edgesense_alerts_total{class=\"" + cls + "\",head=\"attack\"}"), want)
        << cls;
  }
  // Classes that never alert have no alert series.
  EXPECT_EQ(page.count(R"(edgesense_alerts_total{class="benign",head="attack"})"), 0u);
  EXPECT_EQ(page.count(R"(edgesense_alerts_total{class="reel",head="reel"})"), 0u);
  EXPECT_EQ(sample(page, "edgesense_reel_flows_total"), reel_flows);
  EXPECT_EQ(sample(page, "edgesense_reel_bytes_total"), reel_bytes);
  // One histogram observation per batch, the rows summing to every record.
  EXPECT_EQ(sample(page, "edgesense_inference_batch_size_rows_count"),
            static_cast<double>(run.pool->stats().batches.load()));
  EXPECT_EQ(sample(page, "edgesense_inference_batch_size_rows_sum"), static_cast<double>(n));
  EXPECT_EQ(sample(page, "edgesense_inference_batch_duration_seconds_count"),
            static_cast<double>(run.pool->stats().batches.load()));
  EXPECT_GT(sample(page, "edgesense_inference_batch_duration_seconds_sum"), 0);
  EXPECT_EQ(sample(page, "edgesense_inference_queue_depth"), 0);
  EXPECT_EQ(sample(page, "edgesense_inference_records_scored_total"), static_cast<double>(n));
  EXPECT_EQ(sample(page, "edgesense_inference_queue_drops_total"), 0);
  EXPECT_EQ(sample(page, R"(edgesense_model_reloads_total{result="success"})"), 4);
  EXPECT_EQ(sample(page, R"(edgesense_model_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(sample(page, "edgesense_alerts_suppressed_total"), 12);
  EXPECT_EQ(sample(page, "edgesense_alerts_written_total"), 11);
  EXPECT_EQ(sample(page, "edgesense_model_generation"), 1);
  const auto set = run.registry.current();
  EXPECT_EQ(sample(page, "edgesense_model_info{head=\"attack\",name=\"" + set->attack->name() +
                             "\",version=\"" + set->attack->version() + "\"}"),
            1);
  EXPECT_EQ(sample(page, "edgesense_model_info{head=\"reel\",name=\"" + set->reel->name() +
                             "\",version=\"" + set->reel->version() + "\"}"),
            1);
  for (const std::string& v : labelValues(r.body)) EXPECT_FALSE(looksLikeAddress(v)) << v;
}

TEST(MetricsServer, ModelsApiNamesEachBundle) {
  PipelineRun run;
  runPipeline(run, 10);
  const Response r = httpGet(run.metrics->port(), "/api/v1/models");
  ASSERT_EQ(r.status, 200);
  const auto doc = nlohmann::json::parse(r.body);
  EXPECT_EQ(doc.at("generation"), 1);
  const auto set = run.registry.current();
  std::set<std::string> heads;
  for (const auto& b : doc.at("bundles")) {
    const std::string head = b.at("head");
    heads.insert(head);
    const auto& bundle = head == "attack" ? *set->attack : *set->reel;
    EXPECT_EQ(b.at("name"), bundle.name());
    EXPECT_EQ(b.at("version"), bundle.version());
    EXPECT_EQ(b.at("role"), "live");
    EXPECT_EQ(b.at("classes").get<std::vector<std::string>>(), bundle.classes());
    const auto meta = model::test::readJson(bundle.dir() / "bundle.json");
    EXPECT_EQ(b.at("trained_at"), meta.at("training").at("trained_at"));
    EXPECT_TRUE(b.at("training_metrics").contains("holdout")) << b.dump();
    EXPECT_TRUE(b.at("thresholds").at(bundle.classes()[0]).is_null());
  }
  EXPECT_EQ(heads, (std::set<std::string>{"attack", "reel"}));
  EXPECT_EQ(nlohmann::json::parse(run.metrics->modelsJson()), doc);
}

/// Rows from the bundle's own training data (the fixture trained on every
/// check row), and the same rows shifted far up.
std::vector<features::FeatureVector> trainingRows(std::size_t n, double scale) {
  const auto check = model::test::readCheck(pythonBundles() / "attack");
  std::vector<features::FeatureVector> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = check.rows[i % check.rows.size()];
    for (double& x : out[i]) x = x * scale + (scale == 1 ? 0 : 1000);
  }
  return out;
}

TEST(MetricsDrift, RepeatedValuesAreMeasuredWithTheBundlesShares) {
  // A feature of few values (a TCP header size, say): 5% at 20, 90% at 32,
  // 5% at 40. Its deciles are 20, 32 x 9, 40: from them alone the share at
  // the minimum looks like 0, and the very training rows read as drift.
  std::vector<double> values(1000, 32);
  std::fill(values.begin(), values.begin() + 50, 20);
  std::fill(values.end() - 50, values.end(), 40);
  const std::vector<double> q = model::quantilesOf(values);
  const std::vector<double> shares = model::sharesOf(values, q);
  EXPECT_EQ(shares, (std::vector<double>{0.05, 0.90, 0.05}));
  EXPECT_NEAR(populationStabilityIndex(q, shares, values), 0, 1e-12);
  EXPECT_GT(populationStabilityIndex(q, {}, values), 0.1);
  // With the shares, a real change still shows: the minimum twice as common.
  std::fill(values.begin() + 50, values.begin() + 100, 20);
  EXPECT_GT(populationStabilityIndex(q, shares, values), 0.02);
}

TEST(MetricsDrift, PsiIsSmallOnTrainingRowsAndLargeOnShiftedRows) {
  const auto bundle = model::Bundle::load(pythonBundles() / "attack");
  const auto columns = driftColumns(*bundle, kDriftFeatures);
  ASSERT_FALSE(columns.empty());
  ASSERT_LE(columns.size(), kDriftFeatures);
  for (const auto& [scale, low] : {std::pair{1.0, true}, std::pair{3.0, false}}) {
    const auto rows = trainingRows(2048, scale);
    for (std::size_t col : columns) {
      std::vector<double> values;
      for (const auto& r : rows) values.push_back(r[bundle->featureIndices()[col]]);
      const double psi =
          populationStabilityIndex(bundle->quantiles(col), bundle->shares(col), values);
      if (low) {
        EXPECT_LT(psi, 0.1) << features::kSchema[bundle->featureIndices()[col]].name;
      } else {
        EXPECT_GT(psi, 0.25) << features::kSchema[bundle->featureIndices()[col]].name;
      }
    }
  }
}

TEST(MetricsDrift, GaugesFollowTheScoredRows) {
  inference::ModelRegistry registry;
  registry.publish(bothHeads());
  Metrics m(loopback(), {.models = &registry});
  Collect next;
  inference::ScoredSink& sink = m.wrap(next);
  const auto feed = [&](double scale) {
    for (const auto& row : trainingRows(kDriftWindowRows, scale)) {
      inference::ScoredRecord s;
      s.record.features = row;
      s.verdict.attack_scored = true;
      s.models = registry.current();
      sink.onScored(std::move(s));
    }
  };
  const auto driftOf = [&] {
    std::map<std::string, double> psi;
    for (const auto& [key, value] : parsePage(httpGet(m.port(), "/metrics").body)) {
      if (key.starts_with("edgesense_model_feature_drift_psi{") &&
          key.find("head=\"attack\"") != std::string::npos)
        psi[key] = value;
    }
    return psi;
  };
  feed(1);
  const auto calm = driftOf();
  ASSERT_FALSE(calm.empty());
  EXPECT_LE(calm.size(), kDriftFeatures);
  for (const auto& [key, psi] : calm) EXPECT_LT(psi, 0.1) << key;
  feed(3);
  const auto shifted = driftOf();
  ASSERT_EQ(shifted.size(), calm.size());
  for (const auto& [key, psi] : shifted) EXPECT_GT(psi, 0.25) << key;
  EXPECT_EQ(next.got.size(), 2 * kDriftWindowRows);  // every record handed on

  // A reload: a new attack bundle (loaded again) takes the old one's gauges
  // away until its first full window; a set without an attack head too.
  auto reloaded = bothHeads();
  registry.publish(reloaded);
  const auto one = [&] {
    inference::ScoredRecord s;
    s.record.features = trainingRows(1, 1)[0];
    s.verdict.attack_scored = true;
    s.models = registry.current();
    sink.onScored(std::move(s));
  };
  one();
  EXPECT_TRUE(driftOf().empty());
  feed(1);  // a whole window: the new bundle's gauges, calm again
  const auto after = driftOf();
  ASSERT_EQ(after.size(), calm.size());
  for (const auto& [key, psi] : after) EXPECT_LT(psi, 0.1) << key;
  auto reel_only = std::make_shared<inference::ModelSet>();
  reel_only->reel = reloaded->reel;
  registry.publish(reel_only);
  one();
  EXPECT_TRUE(driftOf().empty());
}

/// numpy.quantile's default (linear) at 0, 10, ..., 100 percent.
std::vector<double> deciles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::vector<double> q;
  for (std::size_t j = 0; j < model::kQuantileCount; ++j) {
    const double pos = static_cast<double>(j) / 10 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const double frac = pos - static_cast<double>(lo);
    q.push_back(lo + 1 < v.size() ? v[lo] + frac * (v[lo + 1] - v[lo]) : v[lo]);
  }
  return q;
}

TEST(MetricsDrift, AnomalyHeadFromAForestBundle) {
  constexpr std::size_t kCols = 6;
  constexpr std::size_t kRows = 4000;
  const auto train = model::test::gaussianRows(kRows, kCols, 5);
  const auto forest = model::IsolationForest::train(std::span<const float>(train), kCols,
                                                    {.n_trees = 50, .sample_size = 256, .seed = 1});
  std::vector<std::string> names;
  for (std::size_t c = 0; c < kCols; ++c) names.emplace_back(features::kSchema[c].name);
  const auto row = [&](std::size_t i, double shift) {
    features::FeatureVector v{};
    for (std::size_t c = 0; c < kCols; ++c) v[c] = train[(i % kRows) * kCols + c] + shift;
    return v;
  };
  model::test::TempDir dir;
  model::test::writeForestBundle(dir.path(), forest, names, {row(0, 0), row(1, 0), row(2, 0)});
  // The training distribution as make_bundle.py writes it; the last column
  // has none, so drift must leave it out.
  auto meta = model::test::readJson(dir.path() / "bundle.json");
  for (std::size_t c = 0; c + 1 < kCols; ++c) {
    std::vector<double> col;
    for (std::size_t i = 0; i < kRows; ++i) col.push_back(train[i * kCols + c]);
    meta["feature_distribution"][names[c]]["quantiles"] = deciles(col);
  }
  model::test::writeJson(dir.path() / "bundle.json", meta);
  auto set = std::make_shared<inference::ModelSet>();
  set->anomaly = model::Bundle::load(dir.path());
  const auto columns = driftColumns(*set->anomaly, kDriftFeatures);
  EXPECT_EQ(columns.size(), kCols - 1);
  EXPECT_EQ(std::count(columns.begin(), columns.end(), kCols - 1), 0);

  inference::ModelRegistry registry;
  registry.publish(set);
  Metrics m(loopback(), {.models = &registry});
  Collect next;
  inference::ScoredSink& sink = m.wrap(next);
  double alerting = 0;
  const auto feed = [&](double shift) {
    for (std::size_t i = 0; i < kDriftWindowRows; ++i) {
      inference::ScoredRecord s;
      s.record.features = row(i, shift);
      s.verdict.anomaly_scored = true;
      s.verdict.anomaly_alert = i % 10 == 0;
      alerting += s.verdict.anomaly_alert ? 1 : 0;
      s.models = registry.current();
      sink.onScored(std::move(s));
    }
  };
  const auto driftOf = [&] {
    std::map<std::string, double> psi;
    for (const auto& [key, value] : parsePage(httpGet(m.port(), "/metrics").body)) {
      if (key.starts_with("edgesense_model_feature_drift_psi{")) psi[key] = value;
    }
    return psi;
  };
  feed(0);
  const auto calm = driftOf();
  EXPECT_EQ(calm.size(), kCols - 1);
  for (const auto& [key, psi] : calm) {
    EXPECT_NE(key.find(R"(head="anomaly")"), std::string::npos) << key;
    EXPECT_LT(psi, 0.1) << key;
  }
  feed(1.5);  // one and a half standard deviations up
  for (const auto& [key, psi] : driftOf()) EXPECT_GT(psi, 0.25) << key;
  const auto page = parsePage(httpGet(m.port(), "/metrics").body);
  EXPECT_EQ(sample(page, R"(edgesense_inference_verdicts_total{class="anomaly",head="anomaly"})"),
            alerting);
  EXPECT_EQ(sample(page, R"(edgesense_inference_verdicts_total{class="normal",head="anomaly"})"),
            2.0 * kDriftWindowRows - alerting);
  EXPECT_EQ(sample(page, R"(edgesense_alerts_total{class="anomaly",head="anomaly"})"), alerting);
  EXPECT_EQ(
      sample(page, R"(edgesense_model_info{head="anomaly",name="anomaly-test",version="test-1"})"),
      1);
}

TEST(MetricsServer, PromtoolAcceptsTheWholePage) {
  PipelineRun run;
  runPipeline(run, 300);
  // Fill a drift window so every family of the table is on the page.
  inference::ScoredSink& sink = *run.wrapped;
  for (const auto& row : trainingRows(kDriftWindowRows, 1)) {
    inference::ScoredRecord s;
    s.record.features = row;
    s.verdict.attack_scored = true;
    s.models = run.registry.current();
    sink.onScored(std::move(s));
  }
  const Response r = httpGet(run.metrics->port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  // Every family of the table is on the page, with its type.
  for (const MetricDef& d : metricTable()) {
    const std::string type = d.type == MetricType::kCounter ? "counter"
                             : d.type == MetricType::kGauge ? "gauge"
                                                            : "histogram";
    EXPECT_NE(r.body.find("# TYPE " + std::string(d.name) + " " + type + "\n"), std::string::npos)
        << d.name;
  }
  model::test::TempDir dir;
  const auto file = dir.path() / "page.txt";
  std::ofstream(file) << r.body;
  int status = 0;
  const std::string out = runCommand("promtool check metrics < " + file.string() + " 2>&1", status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "") << out;
}

TEST(MetricsDocs, MarkdownMatchesTable) {
  const std::filesystem::path doc =
      std::filesystem::path(EDGESENSE_SOURCE_DIR) / "docs" / "metrics.md";
  if (std::getenv("EDGESENSE_UPDATE_DOCS") != nullptr) std::ofstream(doc) << markdown();
  std::ifstream in(doc);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, markdown()) << "docs/metrics.md differs from lib/metrics/metric_table.cpp; "
                                 "rerun with EDGESENSE_UPDATE_DOCS=1 and review the diff";
  std::set<std::string_view> names;
  for (const MetricDef& d : metricTable()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_FALSE(d.help.empty()) << d.name;
    EXPECT_EQ(d.name.ends_with("_total"), d.type == MetricType::kCounter) << d.name;
    EXPECT_TRUE(d.name.starts_with("edgesense_") || d.name.starts_with("process_")) << d.name;
  }
}

}  // namespace
}  // namespace edgesense::metrics
