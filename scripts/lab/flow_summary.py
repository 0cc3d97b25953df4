#!/usr/bin/python3
"""Counts a lab run's labelled flows by category and by the service they went to.

    flow_summary.py --labelled LABELLED.csv --lab OUT/lab.json [--json]

LABELLED.csv is what scripts/bundle_tools/label_flows.py writes from
`edgesense replay --csv` output and the run's labels.csv; lab.json is what
scripts/lab/run wrote beside them. A flow's service is named from its
responder address and port as the lab assigns them (www, api, files, video,
img, reel, reelcdn and reelcdn-quic (Caddy's HTTP/1.1 and HTTP/2, and HTTP/3,
of the browser reel player), shop, ftp, imap, smtp, dns, ssh, iperf, ntp,
tracker, p2p between clients, mdns, ssdp, vpn, ...), or `attacker` when an attacker
namespace started it, `other` for the rest (neighbour discovery and the like).
Prints a table (or JSON with --json); exits 1 on a malformed file.
"""

import argparse
import collections
import csv
import json
import sys

SERVICES = ["www", "api", "files", "video", "img", "reel"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labelled", required=True)
    ap.add_argument("--lab", required=True)
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()
    try:
        with open(opts.lab) as f:
            lab = json.load(f)
        nodes = lab["nodes"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{opts.lab}: {e}")
    where = {}
    for i, name in enumerate(SERVICES):
        where[nodes["srv"]["all4"][i]] = name
        where[nodes["srv"]["all6"][i]] = name
    # srv's .17 (index 7, runs since reel_browser): Caddy, the browser reel player's CDN.
    for k in ("all4", "all6"):
        if len(nodes["srv"][k]) > 7:
            where[nodes["srv"][k][7]] = "reelcdn"
    for a in (nodes["victim"]["v4"], nodes["victim"]["v6"]):
        where[a] = "victim"
    for a in nodes["srv"]["all4"][6:7] + nodes["srv"]["all6"][6:7]:
        where[a] = "vpn"  # srv's spare address: the WireGuard tunnel's endpoint (full runs)
    infra = {nodes["infra"]["v4"], nodes["infra"]["v6"]}
    attackers = {n[k] for name, n in nodes.items() if name.startswith("a") for k in ("v4", "v6")}
    clients = {n[k] for name, n in nodes.items() if name.startswith("c") for k in ("v4", "v6")}
    # The benign look-alikes' multicast: mDNS (IPv4, IPv6) and SSDP.
    where.update({"224.0.0.251": "mdns", "ff02::fb": "mdns", "239.255.255.250": "ssdp"})

    def service(src, dst, port, proto):
        if src in attackers:
            return "attacker"
        if dst in infra:
            return {"53": "dns", "22": "ssh", "123": "ntp", "6969": "tracker"}.get(
                port, "iperf" if port.startswith("52") else "infra-other")
        if dst in clients:
            # Client to client: BitTorrent peers (TCP), SSDP answers (UDP from
            # port 1900 to the searcher's port), pings between workstations.
            return {"TCP": "p2p", "UDP": "client-udp"}.get(proto, "client-other")
        if where.get(dst) in ("mdns", "ssdp"):
            return where[dst]
        name = where.get(dst)
        if name == "victim":
            if port.isdigit() and 40000 <= int(port) <= 40099:
                return "ftp-data"  # vsftpd's passive ports
            return {"443": "shop", "21": "ftp", "143": "imap", "993": "imap", "587": "smtp"}.get(port, "victim-other")
        if name == "vpn":
            return "vpn" if port == "51820" and proto == "UDP" else "vpn-other"
        if name == "reelcdn" and proto == "UDP" and port == "443":
            return "reelcdn-quic"  # HTTP/3
        if name:
            return name if port in ("80", "443") else f"{name}-other"
        return "other" if proto != "UDP" and proto != "TCP" else "other-" + proto.lower()

    counts = collections.Counter()
    try:
        with open(opts.labelled, newline="") as f:
            for row in csv.DictReader(f):
                counts[(row["category"], service(row["src_ip"], row["dest_ip"], row["dest_port"], row["proto"]))] += 1
    except (OSError, KeyError) as e:
        sys.exit(f"{opts.labelled}: {e}")
    if opts.json:
        out = collections.defaultdict(dict)
        for (cat, svc), n in counts.items():
            out[cat][svc] = n
        json.dump(out, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    per_cat = collections.Counter()
    for (cat, _), n in counts.items():
        per_cat[cat] += n
    for cat in sorted(per_cat):
        print(f"{cat:>10} {per_cat[cat]:>7}  " + " ".join(
            f"{svc}={n}" for (c, svc), n in sorted(counts.items(), key=lambda kv: -kv[1]) if c == cat))


if __name__ == "__main__":
    main()
