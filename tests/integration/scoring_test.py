#!/usr/bin/env python3
"""Scoring end to end: a labelled capture the models never saw (seed 8: its
4 minutes hold a SYN flood from one source, port scans, brute force,
slowloris, short-form video and ordinary traffic), replayed through models
as an operator reads the result. The models are trained here by
`edgesense train` on the same generator's seed 1, so the test measures the
scoring path, not how the shipped models (trained on the traffic lab, and
measured by `edgesense eval` in models/eval/) transfer to generated traffic.

  scoring_test.py --edgesense BIN --pcapgen BIN --schema SCHEMA
"""
import argparse
import collections
import csv
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

OPTS = None
WORK = None


def replay(*args):
    proc = subprocess.run([OPTS.edgesense, "replay", "--models", WORK / "models", *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"replay {args} failed: {proc.stderr}")
    return proc


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


class Scoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        train_pcap, train_labels = WORK / "train.pcap", WORK / "train.labels.csv"
        subprocess.run([OPTS.pcapgen, "labelled", train_pcap, train_labels, "--seed", "1",
                        "--minutes", "6"], check=True, capture_output=True)
        grid = WORK / "grid.yaml"
        grid.write_text("max_depth: 6\neta: 0.3\nnum_round: 100\n")
        subprocess.run([OPTS.edgesense, "train", "--pcap", train_pcap, "--labels", train_labels,
                        "--head", "all", "--grid", grid, "--name", "generated",
                        "--out", WORK / "models"], check=True, capture_output=True)
        cls.pcap = WORK / "unseen.pcap"
        subprocess.run([OPTS.pcapgen, "labelled", cls.pcap, WORK / "unseen.labels.csv", "--seed", "8",
                        "--minutes", "4"], check=True, capture_output=True)
        # The flood's source, from the labels: seed 8 has one dos row, one attacker.
        with open(WORK / "unseen.labels.csv", newline="") as f:
            cls.flood_sources = {r["src"] for r in csv.DictReader(f) if r["category"] == "dos"}
        assert len(cls.flood_sources) == 1 and "*" not in cls.flood_sources, cls.flood_sources
        replay(cls.pcap, "--workers", 1, "--eve", WORK / "w1.json", "--summary", WORK / "w1.summary.json")
        replay(cls.pcap, "--workers", 2, "--eve", WORK / "w2.json", "--summary", WORK / "w2.summary.json")
        cls.eve = records(WORK / "w1.json")
        cls.summary = json.loads((WORK / "w1.summary.json").read_text())

    def test_outputs_identical_with_one_and_two_workers(self):
        self.assertEqual((WORK / "w1.json").read_bytes(), (WORK / "w2.json").read_bytes())

    def test_every_record_is_eve_valid(self):
        import jsonschema
        validator = jsonschema.Draft7Validator(json.loads(Path(OPTS.schema).read_text()))
        for r in self.eve:
            errors = list(validator.iter_errors(r))
            self.assertFalse(errors, errors[:1])

    def test_alerts_carry_mitre_and_top_features(self):
        alerts = [r for r in self.eve if r["event_type"] == "alert"]
        self.assertGreater(len(alerts), 0)
        # Which classes a model trained on one generated capture gives is its
        # business (edgesense eval measures that); each must carry its own
        # technique.
        classes = {a["edgesense"]["class"] for a in alerts}
        self.assertGreaterEqual(len(classes - {"anomaly"}), 2, classes)
        for a in alerts:
            self.assertTrue(a["alert"]["signature"].startswith("edgesense "))
            self.assertIsInstance(a["alert"]["signature_id"], int)
            if a["edgesense"]["class"] != "anomaly":
                md = a["alert"]["metadata"]
                self.assertRegex(md["mitre_technique_id"][0], r"^T\d{4}")
                self.assertRegex(md["mitre_tactic_id"][0], r"^TA\d{4}")
                top = a["edgesense"]["top_features"]
                self.assertEqual(len(top), 3)
                for t in top:
                    self.assertEqual(set(t), {"name", "value", "contribution"})
        techniques = {"scan": "T1046", "dos": "T1498", "bruteforce": "T1110", "slowdos": "T1499"}
        for a in alerts:
            if a["edgesense"]["class"] in techniques:
                self.assertEqual(a["alert"]["metadata"]["mitre_technique_id"][0],
                                 techniques[a["edgesense"]["class"]], a["edgesense"]["class"])

    def test_a_flood_makes_a_handful_of_alerts_with_exact_counts(self):
        # Every alert decision is either written at once or counted into
        # exactly one follow-up: written records plus the follow-ups'
        # suppressed counts equal the decisions the output stage took.
        written = suppressed = 0
        for r in self.eve:
            if r["event_type"] != "alert":
                continue
            if "aggregate" in r["edgesense"]:
                suppressed += r["edgesense"]["aggregate"]["suppressed"]
            else:
                written += 1
        alerts = self.summary["alerts"]
        self.assertEqual(written, alerts["written"])
        self.assertEqual(suppressed, alerts["suppressed"])
        self.assertEqual(written + suppressed, alerts["alerting_snapshots"])
        records = sum(1 for r in self.eve if r["event_type"] == "alert")
        # A handful: many alerting flows, few alert records.
        self.assertGreater(alerts["alerting_snapshots"], 10 * records, alerts)
        # The SYN flood (seed 8: 400 flows from one source): a few alert
        # records for it, the rest counted in them, whichever class they say.
        flood = [r for r in self.eve if r["event_type"] == "alert" and r["src_ip"] in self.flood_sources]
        self.assertGreater(len(flood), 0)
        self.assertLessEqual(len(flood), 12)
        self.assertGreater(sum(r["edgesense"].get("aggregate", {}).get("suppressed", 0) for r in flood), 100)

    def test_flow_records_say_what_was_concluded(self):
        flows = [r for r in self.eve if r["event_type"] == "flow"]
        self.assertEqual(len(flows), self.summary["flows"]["created"])
        reel_seen = False
        for f in flows:
            v = f["edgesense"]["verdict"]
            self.assertIn(v["attack"]["class"], v["attack"]["probabilities"])
            self.assertAlmostEqual(sum(v["attack"]["probabilities"].values()), 1.0, places=4)
            self.assertLessEqual(0.0, v["anomaly"]["score"])
            self.assertLessEqual(v["anomaly"]["score"], 1.0)
            self.assertIn("alerted", v)
            self.assertEqual(f["flow"]["alerted"], v["alerted"])
            if "reel" in v:
                reel_seen = True
                self.assertIn(f["proto"], ("TCP", "UDP"))
            else:
                total = f["flow"]["bytes_toserver"] + f["flow"]["bytes_toclient"]
                pkts = f["flow"]["pkts_toserver"] + f["flow"]["pkts_toclient"]
                self.assertTrue(f["proto"] not in ("TCP", "UDP") or total < 20000 or pkts < 10, f["flow_id"])
            self.assertIn("attack", f["edgesense"]["models"])
        self.assertTrue(reel_seen)
        self.assertGreater(self.summary["verdicts"].get("reel.reel", 0), 0)


def main():
    global OPTS, WORK
    ap = argparse.ArgumentParser()
    for name in ("--edgesense", "--pcapgen", "--schema"):
        ap.add_argument(name, required=True)
    OPTS, rest = ap.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        WORK = Path(tmp)
        result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
