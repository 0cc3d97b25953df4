// PcapWriter output read back with libpcap: headers, timestamps, lengths, broken files.

#include "pcap_writer.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "packet_builder.h"
#include "pcap_test_reader.h"
#include "sessions.h"

namespace edgesense::testsupport {
namespace {

namespace fs = std::filesystem;

class PcapWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pcap_writer_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

Frame sampleFrame(size_t payload) {
  return PacketBuilder().ip("192.0.2.1", "198.51.100.2").udp(1234, 53).payload(payload).build();
}

Bytes fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

constexpr int64_t kT0 = kDefaultBaseTimeNs;

TEST_F(PcapWriterTest, MicrosecondPcapRoundTrips) {
  const Frame small = sampleFrame(10);
  const Frame large = sampleFrame(1400);
  {
    PcapWriter w(path("us.pcap"));
    w.append(kT0, small);
    w.append(kT0 + 1'234'567'891, large);  // the nanoseconds below 1 us are dropped
    w.appendUs(kT0 / 1000 + 5'000'000, small.bytes);
    EXPECT_EQ(w.records(), 3u);
  }
  const Bytes raw = fileBytes(path("us.pcap"));
  ASSERT_GE(raw.size(), 24u);
  EXPECT_EQ(raw[0], 0xd4);  // 0xa1b2c3d4 little-endian
  EXPECT_EQ(raw[3], 0xa1);

  const ReadResult r = readCapture(path("us.pcap"));
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_FALSE(r.read_error);
  EXPECT_EQ(r.link_type, 1);
  EXPECT_EQ(r.snaplen, kMaxSnaplen);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].ts_ns, kT0);
  EXPECT_EQ(r.records[1].ts_ns, kT0 + 1'234'567'000);
  EXPECT_EQ(r.records[2].ts_ns, kT0 + 5 * kNsPerSec);
  EXPECT_EQ(r.records[1].caplen, large.size());
  EXPECT_EQ(r.records[1].orig_len, large.size());
  EXPECT_EQ(r.records[1].data, large.bytes);
  EXPECT_EQ(raw.size(), 24u + 3 * 16 + 2 * small.size() + large.size());
}

TEST_F(PcapWriterTest, NanosecondPcapKeepsNanoseconds) {
  PcapWriterOptions o;
  o.format = CaptureFormat::kPcapNano;
  o.link_type = kLinkTypeRaw;
  {
    PcapWriter w(path("ns.pcap"), o);
    LinkSpec raw;
    raw.layer = LinkLayer::kRaw;
    w.append(kT0 + 123'456'789,
             PacketBuilder().link(raw).ip("2001:db8::1", "2001:db8::2").udp(1, 2).build());
  }
  EXPECT_EQ(fileBytes(path("ns.pcap"))[0], 0x4d);  // 0xa1b23c4d
  const ReadResult r = readCapture(path("ns.pcap"));
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.link_type, 101);
  EXPECT_EQ(r.dlt, DLT_RAW);  // what a libpcap user such as the sensor sees
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].ts_ns, kT0 + 123'456'789);
}

TEST_F(PcapWriterTest, SnaplenCutsCaptureButKeepsWireLength) {
  PcapWriterOptions o;
  o.snaplen = 96;
  const Frame large = sampleFrame(1400);
  {
    PcapWriter w(path("snap.pcap"), o);
    w.append(kT0, large);
    w.append(kT0 + 1, large.bytes, 9000);  // explicit wire length
  }
  const ReadResult r = readCapture(path("snap.pcap"));
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.snaplen, 96u);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].caplen, 96u);
  EXPECT_EQ(r.records[0].orig_len, large.size());
  EXPECT_EQ(r.records[1].orig_len, 9000u);
  EXPECT_TRUE(std::equal(r.records[0].data.begin(), r.records[0].data.end(), large.bytes.begin()));
}

TEST_F(PcapWriterTest, PcapngWithMicroAndNanoResolution) {
  for (const uint8_t resol : {uint8_t{6}, uint8_t{9}}) {
    PcapWriterOptions o;
    o.format = CaptureFormat::kPcapng;
    o.pcapng_tsresol = resol;
    o.link_type = kLinkTypeLinuxSll2;
    o.snaplen = 200;
    const std::string file = path("t" + std::to_string(resol) + ".pcapng");
    LinkSpec sll2;
    sll2.layer = LinkLayer::kLinuxSll2;
    const Frame f =
        PacketBuilder().link(sll2).ip("192.0.2.1", "192.0.2.2").udp(1, 2).payload(301).build();
    {
      PcapWriter w(file, o);
      for (int i = 0; i < 5; ++i) w.append(kT0 + i * 1'000'001, f);
    }
    const Bytes raw = fileBytes(file);
    EXPECT_EQ(raw[0], 0x0a);
    EXPECT_EQ(raw.size() % 4, 0u);
    const ReadResult r = readCapture(file);
    ASSERT_TRUE(r.opened) << r.error;
    EXPECT_FALSE(r.read_error) << r.error;
    EXPECT_EQ(r.link_type, 276);
    EXPECT_EQ(r.snaplen, 200u);
    ASSERT_EQ(r.records.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      const int64_t exact = kT0 + i * 1'000'001;
      EXPECT_EQ(r.records[i].ts_ns, resol == 9 ? exact : exact / 1000 * 1000);
      EXPECT_EQ(r.records[i].caplen, 200u);
      EXPECT_EQ(r.records[i].orig_len, f.size());
    }
  }
}

TEST_F(PcapWriterTest, SmallBufferFlushesEveryRecord) {
  PcapWriterOptions o;
  o.buffer_bytes = 50;
  const Frame f = sampleFrame(77);
  {
    PcapWriter w(path("flush.pcap"), o);
    for (int i = 0; i < 1000; ++i) w.append(kT0 + i, f);
    w.close();
    EXPECT_EQ(w.bytesWritten(), 24u + 1000 * (16 + f.size()));
  }
  const ReadResult r = readCapture(path("flush.pcap"));
  EXPECT_EQ(r.records.size(), 1000u);
  EXPECT_FALSE(r.read_error);
}

TEST_F(PcapWriterTest, UnknownLinkTypeIsWrittenAsGiven) {
  PcapWriterOptions o;
  o.link_type = kLinkTypeUser0;
  {
    PcapWriter w(path("user0.pcap"), o);
    w.append(kT0, sampleFrame(4));
  }
  const ReadResult r = readCapture(path("user0.pcap"));
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.link_type, 147);
  EXPECT_EQ(r.records.size(), 1u);
}

TEST_F(PcapWriterTest, CutRecordEndsTheFileWithAnError) {
  for (const CaptureFormat format : {CaptureFormat::kPcap, CaptureFormat::kPcapng}) {
    PcapWriterOptions o;
    o.format = format;
    const std::string file = path(format == CaptureFormat::kPcap ? "cut.pcap" : "cut.pcapng");
    {
      PcapWriter w(file, o);
      w.append(kT0, sampleFrame(100));
      w.append(kT0 + 1, sampleFrame(100));
      w.appendCut(kT0 + 2, sampleFrame(500).bytes, 20);
      EXPECT_THROW(w.append(kT0 + 3, sampleFrame(1)), std::logic_error);
    }
    const ReadResult r = readCapture(file);
    ASSERT_TRUE(r.opened) << r.error;
    EXPECT_EQ(r.records.size(), 2u);
    EXPECT_TRUE(r.read_error);
  }
}

TEST_F(PcapWriterTest, AbsurdCaplenIsRejectedByLibpcap) {
  {
    PcapWriter w(path("huge.pcap"));
    w.append(kT0, sampleFrame(10));
    w.appendWithCaplen(kT0 + 1, 300000, 300000, patternPayload(64));
  }
  const ReadResult r = readCapture(path("huge.pcap"));
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.records.size(), 1u);
  EXPECT_TRUE(r.read_error);
}

TEST_F(PcapWriterTest, BadMagicAndEmptyFilesDoNotOpen) {
  PcapWriterOptions o;
  o.magic = 0x0a0b0c0d;
  {
    PcapWriter w(path("magic.pcap"), o);
    w.append(kT0, sampleFrame(10));
  }
  EXPECT_FALSE(readCapture(path("magic.pcap")).opened);
  PcapWriter::writeEmptyFile(path("empty.pcap"));
  EXPECT_EQ(fs::file_size(path("empty.pcap")), 0u);
  EXPECT_FALSE(readCapture(path("empty.pcap")).opened);
}

TEST_F(PcapWriterTest, SessionCountsMatchWhatLibpcapReads) {
  PcapWriterOptions o;
  o.snaplen = 128;
  Conversation tcp;
  Conversation udp;
  {
    PcapWriter w(path("sessions.pcap"), o);
    FlowSpec f;
    f.client = "192.0.2.1";
    f.server = "198.51.100.2";
    f.client_port = 41000;
    f.server_port = 443;
    f.link.vlans = {{42, kEtherTypeVlan, 0}};
    TcpSession s(w, f);
    s.handshake();
    s.exchange(500, 100000);
    s.retransmit(Direction::kToClient);
    s.reset(Direction::kToServer);
    tcp = s.conversation();
    f.client_port = 41001;
    f.server_port = 53;
    f.start_ns = s.now() + kNsPerSec;
    UdpSession u(w, f);
    u.exchange(60, 3000);
    u.send(Direction::kToServer, patternPayload(2000), 1000);
    udp = u.conversation();
  }
  const ReadResult r = readCapture(path("sessions.pcap"));
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.records.size(), tcp.packets() + udp.packets());
  for (const Conversation* want : {&tcp, &udp}) {
    const Conversation got = measureConversation(r.link_type, r.records, *want);
    EXPECT_EQ(got.ab.packets, want->ab.packets);
    EXPECT_EQ(got.ba.packets, want->ba.packets);
    EXPECT_EQ(got.ab.wire_bytes, want->ab.wire_bytes);
    EXPECT_EQ(got.ba.wire_bytes, want->ba.wire_bytes);
    EXPECT_EQ(got.ab.payload_bytes, want->ab.payload_bytes);
    EXPECT_EQ(got.ba.payload_bytes, want->ba.payload_bytes);
    EXPECT_EQ(got.first_ns, want->first_ns);
    EXPECT_EQ(got.last_ns, want->last_ns);
  }
  EXPECT_EQ(tcp.ba.payload_bytes, 100000u + 100000 % 1448);
}

}  // namespace
}  // namespace edgesense::testsupport
