// capture: real libpcap reading files the project's own writer made, in
// every supported format, plus every way a file can be refused or cut.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "capture/packet_source.h"
#include "packet_builder.h"
#include "pcap_writer.h"

namespace edgesense::capture {
namespace {

namespace ts = testsupport;
namespace fs = std::filesystem;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgesense-capture-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ts::Frame frame(int i) {
    ts::PacketBuilder b;
    b.ethernet()
        .ipv4({.src = "192.0.2.1", .dst = "192.0.2.2"})
        .udp(1000, static_cast<std::uint16_t>(2000 + i))
        .payload(100);
    return b.build();
  }

  fs::path write(const std::string& name, ts::PcapWriterOptions opts, int n) {
    const fs::path p = dir_ / name;
    ts::PcapWriter w(p, opts);
    for (int i = 0; i < n; ++i) w.append(1'767'225'600'000'000'000 + i * 1'000'123, frame(i));
    w.close();
    return p;
  }

  fs::path dir_;
};

TEST_F(FileSourceTest, ReadsPcapNanosecondPcapAndPcapngInOrder) {
  const fs::path a = write("a.pcap", {}, 3);
  const fs::path b = write("b.pcap", {.format = ts::CaptureFormat::kPcapNano}, 2);
  const fs::path c =
      write("c.pcapng", {.format = ts::CaptureFormat::kPcapng, .pcapng_tsresol = 9}, 4);
  auto src = openFiles({a.string(), b.string(), c.string()});
  decode::Frame f;
  int n = 0;
  decode::TimeUs last = 0;
  while (src->next(f) == ReadStatus::kPacket) {
    EXPECT_EQ(f.link, decode::LinkType::kEthernet);
    EXPECT_EQ(f.wire_len, frame(0).bytes.size());
    EXPECT_EQ(f.cap_len, f.wire_len);
    // Nanosecond files are read at microsecond precision.
    if (n == 1) {
      EXPECT_EQ(f.ts_us - last, 1000);
    }
    last = f.ts_us;
    ++n;
  }
  EXPECT_EQ(n, 9);
  EXPECT_EQ(src->stats().packets, 9u);
  EXPECT_TRUE(src->takeWarnings().empty());
}

TEST_F(FileSourceTest, MapsEveryLinkType) {
  const std::pair<std::uint32_t, decode::LinkType> kinds[] = {
      {ts::kLinkTypeLinuxSll, decode::LinkType::kLinuxSll},
      {ts::kLinkTypeLinuxSll2, decode::LinkType::kLinuxSll2},
      {ts::kLinkTypeRaw, decode::LinkType::kRaw},
      {ts::kLinkTypeNull, decode::LinkType::kNull}};
  for (const auto& [dlt, link] : kinds) {
    std::string name = "linktype-";  // appended, not "a" + b: GCC 12 warns falsely (PR 105329)
    name += std::to_string(dlt);
    const fs::path p = write(name + ".pcap", {.link_type = dlt}, 1);
    auto src = openFiles({p.string()});
    decode::Frame f;
    ASSERT_EQ(src->next(f), ReadStatus::kPacket);
    EXPECT_EQ(f.link, link) << dlt;
  }
}

TEST_F(FileSourceTest, RefusesMissingBadAndUnsupportedFilesByName) {
  const fs::path good = write("good.pcap", {}, 1);
  const fs::path bad_magic = write("bad.pcap", {.magic = 0xdeadbeef}, 1);
  const fs::path user0 = write("user0.pcap", {.link_type = ts::kLinkTypeUser0}, 1);
  const fs::path empty = dir_ / "empty.pcap";
  ts::PcapWriter::writeEmptyFile(empty);
  const fs::path missing = dir_ / "missing.pcap";

  auto message = [](const std::vector<std::string>& files) -> std::string {
    try {
      openFiles(files);
    } catch (const CaptureError& e) {
      return e.what();
    }
    return "";
  };
  // The bad file is named even when a good one comes first.
  const std::string m1 = message({good.string(), bad_magic.string()});
  EXPECT_NE(m1.find(bad_magic.string()), std::string::npos) << m1;
  EXPECT_NE(m1.find("not a readable pcap"), std::string::npos) << m1;
  const std::string m2 = message({user0.string()});
  EXPECT_NE(m2.find(user0.string()), std::string::npos) << m2;
  EXPECT_NE(m2.find("unsupported link type 147"), std::string::npos) << m2;
  const std::string m3 = message({empty.string()});
  EXPECT_NE(m3.find(empty.string()), std::string::npos) << m3;
  const std::string m4 = message({missing.string()});
  EXPECT_NE(m4.find(missing.string()), std::string::npos) << m4;
  EXPECT_NE(m4.find("No such file"), std::string::npos) << m4;
  EXPECT_FALSE(message({}).empty());
}

TEST_F(FileSourceTest, FileCutMidRecordKeepsWhatCameBeforeAndWarns) {
  const fs::path cut = dir_ / "cut.pcap";
  {
    ts::PcapWriter w(cut);
    for (int i = 0; i < 5; ++i) w.append(1'767'225'600'000'000'000 + i * 1000, frame(i));
    w.appendCut(1'767'225'600'000'010'000, frame(5).bytes, 20);
    w.close();
  }
  const fs::path after = write("after.pcap", {}, 2);
  auto src = openFiles({cut.string(), after.string()});
  decode::Frame f;
  int n = 0;
  while (src->next(f) == ReadStatus::kPacket) ++n;
  EXPECT_EQ(n, 7);  // 5 before the cut, then the next file
  EXPECT_EQ(src->stats().truncated_files, 1u);
  const std::vector<std::string> warnings = src->takeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(cut.string()), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("truncated"), std::string::npos) << warnings[0];
}

TEST_F(FileSourceTest, SnapLengthIsReportedAsCaptureLength) {
  const fs::path p = write("snap.pcap", {.snaplen = 64}, 1);
  auto src = openFiles({p.string()});
  decode::Frame f;
  ASSERT_EQ(src->next(f), ReadStatus::kPacket);
  EXPECT_EQ(f.cap_len, 64u);
  EXPECT_EQ(f.wire_len, frame(0).bytes.size());
}

TEST(LiveSource, MissingInterfaceIsOneClearError) {
  LiveOptions o;
  o.interface = "es-no-such-if0";
  try {
    openLive(o);
    FAIL() << "opened a missing interface";
  } catch (const CaptureError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("es-no-such-if0"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace edgesense::capture
