#pragma once
/// The rate-threshold baseline of `edgesense eval`: what a FastNetMon-style
/// detector would have said about the same flows. FastNetMon watches each
/// host's packets, bytes and flows per second, averaged over a few seconds
/// (its average_calculation_time, 5 s by default), and declares an attack
/// when one crosses a configured threshold. Here, per host and per 5 s
/// window of packet time: packets/s and SYN share towards a responder, new
/// flows/s towards it, and new flows/s and distinct ports from an
/// initiator. Computed from flow outcomes after the replay, by the thread
/// that owns them; docs/evaluation.md gives the thresholds and why.

#include <span>
#include <string>
#include <vector>

#include "evaluation/outcomes.h"

namespace edgesense::evaluation {

struct RateThresholds {
  double window_s = 5;  // FastNetMon's average_calculation_time default
  // Towards one responder host. FastNetMon's defaults (threshold_pps 20000,
  // threshold_flows 3500) are sized for a hosting network; an edge site's
  // hosts are served by a link some 40 times smaller.
  double dst_pps = 500;          // with at least syn_share of them SYNs: a SYN flood
  double syn_share = 0.5;        //
  double dst_pps_any = 5000;     // whatever the flags: a volumetric flood
  double dst_flows_per_s = 100;  // new flows towards one host
  // From one initiator (FastNetMon has no scan detector; this is the usual
  // rule of thumb of scan detectors: many new flows to many ports).
  double src_flows_per_s = 5;
  double src_distinct_ports = 20;  // in one window
};

/// The baseline's class for each flow, in order: "scan" when its initiator
/// crossed the scan thresholds in the window the flow started in, else
/// "dos" when its responder crossed a flood threshold in a window the flow
/// was active in, else "benign". Packets of a flow are spread evenly over
/// its duration (flow records carry counts, not packet times).
std::vector<std::string> rateBaseline(std::span<const FlowOutcome> flows,
                                      const RateThresholds& thresholds = {});

}  // namespace edgesense::evaluation
