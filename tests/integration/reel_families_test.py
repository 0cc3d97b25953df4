#!/usr/bin/env python3
"""scripts/bundle_tools/reel_families.py on files made here.

  * exclude: the reel rows of two labels files fall into the three families
    by responder and protocol (IPv4 and IPv6 spellings), the chosen family's
    into --without and the others' into --only, non-reel rows into neither; a
    reel row of no family is an error naming FILE:LINE;
  * summary: figures from an eval --flows CSV made by hand (known true and
    false positives, a reel the gate never let through, a reel of another
    family counted as a warning) and from a metrics.json.

  reel_families_test.py --root SOURCE_DIR
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HEADER = "start,end,src,dst,dport,proto,category"
FLOWS_HEADER = ("capture,flow_id,src_ip,src_port,dest_ip,dest_port,proto,start,end,packets,bytes,"
                "category,attack_truth,attack_predicted,reel_probability,reel_predicted,anomaly_score,"
                "anomaly_alert")


def run(script, *args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True)


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    opts = ap.parse_args()
    script = os.path.join(opts.root, "scripts/bundle_tools/reel_families.py")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
        rows_a = ["1,2,198.51.100.101,198.51.100.15,443,tcp,reel",          # python
                  "1,2,2001:db8:1ab::66,2001:db8:1ab:0::f,443,tcp,reel",    # python, other spelling
                  "1,2,198.51.100.102,198.51.100.17,443,tcp,reel",          # chromium-h1h2
                  "1,2,198.51.100.201,198.51.100.30,80,tcp,dos"]            # not a reel
        rows_b = ["3,4,2001:db8:1ab::67,2001:db8:1ab::11,443,udp,reel",     # chromium-h3
                  "3,4,198.51.100.103,198.51.100.17,443,udp,reel"]          # chromium-h3
        open(a, "w").write("\n".join([HEADER] + rows_a) + "\n")
        open(b, "w").write("\n".join([HEADER] + rows_b) + "\n")
        without, only = os.path.join(tmp, "w.csv"), os.path.join(tmp, "o.csv")
        r = run(script, "exclude", "--labels", a, "--labels", b, "--family", "chromium-h3",
                "--without", without, "--only", only)
        check(r.returncode == 0, f"exclude: {r.stderr}")
        check(open(without).read().splitlines() == [HEADER] + rows_b, "--without: chromium-h3's rows")
        check(open(only).read().splitlines() == [HEADER] + rows_a[:3], "--only: the others' reel rows")
        r = run(script, "exclude", "--labels", a, "--labels", b, "--family", "python",
                "--without", without, "--only", only)
        check(open(without).read().splitlines() == [HEADER] + rows_a[:2], "--without: python's rows")
        check(len(open(only).read().splitlines()) == 4, "--only: h1h2 and h3 rows")
        bad = os.path.join(tmp, "bad.csv")
        open(bad, "w").write(f"{HEADER}\n1,2,198.51.100.101,198.51.100.15,443,tcp,reel\n"
                             "1,2,198.51.100.101,198.51.100.15,8443,tcp,reel\n")
        r = run(script, "exclude", "--labels", bad, "--family", "python", "--without", without, "--only", only)
        check(r.returncode != 0 and f"{bad}:3: a reel row of no known family" in r.stderr, r.stderr)

        # A flows CSV of chromium-h3 measured alone: 4 reels (3 called reel,
        # one never gated), 1 reel of python (should not be there), 10
        # non-reels with 1 called reel.
        flows = os.path.join(tmp, "flows.csv")
        lines = [FLOWS_HEADER]
        def flow(dst, proto, category, prob, pred):
            lines.append(f"c.pcap,1,198.51.100.101,5000,{dst},443,{proto},1,2,20,30000,{category},benign,benign,"
                         f"{prob},{pred},0.5,0")
        for _ in range(3):
            flow("198.51.100.17", "UDP", "reel", "0.9", "1")
        flow("2001:db8:1ab::11", "UDP", "reel", "", "0")
        flow("198.51.100.15", "TCP", "reel", "0.8", "1")
        for i in range(10):
            flow("198.51.100.10", "TCP", "benign", "0.7" if i == 0 else "0.1", "1" if i == 0 else "0")
        open(flows, "w").write("\n".join(lines) + "\n")
        metrics = os.path.join(tmp, "metrics.json")
        json.dump({"excluded_flows": 7, "reel": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "support": 8,
                                                 "flows": 108, "true_positives": 2, "false_positives": 2}},
                  open(metrics, "w"))
        out = os.path.join(tmp, "s.json")
        r = run(script, "summary", "--flows", f"chromium-h3={flows}", "--metrics", f"python={metrics}",
                "--json", out)
        check(r.returncode == 0, f"summary: {r.stderr}")
        s = json.load(open(out))
        h3 = s["chromium-h3"]
        check(h3["support"] == 5 and h3["gated"] == 4, f"h3 support/gated {h3}")
        check(abs(h3["recall"] - 4 / 5) < 1e-9 and abs(h3["precision"] - 4 / 5) < 1e-9, f"h3 p/r {h3}")
        check(h3["non_reel"] == 10 and h3["non_reel_called_reel"] == 1, f"h3 non-reel {h3}")
        check(abs(h3["non_reel_called_reel_share"] - 0.1) < 1e-9, f"h3 share {h3}")
        check(h3["other_family_reels"] == 1 and "warning: 1 reel flows of other families" in r.stdout, r.stdout)
        py = s["python"]
        check(py["non_reel"] == 100 and py["non_reel_called_reel"] == 2, f"python {py}")
        check(abs(py["non_reel_called_reel_share"] - 0.02) < 1e-9 and py["excluded_flows"] == 7, f"python {py}")
        check(r.stdout.splitlines()[1].startswith("python "), "table in family order")
    print("reel_families_test: ok")


if __name__ == "__main__":
    main()
