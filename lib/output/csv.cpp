// Output: feature snapshots as CSV rows, the input of `edgesense train`.

#include "output/csv.h"

#include <charconv>
#include <cmath>

#include "output/eve.h"

namespace edgesense::output {

using features::FlowRecord;

void appendCsvHeader(std::string& out) {
  bool first = true;
  for (const char* c : kCsvKeyColumns) {
    if (!first) out += ',';
    out += c;
    first = false;
  }
  for (const features::FeatureDef& d : features::kSchema) {
    out += ',';
    out += d.name;
  }
  out += '\n';
}

namespace {

template <class T>
void number(std::string& out, T v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void appendCsvRow(std::string& out, const FlowRecord& r) {
  char buf[64];
  number(out, r.flow_id);
  out += ',';
  out.append(buf, decode::formatAddress(r.src, buf, sizeof buf));
  out += ',';
  number(out, r.src_port);
  out += ',';
  out.append(buf, decode::formatAddress(r.dst, buf, sizeof buf));
  out += ',';
  number(out, r.dst_port);
  out += ',';
  out += protoName(r.proto);
  out += ',';
  for (int i = 0; i < r.vlan_count; ++i) {  // "100" or "100.200" for QinQ
    if (i) out += '.';
    number(out, r.vlan[static_cast<std::size_t>(i)]);
  }
  out += ',';
  number(out, static_cast<double>(r.start_us) * 1e-6);
  out += ',';
  number(out, static_cast<double>(r.end_us) * 1e-6);
  out += ',';
  out += flow::endReasonName(r.reason);
  out += ',';
  number(out, r.window);
  for (double v : r.features) {
    out += ',';
    if (std::isfinite(v)) number(out, v);
  }
  out += '\n';
}

CsvSink::CsvSink(std::FILE* fp) : fp_(fp) {
  line_.reserve(8192);
  appendCsvHeader(line_);
  std::fwrite(line_.data(), 1, line_.size(), fp_);
}

CsvSink::~CsvSink() {
  flush();
  if (fp_ != stdout) std::fclose(fp_);
}

void CsvSink::onRecord(const FlowRecord& r) {
  line_.clear();
  appendCsvRow(line_, r);
  std::fwrite(line_.data(), 1, line_.size(), fp_);
}

bool CsvSink::flush() {
  return std::fflush(fp_) == 0 && !std::ferror(fp_);
}

}  // namespace edgesense::output
