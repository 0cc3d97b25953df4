#!/usr/bin/python3
"""Turns a flow CSV with a `category` column (label_flows.py) into the
training set of one head, with a `label` column in that head's classes.

    head_labels.py --in labelled.csv --head attack|reel|anomaly --out head.csv

attack:  every row; `reel` counts as benign (reels are benign traffic).
reel:    only rows the reel head scores in production (the gate of
         inference::ScoringOptions: TCP or UDP, at least 20,000 bytes and 10
         packets); `reel` -> reel, anything else -> non_reel.
anomaly: every row; benign and reel -> benign, attacks keep their names
         (the forest trains on benign rows; the others measure it).
"""

import argparse
import collections
import csv

REEL_GATE = {"protocols": ("TCP", "UDP"), "min_bytes": 20_000, "min_packets": 10}


def number(row, name):
    return float(row[name]) if row[name] else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True)
    ap.add_argument("--head", choices=("attack", "reel", "anomaly"), required=True)
    ap.add_argument("--out", required=True)
    opts = ap.parse_args()
    counts = collections.Counter()
    with open(opts.src, newline="") as f, open(opts.out, "w", newline="") as out:
        reader = csv.DictReader(f)
        # The replay columns, then the head's label (the category is dropped:
        # training tools take every other column for the schema's).
        columns = [c for c in reader.fieldnames if c != "category"] + ["label"]
        writer = csv.DictWriter(out, columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in reader:
            category = row["category"]
            if opts.head == "reel":
                gated = (row["proto"] in REEL_GATE["protocols"]
                         and number(row, "fwd_bytes") + number(row, "bwd_bytes") >= REEL_GATE["min_bytes"]
                         and number(row, "fwd_packets") + number(row, "bwd_packets") >= REEL_GATE["min_packets"])
                if not gated:
                    continue
                label = "reel" if category == "reel" else "non_reel"
            else:
                label = "benign" if category in ("benign", "reel") else category
            row["label"] = label
            counts[label] += 1
            writer.writerow(row)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
