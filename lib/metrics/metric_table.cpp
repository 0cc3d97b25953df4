// Metrics: the one table of exported families (name, type, labels, unit,
// help). The collector and the per-flow instruments take their names and
// help from here; docs/metrics.md is rendered from it.

#include <algorithm>

#include "metrics/metrics.h"

namespace edgesense::metrics {
namespace {

using enum MetricType;

constexpr MetricDef kMetrics[] = {
    // capture: summed over each interface's capture threads at scrape time
    {"edgesense_capture_packets_total", kCounter, "interface", "packets",
     "Packets read from the capture source."},
    {"edgesense_capture_bytes_total", kCounter, "interface", "bytes",
     "Wire length of every packet read."},
    {"edgesense_capture_kernel_drops_total", kCounter, "interface", "packets",
     "Packets the kernel dropped for want of capture buffer space (pcap_stats ps_drop)."},
    {"edgesense_capture_interface_drops_total", kCounter, "interface", "packets",
     "Packets the interface or its driver dropped (pcap_stats ps_ifdrop)."},
    {"edgesense_decode_errors_total", kCounter, "interface,reason", "packets",
     "Packets that did not decode, by reason (the replay summary's names). non_ip and "
     "unsupported_ip_proto are traffic without a flow model, not malformed packets."},
    // flow table
    {"edgesense_flow_active", kGauge, "interface", "flows", "Flows in the flow tables now."},
    {"edgesense_flow_created_total", kCounter, "interface", "flows", "Flows created."},
    {"edgesense_flow_ended_total", kCounter, "interface,reason", "flows",
     "Flows ended, by reason: tcp_fin, tcp_rst, idle_timeout, evicted (the table was full), "
     "shutdown, tcp_reuse (a TCP flow that never saw a SYN, ended by a fresh SYN on its ports)."},
    {"edgesense_flow_snapshots_total", kCounter, "interface", "records",
     "Interim records of long flows (active timeout); the flow goes on."},
    {"edgesense_flow_fragments_total", kCounter, "interface,result", "packets",
     "IPv4 and IPv6 later fragments, by whether their flow was found (attributed, unattributed)."},
    {"edgesense_flow_fragment_slots_overwritten_total", kCounter, "interface", "chains",
     "First fragments that took a fragment slot still holding another live chain (more chains "
     "in flight than flows.fragment_slots, or a collision): that chain's later fragments go "
     "unattributed."},
    {"edgesense_flow_evictions_total", kCounter, "interface,kind", "flows",
     "Flows evicted from a full table, by kind: half_open (TCP without a completed handshake) "
     "and one_packet (other flows of one packet), lone SYNs and one-packet flows before half-open "
     "flows of more packets; then closing (TCP after RST or FIN both ways); then established."},
    {"edgesense_flow_emergency", kGauge, "interface", "tables",
     "Flow tables in emergency mode now: a table enters it when full and leaves it when its "
     "active flows fall below flows.emergency_recovery percent; meanwhile the flows.emergency_* "
     "timeouts apply."},
    {"edgesense_flow_emergency_entries_total", kCounter, "interface", "entries",
     "Times a flow table entered emergency mode."},
    {"edgesense_flow_emergency_seconds_total", kCounter, "interface", "seconds",
     "Packet time the flow tables spent in emergency mode, summed over tables."},
    {"edgesense_flow_table_bytes", kGauge, "interface", "bytes",
     "Memory the flow tables hold (flows, hash slots, free list, generations, fragment slots), "
     "within flows.memcap when it is set."},
    {"edgesense_flow_clock_jumps_total", kCounter, "interface,direction", "packets",
     "Packets stamped further than flows.max_clock_jump ahead of or behind the flow clock "
     "(direction ahead, behind) and not confirmed by the next packet: accounted at the clock's "
     "time, the clock unmoved."},
    {"edgesense_flow_clock_steps_back_total", kCounter, "interface", "steps",
     "Times packet time stepped back further than flows.max_clock_jump and stayed there: the "
     "open flows ended and the flow clock restarted."},
    {"edgesense_flow_tcp_rst_out_of_window_total", kCounter, "interface", "packets",
     "TCP resets whose sequence number is outside the receiver's window (RFC 5961): counted "
     "in their flow, which goes on."},
    {"edgesense_flow_direction_flipped_total", kCounter, "interface,reason", "flows",
     "TCP flows whose initiator is not the sender of their first packet, by reason: syn_ack "
     "(first seen at the SYN-ACK: its receiver opened it), port (first seen mid-stream, sent "
     "from the lower port: the server's)."},
    // host context
    {"edgesense_host_table_entries", kGauge, "interface", "hosts", "Hosts in the host tables now."},
    {"edgesense_host_table_evictions_total", kCounter, "interface", "hosts",
     "Hosts evicted from a full host table."},
    // inference
    {"edgesense_inference_queue_depth", kGauge, "", "records",
     "Flow records waiting in the inference queue."},
    {"edgesense_inference_queue_drops_total", kCounter, "", "records",
     "Flow records dropped because the inference queue was full."},
    {"edgesense_inference_in_flight_drops_total", kCounter, "", "records",
     "Flow records dropped because inference.max_in_flight records were already between "
     "capture and output (bounds the reorder buffer)."},
    {"edgesense_inference_records_submitted_total", kCounter, "", "records",
     "Flow records handed to the inference pool."},
    {"edgesense_inference_records_scored_total", kCounter, "", "records",
     "Flow records scored by the inference workers."},
    {"edgesense_inference_batch_size_rows", kHistogram, "", "rows", "Records per scored batch."},
    {"edgesense_inference_batch_duration_seconds", kHistogram, "", "seconds",
     "Time to score one batch with every head."},
    {"edgesense_inference_verdicts_total", kCounter, "head,class", "flows",
     "Final flow verdicts by head and class (the bundle's class names; anomaly: anomaly or "
     "normal)."},
    {"edgesense_reel_flows_total", kCounter, "", "flows", "Flows whose final verdict is reel."},
    {"edgesense_reel_bytes_total", kCounter, "", "bytes",
     "Wire bytes, both directions, of flows whose final verdict is reel."},
    // alerts
    {"edgesense_alerts_total", kCounter, "head,class", "alerts",
     "Alert decisions by head and class, before aggregation: every scored record that raised "
     "one."},
    {"edgesense_alerts_written_total", kCounter, "", "alerts",
     "Alert records written at once (the first of their aggregation window)."},
    {"edgesense_alerts_suppressed_total", kCounter, "", "alerts",
     "Alerts counted into their aggregation window's follow-up instead of written."},
    {"edgesense_alerts_follow_ups_total", kCounter, "", "records",
     "Follow-up records written for aggregation windows with suppressed alerts."},
    {"edgesense_alerts_windows_evicted_total", kCounter, "", "windows",
     "Aggregation windows closed early because alerts.max_windows were open; each still writes "
     "its follow-up with its exact count."},
    {"edgesense_alerts_alerted_flows_evicted_total", kCounter, "", "flows",
     "Flows forgotten as having alerted because alerts.max_alerted_flows were remembered: their "
     "final records say alerted false."},
    {"edgesense_alerts_explained_total", kCounter, "", "alerts",
     "Alert records given an explanation (top features) as they were written; suppressed alerts "
     "are never explained."},
    {"edgesense_output_flow_records_total", kCounter, "", "records", "EVE flow records written."},
    {"edgesense_output_write_errors_total", kCounter, "", "errors",
     "Failed writes or flushes of an output sink."},
    // models
    {"edgesense_model_info", kGauge, "head,name,version", "",
     "1 for each serving bundle (head: reel, attack, anomaly)."},
    {"edgesense_model_generation", kGauge, "", "",
     "Generation of the serving model set: 1 at the first load, one more per reload."},
    {"edgesense_model_reloads_total", kCounter, "result", "reloads",
     "Model reloads by result: success, or failure (the old models kept serving)."},
    {"edgesense_model_feature_drift_psi", kGauge, "head,feature", "",
     "Population stability index of a top feature over the last full window of scored rows, "
     "against the bundle's training distribution (0.1: some shift, 0.25: large shift)."},
    // the daemon
    {"edgesense_build_info", kGauge, "version", "", "1, labelled with the edgesense version."},
    {"edgesense_pipeline_healthy", kGauge, "", "",
     "1 while the pipeline is alive (/healthz answers 200), else 0."},
    // the process: the names every Prometheus client library uses
    {"process_cpu_seconds_total", kCounter, "", "seconds", "User and system CPU time."},
    {"process_resident_memory_bytes", kGauge, "", "bytes", "Resident memory."},
    {"process_virtual_memory_bytes", kGauge, "", "bytes", "Virtual memory."},
    {"process_open_fds", kGauge, "", "fds", "Open file descriptors."},
    {"process_max_fds", kGauge, "", "fds", "The limit on open file descriptors."},
    {"process_start_time_seconds", kGauge, "", "seconds",
     "Start time of the process since the Unix epoch."},
};

std::string_view typeName(MetricType t) {
  switch (t) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    case kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::span<const MetricDef> metricTable() noexcept {
  return kMetrics;
}

const MetricDef* findMetric(std::string_view name) noexcept {
  const auto it = std::find_if(std::begin(kMetrics), std::end(kMetrics),
                               [&](const MetricDef& d) { return d.name == name; });
  return it == std::end(kMetrics) ? nullptr : &*it;
}

std::string markdown() {
  std::string out = R"(# Metrics

<!-- Generated from the table in lib/metrics/metric_table.cpp by
     metrics::markdown(); the test MetricsDocs.MarkdownMatchesTable keeps the
     two equal. After changing the table: EDGESENSE_UPDATE_DOCS=1
     build/tests/unit/metrics_test --gtest_filter=MetricsDocs.* -->

`edgesense run` serves one HTTP server at `metrics.listen` (default
`127.0.0.1:9750`; empty: none):

* `metrics.path` (default `/metrics`): these metrics, Prometheus text format 0.0.4.
* `/healthz`: 200 `ok` while the pipeline is alive, else 503 `unhealthy`.
* `/api/v1/models`: JSON, `{"generation": N, "bundles": [...]}`, one entry per
  serving bundle (shadow bundles too) with `head`, `role` (`live` or
  `shadow`), `name`, `version`, `task`, `kind`, `classes`, `thresholds` (by
  class; null for the class that is what is left), `features` (how many),
  `trained_at` and `training_metrics` (bundle.json's `training.metrics`).

Only GET and HEAD are answered. The listen address must be IPv4: Debian 12's
libcivetweb is built without IPv6, and a bracketed address is refused at
start with that reason.

Names are `edgesense_<subsystem>_<name>_<unit>`, counters end in `_total`,
values are in base units (seconds, bytes). Labels have few values and none
ever holds an address: `interface` is the capture interface's name, `reason`
and `result` come from fixed lists, `head`, `class` and `feature` from the
serving bundles. Capture, flow and host counters are plain per-thread fields
on the packet path, published periodically by each capture thread and summed
per interface at scrape time. Verdicts, reel flows and reel bytes count each
flow once, at its final record; alerts count every scored record that raised
one, interim snapshots included (as the EVE output does). The `process_*`
families have the names every Prometheus client library gives them, so
existing dashboards and alerts work; they are read from `/proc/self` at scrape
time.

Feature drift is watched, for each head, on the (at most )" +
                    std::to_string(kDriftFeatures) + R"() features with the highest total
split gain in the XGBoost model, or the most splits in the isolation forest,
that have training quantiles in bundle.json. Each window of )" +
                    std::to_string(kDriftWindowRows) + R"( rows that head
scored is binned at the distinct training deciles and compared with the
training share of each bin that bundle.json records (a bundle without
shares has them estimated from the deciles: a run of equal deciles, a point
mass, is merged into the next bin, whose training share is then known); the
population stability index, the sum of (a - e) ln(a / e) over the bins with
shares floored at 0.001, replaces the gauge. A gauge appears after the
first full window; a reload that changes a head's bundle removes that head's
gauges until the new bundle's first full window.

| metric | type | labels | unit | meaning |
|---|---|---|---|---|
)";
  // append() rather than operator+: GCC 12 warns falsely (-Wrestrict) on
  // "literal" + std::string chains.
  for (const MetricDef& d : kMetrics) {
    out.append("| `").append(d.name).append("` | ").append(typeName(d.type)).append(" | ");
    std::string_view rest = d.labels;
    for (bool first = true; !rest.empty(); first = false) {
      const std::size_t comma = rest.find(',');
      out.append(first ? "`" : ", `").append(rest.substr(0, comma)).append("`");
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    out.append(" | ").append(d.unit).append(" | ").append(d.help).append(" |\n");
  }
  return out;
}

}  // namespace edgesense::metrics
