#!/usr/bin/python3
"""Test fixture for model_test: real bundles made by make_bundle.py, and
XGBoost's own answers for every row, for the C++ side to match.

Replays the bundled sample capture to a flow CSV, labels each row by a fixed
rule, and makes two bundles with scripts/bundle_tools/make_bundle.py:

  OUT/reel    binary (binary:logistic) on a few features, out of schema order
  OUT/attack  three classes (multi:softprob) on every feature

and for each OUT/<name>/check.json: every CSV row's features in schema order
(null = NaN) with python-xgboost's probabilities, margins and SHAP
contributions, computed from the saved model.json. Also two models a bundle
must refuse: OUT/linear.json (gblinear) and OUT/regression.json
(reg:squarederror), on the reel features.

The directory is made beside OUT and renamed into place, so a test never
sees half of it.

    make_test_bundles.py --edgesense build/daemon/edgesense --root . --out DIR
"""

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import xgboost as xgb

REEL_FEATURES = ["bwd_bytes", "duration", "fwd_syn", "first_size_3", "iat_mean", "fwd_packets",
                 "bwd_len_max", "first_gap_2"]


def label_rows(src, dst):
    """Adds `reel` and `attack` label columns by a fixed rule on each row."""
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    bwd = sorted(float(r["bwd_bytes"]) for r in rows)
    median = bwd[len(bwd) // 2]
    for r in rows:
        tcp443 = r["proto"] == "TCP" and r["dest_port"] == "443"
        r["reel"] = "reel" if tcp443 and float(r["bwd_bytes"]) > median else "non_reel"
        r["attack"] = "benign" if tcp443 else ("dos" if r["proto"] == "UDP" else "scan")
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def check_file(bundle_dir, csv_path, names):
    """XGBoost's outputs for every row, from the bundle's saved model."""
    with open(os.path.join(bundle_dir, "bundle.json")) as f:
        bundle = json.load(f)
    features, classes = bundle["features"], bundle["classes"]
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    full = np.array([[float(r[n]) if r[n] != "" else math.nan for n in names] for r in rows])
    x = full[:, [names.index(n) for n in features]].astype(np.float32)
    booster = xgb.Booster(model_file=os.path.join(bundle_dir, "model.json"))
    p = booster.inplace_predict(x, missing=np.nan, strict_shape=True)
    if len(classes) == 2:
        p = np.concatenate([np.float32(1) - p, p], axis=1)
    margin = booster.inplace_predict(x, missing=np.nan, strict_shape=True, predict_type="margin")
    contribs = booster.predict(xgb.DMatrix(x, missing=np.nan, feature_names=features),
                               pred_contribs=True,
                               strict_shape=True)
    check = {
        "rows": [[None if math.isnan(v) else v for v in row] for row in full.tolist()],
        "proba": p.tolist(), "margin": margin.tolist(), "contribs": contribs.tolist(),
    }
    with open(os.path.join(bundle_dir, "check.json"), "w") as f:
        json.dump(check, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgesense", required=True)
    ap.add_argument("--root", required=True, help="the repository")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    final = os.path.abspath(args.out)
    out = f"{final}.tmp-{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    flows = os.path.join(out, "flows.csv")
    labelled = os.path.join(out, "labelled.csv")
    subprocess.run([args.edgesense, "replay", "--no-models", "--csv", flows,
                    os.path.join(args.root, "tests/data/sample.pcap")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    label_rows(flows, labelled)
    names = subprocess.run([args.edgesense, "features"], check=True, capture_output=True,
                           text=True).stdout.splitlines()[1:]
    names = [line.split()[0] for line in names[:names.index("")]]

    make = [sys.executable, os.path.join(args.root, "scripts/bundle_tools/make_bundle.py"),
            "--edgesense", args.edgesense, "--csv", labelled, "--version", "test-1",
            "--rounds", "12", "--params", '{"max_depth": 4}', "--samples", "12"]
    env = dict(os.environ, SOURCE_DATE_EPOCH="1763683200")
    subprocess.run(make + ["--task", "reel", "--label-column", "reel", "--name", "reel-test",
                           "--features", ",".join(REEL_FEATURES), "--threshold", "reel=0.6",
                           "--out", os.path.join(out, "reel")], check=True, env=env)
    subprocess.run(make + ["--task", "attack", "--label-column", "attack", "--name", "attack-test",
                           "--classes", "benign,scan,dos",
                           "--out", os.path.join(out, "attack")], check=True, env=env)
    for name in ("reel", "attack"):
        check_file(os.path.join(out, name), labelled, names)

    with open(labelled, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[n]) if r[n] != "" else math.nan for n in REEL_FEATURES] for r in rows],
                 dtype=np.float32)
    y = np.array([1.0 if r["reel"] == "reel" else 0.0 for r in rows])
    d = xgb.DMatrix(x, label=y, missing=np.nan)
    xgb.train({"booster": "gblinear", "objective": "binary:logistic", "nthread": 1}, d,
              num_boost_round=3).save_model(os.path.join(out, "linear.json"))
    xgb.train({"objective": "reg:squarederror", "max_depth": 2, "nthread": 1}, d,
              num_boost_round=3).save_model(os.path.join(out, "regression.json"))

    old = f"{final}.old-{os.getpid()}"
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(out, final)
    shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    main()
