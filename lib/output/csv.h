#pragma once
/// CSV output: one row per feature snapshot (interim windows and final
/// records), key columns then every feature in schema order. The header comes
/// from the feature schema, so training reads exactly what replay wrote.
/// Undefined (NaN) values are empty fields.

#include <cstdio>
#include <string>

#include "features/flow_record.h"

namespace edgesense::output {

/// The key columns that precede the features.
inline constexpr const char* kCsvKeyColumns[] = {"flow_id",   "src_ip", "src_port", "dest_ip",
                                                 "dest_port", "proto",  "vlan",     "start",
                                                 "end",       "reason", "window"};

void appendCsvHeader(std::string& out);
void appendCsvRow(std::string& out, const features::FlowRecord& r);

class CsvSink final : public features::RecordSink {
 public:
  /// Takes ownership of fp unless it is stdout; writes the header at once.
  explicit CsvSink(std::FILE* fp);
  ~CsvSink() override;
  CsvSink(const CsvSink&) = delete;
  CsvSink& operator=(const CsvSink&) = delete;

  void onRecord(const features::FlowRecord& r) override;
  bool flush();

 private:
  std::FILE* fp_;
  std::string line_;
};

}  // namespace edgesense::output
