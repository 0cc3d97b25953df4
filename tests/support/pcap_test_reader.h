#pragma once

/// Test-only reading side: libpcap reads what PcapWriter wrote, and a small decoder written
/// independently of PacketBuilder recovers addresses, ports and checksums so the tests
/// check the builder against something other than itself. Used by testsupport_test only.

#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "sessions.h"

namespace edgesense::testsupport {

struct ReadRecord {
  int64_t ts_ns = 0;
  uint32_t caplen = 0;
  uint32_t orig_len = 0;
  Bytes data;
};

struct ReadResult {
  bool opened = false;
  std::string error;   // open error, or the error that stopped reading
  int link_type = -1;  // LINKTYPE_* value (libpcap reports LINKTYPE_RAW as DLT_RAW, mapped back)
  int dlt = -1;        // what pcap_datalink() returned
  uint32_t snaplen = 0;
  bool read_error = false;
  std::vector<ReadRecord> records;
};

/// Reads every record with nanosecond precision until the end or the first error.
ReadResult readCapture(const std::string& path);

struct DecodedPacket {
  bool ok = false;  // an IPv4/IPv6 packet whose headers fit in the captured bytes
  std::vector<uint16_t> vlans;
  uint8_t proto = 0;  // upper-layer protocol after extension headers
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  bool fragment = false;        // part of a fragmented datagram
  bool first_fragment = false;  // offset 0: carries the transport header
  uint32_t fragment_id = 0;
  uint64_t payload_bytes = 0;  // TCP data, UDP length - 8, ICMP data after 8 bytes
  size_t ext_headers = 0;
  bool checksums_checked = false;  // the whole packet was captured and is not a fragment
  bool checksums_ok = true;        // IPv4 header and TCP/UDP/ICMP checksums verify
};

DecodedPacket decodePacket(int link_type, const Bytes& data, uint32_t orig_len);

/// Sums the packets of `records` that belong to `expected` (same protocol, endpoints in
/// either direction and VLAN list, within [first_ns, last_ns] unless `by_time` is false: a
/// case with frames stamped off on purpose keeps its tuples apart); non-first fragments are
/// joined to their datagram through the first fragment's (src, dst, id).
Conversation measureConversation(int link_type, const std::vector<ReadRecord>& records,
                                 const Conversation& expected, bool by_time = true);

}  // namespace edgesense::testsupport
