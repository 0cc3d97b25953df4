// output: EVE and CSV formatting, read back with a real JSON parser.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "features/running_stats.h"
#include "output/csv.h"
#include "output/eve.h"
#include "output/json_writer.h"

namespace edgesense::output {
namespace {

using features::Feature;
using features::FlowRecord;

FlowRecord sample() {
  FlowRecord r;
  r.flow_id = 123456789;
  std::uint8_t a[16], b[16];
  inet_pton(AF_INET6, "2001:db8::1", a);
  inet_pton(AF_INET6, "2001:db8::2", b);
  r.src = decode::IpAddress::fromV6(a);
  r.dst = decode::IpAddress::fromV6(b);
  r.src_port = 40000;
  r.dst_port = 443;
  r.proto = decode::ipproto::kTcp;
  r.vlan_count = 2;
  r.vlan = {10, 20};
  r.start_us = 1'767'225'600'000'001;
  r.end_us = 1'767'225'661'500'000;
  r.pkts = {10, 12};
  r.bytes = {1000, 15000};
  r.payload_bytes = {400, 14000};
  r.tcp_flags = {0x1b, 0x1a};
  r.reason = flow::EndReason::kTcpFin;
  r.window = 2;
  r.conn_state = 2;
  r.handshake = true;
  for (std::size_t i = 0; i < features::kFeatureCount; ++i)
    r.features[i] = static_cast<double>(i) + 0.25;
  r.features[index(Feature::kIdleMean)] = features::kNaN;
  return r;
}

TEST(Eve, FlowRecordHasSuricataFieldsAndTheFeatures) {
  std::string line;
  appendFlowEvent(line, sample(), EveOptions{});
  const auto j = nlohmann::ordered_json::parse(line);  // keeps the written order
  EXPECT_EQ(j["event_type"], "flow");
  EXPECT_EQ(j["timestamp"], "2026-01-01T00:00:00.000001+0000");
  EXPECT_EQ(j["flow_id"], 123456789);
  EXPECT_EQ(j["src_ip"], "2001:db8::1");
  EXPECT_EQ(j["dest_port"], 443);
  EXPECT_EQ(j["proto"], "TCP");
  EXPECT_EQ(j["vlan"], nlohmann::ordered_json::array({10, 20}));
  EXPECT_EQ(j["flow"]["pkts_toserver"], 10);
  EXPECT_EQ(j["flow"]["bytes_toclient"], 15000);
  EXPECT_EQ(j["flow"]["end"], "2026-01-01T00:01:01.500000+0000");
  EXPECT_EQ(j["flow"]["age"], 61);
  EXPECT_EQ(j["flow"]["reason"], "timeout");
  EXPECT_EQ(j["flow"]["state"], "closed");
  EXPECT_EQ(j["tcp"]["tcp_flags"], "1b");
  EXPECT_EQ(j["tcp"]["tcp_flags_tc"], "1a");
  EXPECT_EQ(j["tcp"]["syn"], true);
  EXPECT_FALSE(j["tcp"].contains("rst"));
  EXPECT_EQ(j["edgesense"]["end_reason"], "tcp_fin");
  EXPECT_EQ(j["edgesense"]["conn_state"], "SF");
  const auto& f = j["edgesense"]["features"];
  ASSERT_EQ(f.size(), features::kFeatureCount);
  EXPECT_TRUE(f["idle_mean"].is_null());
  EXPECT_EQ(f["duration"], 0.25);
  // Fields come in schema order.
  std::size_t i = 0;
  for (auto it = f.begin(); it != f.end(); ++it, ++i) {
    EXPECT_EQ(it.key(), features::kSchema[i].name);
  }
}

TEST(Eve, IcmpHasTypeAndCodeAndNoPorts) {
  FlowRecord r = sample();
  r.proto = decode::ipproto::kIcmp;
  r.src_port = 8 << 8;
  r.dst_port = 77;
  std::string line;
  appendFlowEvent(line, r, EveOptions{false});
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["proto"], "ICMP");
  EXPECT_EQ(j["icmp_type"], 8);
  EXPECT_EQ(j["icmp_code"], 0);
  EXPECT_FALSE(j.contains("src_port"));
  EXPECT_FALSE(j.contains("tcp"));
  EXPECT_FALSE(j["edgesense"].contains("features"));
}

TEST(Eve, TimestampsBeforeTheEpochAndOnSecondBoundaries) {
  std::string s;
  appendTimestamp(s, 0);
  EXPECT_EQ(s, "1970-01-01T00:00:00.000000+0000");
  s.clear();
  appendTimestamp(s, -1);
  EXPECT_EQ(s, "1969-12-31T23:59:59.999999+0000");
}

TEST(Eve, SinkWritesOnlyFinalRecords) {
  const std::string path = ::testing::TempDir() + "eve-final-only.json";
  {
    EveFlowSink sink(openFileSink(path, FileMode::kTruncate), EveOptions{});
    FlowRecord r = sample();
    r.reason = flow::EndReason::kActiveTimeout;
    sink.onRecord(r);
    r.reason = flow::EndReason::kShutdown;
    sink.onRecord(r);
    EXPECT_EQ(sink.written(), 1u);
    EXPECT_TRUE(sink.flush());
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 1);
  std::remove(path.c_str());
}

TEST(Csv, HeaderAndRowsLineUp) {
  std::string header, row;
  appendCsvHeader(header);
  appendCsvRow(row, sample());
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(0, line.size() - 1));
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line[line.size() - 2] == ',') cells.emplace_back();
    return cells;
  };
  const auto h = split(header), r = split(row);
  ASSERT_EQ(h.size(), std::size(kCsvKeyColumns) + features::kFeatureCount);
  ASSERT_EQ(r.size(), h.size());
  EXPECT_EQ(h[0], "flow_id");
  EXPECT_EQ(h[std::size(kCsvKeyColumns)], "duration");
  EXPECT_EQ(r[1], "2001:db8::1");
  EXPECT_EQ(r[6], "10.20");
  EXPECT_EQ(r[9], "tcp_fin");
  EXPECT_EQ(r[10], "2");
  const std::size_t idle = std::size(kCsvKeyColumns) + index(Feature::kIdleMean);
  EXPECT_EQ(h[idle], "idle_mean");
  EXPECT_EQ(r[idle], "");  // NaN is an empty cell
}

TEST(JsonWriter, EscapesAndNumbers) {
  std::string s;
  JsonWriter j(s);
  j.beginObject()
      .field("a\"b", "x\n\x01")
      .field("n", 1e-7)
      .field("big", std::uint64_t{1} << 60)
      .field("inf", HUGE_VAL)
      .endObject();
  const auto parsed = nlohmann::json::parse(s);
  EXPECT_EQ(parsed["a\"b"], "x\n\x01");
  EXPECT_EQ(parsed["n"], 1e-7);
  EXPECT_EQ(parsed["big"], std::uint64_t{1} << 60);
  EXPECT_TRUE(parsed["inf"].is_null());
}

}  // namespace
}  // namespace edgesense::output
