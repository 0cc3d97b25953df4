// `edgesense-pcapgen labelled`: the capture and its labels are deterministic, the labels
// CSV has its header and every category, and each row's window lies inside the capture and
// holds packets of the traffic the row names.

#include "labelled_capture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pcap_test_reader.h"

namespace edgesense::testsupport {
namespace {

namespace fs = std::filesystem;

fs::path scratchDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("labelled_capture_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string fileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int generate(const fs::path& dir, const std::string& name, int seed) {
  const std::string command = std::string(EDGESENSE_PCAPGEN) + " labelled " +
                              (dir / (name + ".pcap")).string() + " " +
                              (dir / (name + ".csv")).string() + " --minutes 1 --seed " +
                              std::to_string(seed) + " >/dev/null 2>&1";
  return std::system(command.c_str());
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  return fields;
}

/// "1767225600.215466" -> microseconds.
int64_t parseMicros(const std::string& text) {
  const size_t dot = text.find('.');
  EXPECT_NE(dot, std::string::npos) << text;
  EXPECT_EQ(text.size() - dot - 1, 6u) << text;
  return std::stoll(text.substr(0, dot)) * 1'000'000 + std::stoll(text.substr(dot + 1));
}

/// An address, a CIDR or "*", as in the labels CSV.
class AddressMatch {
 public:
  explicit AddressMatch(const std::string& text) {
    if (text == "*") return;
    any_ = false;
    const size_t slash = text.find('/');
    address_ = IpAddress(text.substr(0, slash));
    prefix_ = slash == std::string::npos ? static_cast<int>(address_.size() * 8)
                                         : std::stoi(text.substr(slash + 1));
  }

  bool matches(const IpAddress& a) const {
    if (any_) return true;
    if (a.isV6() != address_.isV6()) return false;
    for (int bit = 0; bit < prefix_; ++bit) {
      const auto byte = static_cast<size_t>(bit / 8);
      const int mask = 0x80 >> (bit % 8);
      if ((a.bytes()[byte] & mask) != (address_.bytes()[byte] & mask)) return false;
    }
    return true;
  }

 private:
  bool any_ = true;
  IpAddress address_;
  int prefix_ = 0;
};

struct Row {
  int64_t start_us = 0;
  int64_t end_us = 0;
  AddressMatch src{"*"};
  AddressMatch dst{"*"};
  int dport = -1;
  std::string proto;
  std::string category;
  std::string text;
};

class LabelledCaptureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratchDir("seeds"));
    ASSERT_EQ(generate(*dir_, "a", 5), 0);
    ASSERT_EQ(generate(*dir_, "b", 5), 0);
    ASSERT_EQ(generate(*dir_, "c", 6), 0);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  static std::vector<Row> readRows(const std::string& name) {
    std::ifstream in(*dir_ / (name + ".csv"));
    std::string line;
    std::getline(in, line);
    std::vector<Row> rows;
    while (std::getline(in, line)) {
      const std::vector<std::string> f = split(line);
      EXPECT_EQ(f.size(), 7u) << line;
      if (f.size() != 7) continue;
      Row r;
      r.start_us = parseMicros(f[0]);
      r.end_us = parseMicros(f[1]);
      r.src = AddressMatch(f[2]);
      r.dst = AddressMatch(f[3]);
      r.dport = f[4] == "*" ? -1 : std::stoi(f[4]);
      r.proto = f[5];
      r.category = f[6];
      r.text = line;
      rows.push_back(std::move(r));
    }
    return rows;
  }

  static fs::path* dir_;
};

fs::path* LabelledCaptureTest::dir_ = nullptr;

TEST_F(LabelledCaptureTest, SameSeedIsByteIdenticalAndAnotherSeedDiffers) {
  EXPECT_EQ(fileText(*dir_ / "a.pcap"), fileText(*dir_ / "b.pcap"));
  EXPECT_EQ(fileText(*dir_ / "a.csv"), fileText(*dir_ / "b.csv"));
  EXPECT_NE(fileText(*dir_ / "a.pcap"), fileText(*dir_ / "c.pcap"));
  EXPECT_NE(fileText(*dir_ / "a.csv"), fileText(*dir_ / "c.csv"));
  // Different addresses too, not only different timings.
  std::set<std::string> sources_a;
  std::set<std::string> sources_c;
  for (const Row& r : readRows("a")) sources_a.insert(split(r.text)[2]);
  for (const Row& r : readRows("c")) sources_c.insert(split(r.text)[2]);
  sources_a.erase("*");
  for (const std::string& s : sources_a) EXPECT_EQ(sources_c.count(s), 0u) << s;
}

TEST_F(LabelledCaptureTest, CsvHasTheHeaderAndEveryCategory) {
  for (const char* name : {"a", "c"}) {
    std::ifstream in(*dir_ / (std::string(name) + ".csv"));
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header, "start,end,src,dst,dport,proto,category");
    std::set<std::string> categories;
    for (const Row& r : readRows(name)) {
      categories.insert(r.category);
      EXPECT_TRUE(r.proto == "tcp" || r.proto == "udp" || r.proto == "icmp" || r.proto == "*")
          << r.text;
      EXPECT_TRUE(r.dport == -1 || (r.dport > 0 && r.dport < 65536)) << r.text;
    }
    EXPECT_EQ(categories,
              std::set<std::string>(std::begin(kCategoryNames), std::end(kCategoryNames)))
        << name;
  }
}

TEST_F(LabelledCaptureTest, WindowsLieInsideTheCaptureAndHoldTheirTraffic) {
  const ReadResult capture = readCapture((*dir_ / "a.pcap").string());
  ASSERT_TRUE(capture.opened);
  ASSERT_FALSE(capture.read_error);
  ASSERT_GT(capture.records.size(), 10000u);
  const int64_t first_us = capture.records.front().ts_ns / 1000;
  const int64_t last_us = capture.records.back().ts_ns / 1000;
  EXPECT_GT(last_us - first_us, 50'000'000);  // about the minute asked for, plus closes
  EXPECT_LT(last_us - first_us, 180'000'000);

  std::vector<DecodedPacket> packets;
  packets.reserve(capture.records.size());
  for (const ReadRecord& rec : capture.records) {
    packets.push_back(decodePacket(capture.link_type, rec.data, rec.orig_len));
    ASSERT_TRUE(packets.back().ok);
  }
  const std::vector<Row> rows = readRows("a");
  ASSERT_FALSE(rows.empty());
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_LE(rows[i - 1].start_us, rows[i].start_us);
  for (const Row& r : rows) {
    EXPECT_LE(r.start_us, r.end_us) << r.text;
    EXPECT_GE(r.start_us, first_us) << r.text;
    EXPECT_LE(r.end_us, last_us) << r.text;
    // The row names traffic that is there: a packet from initiator to responder in the window.
    size_t matching = 0;
    for (size_t k = 0; k < packets.size(); ++k) {
      const int64_t ts_us = capture.records[k].ts_ns / 1000;
      const DecodedPacket& p = packets[k];
      const bool proto =
          r.proto == "*" || (r.proto == "tcp" && p.proto == kIpProtoTcp) ||
          (r.proto == "udp" && p.proto == kIpProtoUdp) ||
          (r.proto == "icmp" && (p.proto == kIpProtoIcmp || p.proto == kIpProtoIcmpv6));
      if (ts_us >= r.start_us && ts_us <= r.end_us && proto && r.src.matches(p.src) &&
          r.dst.matches(p.dst) && (r.dport < 0 || p.dst_port == r.dport)) {
        ++matching;
      }
    }
    EXPECT_GT(matching, 0u) << r.text;
  }
}

}  // namespace
}  // namespace edgesense::testsupport
