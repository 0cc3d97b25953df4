#!/usr/bin/env python3
"""scripts/apps on a directory of real captures, as train-default-models uses it.

The directory is made here from the golden inputs (real pcap files of
several link types) under application-like names, plus one capture of a link
type edgesense does not decode. Checks:
  * files of one application (dns.pcap, dns_doh.pcap, DNS-google.pcapng;
    NTPv2.pcap, ntpv4.pcap) fall in one part, the unreadable file is skipped
    with edgesense's own reason, and the split is the same on a second run;
  * `scripts/apps eval --part all` counts, per file, the flows that
    `edgesense replay --summary` counts for that file alone, and its flagged
    counts are those of its flows CSV, recomputed here from each row's
    attack verdict and anomaly alert.

  apps_test.py --edgesense BIN --root SOURCE_DIR
"""

import argparse
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--edgesense", required=True)
    p.add_argument("--root", required=True)
    a = p.parse_args()
    golden = os.path.join(a.root, "tests", "golden")
    apps = os.path.join(a.root, "scripts", "apps")
    names = {
        "dns.pcap": "udp_dns",
        "dns_doh.pcap": "tcp_handshake_fin",
        "DNS-google.pcapng": "pcapng_basic",
        "NTPv2.pcap": "icmp_echo",
        "ntpv4.pcap": "linktype_sll",
        "443-chrome.pcap": "tcp_rst",
        "whatsapp.pcap": "ipv6_fragments",
        "zoom_call.pcap": "long_flow",
    }
    with tempfile.TemporaryDirectory() as work:
        d = os.path.join(work, "apps")
        os.mkdir(d)
        for name, case in names.items():
            src = [f for f in os.listdir(os.path.join(golden, case)) if f.startswith("input.")]
            shutil.copy(os.path.join(golden, case, src[0]), os.path.join(d, name))
        # A pcap of link type 9 (PPP): one record, which edgesense refuses.
        with open(os.path.join(d, "ppp_link.pcap"), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 9))
            f.write(struct.pack("<IIII", 1, 0, 4, 4) + b"\xff\x03\x00\x21")
        with open(os.path.join(d, "README.md"), "w") as f:
            f.write("not a capture\n")

        def split():
            r = subprocess.run([apps, "split", d, "--bin", a.edgesense], capture_output=True,
                               text=True, check=True)
            return [line.split("\t") for line in r.stdout.splitlines()]

        rows = split()
        part = {os.path.basename(r[1]): r[0] for r in rows}
        check(sorted(part) == sorted(list(names) + ["ppp_link.pcap"]),
              f"split lists the captures only: {sorted(part)}")
        check(part["dns.pcap"] == part["dns_doh.pcap"] == part["DNS-google.pcapng"],
              f"one application, one part: {part}")
        check(part["NTPv2.pcap"] == part["ntpv4.pcap"], f"NTPv2 and ntpv4 together: {part}")
        check(all(part[n] in ("train", "test") for n in names), f"every readable file split: {part}")
        skip = [r for r in rows if r[0] == "skip"]
        check(len(skip) == 1 and "link type" in skip[0][2],
              f"the PPP capture is skipped with edgesense's reason: {skip}")
        check(split() == rows, "the split is the same on a second run")

        out = os.path.join(work, "out")
        r = subprocess.run([apps, "eval", d, "--bin", a.edgesense, "--models",
                            os.path.join(a.root, "models"), "--out", out, "--part", "all"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"apps eval exited {r.returncode}: {r.stderr}")
        if r.returncode != 0:
            return
        s = json.load(open(os.path.join(out, "apps.json")))
        per_file = {f["file"]: f for f in s["per_file"]}
        check(sorted(per_file) == sorted(names), f"apps.json has every readable file: {sorted(per_file)}")
        total = 0
        for name in names:
            rep = subprocess.run([a.edgesense, "replay", "--no-models", "--summary", "-",
                                  os.path.join(d, name)], capture_output=True, text=True,
                                 check=True)
            created = json.loads(rep.stdout)["flows"]["created"]
            total += created
            check(per_file[name]["flows"] == created,
                  f"{name}: {per_file[name]['flows']} flows in apps.json, {created} in replay")
        check(s["flows"] == total and total > 0, f"{s['flows']} flows, the files hold {total}")
        flagged = {}
        for row in csv.DictReader(open(os.path.join(out, "apps-flows.csv"))):
            hit = row["attack_predicted"] != "benign" or row["anomaly_alert"] == "1"
            n = os.path.basename(row["capture"])
            flagged[n] = flagged.get(n, 0) + hit
        for name in names:
            check(per_file[name]["flagged"] == flagged.get(name, 0),
                  f"{name}: {per_file[name]['flagged']} flagged in apps.json, "
                  f"{flagged.get(name, 0)} in the flows CSV")
        check(s["flagged"] == sum(flagged.values()), "the overall flagged count is the files' sum")
        check(abs(s["flagged_share"] - s["flagged"] / s["flows"]) < 1e-12, "share = flagged / flows")
        check([x["file"] for x in s["skipped"]] == ["ppp_link.pcap"], f"skipped: {s['skipped']}")
        check("flagged:" in r.stdout and "worst files:" in r.stdout, f"the table: {r.stdout}")
    if FAILURES:
        print(f"FAILED: {len(FAILURES)} failures")
        sys.exit(1)
    print("scripts/apps: split by application and per-file flagged counts agree")


if __name__ == "__main__":
    main()
