#!/usr/bin/python3
"""Leave-one-client-family-out evaluation of the reel head: exclude files and a summary.

    reel_families.py exclude --labels L.csv [--labels ...] --family F --without OUT.csv --only OUT.csv
    reel_families.py summary (--flows F=FLOWS.csv | --metrics F=metrics.json)... [--json OUT.json]

The lab's reel sessions come from three client families, told apart in the
labels file by the responder and protocol of their `reel` rows (scripts/lab/run,
agent.py):

    python          the lab's Python reel client: srv's reel address .15 (::f), tcp 443
    chromium-h1h2   headless Chromium (reel_browser) over HTTP/1.1 or HTTP/2:
                    the reel CDN address .17 (::11), tcp 443
    chromium-h3     the same over HTTP/3 (QUIC): .17 (::11), udp 443

`exclude` writes two labels files (the format of `edgesense train --exclude`
and `eval --exclude`) from the reel rows of one or more labels files:
--without, family F's rows (train without F), and --only, every other
family's rows (measure F alone: its reels against every non-reel flow). A
reel row of no family is an error.

`summary` reads, per family, what `edgesense eval` measured with the other
families excluded: its --flows CSV (one row per flow; a flow's prediction is
`reel_predicted`, empty when the reel gate never let it through) or its
metrics.json (the `reel` object). It prints a table and, with --json, writes
per family: precision, recall, f1, support (reel flows), gated (reel flows
the gate let through, from a flows CSV), non_reel (flows), non_reel_called_reel
(flows) and non_reel_called_reel_share. From a flows CSV it also counts reel
flows of other families (other_family_reels), which an honest run has none of.
"""

import argparse
import csv
import ipaddress
import json
import sys

REEL_ADDR = {ipaddress.ip_address("198.51.100.15"), ipaddress.ip_address("2001:db8:1ab::f")}
CDN_ADDR = {ipaddress.ip_address("198.51.100.17"), ipaddress.ip_address("2001:db8:1ab::11")}
FAMILIES = ["python", "chromium-h1h2", "chromium-h3"]
PROTO = {"tcp": "tcp", "udp": "udp", "TCP": "tcp", "UDP": "udp", "6": "tcp", "17": "udp"}


def family_of(dst, port, proto):
    """The family of a reel flow or row (responder, port, protocol), or None."""
    try:
        addr = ipaddress.ip_address(dst)
    except ValueError:
        return None
    if str(port) != "443":
        return None
    proto = PROTO.get(proto)
    if addr in REEL_ADDR and proto == "tcp":
        return "python"
    if addr in CDN_ADDR:
        return {"tcp": "chromium-h1h2", "udp": "chromium-h3"}.get(proto)
    return None


def cmd_exclude(opts):
    header = None
    rows = {f: [] for f in FAMILIES}
    for path in opts.labels:
        with open(path, newline="") as f:
            lines = f.read().splitlines()
        if not lines:
            sys.exit(f"{path}:1: empty file")
        if header is None:
            header = lines[0]
        elif lines[0] != header:
            sys.exit(f"{path}:1: header differs from {opts.labels[0]}'s")
        if header != "start,end,src,dst,dport,proto,category":
            sys.exit(f"{path}:1: not a labels file header: {lines[0]!r}")
        for n, line in enumerate(lines[1:], start=2):
            fields = line.split(",")
            if len(fields) != 7 or fields[6] != "reel":
                continue
            fam = family_of(fields[3], fields[4], fields[5])
            if fam is None:
                sys.exit(f"{path}:{n}: a reel row of no known family: {line}")
            rows[fam].append(line)
    if opts.family not in rows:
        sys.exit(f"--family {opts.family}: one of {', '.join(FAMILIES)}")
    others = [r for f in FAMILIES if f != opts.family for r in rows[f]]
    for path, chosen in ((opts.without, rows[opts.family]), (opts.only, others)):
        with open(path, "w") as f:
            f.write(header + "\n")
            f.writelines(r + "\n" for r in chosen)
    counts = ", ".join(f"{f} {len(rows[f])}" for f in FAMILIES)
    print(f"reel rows: {counts}; {opts.without}: {len(rows[opts.family])} rows, {opts.only}: {len(others)} rows")


def ratio(a, b):
    return a / b if b else 0.0


def from_flows(path, family):
    tp = fp = fn = neg = gated = other = 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            predicted = row["reel_predicted"] == "1"
            if row["category"] != "reel":
                neg += 1
                fp += predicted
                continue
            if family_of(row["dest_ip"], row["dest_port"], row["proto"]) != family:
                other += 1
            gated += row["reel_probability"] != ""
            tp += predicted
            fn += not predicted
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall,
            "f1": ratio(2 * precision * recall, precision + recall),
            "support": tp + fn, "gated": gated, "non_reel": neg, "non_reel_called_reel": fp,
            "non_reel_called_reel_share": ratio(fp, neg), "other_family_reels": other,
            "source": path}


def from_metrics(path):
    with open(path) as f:
        m = json.load(f)
    r = m["reel"]
    if r is None:
        sys.exit(f"{path}: no reel figures (no reel bundle)")
    if "false_positives" not in r:
        sys.exit(f"{path}: no reel.false_positives (an older edgesense eval): give --flows instead")
    neg = r["flows"] - r["support"]
    return {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"], "support": r["support"],
            "gated": None, "non_reel": neg, "non_reel_called_reel": r["false_positives"],
            "non_reel_called_reel_share": ratio(r["false_positives"], neg),
            "excluded_flows": m.get("excluded_flows"), "source": path}


def pairs(values, what):
    out = []
    for v in values or []:
        fam, sep, path = v.partition("=")
        if not sep or fam not in FAMILIES:
            sys.exit(f"--{what} {v}: FAMILY=FILE, FAMILY one of {', '.join(FAMILIES)}")
        out.append((fam, path))
    return out


def cmd_summary(opts):
    result = {}
    for fam, path in pairs(opts.flows, "flows"):
        result[fam] = from_flows(path, fam)
    for fam, path in pairs(opts.metrics, "metrics"):
        result[fam] = from_metrics(path)
    if not result:
        sys.exit("summary: give --flows FAMILY=FILE or --metrics FAMILY=FILE")
    print(f"{'held out':14s} {'f1':>6s} {'prec':>6s} {'recall':>6s} {'support':>8s} {'gated':>6s} "
          f"{'non-reel':>9s} {'called reel':>11s} {'share':>8s}")
    for fam in FAMILIES:
        if fam not in result:
            continue
        r = result[fam]
        gated = "-" if r["gated"] is None else str(r["gated"])
        print(f"{fam:14s} {r['f1']:6.3f} {r['precision']:6.3f} {r['recall']:6.3f} {r['support']:8d} {gated:>6s} "
              f"{r['non_reel']:9d} {r['non_reel_called_reel']:11d} {100 * r['non_reel_called_reel_share']:7.3f}%")
        if r.get("other_family_reels"):
            print(f"  warning: {r['other_family_reels']} reel flows of other families in {r['source']}")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("exclude", help="exclude files for one family")
    ex.add_argument("--labels", action="append", required=True)
    ex.add_argument("--family", required=True, choices=FAMILIES)
    ex.add_argument("--without", required=True, help="F's reel rows: train without F")
    ex.add_argument("--only", required=True, help="the other families' reel rows: measure F alone")
    su = sub.add_parser("summary", help="per family figures from eval's output")
    su.add_argument("--flows", action="append", help="FAMILY=FLOWS.csv (eval --flows)")
    su.add_argument("--metrics", action="append", help="FAMILY=metrics.json")
    su.add_argument("--json")
    opts = ap.parse_args()
    return cmd_exclude(opts) if opts.cmd == "exclude" else cmd_summary(opts)


if __name__ == "__main__":
    sys.exit(main())
