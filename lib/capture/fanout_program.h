#pragma once
/// The classic BPF program that spreads packets over the capture threads of
/// one interface in FanoutMode::kIpPair (PACKET_FANOUT_CBPF). The kernel runs
/// it on every packet the interface's fanout group receives and sends the
/// packet to member (result % members). Built once per handle at start-up.

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace edgesense::capture {

/// A hash of the IP source and destination addresses alone, the same for
/// both directions: IPv4 and IPv6, behind 802.1Q/802.1ad tags left in the
/// data (a tag the kernel moved to metadata changes nothing), on received
/// and on sent packets. Ports are not read, so IP fragments hash with their
/// datagram. Anything else returns 0.
std::vector<sock_filter> ipPairFanoutProgram();

}  // namespace edgesense::capture
