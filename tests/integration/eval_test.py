#!/usr/bin/env python3
"""`edgesense eval` end to end: models and a naive-feature baseline trained by
`edgesense train` on one generated capture (seed 1), evaluated on a capture
they never saw (seed 3); the figures in metrics.json checked against each
other and against an independent labelling (label_flows.py), and
report.html rendered in headless Chromium and looked at pixel by pixel.
The test trains its own models so that it measures `eval`, not whichever
models ship in models/ (those come from the traffic lab).

  eval_test.py --edgesense BIN --pcapgen BIN --root REPO --python PY
"""
import argparse
import csv
import collections
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

OPTS = None
WORK = None
NAIVE_FEATURES = "duration,fwd_bytes,bwd_bytes,len_mean"
REQUIRED_CLASS_KEYS = {"precision", "recall", "f1", "support"}


def run(*args, check=True, timeout=600):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def evaluate(*args, check=True):
    return run(OPTS.edgesense, "eval", *args, check=check)


def labelled_flows(pcap, labels, stem):
    """replay --csv of the capture, with label_flows.py's category column."""
    flows, out = WORK / f"{stem}.csv", WORK / f"{stem}.labelled.csv"
    run(OPTS.edgesense, "replay", "--no-models", "--csv", flows, pcap)
    run(OPTS.python, Path(OPTS.root) / "scripts/bundle_tools/label_flows.py", "--flows", flows,
        "--labels", labels, "--out", out)
    return out


def train_models(out, name, features=None):
    """Reel, attack and anomaly bundles by `edgesense train` from seed 1 (one
    grid point, to keep the test short); `features`: the naive pipeline's
    session-level columns only."""
    pcap, labels = WORK / "train.pcap", WORK / "train.labels.csv"
    if not pcap.exists():
        run(OPTS.pcapgen, "labelled", pcap, labels, "--seed", 1, "--minutes", 6)
    grid = WORK / "grid.yaml"
    grid.write_text("max_depth: 6\neta: 0.3\nnum_round: 100\n")
    extra = ["--features", features] if features else []
    run(OPTS.edgesense, "train", "--pcap", pcap, "--labels", labels, "--head", "all", *extra,
        "--grid", grid, "--name", name, "--out", out)


def png_pixels(path):
    """Width, height and the RGB(A) rows of an 8-bit truecolour PNG, decoded by
    hand (zlib and the five PNG row filters)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


class Eval(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pcap, cls.labels = WORK / "unseen.pcap", WORK / "unseen.labels.csv"
        run(OPTS.pcapgen, "labelled", cls.pcap, cls.labels, "--seed", 3, "--minutes", 4)
        cls.models, cls.naive = WORK / "models", WORK / "naive"
        train_models(cls.models, "full")
        train_models(cls.naive, "naive", NAIVE_FEATURES)
        cls.report = WORK / "report"
        cls.flows_csv = WORK / "flows.csv"
        cls.proc = evaluate("--pcap", cls.pcap, "--labels", cls.labels, "--models", cls.models,
                            "--baseline-models", cls.naive, "--report", cls.report,
                            "--flows", cls.flows_csv)
        cls.metrics = json.loads((cls.report / "metrics.json").read_text())
        cls.html = (cls.report / "report.html").read_text()

    # ---- metrics.json ----

    def test_required_keys_and_ranges(self):
        m = self.metrics
        attack = m["attack"]
        self.assertEqual(set(attack["per_class"]), {"benign", "scan", "dos", "bruteforce", "slowdos"})
        for name, c in attack["per_class"].items():
            self.assertTrue(REQUIRED_CLASS_KEYS <= set(c), name)
            for k in ("precision", "recall", "f1"):
                self.assertGreaterEqual(c[k], 0.0, name)
                self.assertLessEqual(c[k], 1.0, name)
            self.assertIsInstance(c["support"], int)
        for k in ("macro_f1", "benign_fpr"):
            self.assertTrue(0.0 <= attack[k] <= 1.0, k)
        self.assertIn("confusion", attack)
        for k in ("precision", "recall", "f1", "roc_auc"):
            self.assertTrue(0.0 <= m["reel"][k] <= 1.0, k)
        self.assertTrue(0.0 <= m["anomaly"]["roc_auc"] <= 1.0)
        self.assertGreater(m["packets_per_second"], 0)
        # Models that learnt something do better than chance on unseen traffic.
        self.assertGreater(attack["macro_f1"], 0.5)
        self.assertGreater(m["reel"]["roc_auc"], 0.8)
        self.assertGreater(m["anomaly"]["roc_auc"], 0.6)

    def test_figures_agree_with_each_other(self):
        attack = self.metrics["attack"]
        classes = attack["classes"]
        conf = attack["confusion"]
        flows = self.metrics["flows"]
        self.assertEqual(sum(c["support"] for c in attack["per_class"].values()), flows)
        self.assertEqual(sum(sum(row.values()) for row in conf.values()), flows)
        for name in classes:
            c = attack["per_class"][name]
            self.assertEqual(sum(conf[name].values()), c["support"], name)
            tp = conf[name][name]
            predicted = sum(conf[t][name] for t in classes)
            self.assertAlmostEqual(c["precision"], tp / predicted if predicted else 0.0, places=12)
            self.assertAlmostEqual(c["recall"], tp / c["support"] if c["support"] else 0.0, places=12)
            p, r = c["precision"], c["recall"]
            self.assertAlmostEqual(c["f1"], 2 * p * r / (p + r) if p + r else 0.0, places=12)
        present = [n for n in classes[1:] if sum(conf[n].values()) or sum(conf[t][n] for t in classes)]
        self.assertAlmostEqual(attack["macro_f1"],
                               sum(attack["per_class"][n]["f1"] for n in present) / len(present), places=12)
        benign = sum(conf["benign"].values())
        self.assertAlmostEqual(attack["benign_fpr"], (benign - conf["benign"]["benign"]) / benign, places=12)
        reel = self.metrics["reel"]
        self.assertEqual(reel["support"], self.metrics["flows_by_category"].get("reel", 0))
        self.assertEqual(reel["flows"], flows)
        self.assertLessEqual(reel["scored"], flows)

    def test_flows_and_labels_match_an_independent_labelling(self):
        # label_flows.py on `replay --csv` of the same capture: one final row
        # per flow, the category by the same rule, computed in Python.
        labelled = labelled_flows(self.pcap, self.labels, "unseen")
        counts = collections.Counter()
        with open(labelled, newline="") as f:
            for row in csv.DictReader(f):
                if row["reason"] != "active_timeout":
                    counts[row["category"]] += 1
        self.assertEqual(self.metrics["flows"], sum(counts.values()))
        self.assertEqual(self.metrics["flows_by_category"], dict(counts))
        support = {n: c["support"] for n, c in self.metrics["attack"]["per_class"].items()}
        self.assertEqual(support["benign"], counts["benign"] + counts["reel"])
        for name in ("scan", "dos", "bruteforce", "slowdos"):
            self.assertEqual(support[name], counts[name], name)
        self.assertGreater(counts["dos"], 0)  # seed 3 has a flood: every class is measured

    def test_reel_figures_agree_with_replay_eve(self):
        # Independently: `replay --eve` flow records carry the final
        # snapshot's reel verdict (snapshots are cumulative, so the final one
        # passes the gate whenever an earlier one did); category from
        # label_flows.py; AUC by counting pairs.
        eve = WORK / "unseen.eve.json"
        run(OPTS.edgesense, "replay", "--models", self.models, "--eve", eve, "--no-features-in-eve", self.pcap)
        labelled = labelled_flows(self.pcap, self.labels, "unseen-reel")
        category = {}
        with open(labelled, newline="") as f:
            for row in csv.DictReader(f):
                if row["reason"] != "active_timeout":
                    category[row["flow_id"]] = row["category"]
        pos, neg, tp, fp, fn = [], [], 0, 0, 0
        for line in eve.read_text().splitlines():
            r = json.loads(line)
            if r["event_type"] != "flow":
                continue
            reel = r["edgesense"]["verdict"].get("reel")
            prob = reel["probability"] if reel else 0.0
            said = bool(reel and reel["is_reel"])
            truth = category[str(r["flow_id"])] == "reel"
            (pos if truth else neg).append(prob)
            tp += truth and said
            fp += (not truth) and said
            fn += truth and not said
        auc = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))
        m = self.metrics["reel"]
        self.assertEqual(m["support"], len(pos))
        self.assertAlmostEqual(m["precision"], tp / (tp + fp), places=12)
        self.assertAlmostEqual(m["recall"], tp / (tp + fn), places=12)
        self.assertAlmostEqual(m["roc_auc"], auc, places=9)

    def test_flows_csv_adds_up_to_the_figures(self):
        # --flows: one row per flow; the confusion matrix and the reel
        # figures rebuilt from its rows are metrics.json's, and its flows and
        # categories are label_flows.py's.
        with open(self.flows_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        m = self.metrics
        self.assertEqual(len(rows), m["flows"])
        self.assertEqual({r["capture"] for r in rows}, {str(self.pcap)})
        self.assertEqual(len({r["flow_id"] for r in rows}), len(rows))
        conf = collections.Counter((r["attack_truth"], r["attack_predicted"]) for r in rows)
        for t, row in m["attack"]["confusion"].items():
            for p, n in row.items():
                self.assertEqual(conf[(t, p)], n, (t, p))
        said = [r for r in rows if r["reel_predicted"] == "1"]
        tp = sum(r["category"] == "reel" for r in said)
        self.assertAlmostEqual(m["reel"]["precision"], tp / len(said), places=12)
        self.assertAlmostEqual(m["reel"]["recall"], tp / m["reel"]["support"], places=12)
        for r in rows:
            self.assertEqual(r["reel_probability"] == "", r["reel_predicted"] == "", r)
            if r["anomaly_score"]:
                self.assertTrue(0.0 <= float(r["anomaly_score"]) <= 1.0, r)
            self.assertLessEqual(float(r["start"]), float(r["end"]), r)
        labelled = labelled_flows(self.pcap, self.labels, "unseen-flows")
        with open(labelled, newline="") as f:
            category = {row["flow_id"]: row["category"] for row in csv.DictReader(f)
                        if row["reason"] != "active_timeout"}
        self.assertEqual({r["flow_id"]: r["category"] for r in rows}, category)

    def test_baselines_are_scored_on_the_same_flows(self):
        b = self.metrics["baselines"]
        self.assertEqual(set(b), {"naive_features", "rate_thresholds"})
        for key in b:
            attack = b[key]["attack"]
            self.assertEqual(sum(c["support"] for c in attack["per_class"].values()), self.metrics["flows"])
            self.assertTrue(0.0 <= attack["macro_f1"] <= 1.0)
            self.assertTrue(0.0 <= attack["benign_fpr"] <= 1.0)
        naive = b["naive_features"]
        self.assertIn("duration", naive["description"])
        for k in ("precision", "recall", "f1", "roc_auc"):
            self.assertTrue(0.0 <= naive["reel"][k] <= 1.0, k)
        self.assertTrue(0.0 <= naive["anomaly"]["roc_auc"] <= 1.0)
        self.assertIsNone(b["rate_thresholds"]["reel"])
        self.assertIsNone(b["rate_thresholds"]["anomaly"])
        # The rate thresholds have no class for brute force or slow DoS.
        rate = b["rate_thresholds"]["attack"]["confusion"]
        self.assertEqual(sum(rate[t]["bruteforce"] + rate[t]["slowdos"] for t in rate), 0)

    def test_same_figures_with_one_worker(self):
        # The pool restores submission order, so the figures do not depend on
        # the number of workers; only the timing does.
        out = WORK / "report-w1"
        evaluate("--pcap", self.pcap, "--labels", self.labels, "--models", self.models,
                 "--baseline-models", self.naive, "--report", out, "--workers", 1)
        one = json.loads((out / "metrics.json").read_text())
        for m in (one, dict(self.metrics)):
            for k in ("packets_per_second", "wall_seconds"):
                m.pop(k)
        self.assertEqual(one, {k: v for k, v in self.metrics.items()
                               if k not in ("packets_per_second", "wall_seconds")})

    def test_config_supplies_models_and_workers(self):
        cfg = WORK / "eval.yaml"
        cfg.write_text(f"inference:\n  models_dir: {self.models}\n  workers: 1\n")
        out = WORK / "report-config"
        evaluate("-c", cfg, "--pcap", self.pcap, "--labels", self.labels, "--report", out)
        m = json.loads((out / "metrics.json").read_text())
        self.assertEqual(m["attack"], self.metrics["attack"])
        self.assertEqual(m["reel"], self.metrics["reel"])
        self.assertEqual(m["models"], self.metrics["models"])

    def test_pairs_add_up(self):
        # Two pairs (here the same capture twice): every count doubles, every
        # ratio stays.
        out = WORK / "report-twice"
        evaluate("--pcap", self.pcap, "--labels", self.labels, "--pcap", self.pcap, "--labels",
                 self.labels, "--models", self.models, "--report", out)
        two = json.loads((out / "metrics.json").read_text())
        self.assertEqual(two["flows"], 2 * self.metrics["flows"])
        self.assertEqual(two["packets"], 2 * self.metrics["packets"])
        for name, c in self.metrics["attack"]["per_class"].items():
            self.assertEqual(two["attack"]["per_class"][name]["support"], 2 * c["support"])
            self.assertAlmostEqual(two["attack"]["per_class"][name]["f1"], c["f1"], places=12)
        self.assertAlmostEqual(two["reel"]["roc_auc"], self.metrics["reel"]["roc_auc"], places=12)
        self.assertEqual(two["captures"], [str(self.pcap)] * 2)

    def test_text_summary(self):
        out = self.proc.stdout
        self.assertIn("precision", out)
        self.assertIn("macro-F1", out)
        self.assertIn("naive features", out)
        self.assertRegex(out, r"slowdos +\d\.\d{3} +\d\.\d{3} +\d\.\d{3} +\d+")

    # ---- report.html ----

    def test_report_is_self_contained(self):
        low = self.html.lower()
        self.assertNotIn("http://", low)
        self.assertNotIn("https://", low)
        self.assertNotIn("<script", low)
        self.assertNotIn("<link", low)
        self.assertNotIn("src=", low)
        self.assertNotIn("url(", low)
        # Confusion matrices (full model and two baselines), comparison bars,
        # reel ROC and PR, anomaly histogram and ROC, SHAP (two heads), MITRE.
        self.assertGreaterEqual(low.count("<svg"), 11)
        self.assertEqual(low.count("<svg"), low.count("</svg>"))
        for title in ("Attack head", "Reel head", "Anomaly head", "baselines", "MITRE"):
            self.assertIn(title, self.html)
        self.assertIn("T1046", self.html)
        self.assertIn("full-attack", self.html)

    def test_report_renders_in_chromium(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium is missing: scripts/setup installs it")
        png = WORK / "report.png"
        profile = WORK / "chromium-profile"
        run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1280,2400",
            (self.report / "report.html").resolve().as_uri(), timeout=120)
        self.assertTrue(png.exists())
        width, height, bpp, rows = png_pixels(png)
        self.assertEqual((width, height), (1280, 2400))
        colours = collections.Counter()
        for y in range(0, height, 4):
            row = rows[y]
            for x in range(0, width, 4):
                colours[row[x * bpp:x * bpp + 3]] += 1
        sampled = sum(colours.values())
        background, most = colours.most_common(1)[0]
        # A page of charts: many colours, and the background is far from all of it.
        self.assertGreater(len(colours), 200, "too few colours: a blank or broken page")
        self.assertLess(most / sampled, 0.85)
        # The header band is dark navy and the confusion matrix has deep blue cells.
        self.assertTrue(any(r < 60 and g < 60 and b > 70 for (r, g, b) in
                            (tuple(c) for c in colours)), "no dark blue anywhere")

    # ---- errors: one message naming the file, exit 1 ----

    def test_errors_name_the_file(self):
        out = WORK / "err-report"
        missing = WORK / "no-such.pcap"
        proc = evaluate("--pcap", missing, "--labels", self.labels, "--report", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(str(missing), proc.stderr)

        bad = WORK / "bad.labels.csv"
        bad.write_text("start,end,src,dst,dport,proto,category\n"
                       "1,2,10.0.0.1,*,80,tcp,benign\n"
                       "1,2,10.0.0.1,*,80,tcp,teleport\n")
        proc = evaluate("--pcap", self.pcap, "--labels", bad, "--report", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"{bad}:3", proc.stderr)

        empty_models = WORK / "empty-models"
        empty_models.mkdir()
        proc = evaluate("--pcap", self.pcap, "--labels", self.labels, "--models", empty_models,
                        "--report", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(str(empty_models), proc.stderr)

        proc = evaluate("--pcap", self.pcap, "--pcap", self.pcap, "--labels", self.labels,
                        "--report", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("pairs", proc.stderr)

        unwritable = WORK / "no-such-dir" / "flows.csv"
        proc = evaluate("--pcap", self.pcap, "--labels", self.labels, "--report", out,
                        "--flows", unwritable, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(str(unwritable), proc.stderr)

        not_pcap = WORK / "not-a.pcap"
        not_pcap.write_text("hello\n")
        proc = evaluate("--pcap", not_pcap, "--labels", self.labels, "--report", out, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(str(not_pcap), proc.stderr)
        for p in (proc.stderr,):
            self.assertEqual(len([l for l in p.splitlines() if l.strip()]), 1, p)


def main():
    global OPTS, WORK
    ap = argparse.ArgumentParser()
    for name in ("--edgesense", "--pcapgen", "--root", "--python"):
        ap.add_argument(name, required=True)
    OPTS, rest = ap.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        WORK = Path(tmp)
        result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
