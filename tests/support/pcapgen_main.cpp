// edgesense-pcapgen: deterministic captures for demos (sample), benchmarks (bench), the
// golden tests (cases) and model training (labelled). Output depends only on the
// arguments, never on the clock.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <string>

#include "bench_capture.h"
#include "golden_cases.h"
#include "labelled_capture.h"
#include "pcap_writer.h"
#include "sample_capture.h"

namespace {

using namespace edgesense::testsupport;

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

/// Seconds since the epoch ("1767225600") or UTC "YYYY-MM-DDTHH:MM:SS[Z]", as nanoseconds.
int64_t parseStart(const std::string& text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d-%u-%uT%u:%u:%u%c", &y, &mo, &d, &h, &mi, &s, &tail) >= 6 &&
      (tail == 0 || tail == 'Z') && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 &&
      s < 61) {
    const int64_t days = daysFromCivil(y, mo, d);
    return ((days * 24 + h) * 60 + mi) * 60 * kNsPerSec + static_cast<int64_t>(s) * kNsPerSec;
  }
  size_t used = 0;
  const long long seconds = std::stoll(text, &used);
  if (used != text.size() || seconds < 0) throw std::invalid_argument("bad --start: " + text);
  return seconds * kNsPerSec;
}

void printSummary(const std::string& path, const CaptureSummary& s) {
  std::printf(
      "%s: %llu packets, %llu flows, %llu wire bytes, %llu file bytes, %.3f s\n", path.c_str(),
      static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.flows),
      static_cast<unsigned long long>(s.wire_bytes), static_cast<unsigned long long>(s.file_bytes),
      static_cast<double>(s.last_ns - s.first_ns) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes deterministic packet captures for edgesense's tests, demo and benchmarks."};
  app.require_subcommand(1);
  std::string start = "2026-01-01T00:00:00Z";

  std::string sample_out;
  SampleOptions sample;
  auto* sample_cmd = app.add_subcommand("sample", "a few minutes of a small network's traffic");
  sample_cmd->add_option("OUT", sample_out, "output .pcap")->required();
  sample_cmd->add_option("--seed", sample.seed, "PRNG seed")->capture_default_str();
  sample_cmd->add_option("--start", start, "first flow time: epoch seconds or UTC ISO 8601")
      ->capture_default_str();
  sample_cmd->add_option("--snaplen", sample.snaplen, "captured bytes per packet")
      ->capture_default_str()
      ->check(CLI::Range(64u, kMaxSnaplen));

  std::string bench_out;
  BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "millions of packets of interleaved flows");
  bench_cmd->add_option("OUT", bench_out, "output .pcap")->required();
  bench_cmd->add_option("--packets", bench.packets, "records to write")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench_cmd->add_option("--flows", bench.flows, "flows to draw")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench_cmd->add_option("--seed", bench.seed, "PRNG seed")->capture_default_str();
  bench_cmd->add_option("--start", start, "first flow time: epoch seconds or UTC ISO 8601")
      ->capture_default_str();
  bench_cmd->add_option("--snaplen", bench.snaplen, "captured bytes per packet")
      ->capture_default_str()
      ->check(CLI::Range(64u, kMaxSnaplen));

  std::string cases_dir;
  auto* cases_cmd = app.add_subcommand("cases", "one small capture per golden case");
  cases_cmd->add_option("DIR", cases_dir, "output directory")->required();
  cases_cmd->add_option("--start", start, "base time: epoch seconds or UTC ISO 8601")
      ->capture_default_str();

  std::string labelled_out;
  std::string labels_out;
  LabelledOptions labelled;
  double minutes = 10.0;
  auto* labelled_cmd =
      app.add_subcommand("labelled", "a site's traffic with reels and attacks, and its labels");
  labelled_cmd->add_option("OUT", labelled_out, "output .pcap")->required();
  labelled_cmd->add_option("LABELS", labels_out, "output labels .csv")->required();
  labelled_cmd->add_option("--seed", labelled.seed, "PRNG seed")->capture_default_str();
  labelled_cmd->add_option("--minutes", minutes, "length of the traffic")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 240.0));
  labelled_cmd->add_option("--start", start, "first flow time: epoch seconds or UTC ISO 8601")
      ->capture_default_str();
  labelled_cmd->add_option("--snaplen", labelled.snaplen, "captured bytes per packet")
      ->capture_default_str()
      ->check(CLI::Range(64u, kMaxSnaplen));

  CLI11_PARSE(app, argc, argv);

  try {
    const int64_t start_ns = parseStart(start);
    if (sample_cmd->parsed()) {
      sample.start_ns = start_ns;
      printSummary(sample_out, writeSampleCapture(sample_out, sample));
    } else if (bench_cmd->parsed()) {
      bench.start_ns = start_ns;
      printSummary(bench_out, writeBenchCapture(bench_out, bench));
    } else if (labelled_cmd->parsed()) {
      labelled.start_ns = start_ns;
      labelled.duration_ns = static_cast<int64_t>(minutes * 60.0 * 1e9);
      const LabelledSummary s = writeLabelledCapture(labelled_out, labels_out, labelled);
      printSummary(labelled_out, s.capture);
      size_t per_category[std::size(kCategoryNames)] = {};
      for (const LabelRow& row : s.rows) ++per_category[static_cast<size_t>(row.category)];
      std::printf("%s: %zu rows", labels_out.c_str(), s.rows.size());
      for (size_t i = 0; i < std::size(kCategoryNames); ++i) {
        std::printf("%s%s %zu", i == 0 ? " (" : ", ", kCategoryNames[i], per_category[i]);
      }
      std::printf(")\n");
    } else if (cases_cmd->parsed()) {
      for (const GoldenCase& c : writeGoldenCases(cases_dir, start_ns)) {
        std::printf("%s/%s: %llu records%s\n", cases_dir.c_str(), c.file.c_str(),
                    static_cast<unsigned long long>(c.records),
                    c.has_expect ? ", expect.json" : "");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgesense-pcapgen: %s\n", e.what());
    return 1;
  }
  return 0;
}
