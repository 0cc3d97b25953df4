#!/usr/bin/python3
"""Adds a `category` column to a flow CSV from a labels file.

    label_flows.py --flows flows.csv --labels labels.csv --out labelled.csv

flows.csv is what `edgesense replay --csv` writes. labels.csv has the header
`start,end,src,dst,dport,proto,category`: epoch seconds, initiator and
responder (an address, a CIDR or `*`), responder port or `*`,
`tcp`/`udp`/`icmp`/`*`, and one of benign, reel, scan, dos, bruteforce,
slowdos. A flow takes the category of the first row whose time window
overlaps the flow's [start, end] and whose fields match its
initiator -> responder direction; a flow matching no row is benign.
Prints the number of rows per category.
"""

import argparse
import collections
import csv
import ipaddress
import sys

CATEGORIES = {"benign", "reel", "scan", "dos", "bruteforce", "slowdos"}
PROTOS = {"tcp": "TCP", "udp": "UDP", "icmp": ("ICMP", "IPv6-ICMP"), "*": None}


class Rule:
    def __init__(self, row, line):
        try:
            self.start = float(row["start"])
            self.end = float(row["end"])
            self.src = None if row["src"] == "*" else ipaddress.ip_network(row["src"], strict=False)
            self.dst = None if row["dst"] == "*" else ipaddress.ip_network(row["dst"], strict=False)
            self.dport = None if row["dport"] == "*" else int(row["dport"])
            self.proto = PROTOS[row["proto"]]
            self.category = row["category"]
        except (KeyError, ValueError) as e:
            sys.exit(f"labels line {line}: {e}")
        if self.category not in CATEGORIES:
            sys.exit(f"labels line {line}: unknown category {self.category!r}")

    def matches(self, start, end, src, dst, dport, proto):
        if end < self.start or start > self.end:
            return False
        if self.src is not None and src not in self.src:
            return False
        if self.dst is not None and dst not in self.dst:
            return False
        if self.dport is not None and dport != self.dport:
            return False
        if self.proto is not None and proto not in (self.proto if isinstance(self.proto, tuple) else (self.proto,)):
            return False
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True)
    opts = ap.parse_args()
    with open(opts.labels, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["start", "end", "src", "dst", "dport", "proto", "category"]:
            sys.exit(f"{opts.labels}: header must be start,end,src,dst,dport,proto,category")
        rules = [Rule(row, n) for n, row in enumerate(reader, 2)]
    counts = collections.Counter()
    with open(opts.flows, newline="") as f, open(opts.out, "w", newline="") as out:
        reader = csv.reader(f)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header + ["category"])
        for row in reader:
            src = ipaddress.ip_address(row[col["src_ip"]])
            dst = ipaddress.ip_address(row[col["dest_ip"]])
            proto = row[col["proto"]]
            dport = int(row[col["dest_port"]]) if proto in ("TCP", "UDP") else None
            start, end = float(row[col["start"]]), float(row[col["end"]])
            category = next((r.category for r in rules if r.matches(start, end, src, dst, dport, proto)), "benign")
            counts[category] += 1
            writer.writerow(row + [category])
    for category in sorted(counts):
        print(f"{category:>10} {counts[category]}")


if __name__ == "__main__":
    main()
