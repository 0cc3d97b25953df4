#!/usr/bin/python3
"""Makes an edgesense model bundle (docs/model-bundle.md) from a labelled flow CSV.

The CSV is what `edgesense replay --csv` writes (key columns flow_id, src_ip,
src_port, dest_ip, dest_port, proto, vlan, start, end, reason, window, then
one column per feature, empty = NaN) plus a label column holding class names.
The tool trains an XGBoost model with Debian's python3-xgboost (or takes a
model you trained yourself, --model) and writes DIR/model.json and
DIR/bundle.json: classes, thresholds, feature names and the schema hash (both
from `edgesense features`), training parameters and hold-out metrics, the
training quantiles of every feature, and sample rows with the outputs XGBoost
gives for them, which edgesense checks when it loads the bundle.

    scripts/bundle_tools/make_bundle.py --edgesense build/daemon/edgesense \\
        --csv flows.csv --label-column label --task attack \\
        --classes benign,scan,dos --name attack-lab --version 2026.11.21-1 --out DIR

Reel bundles: --task reel, labels non_reel/reel. Isolation-forest (anomaly)
bundles are not made here. A stop-gap until `edgesense train`; runs with
/usr/bin/python3, the interpreter Debian's python3-xgboost is built for.
"""

import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import xgboost as xgb

KEY_COLUMNS = ["flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "vlan",
               "start", "end", "reason", "window"]
QUANTILES = [i / 10 for i in range(11)]

# MITRE ATT&CK entries for the usual attack class names: the project's one
# table, which `edgesense train` embeds too. --mitre FILE adds or replaces.
MITRE_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib", "model",
                           "mitre.json")


def fail(message):
    print(f"make_bundle: {message}", file=sys.stderr)
    sys.exit(1)


def schema(edgesense):
    """Feature names in schema order and the schema hash, from the binary."""
    try:
        listing = subprocess.run([edgesense, "features"], check=True, capture_output=True,
                                 text=True).stdout
        digest = subprocess.run([edgesense, "features", "--hash"], check=True,
                                capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"cannot run {edgesense} features: {e}")
    lines = listing.splitlines()
    names = []
    for line in lines[1:]:  # after the header, until the blank line before the summary
        if not line.strip():
            break
        names.append(line.split()[0])
    return names, digest


def read_csv(path, label_column, features):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            fail(f"{path} is empty")
        missing = [c for c in features + [label_column] if c not in header]
        if missing:
            fail(f"{path} lacks the columns {', '.join(missing)}")
        cols = [header.index(c) for c in features]
        label_at = header.index(label_column)
        rows, labels = [], []
        for n, rec in enumerate(reader, start=2):
            if len(rec) != len(header):
                fail(f"{path} line {n}: {len(rec)} fields, the header has {len(header)}")
            try:
                rows.append([float(rec[c]) if rec[c] != "" else math.nan for c in cols])
            except ValueError as e:
                fail(f"{path} line {n}: {e}")
            labels.append(rec[label_at])
    if not rows:
        fail(f"{path} has no rows")
    return np.array(rows, dtype=np.float64), labels


def probabilities(booster, x, n_classes):
    """Class probabilities as edgesense computes them: [1 - p, p] for a binary model."""
    p = booster.inplace_predict(x, missing=np.nan, strict_shape=True)
    if n_classes == 2 and p.shape[1] == 1:
        p = np.concatenate([np.float32(1) - p, p], axis=1)
    return p


def metrics(booster, x, y, classes):
    if len(y) == 0:
        return {}
    p = probabilities(booster, x, len(classes))
    predicted = p.argmax(axis=1)
    out = {"rows": int(len(y)), "accuracy": float((predicted == y).mean()),
           "log_loss": float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, 1))))}
    per_class = {}
    for k, name in enumerate(classes):
        tp = int(((predicted == k) & (y == k)).sum())
        per_class[name] = {
            "support": int((y == k).sum()),
            "precision": tp / max(1, int((predicted == k).sum())),
            "recall": tp / max(1, int((y == k).sum())),
        }
    out["classes"] = per_class
    return out


def pick_samples(y, n, seed):
    """n row indices: one of each class first, the rest drawn at random."""
    picked = []
    for k in sorted(set(y.tolist())):
        picked.append(int(np.flatnonzero(y == k)[0]))
    rest = [i for i in np.random.default_rng(seed).permutation(len(y)).tolist() if i not in picked]
    return sorted(picked + rest[:max(0, n - len(picked))])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edgesense", required=True, help="the edgesense binary (schema source)")
    ap.add_argument("--csv", required=True, help="flow CSV with a label column")
    ap.add_argument("--label-column", default="label")
    ap.add_argument("--task", required=True, choices=["reel", "attack"])
    ap.add_argument("--classes", help="class names in output order; attack: benign first "
                    "(default for reel: non_reel,reel)")
    ap.add_argument("--features", help="model input columns, comma-separated "
                    "(default: every schema feature, in schema order)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True, help="bundle directory (created)")
    ap.add_argument("--model", help="an XGBoost JSON model to bundle instead of training one")
    ap.add_argument("--rounds", type=int, default=100, help="boosting rounds (default 100)")
    ap.add_argument("--params", default="{}", help="XGBoost parameters as JSON, over the "
                    "defaults (max_depth 6, eta 0.3, tree_method hist)")
    ap.add_argument("--holdout", type=float, default=0.2,
                    help="share of rows held out for the metrics (default 0.2)")
    ap.add_argument("--threshold", action="append", default=[], metavar="CLASS=VALUE",
                    help="decision threshold of a class (default 0.5 each)")
    ap.add_argument("--mitre", help="JSON file: class -> {tactic_id, technique_id, tactic, "
                    "technique}, over the built-in entries for the usual class names")
    ap.add_argument("--samples", type=int, default=16, help="sample rows (default 16)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    names, schema_hash = schema(args.edgesense)
    features = args.features.split(",") if args.features else names
    unknown = [f for f in features if f not in names]
    if unknown:
        fail(f"not schema features: {', '.join(unknown)}")
    if args.classes:
        classes = args.classes.split(",")
    elif args.task == "reel":
        classes = ["non_reel", "reel"]
    else:
        fail("--classes is needed for an attack bundle")
    if args.task == "reel" and classes != ["non_reel", "reel"]:
        fail("a reel bundle's classes are non_reel,reel")
    if args.task == "attack" and (len(classes) < 2 or classes[0] != "benign"):
        fail("an attack bundle's classes start with benign and name at least one attack")

    x64, labels = read_csv(args.csv, args.label_column, features)
    bad = sorted({label for label in labels if label not in classes})
    if bad:
        fail(f"labels that are not classes: {', '.join(bad)}")
    y = np.array([classes.index(label) for label in labels])
    x = x64.astype(np.float32)  # what edgesense feeds the model

    binary = len(classes) == 2
    params = {"objective": "binary:logistic" if binary else "multi:softprob",
              "eval_metric": "logloss" if binary else "mlogloss",
              "max_depth": 6, "eta": 0.3, "tree_method": "hist", "seed": args.seed, "nthread": 1}
    if not binary:
        params["num_class"] = len(classes)
    params.update(json.loads(args.params))

    order = np.random.default_rng(args.seed).permutation(len(y))
    n_holdout = int(round(len(y) * args.holdout)) if args.model is None else 0
    test, train = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    if args.model:
        booster = xgb.Booster(model_file=args.model)
        if booster.num_features() != len(features):
            fail(f"{args.model} takes {booster.num_features()} features, --features lists "
                 f"{len(features)}")
        params = {"model": os.path.basename(args.model),
                  "objective": json.loads(booster.save_config())["learner"]["objective"]}
    else:
        dtrain = xgb.DMatrix(x[train], label=y[train], missing=np.nan, feature_names=features)
        booster = xgb.train(params, dtrain, num_boost_round=args.rounds)

    thresholds = {c: 0.5 for c in classes[1:]}
    for t in args.threshold:
        c, _, v = t.partition("=")
        if c not in thresholds:
            fail(f"--threshold {t}: {c} is not a class with a threshold")
        thresholds[c] = float(v)

    bundle = {
        "format": 1, "name": args.name, "version": args.version, "task": args.task,
        "model": {"kind": "xgboost", "file": "model.json"},
        "classes": classes, "thresholds": thresholds, "features": features,
        "schema_hash": schema_hash,
    }
    if args.task == "attack":
        with open(MITRE_TABLE) as f:
            known = json.load(f)
        mitre = {c: known[c] for c in classes[1:] if c in known}
        if args.mitre:
            with open(args.mitre) as f:
                mitre.update(json.load(f))
        if mitre:
            bundle["mitre"] = mitre

    with open(args.csv, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    bundle["training"] = {
        "params": params,
        "metrics": {"holdout": metrics(booster, x[test], y[test], classes),
                    "train": metrics(booster, x[train], y[train], classes)},
        "data": {"csv": os.path.basename(args.csv), "sha256": digest, "rows": int(len(y)),
                 "label_column": args.label_column,
                 "class_counts": {c: int((y == k).sum()) for k, c in enumerate(classes)}},
        "trained_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    distribution = {}
    for j, name in enumerate(features):
        v = x64[:, j]
        v = v[np.isfinite(v)]
        if len(v):
            q = np.quantile(v, QUANTILES)
            # The share up to each distinct quantile (bin k: (edge k-1, edge k]), as
            # edgesense's own trainer writes it: exact for values that repeat.
            edges = np.unique(q)
            counts = np.bincount(np.searchsorted(edges, v, side="left"), minlength=len(edges))
            distribution[name] = {"quantiles": [float(x) for x in q],
                                  "shares": [float(c) / len(v) for c in counts[:len(edges)]]}
    bundle["feature_distribution"] = distribution

    picked = pick_samples(y, args.samples, args.seed)
    expected = probabilities(booster, x[picked], len(classes))
    bundle["samples"] = [
        {"features": {name: (None if math.isnan(v) else float(v))
                      for name, v in zip(features, x[i].tolist())},
         "expected": [float(p) for p in expected[k]]}
        for k, i in enumerate(picked)]

    os.makedirs(args.out, exist_ok=True)
    booster.save_model(os.path.join(args.out, "model.json"))
    with open(os.path.join(args.out, "bundle.json"), "w") as f:
        json.dump(bundle, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"make_bundle: wrote {args.out} ({args.task}, {len(classes)} classes, "
          f"{len(features)} features, {len(y)} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
