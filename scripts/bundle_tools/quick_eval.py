#!/usr/bin/python3
"""Scores a replay against labels: per-class precision, recall and F1 of the
attack head, reel precision/recall/F1, and alert counts. A stop-gap until
`edgesense eval`.

    quick_eval.py --labelled flows.labelled.csv --eve eve.json --out metrics.json

flows.labelled.csv: `replay --csv` plus `category` (label_flows.py) of the
same capture; eve.json: the same capture replayed with models. Flows are
matched by flow_id; each flow's final verdict is compared with its label.
"""

import argparse
import collections
import csv
import json


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": tp + fn}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labelled", required=True)
    ap.add_argument("--eve", required=True)
    ap.add_argument("--out", required=True)
    opts = ap.parse_args()
    truth = {}
    with open(opts.labelled, newline="") as f:
        for row in csv.DictReader(f):
            if row["reason"] != "active_timeout":
                truth[row["flow_id"]] = row["category"]
    pairs, reel_pairs, alerts = [], [], collections.Counter()
    with open(opts.eve) as f:
        for line in f:
            r = json.loads(line)
            if r["event_type"] == "alert":
                alerts[r["edgesense"]["class"]] += 1
                continue
            category = truth.get(str(r["flow_id"]))
            verdict = r["edgesense"].get("verdict", {})
            if category is None:
                continue
            if "attack" in verdict:
                pairs.append(("benign" if category == "reel" else category, verdict["attack"]["class"]))
            if "reel" in verdict:
                reel_pairs.append((category == "reel", verdict["reel"]["is_reel"]))
    classes = sorted({t for t, _ in pairs} | {p for _, p in pairs})
    per_class = {}
    for c in classes:
        tp = sum(1 for t, p in pairs if t == c and p == c)
        fp = sum(1 for t, p in pairs if t != c and p == c)
        fn = sum(1 for t, p in pairs if t == c and p != c)
        per_class[c] = prf(tp, fp, fn)
    attacks = [c for c in classes if c != "benign"]
    benign = [p for t, p in pairs if t == "benign"]
    metrics = {
        "attack": {
            "per_class": per_class,
            "macro_f1": sum(per_class[c]["f1"] for c in attacks) / len(attacks) if attacks else 0.0,
            "benign_fpr": sum(1 for p in benign if p != "benign") / len(benign) if benign else 0.0,
            "confusion": {t: dict(collections.Counter(p for tt, p in pairs if tt == t)) for t in classes},
        },
        "reel": prf(sum(1 for t, p in reel_pairs if t and p), sum(1 for t, p in reel_pairs if not t and p),
                    sum(1 for t, p in reel_pairs if t and not p)),
        "alerts": dict(alerts),
        "flows": len(pairs),
    }
    with open(opts.out, "w") as f:
        json.dump(metrics, f, indent=1)
        f.write("\n")
    print(f"attack macro-F1 {metrics['attack']['macro_f1']:.3f}, benign FPR {metrics['attack']['benign_fpr']:.4f}, "
          f"reel F1 {metrics['reel']['f1']:.3f}, alerts {sum(alerts.values())}")
    for c in classes:
        m = per_class[c]
        print(f"  {c:>10}: precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1']:.3f} support {m['support']}")


if __name__ == "__main__":
    main()
