#!/usr/bin/env python3
"""docs/eve.schema.json: a valid draft-7 schema that accepts the golden EVE
records and refuses records with the mistakes it is there to catch (a field
missing, renamed, of the wrong type, or in the wrong kind of record).
Whether real output passes is checked where it is made: the golden tests,
integration.replay_cli, integration.scoring and integration.run_daemon.

  eve_schema_test.py --schema docs/eve.schema.json --golden tests/golden
"""
import argparse
import copy
import json
import sys
from pathlib import Path

import jsonschema

# The shape lib/output/eve.cpp gives an alert (a follow-up, with everything).
ALERT = {
    "timestamp": "2026-01-01T00:01:00.000000+0000", "flow_id": 1, "event_type": "alert",
    "src_ip": "192.0.2.1", "src_port": 40000, "dest_ip": "198.51.100.1", "dest_port": 22,
    "proto": "TCP", "ip_v": 4,
    "alert": {"action": "allowed", "gid": 1, "signature_id": 9000003, "rev": 1,
              "signature": "edgesense attack model: brute force", "category": "Attempted User Privilege Gain",
              "severity": 1,
              "metadata": {"mitre_tactic_id": ["TA0006"], "mitre_tactic_name": ["Credential Access"],
                           "mitre_technique_id": ["T1110"], "mitre_technique_name": ["Brute Force"]}},
    "flow": {"pkts_toserver": 10, "pkts_toclient": 9, "bytes_toserver": 1500, "bytes_toclient": 2100,
             "start": "2026-01-01T00:00:00.000000+0000"},
    "edgesense": {"class": "bruteforce", "window": 0,
                  "verdict": {"attack": {"class": "bruteforce", "probability": 0.97,
                                         "probabilities": {"benign": 0.03, "bruteforce": 0.97}},
                              "anomaly": {"score": 0.4, "alert": False}, "alerted": True},
                  "models": {"attack": {"name": "attack", "version": "1"},
                             "anomaly": {"name": "anomaly", "version": "1"}},
                  "top_features": [{"name": "duration", "value": 1.5, "contribution": 0.8},
                                   {"name": "fwd_iat_mean", "value": None, "contribution": -0.1}],
                  "aggregate": {"suppressed": 4, "window_start": "2026-01-01T00:00:00.000000+0000",
                                "window_end": "2026-01-01T00:01:00.000000+0000"}},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--golden", required=True)
    opts = ap.parse_args()
    schema = json.loads(Path(opts.schema).read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    failures = []

    records = []
    for eve in sorted(Path(opts.golden).glob("*/expected/eve.json")):
        records += [(f"{eve.parent.parent.name}:{n}", json.loads(line))
                    for n, line in enumerate(eve.read_text().splitlines(), 1)]
    records.append(("alert fixture", ALERT))
    for where, r in records:
        for e in validator.iter_errors(r):
            failures.append(f"{where}: a good record is refused: {e.message}")
    kinds = {(r["event_type"], r["proto"]) for _, r in records}
    for kind in [("flow", "TCP"), ("flow", "UDP"), ("flow", "ICMP"), ("alert", "TCP")]:
        if kind not in kinds:
            failures.append(f"no {kind} record to mutate")

    def first(event_type, proto):
        return next(copy.deepcopy(r) for _, r in records
                    if r["event_type"] == event_type and r["proto"] == proto)

    def refused(what, record, mutate):
        mutate(record)
        if validator.is_valid(record):
            failures.append(f"accepted: {what}")

    tcp, udp, icmp = first("flow", "TCP"), first("flow", "UDP"), first("flow", "ICMP")
    mutations = [
        ("a flow record without edgesense.end_reason", tcp, lambda r: r["edgesense"].pop("end_reason")),
        ("an unknown field in edgesense", tcp, lambda r: r["edgesense"].__setitem__("endreason", "x")),
        ("an unknown top-level field", tcp, lambda r: r.__setitem__("sensor", "x")),
        ("a string packet count", tcp, lambda r: r["flow"].__setitem__("pkts_toserver", "7")),
        ("a flow record without flow.end", tcp, lambda r: r["flow"].pop("end")),
        ("a TCP flow record without ports", tcp, lambda r: r.pop("dest_port")),
        ("a TCP flow record without tcp", tcp, lambda r: r.pop("tcp")),
        ("a TCP flow record without conn_state", tcp, lambda r: r["edgesense"].pop("conn_state")),
        ("a UDP flow record with a tcp object", udp, lambda r: r.__setitem__("tcp", tcp["tcp"])),
        ("an ICMP record with ports", icmp, lambda r: r.__setitem__("src_port", 1)),
        ("an ICMP record without icmp_type", icmp, lambda r: r.pop("icmp_type")),
        ("a stats record", tcp, lambda r: r.__setitem__("event_type", "stats")),
        ("a timestamp without microseconds", tcp, lambda r: r.__setitem__("timestamp", "2026-01-01T00:00:00+0000")),
        ("an end reason Suricata's words", tcp, lambda r: r["edgesense"].__setitem__("end_reason", "timeout")),
        ("a feature given as text", tcp, lambda r: r["edgesense"]["features"].__setitem__("duration", "1.0")
         if "features" in r["edgesense"] else r["edgesense"].__setitem__("features", {"duration": "1.0"})),
        ("a verdict without alerted", tcp, lambda r: r["edgesense"].__setitem__("verdict", {"anomaly": {"score": 0.1, "alert": False}})),
        ("a probability over 1", tcp, lambda r: r["edgesense"].__setitem__("verdict", {"reel": {"is_reel": True, "probability": 1.5}, "alerted": False})),
        ("an alert without alert", ALERT, lambda r: r.pop("alert")),
        ("an alert without signature_id", ALERT, lambda r: r["alert"].pop("signature_id")),
        ("an alert whose flow has ended", ALERT, lambda r: r["flow"].__setitem__("end", r["flow"]["start"])),
        ("an alert without its class", ALERT, lambda r: r["edgesense"].pop("class")),
        ("an alert with flow-record fields", ALERT, lambda r: r["edgesense"].__setitem__("end_reason", "tcp_fin")),
        ("a top feature with both weights", ALERT, lambda r: r["edgesense"]["top_features"][0].__setitem__("deviation_iqr", 1.0)),
        ("a top feature with no weight", ALERT, lambda r: r["edgesense"]["top_features"][0].pop("contribution")),
        ("MITRE ids as a string", ALERT, lambda r: r["alert"]["metadata"].__setitem__("mitre_technique_id", "T1110")),
        ("an aggregate that suppressed nothing", ALERT, lambda r: r["edgesense"]["aggregate"].__setitem__("suppressed", 0)),
        ("a flow record carrying an alert", tcp, lambda r: r.__setitem__("alert", ALERT["alert"])),
    ]
    for what, base, mutate in mutations:
        refused(what, copy.deepcopy(base), mutate)

    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    if not failures:
        print(f"{len(records)} good records accepted, {len(mutations)} broken ones refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
