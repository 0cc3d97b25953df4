// DNS message encoding for generated UDP/53 traffic.

#include "app_payload.h"

#include <stdexcept>

#include "byte_io.h"

namespace edgesense::testsupport {

namespace {

void appendName(Bytes& out, std::string_view name) {
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) throw std::invalid_argument("bad DNS name");
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  out.push_back(0);
}

Bytes dnsMessage(uint16_t id, uint16_t flags, std::string_view name, uint16_t qtype,
                 uint16_t answers) {
  Bytes out;
  appendBe16(out, id);
  appendBe16(out, flags);
  appendBe16(out, 1);  // questions
  appendBe16(out, answers);
  appendBe16(out, 0);  // authority
  appendBe16(out, 0);  // additional
  appendName(out, name);
  appendBe16(out, qtype);
  appendBe16(out, 1);  // IN
  return out;
}

}  // namespace

Bytes dnsQuery(uint16_t id, std::string_view name, uint16_t qtype) {
  return dnsMessage(id, 0x0100, name, qtype, 0);  // RD
}

Bytes dnsResponse(uint16_t id, std::string_view name, uint16_t qtype,
                  const std::vector<IpAddress>& answers, uint32_t ttl) {
  // QR, RD, RA; RCODE 3 (NXDOMAIN) when there is nothing to answer.
  const uint16_t flags = answers.empty() ? 0x8183 : 0x8180;
  Bytes out = dnsMessage(id, flags, name, qtype, static_cast<uint16_t>(answers.size()));
  for (const IpAddress& addr : answers) {
    if (addr.isV6() != (qtype == kDnsTypeAaaa)) {
      throw std::invalid_argument("DNS answer family does not match the query type");
    }
    appendBe16(out, 0xc00c);  // pointer to the question's name
    appendBe16(out, qtype);
    appendBe16(out, 1);
    appendBe32(out, ttl);
    appendBe16(out, static_cast<uint16_t>(addr.size()));
    out.insert(out.end(), addr.bytes().begin(), addr.bytes().end());
  }
  return out;
}

}  // namespace edgesense::testsupport
