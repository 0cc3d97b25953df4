// The `cases`, `sample` and `bench` outputs: read back with libpcap, decoded independently,
// compared with the builder's truth and with tshark, and checked for determinism.

#include "golden_cases.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "byte_io.h"
#include "pcap_test_reader.h"

namespace edgesense::testsupport {
namespace {

namespace fs = std::filesystem;

const char* const kTshark = "/usr/bin/tshark";

fs::path scratchDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("golden_cases_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Bytes fileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

/// Runs a shell command and returns its standard output (stderr discarded).
std::string run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = rc;
  return out;
}

size_t countLines(const std::string& text) {
  size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1 : 0;
  return n;
}

class GoldenCasesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratchDir("cases"));
    cases_ = new std::vector<GoldenCase>(writeGoldenCases(*dir_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete cases_;
    delete dir_;
  }

  static fs::path* dir_;
  static std::vector<GoldenCase>* cases_;
};

fs::path* GoldenCasesTest::dir_ = nullptr;
std::vector<GoldenCase>* GoldenCasesTest::cases_ = nullptr;

TEST_F(GoldenCasesTest, EveryNamedCaseIsWritten) {
  const std::vector<std::string> names = goldenCaseNames();
  ASSERT_EQ(names.size(), cases_->size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ((*cases_)[i].name, names[i]);
    EXPECT_TRUE(fs::exists(*dir_ / (*cases_)[i].file)) << names[i];
    EXPECT_EQ(fs::exists(*dir_ / (names[i] + ".expect.json")), (*cases_)[i].has_expect);
  }
  for (const char* required :
       {"tcp_handshake_fin", "tcp_rst",           "tcp_retransmission", "vlan_qinq",
        "ipv6_ext_headers",  "ipv4_fragments",    "ipv6_fragments",     "udp_dns",
        "icmp_echo",         "linktype_sll",      "linktype_sll2",      "linktype_raw",
        "linktype_null",     "pcapng_basic",      "pcap_nanosecond",    "truncated_file",
        "malformed_packets", "snaplen_truncated", "long_flow",          "idle_gap",
        "unknown_linktype",  "bad_magic",         "empty_file"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }
}

TEST_F(GoldenCasesTest, LibpcapReadsWhatTheCasesPromise) {
  for (const GoldenCase& c : *cases_) {
    SCOPED_TRACE(c.name);
    const ReadResult r = readCapture((*dir_ / c.file).string());
    ASSERT_EQ(r.opened, c.readable) << r.error;
    if (!r.opened) continue;
    EXPECT_EQ(r.link_type, static_cast<int>(c.link_type));
    EXPECT_EQ(r.read_error, c.read_error) << r.error;
    EXPECT_EQ(r.records.size(), c.records);
    size_t backwards = 0;
    for (size_t i = 1; i < r.records.size(); ++i) {
      backwards += r.records[i - 1].ts_ns > r.records[i].ts_ns;
    }
    EXPECT_EQ(backwards, c.time_jumps);  // a frame jumped ahead: one step back after it
    for (const ReadRecord& rec : r.records) EXPECT_LE(rec.caplen, rec.orig_len);
  }
}

TEST_F(GoldenCasesTest, ConversationCountsEqualWhatIsRead) {
  for (const GoldenCase& c : *cases_) {
    if (!c.has_expect) continue;
    SCOPED_TRACE(c.name);
    const ReadResult r = readCapture((*dir_ / c.file).string());
    ASSERT_TRUE(r.opened);
    uint64_t listed = 0;
    for (const Conversation& want : c.conversations) {
      SCOPED_TRACE(toJson(want));
      const Conversation got = measureConversation(r.link_type, r.records, want, c.time_jumps == 0);
      EXPECT_EQ(got.ab.packets, want.ab.packets);
      EXPECT_EQ(got.ba.packets, want.ba.packets);
      EXPECT_EQ(got.ab.wire_bytes, want.ab.wire_bytes);
      EXPECT_EQ(got.ba.wire_bytes, want.ba.wire_bytes);
      EXPECT_EQ(got.ab.payload_bytes, want.ab.payload_bytes);
      EXPECT_EQ(got.ba.payload_bytes, want.ba.payload_bytes);
      if (c.time_jumps == 0) {  // else truth keeps the times frames were sent, not stamped
        EXPECT_EQ(got.first_ns, want.first_ns);
        EXPECT_EQ(got.last_ns, want.last_ns);
      }
      listed += want.packets();
    }
    // Every readable record is in exactly one listed conversation or is a listed oddity.
    EXPECT_EQ(listed + c.malformed.size(), c.records);
  }
}

TEST_F(GoldenCasesTest, WellFormedCasesHaveValidChecksums) {
  for (const GoldenCase& c : *cases_) {
    if (!c.readable || c.link_type == kLinkTypeUser0) continue;
    SCOPED_TRACE(c.name);
    const ReadResult r = readCapture((*dir_ / c.file).string());
    std::set<uint64_t> odd;
    for (const MalformedRecord& m : c.malformed) odd.insert(m.index);
    size_t checked = 0;
    for (size_t i = 0; i < r.records.size(); ++i) {
      if (odd.count(i) != 0) continue;
      const DecodedPacket p = decodePacket(r.link_type, r.records[i].data, r.records[i].orig_len);
      EXPECT_TRUE(p.ok) << "record " << i;
      EXPECT_TRUE(p.checksums_ok) << "record " << i;
      checked += p.checksums_checked ? 1 : 0;
    }
    if (c.name != "snaplen_truncated") {
      EXPECT_GT(checked, 0u);
    }
  }
}

TEST_F(GoldenCasesTest, MalformedCaseHoldsEachDefect) {
  const auto it = std::find_if(cases_->begin(), cases_->end(),
                               [](const GoldenCase& c) { return c.name == "malformed_packets"; });
  ASSERT_NE(it, cases_->end());
  const ReadResult r = readCapture((*dir_ / it->file).string());
  std::map<std::string, const ReadRecord*> by_defect;
  for (const MalformedRecord& m : it->malformed) by_defect[m.defect] = &r.records.at(m.index);
  ASSERT_EQ(by_defect.size(), 8u);
  EXPECT_LT(by_defect["frame_shorter_than_ethernet"]->caplen, 14u);
  EXPECT_EQ(by_defect["ipv4_ihl_below_5"]->data[14] & 0x0f, 4);
  const ReadRecord* long_total = by_defect["ipv4_total_length_beyond_capture"];
  EXPECT_GT((long_total->data[16] << 8 | long_total->data[17]) + 14u, long_total->orig_len);
  EXPECT_EQ(by_defect["ip_bad_version"]->data[14] >> 4, 7);
  EXPECT_LT(by_defect["tcp_data_offset_below_5"]->data[14 + 20 + 12] >> 4, 5);
  EXPECT_EQ(by_defect["udp_shorter_than_header"]->orig_len, 14u + 20 + 4);
  const DecodedPacket deep = decodePacket(1, by_defect["ipv6_too_many_extension_headers"]->data,
                                          by_defect["ipv6_too_many_extension_headers"]->orig_len);
  EXPECT_GT(deep.ext_headers, 16u);
  EXPECT_EQ(by_defect["not_ip_arp"]->data[12], 0x08);
  EXPECT_EQ(by_defect["not_ip_arp"]->data[13], 0x06);
}

TEST_F(GoldenCasesTest, ExpectJsonMatchesTheTruth) {
  for (const GoldenCase& c : *cases_) {
    if (!c.has_expect) continue;
    SCOPED_TRACE(c.name);
    std::ifstream in(*dir_ / (c.name + ".expect.json"));
    const nlohmann::json j = nlohmann::json::parse(in);
    EXPECT_EQ(j.at("case"), c.name);
    EXPECT_EQ(j.at("file"), c.file);
    EXPECT_EQ(j.at("records"), c.records);
    const auto& convs = j.at("conversations");
    ASSERT_EQ(convs.size(), c.conversations.size());
    for (size_t i = 0; i < convs.size(); ++i) {
      const Conversation& want = c.conversations[i];
      EXPECT_EQ(convs[i].at("proto"), want.proto);
      EXPECT_EQ(convs[i].at("a"), want.a.toString());
      EXPECT_EQ(convs[i].at("a_port"), want.a_port);
      EXPECT_EQ(convs[i].at("b"), want.b.toString());
      EXPECT_EQ(convs[i].at("b_port"), want.b_port);
      EXPECT_EQ(convs[i].at("vlan").get<std::vector<uint16_t>>(), want.vlans);
      EXPECT_EQ(convs[i].at("pkts_ab"), want.ab.packets);
      EXPECT_EQ(convs[i].at("pkts_ba"), want.ba.packets);
      EXPECT_EQ(convs[i].at("bytes_ab"), want.ab.wire_bytes);
      EXPECT_EQ(convs[i].at("bytes_ba"), want.ba.wire_bytes);
      EXPECT_EQ(convs[i].at("first_ns").get<int64_t>(), want.first_ns);
    }
  }
}

TEST_F(GoldenCasesTest, SpecificCasesHoldWhatTheirNamesSay) {
  std::map<std::string, const GoldenCase*> by_name;
  for (const GoldenCase& c : *cases_) by_name[c.name] = &c;
  const auto& vlan = by_name.at("vlan_qinq")->conversations;
  ASSERT_EQ(vlan.size(), 2u);
  EXPECT_EQ(vlan[0].a_port, vlan[1].a_port);
  EXPECT_NE(vlan[0].vlans, vlan[1].vlans);
  EXPECT_LT(vlan[1].first_ns, vlan[0].last_ns);  // alive at the same time

  const Conversation& long_flow = by_name.at("long_flow")->conversations.at(0);
  EXPECT_GE(long_flow.last_ns - long_flow.first_ns, 100 * kNsPerSec);

  const auto& idle = by_name.at("idle_gap")->conversations;
  ASSERT_EQ(idle.size(), 2u);
  EXPECT_GE(idle[1].first_ns - idle[0].last_ns, 200 * kNsPerSec);

  const ReadResult snap = readCapture((*dir_ / "snaplen_truncated.pcap").string());
  size_t cut = 0;
  for (const ReadRecord& r : snap.records) cut += r.caplen < r.orig_len ? 1 : 0;
  EXPECT_GT(cut, 10u);

  const ReadResult nano = readCapture((*dir_ / "pcap_nanosecond.pcap").string());
  size_t sub_us = 0;
  for (const ReadRecord& r : nano.records) sub_us += r.ts_ns % 1000 != 0 ? 1 : 0;
  EXPECT_GT(sub_us, nano.records.size() / 2);
  EXPECT_TRUE(by_name.at("pcap_nanosecond")->nanosecond);

  EXPECT_EQ(fs::file_size(*dir_ / "empty_file.pcap"), 0u);

  // The direction cases open where their names say: at a SYN/ACK from the
  // server (and a lone one), and mid-stream (no SYN at all).
  auto tcpFlags = [&](const std::string& file) {
    std::vector<std::pair<uint16_t, uint8_t>> out;  // (source port, flags)
    for (const ReadRecord& r : readCapture((*dir_ / file).string()).records) {
      const size_t tcp = 14 + (r.data.at(14) & 0x0f) * 4u;  // Ethernet, IPv4
      out.emplace_back(getBe16(r.data, tcp), r.data.at(tcp + 13));
    }
    return out;
  };
  const auto syn_ack = tcpFlags("tcp_first_seen_at_syn_ack.pcap");
  ASSERT_FALSE(syn_ack.empty());
  EXPECT_EQ(syn_ack.front(), std::make_pair(uint16_t{80}, uint8_t{kTcpSyn | kTcpAck}));
  EXPECT_EQ(syn_ack.back(), std::make_pair(uint16_t{443}, uint8_t{kTcpSyn | kTcpAck}));
  for (size_t i = 1; i < syn_ack.size(); ++i) {
    EXPECT_TRUE(syn_ack[i].first == 443 || !(syn_ack[i].second & kTcpSyn)) << i;
  }
  const auto mid = tcpFlags("tcp_mid_stream.pcap");
  ASSERT_FALSE(mid.empty());
  EXPECT_EQ(mid.front().first, 443);  // the server's data first
  for (const auto& [port, flags] : mid) EXPECT_FALSE(flags & kTcpSyn) << port;

  // tcp_simultaneous_close: in each connection the second FIN acknowledges
  // only the data before the first (the FINs cross); then each side's ACK of
  // the other's FIN, except the one the second connection loses.
  const ReadResult simul = readCapture((*dir_ / "tcp_simultaneous_close.pcap").string());
  struct Segment {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
  };
  std::map<uint16_t, std::vector<Segment>> by_client_port;
  for (const ReadRecord& r : simul.records) {
    const size_t tcp = 14 + (r.data.at(14) & 0x0f) * 4u;  // Ethernet, IPv4
    const Segment s{getBe16(r.data, tcp), getBe16(r.data, tcp + 2), getBe32(r.data, tcp + 4),
                    getBe32(r.data, tcp + 8), r.data.at(tcp + 13)};
    by_client_port[s.sport == 80 ? s.dport : s.sport].push_back(s);
  }
  ASSERT_EQ(by_client_port.size(), 2u);
  size_t final_acks_seen = 0;
  for (const auto& [port, segments] : by_client_port) {
    SCOPED_TRACE(port);
    std::vector<Segment> fins;
    for (const Segment& s : segments) {
      if (s.flags & kTcpFin) fins.push_back(s);
    }
    ASSERT_EQ(fins.size(), 2u);
    EXPECT_NE(fins[0].sport, fins[1].sport);
    EXPECT_EQ(fins[1].ack, fins[0].seq);  // has not seen the first FIN
    for (const Segment& s : segments) {
      const Segment& peer_fin = s.sport == fins[0].sport ? fins[1] : fins[0];
      if (!(s.flags & kTcpFin) && (s.flags & kTcpAck) && s.ack == peer_fin.seq + 1) {
        ++final_acks_seen;
      }
    }
  }
  EXPECT_EQ(final_acks_seen, 3u);  // two in the first connection, one in the second
}

TEST_F(GoldenCasesTest, TsharkDecodesWellFormedCasesCleanly) {
  ASSERT_TRUE(fs::exists(kTshark)) << kTshark << " missing: scripts/setup installs tshark";
  for (const GoldenCase& c : *cases_) {
    // malformed_packets shows the check can fail: tshark must flag its runt frame.
    const bool control = c.name == "malformed_packets";
    if (!c.readable || (!c.well_formed && !control)) continue;
    SCOPED_TRACE(c.name);
    const std::string file = (*dir_ / c.file).string();
    // One line per frame: its number, then "Malformed Packet" text if tshark found it so.
    const std::string out = run(std::string(kTshark) + " -r '" + file +
                                "' -T fields -E separator=/t -e frame.number -e _ws.malformed");
    EXPECT_EQ(countLines(out), c.records);
    std::string malformed;
    for (size_t start = 0; start < out.size();) {
      const size_t end = out.find('\n', start);
      const std::string line = out.substr(start, end - start);
      if (line.find('\t') + 1 < line.size()) malformed += line + "; ";
      start = end == std::string::npos ? out.size() : end + 1;
    }
    if (control) {
      EXPECT_NE(malformed, "");
    } else {
      EXPECT_EQ(malformed, "");
    }
  }
}

TEST_F(GoldenCasesTest, TsharkCountsTheSameConversationBytes) {
  ASSERT_TRUE(fs::exists(kTshark)) << kTshark << " missing: scripts/setup installs tshark";
  // Cases without fragments, so tshark's reassembly does not move ports between frames.
  for (const char* name :
       {"tcp_handshake_fin", "tcp_retransmission", "vlan_qinq", "udp_dns", "linktype_sll2",
        "linktype_null", "pcapng_basic", "clock_jump", "tcp_rst_out_of_window",
        "tcp_first_seen_at_syn_ack", "tcp_mid_stream"}) {
    SCOPED_TRACE(name);
    const auto it = std::find_if(cases_->begin(), cases_->end(),
                                 [&](const GoldenCase& c) { return c.name == name; });
    ASSERT_NE(it, cases_->end());
    const std::string out =
        run(std::string(kTshark) + " -r '" + (*dir_ / it->file).string() +
            "' -T fields -E separator=/t -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport "
            "-e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e ieee8021ad.id -e vlan.id "
            "-e frame.len");
    // Per (source, destination, 802.1ad and 802.1Q ids): frames and bytes as tshark sees them.
    std::map<std::string, std::pair<uint64_t, uint64_t>> seen;
    size_t start = 0;
    while (start < out.size()) {
      const size_t end = out.find('\n', start);
      std::string line = out.substr(start, end - start);
      start = end == std::string::npos ? out.size() : end + 1;
      const size_t last_tab = line.rfind('\t');
      ASSERT_NE(last_tab, std::string::npos);
      auto& entry = seen[line.substr(0, last_tab)];
      entry.first += 1;
      entry.second += std::stoull(line.substr(last_tab + 1));
    }
    for (const Conversation& c : it->conversations) {
      if (c.proto != 6 && c.proto != 17) continue;
      // The fields before frame.len, tab-separated, as tshark prints them.
      auto key = [&c](const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport) {
        std::string k;
        for (const auto& [ip, port] : {std::pair{src, sport}, std::pair{dst, dport}}) {
          k.append(ip.isV6() ? "" : ip.toString()).append("\t");
          k.append(ip.isV6() ? ip.toString() : "").append("\t");
          k.append(c.proto == 6 ? std::to_string(port) : "").append("\t");
          k.append(c.proto == 17 ? std::to_string(port) : "").append("\t");
        }
        // Our cases use an 802.1ad outer tag only in front of an 802.1Q one.
        k.append(c.vlans.size() == 2 ? std::to_string(c.vlans[0]) : "").append("\t");
        k.append(c.vlans.empty() ? "" : std::to_string(c.vlans.back()));
        return k;
      };
      EXPECT_EQ(seen[key(c.a, c.a_port, c.b, c.b_port)],
                std::make_pair(c.ab.packets, c.ab.wire_bytes));
      EXPECT_EQ(seen[key(c.b, c.b_port, c.a, c.a_port)],
                std::make_pair(c.ba.packets, c.ba.wire_bytes));
    }
  }
}

TEST(PcapgenCliTest, CasesAreByteIdenticalAcrossRuns) {
  const fs::path a = scratchDir("cli_a");
  const fs::path b = scratchDir("cli_b");
  int status = -1;
  run(std::string(EDGESENSE_PCAPGEN) + " cases " + a.string(), &status);
  ASSERT_EQ(status, 0);
  run(std::string(EDGESENSE_PCAPGEN) + " cases " + b.string(), &status);
  ASSERT_EQ(status, 0);
  size_t captures = 0;
  size_t expects = 0;
  for (const auto& entry : fs::directory_iterator(a)) {
    const bool json = entry.path().extension() == ".json";
    (json ? expects : captures) += 1;
    const fs::path other = b / entry.path().filename();
    ASSERT_TRUE(fs::exists(other)) << other;
    EXPECT_EQ(fileBytes(entry.path()), fileBytes(other)) << entry.path().filename();
  }
  EXPECT_EQ(captures, goldenCaseNames().size());
  EXPECT_GE(expects, 15u);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(PcapgenCliTest, SampleIsDeterministicRealisticAndSmall) {
  const fs::path dir = scratchDir("sample");
  int status = -1;
  for (const char* name : {"a.pcap", "b.pcap"}) {
    run(std::string(EDGESENSE_PCAPGEN) + " sample " + (dir / name).string() + " --seed 7", &status);
    ASSERT_EQ(status, 0);
  }
  run(std::string(EDGESENSE_PCAPGEN) + " sample " + (dir / "c.pcap").string() + " --seed 8",
      &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(fileBytes(dir / "a.pcap"), fileBytes(dir / "b.pcap"));
  EXPECT_NE(fileBytes(dir / "a.pcap"), fileBytes(dir / "c.pcap"));
  EXPECT_LT(fs::file_size(dir / "a.pcap"), 20u << 20);

  const ReadResult r = readCapture((dir / "a.pcap").string());
  ASSERT_TRUE(r.opened);
  EXPECT_FALSE(r.read_error);
  EXPECT_EQ(r.snaplen, 128u);
  ASSERT_GT(r.records.size(), 10000u);
  EXPECT_EQ(r.records.front().ts_ns / kNsPerSec, kDefaultBaseTimeNs / kNsPerSec);
  const int64_t span = r.records.back().ts_ns - r.records.front().ts_ns;
  EXPECT_GT(span, 120 * kNsPerSec);
  EXPECT_LT(span, 600 * kNsPerSec);
  std::set<std::tuple<uint8_t, IpAddress, uint16_t, IpAddress, uint16_t>> flows;
  size_t v6 = 0;
  size_t syn_only = 0;
  for (size_t i = 0; i < r.records.size(); ++i) {
    const ReadRecord& rec = r.records[i];
    if (i > 0) {
      ASSERT_LE(r.records[i - 1].ts_ns, rec.ts_ns);
    }
    const DecodedPacket p = decodePacket(r.link_type, rec.data, rec.orig_len);
    ASSERT_TRUE(p.ok) << "record " << i;
    ASSERT_TRUE(p.checksums_ok) << "record " << i;  // the IPv4 header is always captured
    v6 += p.src.isV6() ? 1 : 0;
    const auto key = p.src < p.dst ? std::make_tuple(p.proto, p.src, p.src_port, p.dst, p.dst_port)
                                   : std::make_tuple(p.proto, p.dst, p.dst_port, p.src, p.src_port);
    flows.insert(key);
    if (p.proto == 6 && rec.data.size() > 14 + 20 + 13 && !p.src.isV6()) {
      syn_only += rec.data[14 + 20 + 13] == kTcpSyn ? 1 : 0;
    }
  }
  EXPECT_GT(flows.size(), 200u);
  EXPECT_LT(flows.size(), 2000u);
  EXPECT_GT(v6, 100u);
  EXPECT_GT(syn_only, 50u);  // the port scan
  fs::remove_all(dir);
}

TEST(PcapgenCliTest, BenchWritesExactlyTheAskedPacketsWithARealisticSizeMix) {
  const fs::path dir = scratchDir("bench");
  int status = -1;
  const fs::path file = dir / "bench.pcap";
  run(std::string(EDGESENSE_PCAPGEN) + " bench " + file.string() +
          " --packets 60000 --flows 3000 --seed 3",
      &status);
  ASSERT_EQ(status, 0);
  const ReadResult r = readCapture(file.string());
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.records.size(), 60000u);
  size_t small = 0;
  size_t mtu = 0;
  size_t medium = 0;
  std::set<std::tuple<IpAddress, uint16_t, IpAddress, uint16_t>> flows;
  for (size_t i = 0; i < r.records.size(); ++i) {
    const ReadRecord& rec = r.records[i];
    if (i > 0) {
      ASSERT_LE(r.records[i - 1].ts_ns, rec.ts_ns);
    }
    ASSERT_LE(rec.caplen, 128u);
    ASSERT_LE(rec.orig_len, 1514u);
    small += rec.orig_len <= 90 ? 1 : 0;
    mtu += rec.orig_len >= 1500 ? 1 : 0;
    medium += rec.orig_len > 90 && rec.orig_len < 1500 ? 1 : 0;
    const DecodedPacket p = decodePacket(r.link_type, rec.data, rec.orig_len);
    ASSERT_TRUE(p.ok && p.checksums_ok);
    flows.insert(p.src < p.dst ? std::make_tuple(p.src, p.src_port, p.dst, p.dst_port)
                               : std::make_tuple(p.dst, p.dst_port, p.src, p.src_port));
  }
  EXPECT_GT(small, r.records.size() / 5);
  EXPECT_GT(mtu, r.records.size() / 5);
  EXPECT_GT(medium, r.records.size() / 50);
  EXPECT_GT(flows.size(), 2500u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgesense::testsupport
