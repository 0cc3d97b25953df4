// labels: the labels file's rules (each field, first row wins, direction,
// CIDRs, window edges), its errors with FILE:LINE, the head mappings, and
// agreement with scripts/bundle_tools/label_flows.py on a generated capture
// run through the real capture pipeline.

#include "labels/labels.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "labelled_capture.h"
#include "output/csv.h"
#include "pipeline/rx_loop.h"

namespace edgesense::labels {
namespace {

namespace fs = std::filesystem;
using decode::IpAddress;
constexpr std::uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58;
constexpr std::string_view kHeader = "start,end,src,dst,dport,proto,category\n";

IpAddress ip(const char* s) {
  std::uint8_t b[16];
  if (inet_pton(AF_INET, s, b) == 1) return IpAddress::fromV4(b);
  if (inet_pton(AF_INET6, s, b) == 1) return IpAddress::fromV6(b);
  ADD_FAILURE() << "bad test address " << s;
  return {};
}

LabelSet rules(const std::string& rows) {
  return LabelSet::parse(std::string(kHeader) + rows, "labels.csv");
}

/// The error message of parsing `text`, or "" if it parses.
std::string errorOf(const std::string& text) {
  try {
    LabelSet::parse(text, "bad.csv");
  } catch (const LabelError& e) {
    return e.what();
  }
  return "";
}

TEST(Category, NamesRoundTrip) {
  for (std::size_t i = 0; i < kCategoryCount; ++i) {
    const auto c = static_cast<Category>(i);
    EXPECT_EQ(parseCategory(categoryName(c)), c);
  }
  EXPECT_EQ(categoryName(Category::kBruteforce), "bruteforce");
  EXPECT_EQ(parseCategory("BENIGN"), std::nullopt);
  EXPECT_EQ(parseCategory(""), std::nullopt);
}

TEST(HeadMapping, ReelAndAttackClasses) {
  EXPECT_TRUE(isReel(Category::kReel));
  EXPECT_EQ(reelClassIndex(Category::kReel), 1u);
  for (const Category c : {Category::kBenign, Category::kScan, Category::kDos,
                           Category::kBruteforce, Category::kSlowdos}) {
    EXPECT_FALSE(isReel(c));
    EXPECT_EQ(reelClassIndex(c), 0u);
  }
  EXPECT_EQ(kAttackClasses[attackClassIndex(Category::kReel)], "benign");
  EXPECT_EQ(kAttackClasses[attackClassIndex(Category::kBenign)], "benign");
  for (const Category c :
       {Category::kScan, Category::kDos, Category::kBruteforce, Category::kSlowdos}) {
    EXPECT_EQ(kAttackClasses[attackClassIndex(c)], categoryName(c));
    EXPECT_FALSE(isBenignForAnomaly(c));
  }
  EXPECT_TRUE(isBenignForAnomaly(Category::kReel));
  EXPECT_EQ(kReelClasses[1], "reel");
}

TEST(LabelSet, NoRowMeansBenign) {
  const LabelSet s = rules("");
  EXPECT_TRUE(s.rules().empty());
  EXPECT_EQ(s.classify(ip("10.0.0.1"), ip("10.0.0.2"), 80, kTcp, 1, 2), Category::kBenign);
}

TEST(LabelSet, EachFieldMustMatch) {
  const LabelSet s = rules("100,200,10.0.0.1,10.0.0.2,22,tcp,bruteforce\n");
  const IpAddress a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("10.0.0.3");
  EXPECT_EQ(s.classify(a, b, 22, kTcp, 150, 160), Category::kBruteforce);
  EXPECT_EQ(s.classify(c, b, 22, kTcp, 150, 160), Category::kBenign);  // src
  EXPECT_EQ(s.classify(a, c, 22, kTcp, 150, 160), Category::kBenign);  // dst
  EXPECT_EQ(s.classify(a, b, 23, kTcp, 150, 160), Category::kBenign);  // dport
  EXPECT_EQ(s.classify(a, b, 22, kUdp, 150, 160), Category::kBenign);  // proto
  EXPECT_EQ(s.classify(a, b, 22, kTcp, 201, 260), Category::kBenign);  // after
  EXPECT_EQ(s.classify(a, b, 22, kTcp, 10, 99.5), Category::kBenign);  // before
  EXPECT_EQ(s.classify(b, a, 22, kTcp, 150, 160), Category::kBenign);  // direction
  ASSERT_EQ(s.rules().size(), 1u);
  EXPECT_EQ(s.rules()[0].line, 2u);
}

TEST(LabelSet, WildcardsMatchEverything) {
  const LabelSet s = rules("100,200,*,*,*,*,scan\n");
  EXPECT_EQ(s.classify(ip("192.0.2.9"), ip("2001:db8::1"), 0, kIcmp6, 100, 100), Category::kScan);
  EXPECT_EQ(s.classify(ip("2001:db8::7"), ip("192.0.2.1"), 9, 132, 150, 150), Category::kScan);
}

TEST(LabelSet, WindowEdgesAreInclusive) {
  const LabelSet s = rules("100.5,200.25,*,*,*,*,dos\n");
  const IpAddress a = ip("10.0.0.1"), b = ip("10.0.0.2");
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 50, 100.5), Category::kDos);    // ends at start
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 200.25, 300), Category::kDos);  // starts at end
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 50, 500), Category::kDos);      // spans the window
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 150, 150), Category::kDos);     // inside, one packet
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 50, 100.499999), Category::kBenign);
  EXPECT_EQ(s.classify(a, b, 80, kTcp, 200.250001, 300), Category::kBenign);
}

TEST(LabelSet, FirstMatchingRowWins) {
  const LabelSet s = rules(
      "0,1000,10.0.0.1,*,*,tcp,reel\n"
      "0,1000,10.0.0.0/8,*,*,*,scan\n"
      "0,1000,*,*,*,*,dos\n");
  EXPECT_EQ(s.classify(ip("10.0.0.1"), ip("1.1.1.1"), 443, kTcp, 5, 6), Category::kReel);
  EXPECT_EQ(s.classify(ip("10.0.0.1"), ip("1.1.1.1"), 443, kUdp, 5, 6), Category::kScan);
  EXPECT_EQ(s.classify(ip("11.0.0.1"), ip("1.1.1.1"), 443, kUdp, 5, 6), Category::kDos);
  EXPECT_EQ(s.match(ip("10.0.0.1"), ip("1.1.1.1"), 443, kUdp, 5, 6), 1u);
  // A benign row can shadow later rows.
  const LabelSet t = rules("0,10,*,*,*,*,benign\n0,10,*,*,*,*,dos\n");
  EXPECT_EQ(t.classify(ip("10.0.0.1"), ip("1.1.1.1"), 1, kTcp, 5, 6), Category::kBenign);
  EXPECT_EQ(t.match(ip("10.0.0.1"), ip("1.1.1.1"), 1, kTcp, 5, 6), 0u);
}

TEST(LabelSet, Ipv4Cidrs) {
  const LabelSet s = rules(
      "0,10,192.168.1.77/24,*,*,*,scan\n"  // host bits are ignored
      "0,10,172.16.0.0/12,*,*,*,dos\n"
      "0,10,0.0.0.0/0,*,*,*,slowdos\n");
  const IpAddress d = ip("192.0.2.1");
  EXPECT_EQ(s.classify(ip("192.168.1.1"), d, 1, kTcp, 1, 2), Category::kScan);
  EXPECT_EQ(s.classify(ip("192.168.1.255"), d, 1, kTcp, 1, 2), Category::kScan);
  EXPECT_EQ(s.classify(ip("192.168.2.1"), d, 1, kTcp, 1, 2), Category::kSlowdos);
  EXPECT_EQ(s.classify(ip("172.31.255.255"), d, 1, kTcp, 1, 2), Category::kDos);
  EXPECT_EQ(s.classify(ip("172.32.0.0"), d, 1, kTcp, 1, 2), Category::kSlowdos);
  // 0.0.0.0/0 is every IPv4 address and no IPv6 one.
  EXPECT_EQ(s.classify(ip("2001:db8::1"), d, 1, kTcp, 1, 2), Category::kBenign);
}

TEST(LabelSet, Ipv6Cidrs) {
  const LabelSet s = rules(
      "0,10,2001:db8:0:1::/64,*,*,*,scan\n"
      "0,10,2001:db8::/33,*,*,*,dos\n"
      "0,10,fe80::1,*,*,*,bruteforce\n"
      "0,10,::/0,*,*,*,slowdos\n");
  const IpAddress d = ip("2001:db8::ff");
  EXPECT_EQ(s.classify(ip("2001:db8:0:1:abcd::1"), d, 1, kUdp, 1, 2), Category::kScan);
  EXPECT_EQ(s.classify(ip("2001:db8:0:2::1"), d, 1, kUdp, 1, 2), Category::kDos);
  EXPECT_EQ(s.classify(ip("2001:db8:7fff::1"), d, 1, kUdp, 1, 2), Category::kDos);
  EXPECT_EQ(s.classify(ip("2001:db8:8000::1"), d, 1, kUdp, 1, 2), Category::kSlowdos);
  EXPECT_EQ(s.classify(ip("fe80::1"), d, 1, kUdp, 1, 2), Category::kBruteforce);
  EXPECT_EQ(s.classify(ip("fe80::2"), d, 1, kUdp, 1, 2), Category::kSlowdos);
  // ::/0 is no IPv4 address, mapped storage or not.
  EXPECT_EQ(s.classify(ip("10.0.0.1"), d, 1, kUdp, 1, 2), Category::kBenign);
}

TEST(LabelSet, IcmpMatchesBothIcmpsAndPortsOnlyTcpAndUdp) {
  const LabelSet s = rules("0,10,*,*,*,icmp,scan\n0,10,*,*,0,*,dos\n");
  const IpAddress a = ip("10.0.0.1"), b = ip("10.0.0.2");
  EXPECT_EQ(s.classify(a, b, 0, kIcmp, 1, 2), Category::kScan);
  EXPECT_EQ(s.classify(ip("2001:db8::1"), ip("2001:db8::2"), 0, kIcmp6, 1, 2), Category::kScan);
  EXPECT_EQ(s.classify(a, b, 0, kTcp, 1, 2), Category::kDos);
  EXPECT_EQ(s.classify(a, b, 0, kUdp, 1, 2), Category::kDos);
  // Port 0 of an ICMP flow is no port: a rule with a port passes it by.
  const LabelSet t = rules("0,10,*,*,0,*,dos\n");
  EXPECT_EQ(t.classify(a, b, 0, kIcmp, 1, 2), Category::kBenign);
  EXPECT_EQ(t.classify(a, b, 0, 47, 1, 2), Category::kBenign);
}

TEST(LabelSet, ParsingDetails) {
  // CRLF line ends, quoted fields, blank lines, exponent times.
  const LabelSet s = LabelSet::parse(
      "start,end,src,dst,dport,proto,category\r\n"
      "\r\n"
      "\"1e2\",200,\"10.0.0.0/8\",*,443,udp,reel\r\n",
      "x.csv");
  ASSERT_EQ(s.rules().size(), 1u);
  EXPECT_EQ(s.rules()[0].start, 100.0);
  EXPECT_EQ(s.rules()[0].line, 3u);
  EXPECT_EQ(s.classify(ip("10.1.2.3"), ip("1.1.1.1"), 443, kUdp, 150, 151), Category::kReel);
  EXPECT_EQ(s.source(), "x.csv");
}

TEST(LabelSet, ErrorsNameFileAndLine) {
  const std::string h(kHeader);
  EXPECT_EQ(errorOf(""), "bad.csv:1: empty file (no header)");
  EXPECT_EQ(errorOf("start,end,src,dst,port,proto,category\n").rfind("bad.csv:1: the header", 0),
            0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,*,*,benign\nx,2,*,*,*,*,dos\n").rfind("bad.csv:3: start", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,nan,*,*,*,*,dos\n").rfind("bad.csv:2: end", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,inf,*,*,*,*,dos\n").rfind("bad.csv:2: end", 0), 0u);
  EXPECT_EQ(errorOf(h + "5,2,*,*,*,*,dos\n"), "bad.csv:2: end 2 is before start 5");
  EXPECT_EQ(errorOf(h + "1,2,10.0.0.300,*,*,*,dos\n").rfind("bad.csv:2: src", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,10.0.0.0/33,*,*,dos\n").rfind("bad.csv:2: dst", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,2001:db8::/129,*,*,dos\n").rfind("bad.csv:2: dst", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,10.0.0.0/,*,*,dos\n").rfind("bad.csv:2: dst", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,65536,*,dos\n").rfind("bad.csv:2: dport", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,-1,*,dos\n").rfind("bad.csv:2: dport", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,*,sctp,dos\n").rfind("bad.csv:2: proto", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,*,TCP,dos\n").rfind("bad.csv:2: proto", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,*,*,ddos\n").rfind("bad.csv:2: unknown category \"ddos\"", 0), 0u);
  EXPECT_EQ(errorOf(h + "1,2,*,*,*,*\n"), "bad.csv:2: 6 fields, the header has 7");
  EXPECT_EQ(errorOf(h + "1,2,\"*,*,*,*,dos\n"), "bad.csv:2: malformed quotes");
}

TEST(LabelSet, LoadReadsAFileAndNamesAMissingOne) {
  const fs::path dir = fs::temp_directory_path() / ("labels_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "l.csv";
  std::ofstream(file) << kHeader << "1,2,*,*,*,tcp,scan\n3,4,*,*,*,*,bogus\n";
  try {
    LabelSet::load(file.string());
    ADD_FAILURE() << "no error";
  } catch (const LabelError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(file.string() + ":3: unknown category", 0), 0u)
        << e.what();
  }
  std::ofstream(file) << kHeader << "1,2,*,*,*,tcp,scan\n";
  EXPECT_EQ(LabelSet::load(file.string()).rules().size(), 1u);
  try {
    LabelSet::load((dir / "missing.csv").string());
    ADD_FAILURE() << "no error";
  } catch (const LabelError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "missing.csv").string() + ": cannot open", 0), 0u)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(FlowExclusion, AnyRowOfAnyFileWhateverItsCategory) {
  const std::string h(kHeader);
  // A reel flow's row in one file and a scan row in another: a flow is left
  // out when it matches either, the categories play no part.
  const FlowExclusion ex({LabelSet::parse(h + "100,200,10.0.0.1,10.0.0.2,443,tcp,reel\n", "a.csv"),
                          LabelSet::parse(h + "300,400,*,2001:db8::/64,*,udp,scan\n", "b.csv")});
  EXPECT_FALSE(ex.empty());
  EXPECT_EQ(ex.files(), (std::vector<std::string>{"a.csv", "b.csv"}));
  EXPECT_TRUE(ex.matches(ip("10.0.0.1"), ip("10.0.0.2"), 443, kTcp, 150, 250));
  EXPECT_FALSE(ex.matches(ip("10.0.0.1"), ip("10.0.0.2"), 443, kUdp, 150, 250));  // proto
  EXPECT_FALSE(ex.matches(ip("10.0.0.2"), ip("10.0.0.1"), 443, kTcp, 150, 250));  // direction
  EXPECT_FALSE(ex.matches(ip("10.0.0.1"), ip("10.0.0.2"), 443, kTcp, 201, 250));  // window
  EXPECT_TRUE(ex.matches(ip("10.9.9.9"), ip("2001:db8::11"), 443, kUdp, 250, 300));
  EXPECT_FALSE(ex.matches(ip("10.9.9.9"), ip("2001:db8:1::11"), 443, kUdp, 250, 300));
  EXPECT_FALSE(FlowExclusion().matches(ip("10.0.0.1"), ip("10.0.0.2"), 443, kTcp, 150, 250));

  // A record: its times in µs, as classify(record) converts them.
  features::FlowRecord r;
  r.src = ip("10.0.0.1");
  r.dst = ip("10.0.0.2");
  r.dst_port = 443;
  r.proto = kTcp;
  r.start_us = 199'000'000;
  r.end_us = 260'000'000;
  EXPECT_TRUE(ex.matches(r));
  r.start_us = 200'000'001;
  EXPECT_FALSE(ex.matches(r));
}

TEST(FlowExclusion, LoadNamesTheBadFileAndLine) {
  const fs::path dir = fs::temp_directory_path() / ("labels_ex_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path good = dir / "good.csv", bad = dir / "bad.csv";
  std::ofstream(good) << kHeader << "1,2,*,*,*,tcp,reel\n";
  std::ofstream(bad) << kHeader << "1,2,*,*,*,tcp,reel\n1,2,*,*,443,quic,reel\n";
  EXPECT_EQ(FlowExclusion::load({good.string()}).files(),
            (std::vector<std::string>{good.string()}));
  try {
    FlowExclusion::load({good.string(), bad.string()});
    ADD_FAILURE() << "no error";
  } catch (const LabelError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad.string() + ":3: proto \"quic\"", 0), 0u) << e.what();
  }
  fs::remove_all(dir);
}

// ---- agreement with label_flows.py ----

struct Collect final : features::RecordSink {
  std::vector<features::FlowRecord> records;
  void onRecord(const features::FlowRecord& r) override { records.push_back(r); }
};

TEST(LabelSet, AgreesWithLabelFlowsPyOnAGeneratedCapture) {
  const fs::path dir = fs::temp_directory_path() / ("labels_agree_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path pcap = dir / "c.pcap", labels = dir / "c.labels.csv";
  testsupport::LabelledOptions o;
  o.seed = 3;
  o.duration_ns = 90 * testsupport::kNsPerSec;
  testsupport::writeLabelledCapture(pcap, labels, o);

  // The real capture path, every snapshot, as `replay --csv` sees them.
  auto source = capture::openFiles({pcap.string()});
  Collect sink;
  auto rx = std::make_unique<pipeline::RxLoop>(pipeline::RxConfig{}, *source, sink);
  rx->run(std::stop_token{});
  ASSERT_GT(sink.records.size(), 100u);
  std::string csv;
  output::appendCsvHeader(csv);
  for (const auto& r : sink.records) output::appendCsvRow(csv, r);
  std::ofstream(dir / "flows.csv", std::ios::binary) << csv;

  const std::string cmd = std::string(EDGESENSE_SYSTEM_PYTHON) + " " + EDGESENSE_SOURCE_DIR +
                          "/scripts/bundle_tools/label_flows.py --flows " +
                          (dir / "flows.csv").string() + " --labels " + labels.string() +
                          " --out " + (dir / "labelled.csv").string() + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  const LabelSet set = LabelSet::load(labels.string());
  std::ifstream in(dir / "labelled.csv");
  std::string line;
  std::getline(in, line);  // header
  std::size_t row = 0, mismatches = 0;
  std::map<std::string, std::size_t> seen;
  while (std::getline(in, line)) {
    ASSERT_LT(row, sink.records.size());
    const std::string py = line.substr(line.rfind(',') + 1);
    const std::string cpp(categoryName(set.classify(sink.records[row])));
    if (py != cpp && ++mismatches <= 5) {
      ADD_FAILURE() << "row " << row + 2 << ": label_flows.py says " << py << ", C++ says " << cpp;
    }
    ++seen[cpp];
    ++row;
  }
  EXPECT_EQ(row, sink.records.size());
  EXPECT_EQ(mismatches, 0u);
  // The capture exercises the rules: benign, reels and several attacks.
  EXPECT_GE(seen.size(), 5u);
  EXPECT_GT(seen["benign"], 0u);
  EXPECT_GT(seen["reel"], 0u);

  // Windows that touch flows exactly at their first or last packet, or miss
  // them by the smallest step a double has: both sides must draw the same
  // line. Times are written as the CSV writes them (shortest round trip).
  const auto text = [](double v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  };
  std::string edges(kHeader);
  std::size_t n_rules = 0;
  for (std::size_t i = 0; i < sink.records.size() && n_rules < 400; i += 7) {
    const auto& r = sink.records[i];
    const double first = static_cast<double>(r.start_us) * 1e-6;
    const double last = static_cast<double>(r.end_us) * 1e-6;
    char src[64];
    src[decode::formatAddress(r.src, src, sizeof src)] = '\0';
    const std::string cat(categoryName(static_cast<Category>(1 + n_rules % 5)));
    switch (n_rules % 4) {
      case 0:  // starts at the flow's last packet
        edges += text(last) + "," + text(last + 1) + "," + src + ",*,*,*," + cat + "\n";
        break;
      case 1:  // ends at the flow's first packet
        edges += text(first - 1) + "," + text(first) + "," + src + ",*,*,*," + cat + "\n";
        break;
      case 2:  // starts just after the last packet
        edges += text(std::nextafter(last, 1e300)) + "," + text(last + 1) + "," + src + ",*,*,*," +
                 cat + "\n";
        break;
      default:  // ends just before the first packet
        edges += text(first - 1) + "," + text(std::nextafter(first, 0.0)) + "," + src + ",*,*,*," +
                 cat + "\n";
    }
    ++n_rules;
  }
  std::ofstream(dir / "edges.csv", std::ios::binary) << edges;
  const std::string cmd2 = std::string(EDGESENSE_SYSTEM_PYTHON) + " " + EDGESENSE_SOURCE_DIR +
                           "/scripts/bundle_tools/label_flows.py --flows " +
                           (dir / "flows.csv").string() + " --labels " +
                           (dir / "edges.csv").string() + " --out " +
                           (dir / "edges_labelled.csv").string() + " >/dev/null";
  ASSERT_EQ(std::system(cmd2.c_str()), 0) << cmd2;
  const LabelSet edge_set = LabelSet::load((dir / "edges.csv").string());
  std::ifstream edge_in(dir / "edges_labelled.csv");
  std::getline(edge_in, line);
  row = mismatches = 0;
  std::size_t labelled = 0;
  while (std::getline(edge_in, line)) {
    const std::string py = line.substr(line.rfind(',') + 1);
    const std::string cpp(categoryName(edge_set.classify(sink.records[row])));
    if (py != cpp && ++mismatches <= 5) {
      ADD_FAILURE() << "edges, row " << row + 2 << ": label_flows.py says " << py << ", C++ says "
                    << cpp;
    }
    labelled += cpp != "benign";
    ++row;
  }
  EXPECT_EQ(row, sink.records.size());
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(labelled, 0u);                   // the touching windows match...
  EXPECT_LT(labelled, sink.records.size());  // ...and not everything does
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgesense::labels
