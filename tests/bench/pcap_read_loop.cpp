// The benchmark's ceiling: a bare libpcap read loop that only counts
// packets and bytes. Measures libpcap's default stdio buffering and the
// 1 MiB buffer edgesense uses, so the ratio compares like with like.
//
//   edgesense-pcap-read-loop FILE [REPEAT]
// prints one JSON line per buffer mode: {"mode":..., "packets":..., "seconds":..., "pps":...}

#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

struct Result {
  unsigned long long packets = 0;
  unsigned long long bytes = 0;
  double seconds = 0;
};

Result readAll(const char* path, std::size_t buffer) {
  FILE* fp = std::fopen(path, "rb");
  if (fp == nullptr) {
    std::perror(path);
    std::exit(1);
  }
  std::unique_ptr<char[]> buf;
  if (buffer > 0) {
    buf = std::make_unique<char[]>(buffer);
    std::setvbuf(fp, buf.get(), _IOFBF, buffer);
  }
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
  if (p == nullptr) {
    std::fprintf(stderr, "%s: %s\n", path, err);
    std::exit(1);
  }
  Result r;
  const auto t0 = std::chrono::steady_clock::now();
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    ++r.packets;
    r.bytes += hdr->len;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  pcap_close(p);  // closes fp; buf outlives it
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [REPEAT]\n", argv[0]);
    return 2;
  }
  const int repeat = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::pair<const char*, std::size_t> modes[] = {{"stdio_default", 0},
                                                       {"buffer_1MiB", 1 << 20}};
  for (const auto& [name, size] : modes) {
    Result best;
    for (int i = 0; i < repeat; ++i) {
      const Result r = readAll(argv[1], size);
      if (best.seconds == 0 || r.seconds < best.seconds) best = r;
    }
    std::printf("{\"mode\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.0f}\n",
                name, best.packets, best.bytes, best.seconds,
                static_cast<double>(best.packets) / best.seconds);
  }
  return 0;
}
