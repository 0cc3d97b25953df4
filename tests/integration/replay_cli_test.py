#!/usr/bin/env python3
"""`edgesense replay` as an operator uses it: options, outputs, exit codes.

Runs the real binary on the bundled sample and on the golden captures.
  replay_cli_test.py --edgesense BIN --root REPO [--schema SCHEMA]
"""
import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

OPTS = None


def replay(*args, check=True):
    proc = subprocess.run([OPTS.edgesense, "replay", "--no-models", *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"replay {args} failed ({proc.returncode}): {proc.stderr}")
    return proc


def replay_scored(*args, check=True):
    """replay with models: --models or -c among args."""
    proc = subprocess.run([OPTS.edgesense, "replay", *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"replay {args} failed ({proc.returncode}): {proc.stderr}")
    return proc


def golden(case):
    return next((Path(OPTS.root) / "tests/golden" / case).glob("input.*"))


class ReplayCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.sample = Path(OPTS.root) / "tests/data/sample.pcap"

    def tearDown(self):
        self.tmp.cleanup()

    def summary(self, *args):
        out = self.dir / "summary.json"
        replay(*args, "--summary", out)
        return json.loads(out.read_text())

    def test_summary_names_the_version_of_the_binary_and_the_project(self):
        version = subprocess.run([OPTS.edgesense, "--version"], capture_output=True, text=True,
                                 check=True).stdout.split()[-1]
        cmake = (Path(OPTS.root) / "CMakeLists.txt").read_text()
        self.assertIn(f"project(edgesense VERSION {version} ", cmake)
        self.assertEqual(self.summary(golden("udp_dns"))["edgesense_version"], version)

    def test_outputs_are_byte_identical_across_runs(self):
        for run in ("a", "b"):
            replay(self.sample, "--eve", self.dir / f"{run}.json", "--csv", self.dir / f"{run}.csv")
        self.assertEqual((self.dir / "a.json").read_bytes(), (self.dir / "b.json").read_bytes())
        self.assertEqual((self.dir / "a.csv").read_bytes(), (self.dir / "b.csv").read_bytes())
        self.assertGreater(len((self.dir / "a.json").read_text().splitlines()), 100)

    def test_sample_records_validate_and_sum_to_the_totals(self):
        import jsonschema
        eve = self.dir / "eve.json"
        s = self.summary(self.sample, "--eve", eve)
        schema = json.loads(Path(OPTS.schema).read_text())
        validator = jsonschema.Draft7Validator(schema)
        pkts = byts = 0
        lines = eve.read_text().splitlines()
        for line in lines:
            r = json.loads(line)
            self.assertEqual(r["event_type"], "flow")
            self.assertIn("features", r["edgesense"])
            errors = list(validator.iter_errors(r))
            self.assertFalse(errors, errors[:1])
            pkts += r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"]
            byts += r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"]
        # One record per flow, and records sum to exact totals.
        self.assertEqual(len(lines), s["flows"]["created"])
        self.assertEqual(pkts, s["packets_decoded"])
        self.assertEqual(byts, s["bytes"])

    def test_csv_has_interim_windows_and_the_schema_columns(self):
        out = self.dir / "flows.csv"
        s = self.summary(self.sample, "--csv", out)
        with out.open() as f:
            rows = list(csv.DictReader(f))
        table = subprocess.run([OPTS.edgesense, "features"], capture_output=True, text=True).stdout
        names = []
        for line in table.splitlines()[1:]:  # after the title row, up to the blank line
            if not line.strip():
                break
            names.append(line.split()[0])
        self.assertEqual(list(rows[0].keys())[11:], names)
        interim = [r for r in rows if r["reason"] == "active_timeout"]
        self.assertEqual(len(interim), s["flows"]["interim_snapshots"])
        self.assertGreater(len(interim), 0)
        self.assertEqual(len(rows), s["flows"]["created"] + len(interim))

    def test_timeouts_and_capacity_can_be_overridden(self):
        base = self.summary(self.sample)
        no_windows = self.summary(self.sample, "--active-timeout", 0)
        self.assertEqual(no_windows["flows"]["interim_snapshots"], 0)
        long_idle = self.summary(self.sample, "--idle-timeout", 100000)
        self.assertEqual(long_idle["flows"]["ended"]["idle_timeout"], 0)
        self.assertGreater(base["flows"]["ended"]["idle_timeout"], 0)
        small = self.summary(self.sample, "--max-flows", 16)
        self.assertGreater(small["flows"]["ended"]["evicted"], 0)
        self.assertLessEqual(small["flows"]["peak_active"], 16)
        # Eviction ends flows early; every packet is still in some flow.
        self.assertEqual(small["packets_decoded"], base["packets_decoded"])

    def test_idle_timeout_splits_a_reused_tuple(self):
        self.assertEqual(self.summary(golden("idle_gap"))["flows"]["created"], 2)
        self.assertEqual(self.summary(golden("idle_gap"), "--idle-timeout", 300)["flows"]["created"], 1)

    def test_speed_paces_the_replay(self):
        # long_flow spans 100 s of packet time: at --speed 50 it takes 2 s.
        t0 = time.monotonic()
        replay(golden("long_flow"), "--speed", 50)
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)

    def test_eve_to_stdout_keeps_logs_on_stderr(self):
        proc = replay(golden("tcp_rst"), "--eve", "-")
        for line in proc.stdout.splitlines():
            json.loads(line)
        self.assertIn("edgesense replay:", proc.stderr)

    def test_several_files_in_order(self):
        a, b = golden("tcp_rst"), golden("udp_dns")
        both = self.summary(a, b)
        self.assertEqual(both["packets"], self.summary(a)["packets"] + self.summary(b)["packets"])

    def test_bad_input_is_one_clear_error(self):
        for case in ("bad_magic", "empty_file", "unknown_linktype"):
            proc = replay(golden("tcp_rst"), golden(case), "--summary", self.dir / "s.json", check=False)
            self.assertEqual(proc.returncode, 1, case)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertIn(str(golden(case)), lines[0])
            self.assertFalse((self.dir / "s.json").exists(), "no summary when the input was refused")
        proc = replay(self.dir / "missing.pcap", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("missing.pcap", proc.stderr)
        proc = replay(self.sample, "--eve", self.dir / "no/such/dir/eve.json", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no/such/dir/eve.json", proc.stderr)

    def test_a_config_file_sets_what_the_command_line_does_not(self):
        cfg = self.dir / "edgesense.yaml"
        cfg.write_text("flows:\n  idle_timeout: 30\n  active_timeout: 0\n")
        s = self.summary(self.sample, "-c", cfg)
        self.assertEqual(s["flows"]["interim_snapshots"], 0)
        self.assertGreater(s["flows"]["ended"]["idle_timeout"], self.summary(self.sample)["flows"]["ended"]["idle_timeout"])
        # The command line wins over the file.
        self.assertGreater(self.summary(self.sample, "-c", cfg, "--active-timeout", 30)["flows"]["interim_snapshots"], 0)
        bad = self.dir / "bad.yaml"
        bad.write_text("flows:\n  idle_timeut: 30\n")
        proc = replay(self.sample, "-c", bad, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"{bad}:2:3: flows.idle_timeut: unknown key", proc.stderr)

    def test_shadow_bundles_named_in_the_config_are_scored_and_compared(self):
        shipped = Path(OPTS.root) / "models"
        # A models directory whose own shadow/attack/ is broken: the config's
        # inference.shadow.attack wins over it, so it is never loaded.
        models = self.dir / "models"
        shutil.copytree(shipped, models)
        shutil.copytree(shipped / "attack", models / "shadow/attack")
        (models / "shadow/attack/bundle.json").write_text("{not json")
        cfg = self.dir / "edgesense.yaml"
        cfg.write_text("inference:\n  shadow:\n"
                       f"    attack: {shipped / 'attack'}\n    anomaly: {shipped / 'anomaly'}\n")
        out = self.dir / "s.json"
        proc = replay_scored(self.sample, "--models", models, "-c", cfg, "--summary", out)
        s = json.loads(out.read_text())
        self.assertGreater(s["inference"]["scored"], 0)
        self.assertEqual(set(s["shadow"]), {"attack", "anomaly"})
        for head in ("attack", "anomaly"):
            # The shipped bundle as its own shadow agrees on every flow it scored.
            self.assertGreater(s["shadow"][head]["compared"], 0, head)
            self.assertEqual(s["shadow"][head]["agreed"], s["shadow"][head]["compared"], head)
        self.assertEqual(s["shadow"]["attack"]["compared"], s["inference"]["scored"])
        # The precedence is logged once, naming both directories.
        said = [l for l in proc.stderr.splitlines() if "inference.shadow.attack" in l]
        self.assertEqual(len(said), 1, proc.stderr)
        self.assertIn(str(shipped / "attack"), said[0])
        self.assertIn(str(models / "shadow/attack"), said[0])
        # Without the config, the broken shadow/attack/ is loaded and refused.
        proc = replay_scored(self.sample, "--models", models, "--summary", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(str(models / "shadow/attack"), proc.stderr)
        # Without any shadow, the summary has no shadow object.
        replay_scored(self.sample, "--models", shipped, "--summary", out)
        self.assertNotIn("shadow", json.loads(out.read_text()))

    def test_a_missing_shadow_bundle_in_the_config_is_one_clear_error(self):
        missing = self.dir / "no-such-candidate"
        cfg = self.dir / "edgesense.yaml"
        cfg.write_text(f"inference:\n  shadow:\n    reel: {missing}\n")
        proc = replay_scored(self.sample, "--models", Path(OPTS.root) / "models", "-c", cfg,
                             "--summary", self.dir / "s.json", check=False)
        self.assertEqual(proc.returncode, 1)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(str(missing), lines[0])
        self.assertIn("reel", lines[0])

    def test_truncated_file_keeps_its_flows_and_warns(self):
        s = self.summary(golden("truncated_file"))
        self.assertEqual(s["truncated_files"], 1)
        self.assertEqual(len(s["warnings"]), 1)
        self.assertIn("truncated", s["warnings"][0])
        self.assertGreater(s["flows"]["created"], 0)


def main():
    global OPTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgesense", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--schema", required=True)
    OPTS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
