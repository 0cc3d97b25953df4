#!/usr/bin/python3
"""Summarises the cross-profile evaluation of scripts/train-default-models.

    cross_profile.py EVAL_DIR SEED:PROFILE [SEED:PROFILE ...]  > cross-profile.json
    cross_profile.py --print cross-profile.json

Reads EVAL_DIR/cross-PROFILE/metrics.json (`edgesense eval` of models trained
without PROFILE, on that profile's lab run) for each profile and writes one
JSON object: per held-out profile the attack head's macro-F1, per-class F1,
worst class and benign false-positive rate, the reel head's F1, and the
anomaly head's ROC-AUC and alerting benign flows; then the worst of each over
the profiles, which is what the issue's bar applies to.
"""

import json
import os
import sys


def show(path):
    with open(path) as f:
        d = json.load(f)
    for p in d["profiles"]:
        a = p["attack"]
        classes = ", ".join(f"{c} {f1:.3f}" for c, f1 in a["per_class_f1"].items())
        print(f"   held out {p['profile']:7s} attack macro-F1 {a['macro_f1']:.3f} ({classes}), "
              f"benign FPR {a['benign_fpr'] * 100:.2f}%, reel F1 {p['reel_f1']:.3f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--print":
        return show(sys.argv[2])
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = {"profiles": []}
    for run in sys.argv[2:]:
        seed, _, profile = run.partition(":")
        path = os.path.join(sys.argv[1], f"cross-{profile}", "metrics.json")
        try:
            with open(path) as f:
                m = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"cross_profile.py: {path}: {e}")
        a = m["attack"]
        per_class = {c: v["f1"] for c, v in a["per_class"].items() if c != "benign" and v["support"] > 0}
        worst = min(per_class, key=per_class.get)
        confusion = a["confusion"]
        out["profiles"].append({
            "profile": profile, "seed": int(seed),
            "attack": {"macro_f1": a["macro_f1"], "benign_fpr": a["benign_fpr"], "per_class_f1": per_class,
                       "worst_class": worst, "worst_f1": per_class[worst],
                       "support": {c: v["support"] for c, v in a["per_class"].items()},
                       "confusion": confusion},
            "reel_f1": m["reel"]["f1"], "reel_support": m["reel"]["support"],
            "anomaly_roc_auc": m["anomaly"]["roc_auc"],
            "anomaly_alerting_benign_flows": m["anomaly"]["alerting_benign_flows"]})
    ps = out["profiles"]
    out["worst"] = {"attack_macro_f1": min(p["attack"]["macro_f1"] for p in ps),
                    "attack_class_f1": min(p["attack"]["worst_f1"] for p in ps),
                    "benign_fpr": max(p["attack"]["benign_fpr"] for p in ps),
                    "reel_f1": min(p["reel_f1"] for p in ps)}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
