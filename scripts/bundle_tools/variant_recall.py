#!/usr/bin/python3
"""Per attack variant: what the attack head called the flows of each episode.

    variant_recall.py --flows FLOWS.csv --lab lab.json [--json OUT.json]

FLOWS.csv is what `edgesense eval --flows` writes for one lab capture, lab.json
what scripts/lab/run wrote beside it. A lab run's labels say only the category
(scan, dos, ...); lab.json's `episodes` say which variant of it (say dos
`udp_sockets_one`: a UDP flood to one port from a fresh socket, so a new source
port, per datagram) ran when, on which attacker. Each attack flow whose truth
is the episode's kind and which started inside an episode (widened as the
labels are: 0.5 s before, 2 s after) and from that episode's attacker (or
towards the victim for spoofed floods) counts for that variant. Prints, per
kind and variant, the flows and how they were called, worst recall first; with
--json, writes the same as JSON.
"""

import argparse
import csv
import json
import sys
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", required=True)
    ap.add_argument("--lab", required=True)
    ap.add_argument("--json")
    opts = ap.parse_args()
    with open(opts.lab) as f:
        lab = json.load(f)
    nodes = lab["nodes"]
    agent_addrs = {}
    for e in lab["episodes"]:
        node = e["agent"].split("-", 1)[1]  # attacker-a1 -> a1
        agent_addrs[e["agent"]] = set(nodes[node]["all4"] + nodes[node]["all6"])
    episodes = sorted(lab["episodes"], key=lambda e: e["start"])
    out = defaultdict(lambda: defaultdict(int))
    with open(opts.flows, newline="") as f:
        for row in csv.DictReader(f):
            truth = row["attack_truth"]
            if truth in ("benign", ""):
                continue
            start = float(row["start"])
            match = None
            for e in episodes:
                if e["kind"] != truth or not e["start"] - 0.5 <= start <= e["end"] + 2.0:
                    continue
                spoofed = "spoofed" in e["variant"]
                if row["src_ip"] in agent_addrs[e["agent"]] or spoofed or row["proto"] in ("ICMP", "IPv6-ICMP"):
                    match = e
                    break
            key = (truth, match["variant"] if match else "(no episode)")
            out[key][row["attack_predicted"]] += 1
    table = []
    for (kind, variant), called in out.items():
        n = sum(called.values())
        table.append({"kind": kind, "variant": variant, "flows": n, "recall": called.get(kind, 0) / n,
                      "called": dict(sorted(called.items(), key=lambda kv: -kv[1]))})
    table.sort(key=lambda t: (t["recall"], t["kind"], t["variant"]))
    for t in table:
        called = ", ".join(f"{k} {v}" for k, v in t["called"].items())
        print(f"{t['kind']:10s} {t['variant']:26s} {t['flows']:8d} flows  recall {t['recall']:.3f}  ({called})")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(table, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
