#!/usr/bin/env python3
"""The traffic lab end to end: a short run of scripts/lab/run (root: network
namespaces, real servers, clients and attack tools), then its capture through
`edgesense replay` and its labels through label_flows.py.

  lab_test.py --edgesense BIN --root REPO [--duration 60] [--profile wan]

Asserts that the capture replays without decode errors, that labels.csv is in
the labels format, that every category (benign, reel, scan, dos, bruteforce,
slowdos) appears among the labelled flows, that every attack and reel row
matches flows of the tools that made it (and only flows from the right
initiator), that each node's TCP SYNs carry the MSS and options of the host
stack its profile drew for it (MTU, timestamps, SACK, window scaling, read
from the capture by tshark), and that once the run is over no namespace of the run and no
process it started, or that lived in its namespaces, is left.
"""
import argparse
import csv
import importlib.util
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # label_flows.py is loaded from the source tree
OPTS = None
CATEGORIES = {"benign", "reel", "scan", "dos", "bruteforce", "slowdos"}


class TrafficLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        cls.out = cls.dir / "out"
        root = Path(OPTS.root)
        cls.lab_run = subprocess.run(
            ["/usr/bin/python3", root / "scripts/lab/run", "--seed", "7", "--duration", str(OPTS.duration),
             "--size", "small", "--profile", OPTS.profile, "--out", cls.out], capture_output=True, text=True,
            timeout=OPTS.duration + 180)
        sys.stderr.write(cls.lab_run.stderr)
        if cls.lab_run.returncode != 0:
            return
        cls.lab = json.loads((cls.out / "lab.json").read_text())
        flows = cls.dir / "flows.csv"
        summary = cls.dir / "summary.json"
        cls.replay = subprocess.run([OPTS.edgesense, "replay", "--no-models", "--csv", flows, "--summary", summary,
                                     cls.out / "capture.pcap"], capture_output=True, text=True, timeout=300)
        cls.summary = json.loads(summary.read_text()) if summary.exists() else None
        labelled = cls.dir / "labelled.csv"
        cls.label = subprocess.run(["/usr/bin/python3", root / "scripts/bundle_tools/label_flows.py", "--flows",
                                    flows, "--labels", cls.out / "labels.csv", "--out", labelled],
                                   capture_output=True, text=True, timeout=120)
        cls.flows = []
        if labelled.exists():
            with labelled.open(newline="") as f:
                cls.flows = list(csv.DictReader(f))
        spec = importlib.util.spec_from_file_location("label_flows", root / "scripts/bundle_tools/label_flows.py")
        cls.label_flows = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.label_flows)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.lab_run.returncode, 0, f"lab run failed:\n{self.lab_run.stderr[-3000:]}")

    def test_capture_replays_without_decode_errors(self):
        self.assertEqual(self.replay.returncode, 0, self.replay.stderr)
        self.assertGreater(self.summary["packets"], 10000)
        self.assertEqual(sum(self.summary["decode_errors"].values()), 0, self.summary["decode_errors"])
        self.assertGreater(len(self.flows), 1000)

    def test_labels_file_is_in_the_labels_format(self):
        with (self.out / "labels.csv").open(newline="") as f:
            reader = csv.DictReader(f)
            self.assertEqual(reader.fieldnames, ["start", "end", "src", "dst", "dport", "proto", "category"])
            rows = list(reader)
        self.assertGreater(len(rows), 5)
        for row in rows:
            self.assertLess(float(row["start"]), float(row["end"]), row)
            self.assertGreater(float(row["start"]), self.lab["started"] - 5, row)
            for field in ("src", "dst"):
                if row[field] != "*":
                    ipaddress.ip_network(row[field], strict=False)
            self.assertTrue(row["dport"] == "*" or 0 < int(row["dport"]) < 65536, row)
            self.assertIn(row["proto"], {"tcp", "udp", "icmp", "*"})
            self.assertIn(row["category"], CATEGORIES)
        self.assertEqual(self.label.returncode, 0, self.label.stderr)

    def test_every_category_appears_among_the_flows(self):
        seen = {f["category"] for f in self.flows}
        self.assertEqual(seen, CATEGORIES)

    def test_attack_and_reel_rows_match_their_tools_flows(self):
        nodes = self.lab["nodes"]
        attackers = {nodes[n][k] for n in nodes if n.startswith("a") for k in ("v4", "v6")}
        # The reel site (nginx, .15) and the reel CDN (Caddy, .17: reel_browser).
        reel = {nodes["srv"][k][i] for k in ("all4", "all6") for i in (5, 7) if i < len(nodes["srv"][k])}
        with (self.out / "labels.csv").open(newline="") as f:
            rules = [(row, self.label_flows.Rule(row, n)) for n, row in enumerate(csv.DictReader(f), 2)]
        for row, rule in rules:
            matched = [fl for fl in self.flows if rule.matches(
                float(fl["start"]), float(fl["end"]), ipaddress.ip_address(fl["src_ip"]),
                ipaddress.ip_address(fl["dest_ip"]),
                int(fl["dest_port"]) if fl["proto"] in ("TCP", "UDP") else None, fl["proto"])]
            if row["dst"] in attackers:
                # Replies to an attack (ICMP errors) from its targets: there may be none.
                for fl in matched:
                    self.assertIn(fl["proto"], ("ICMP", "IPv6-ICMP"), row)
                    self.assertIn(fl["dest_ip"], attackers, row)
                continue
            self.assertTrue(matched, f"label row matches no flow: {row}")
            if row["category"] == "reel":
                for fl in matched:
                    self.assertIn(fl["dest_ip"], reel)
                    self.assertEqual(fl["dest_port"], "443")
            elif row["src"] != "*":
                # An attack row names its attacker: every flow it matches comes from one.
                for fl in matched:
                    self.assertIn(fl["src_ip"], attackers, row)
            elif row["src"] == "*":
                # A spoofed flood: many sources, one victim.
                self.assertGreater(len({fl["src_ip"] for fl in matched}), 50, row)
        # Every flow an attacker started during its attacks has an attack label,
        # and no flow of a benign client does.
        for fl in self.flows:
            if fl["src_ip"] in attackers and fl["proto"] in ("TCP", "UDP"):
                self.assertNotIn(fl["category"], {"benign", "reel"}, fl)
            if fl["src_ip"] not in attackers and fl["category"] in {"scan", "bruteforce", "slowdos"}:
                self.assertIn(fl["proto"], ("ICMP", "IPv6-ICMP"), fl)  # replies to a scan's probes

    def test_episodes_say_which_variant_ran_when(self):
        # lab.json's "episodes": every attack label row lies inside an episode
        # of its kind, each episode a variant the agent knows.
        variants = {"scan": {"syn", "connect", "udp", "sweep", "masscan", "version"},
                    "dos": {"syn", "syn_spoofed", "http_wrk", "http_ab"} | {
                        f"{v}_{tool}_{ports}" for v in ("udp", "udp_spoofed") for tool in ("hping3", "sockets")
                        for ports in ("one", "many")},
                    "bruteforce": {"ssh", "http", "http_form", "ftp", "imap", "smtp"},
                    "slowdos": {"slowloris", "slowbody", "slowread"}}
        episodes = self.lab["episodes"]
        self.assertTrue(episodes)
        for e in episodes:
            self.assertIn(e["variant"], variants[e["kind"]], e)
            self.assertLessEqual(e["start"], e["end"], e)
        with (self.out / "labels.csv").open(newline="") as f:
            for row in csv.DictReader(f):
                if row["category"] not in variants:
                    continue
                # Label rows are widened by 0.5 s before and 2 s after the
                # tool; an attacker's rows of its own address up to 10 s
                # after, but a row reaching past the 2 s never into its next
                # episode of another kind.
                start, end = float(row["start"]) + 0.5, float(row["end"])
                match = [e for e in episodes if e["kind"] == row["category"] and e["start"] <= start + 0.01
                         and e["start"] <= end - 2.0 + 0.01 and end - 10.0 <= e["end"] + 0.01]
                self.assertTrue(match, row)
                e = match[-1]
                later = [x["start"] for x in episodes
                         if x["agent"] == e["agent"] and x["kind"] != e["kind"] and x["start"] > e["end"]]
                if later and end - 2.0 > e["end"] + 0.01:
                    self.assertLessEqual(end, min(later) - 0.5 + 0.01, row)

    def test_syns_carry_each_nodes_host_stack(self):
        # The SYNs of the kernels' own TCP say the stack.
        out = subprocess.run(["tshark", "-r", self.out / "capture.pcap", "-Y",
                              "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.options.mss_val", "-T", "fields",
                              "-E", "separator=,", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.options.mss_val",
                              "-e", "tcp.options.timestamp.tsval", "-e", "tcp.options.sack_perm",
                              "-e", "tcp.options.wscale.shift"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        by_addr = {}
        for name, node in self.lab["nodes"].items():
            for a in node["all4"]:
                by_addr[a] = (name, node["stack"], 40)
            for a in node["all6"]:
                by_addr[str(ipaddress.ip_address(a))] = (name, node["stack"], 60)
        checked, best = set(), {}
        for line in out.stdout.splitlines():
            v4, v6, mss, tsval, sack, wscale = line.split(",")
            src = v4 or str(ipaddress.ip_address(v6))
            if src not in by_addr or by_addr[src][0].startswith("a") or by_addr[src][0] == "nat":
                # Attackers' raw-socket tools (nmap -sS, hping3, masscan) write
                # their own options; the NAT gateway forwards its hidden clients'.
                continue
            name, stack, headers = by_addr[src]
            # The MSS follows the MTU: at most MTU - headers (less towards some
            # peers), and for some node exactly that.
            self.assertLessEqual(int(mss), stack["mtu"] - headers, (name, stack, line))
            best[(name, headers)] = max(best.get((name, headers), 0), int(mss))
            self.assertEqual(bool(tsval), bool(stack["timestamps"]), (name, stack, line))
            self.assertEqual(bool(sack), bool(stack["sack"]), (name, stack, line))
            self.assertEqual(bool(wscale), bool(stack["window_scaling"]), (name, stack, line))
            checked.add(name)
        self.assertGreaterEqual(len(checked), 3, checked)
        self.assertTrue(any(mss == self.lab["nodes"][name]["stack"]["mtu"] - headers
                            for (name, headers), mss in best.items()), best)

    def test_nothing_is_left_behind(self):
        tag = self.lab["tag"]
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn(tag + "-", names)
        inodes = set(self.lab["namespaces"].values())
        self.assertGreaterEqual(len(inodes), 10)
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                ns = os.readlink(pid_dir / "ns/net")
            except OSError:
                continue
            self.assertNotIn(int(ns[len("net:["):-1]), inodes, f"process {pid_dir.name} left in a lab namespace")
        self.assertGreater(len(self.lab["pids"]), 20)
        for name, (pid, program) in self.lab["pids"].items():
            try:
                exe = os.readlink(Path("/proc") / str(pid) / "exe")
            except OSError:
                continue  # gone, as it should be
            self.assertNotEqual(exe, program, f"{name} (pid {pid}) still runs")
        self.assertFalse(list(Path(tempfile.gettempdir()).glob(f"edgesense-lab-{tag[3:]}-*")))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgesense", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--profile", default="office")
    OPTS, rest = ap.parse_known_args()
    if os.geteuid() != 0:
        sys.exit("lab_test: needs root (network namespaces); CI runs as root")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
