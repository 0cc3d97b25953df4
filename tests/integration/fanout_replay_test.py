#!/usr/bin/env python3
"""Live with several capture threads equals a single-thread replay of the same traffic.

  fanout_replay_test.py --edgesense BIN --models DIR [--fanout ip-pair|flow] [--threads N]  (root)

Two network namespaces joined by a veth pair (MTU 1500), four IPv4 and four
IPv6 host pairs, each host in one pair. Namespace A and namespace B each run
a UDP and a TCP echo server on every address; clients in both send UDP
datagrams of 64 to 8000 bytes (the large ones leave as IPv4 or IPv6
fragments) and a 30 kB TCP exchange, from every host to its peer. In
namespace B `edgesense run` captures B's end with `capture.threads` threads
while tcpdump writes a pcap of the same interface. The pcap is then replayed
by `edgesense replay` (one thread, the same config) and every flow record is
compared with the live one: the whole EVE record (addresses, ports, packet
and byte counts per direction, TCP flags, the feature vector, verdicts,
flow_id) but the fields that say when or how the flow was ended, which
depend on the wall clock. UDP flows (which carry the fragments) must match
exactly; received TCP segments are stamped by each capture socket on its
own (see TIME_SLACK), so on TCP flows times, time-derived features and the
verdicts on them may differ by microseconds, and everything else must not.
While the test runs it holds a socket that asks for receive timestamps, so
that the kernel stamps every other packet once for both capture sockets.
It also checks that tcpdump lost nothing, that the live run read as many
packets as the pcap holds and counted fragments as fragments, none
unattributed, and that every capture thread had flows.

With `--fanout flow` (the kernel's flow hash with PACKET_FANOUT_FLAG_DEFRAG)
it is expected to fail: live counts one reassembled IPv4 datagram where the
pcap has its fragments. Every process started here is killed by PID and the
namespaces are deleted at the end.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAG = f"esf{os.getpid()}"
NS_A, NS_B = f"{TAG}a", f"{TAG}b"
IF_A, IF_B = f"{TAG}a0", f"{TAG}b0"
# Host pair i: A_V4[i] <-> B_V4[i], A_V6[i] <-> B_V6[i]; no host is in two pairs,
# so host context (per capture thread) is whole on every thread.
A_V4 = [f"10.232.0.{i}" for i in (1, 2, 3, 4)]
B_V4 = [f"10.232.0.{i}" for i in (11, 12, 13, 14)]
A_V6 = [f"fd00:e5::{i}" for i in (1, 2, 3, 4)]
B_V6 = [f"fd00:e5::{i:x}" for i in (0x11, 0x12, 0x13, 0x14)]
METRICS_PORT = 9751
SO_TIMESTAMP = 29  # <asm-generic/socket.h>; Python does not name it
IDLE = 2.0
# Multicast and ICMPv6 (neighbour discovery, MLD reports of link-local
# addresses to many groups) are left out of both captures: a link-local host
# talks to several multicast groups, and host context is per thread.
BPF = "not icmp6 and not ip6 multicast and not ip multicast"

SERVER = r"""
import socket, sys, threading
def family(a): return socket.AF_INET6 if ":" in a else socket.AF_INET
def udp(a):
    s = socket.socket(family(a), socket.SOCK_DGRAM); s.bind((a, 7000))
    while True:
        data, peer = s.recvfrom(65535); s.sendto(data, peer)
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
def tcp(a):
    l = socket.socket(family(a), socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind((a, 7001)); l.listen(16)
    while True:
        c, _ = l.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
for a in sys.argv[1:]:
    for f in (udp, tcp): threading.Thread(target=f, args=(a,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

CLIENT = r"""
import socket, sys
def family(a): return socket.AF_INET6 if ":" in a else socket.AF_INET
for pair in sys.argv[1:]:
    local, remote = pair.split(",")
    u = socket.socket(family(local), socket.SOCK_DGRAM); u.bind((local, 0)); u.settimeout(5)
    for size in (64, 4000, 300, 2999, 4000, 8000, 1200):
        u.sendto(bytes([size % 251]) * size, (remote, 7000))
        data, _ = u.recvfrom(65535)
        assert len(data) == size, (pair, size, len(data))
    u.close()
    t = socket.create_connection((remote, 7001), timeout=5, source_address=(local, 0))
    t.sendall(b"x" * 30000); t.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        d = t.recv(65536)
        if not d: break
        got += len(d)
    assert got == 30000, (pair, got)
    t.close()
"""

# Said by how and when the flow ended, which the wall clock decides live and
# the end of the file decides in a replay.
ENDING = {"flow": {"end", "age", "state", "reason", "alerted"}, "edgesense": {"end_reason"}}
# TCP segments that cross a veth pair from another namespace keep the
# sender's departure time (a monotonic one), which a capture socket cannot
# use, so each socket stamps them with its own clock reading: the daemon's
# and tcpdump's times of a received TCP segment differ by microseconds
# (packets sent here, and UDP both ways, carry one stamp both sockets read).
# On those flows the times, what is computed from them, and the verdicts on
# those features may differ by that much; everything else must not.
TIME_SLACK = 0.0005  # seconds
TIMED_UNITS = {"s", "bytes/s", "packets/s"}

OPTS = None
PROCS = []
FAILURES = []


def sh(*args, check=True, **kw):
    return subprocess.run(list(map(str, args)), check=check, capture_output=True, text=True, **kw)


def in_ns(ns, *args, **kw):
    return sh("ip", "netns", "exec", ns, *args, **kw)


def spawn(ns, *args, **kw):
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *map(str, args)], **kw)
    PROCS.append(proc)
    return proc


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message, flush=True)
    if not ok:
        FAILURES.append(message)


def share_timestamps():
    """Two capture sockets stamp a packet each at its own moment, a few
    microseconds apart, unless the kernel stamps the packet itself once,
    which it does while any socket asks for receive timestamps. This socket
    asks, for the length of the test, so the daemon and tcpdump read the
    same time on every packet and time-derived features can be compared
    exactly."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    time.sleep(0.5)  # the kernel switches stamping on from a work queue
    return s


def setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "-n", NS_A, "link", "add", IF_A, "mtu", 1500, "type", "veth", "peer", "name", IF_B,
       "mtu", 1500, "netns", NS_B)
    for ns, ifname, v4, v6 in ((NS_A, IF_A, A_V4, A_V6), (NS_B, IF_B, B_V4, B_V6)):
        for a in v4:
            sh("ip", "-n", ns, "addr", "add", f"{a}/24", "dev", ifname)
        for a in v6:
            sh("ip", "-n", ns, "addr", "add", f"{a}/64", "dev", ifname, "nodad")
        sh("ip", "-n", ns, "link", "set", ifname, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown():
    for proc in PROCS:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for ns in (NS_A, NS_B):
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        sh("ip", "netns", "del", ns, check=False)


FLOWS = f"""
flows:
  idle_timeout: {IDLE}
  tcp_close_linger: 0.5
"""


def config(work):
    """The daemon's config, and the replay's: the same flows section."""
    (work / "replay.yaml").write_text(FLOWS)
    path = work / "edgesense.yaml"
    path.write_text(FLOWS + f"""
capture:
  interfaces: [{IF_B}]
  threads: {OPTS.threads}
  fanout: {OPTS.fanout}
  bpf: "{BPF}"
  immediate: true
  read_timeout: 0.1
inference:
  models_dir: {OPTS.models}
alerts:
  sinks: [{{file: {work / "live.json"}}}]
metrics:
  listen: 127.0.0.1:{METRICS_PORT}
logging:
  format: json
run:
  user: ""
  group: ""
  pid_file: {work / "edgesense.pid"}
""")
    return path


def metrics():
    text = in_ns(NS_B, "curl", "-sf", f"http://127.0.0.1:{METRICS_PORT}/metrics").stdout
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def flow_records(path):
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["event_type"] == "flow"]


def without(record, drop):
    r = dict(record)
    for section, keys in drop.items():
        if section in r:
            r[section] = {k: v for k, v in r[section].items() if k not in keys}
    return r


def timed_features():
    """Feature names whose unit is time or a rate over time."""
    out = sh(OPTS.edgesense, "features").stdout.splitlines()[1:]
    return {line.split()[0] for line in out if len(line.split()) > 2 and line.split()[2] in
            TIMED_UNITS}


def seconds(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def difference(live, replayed, timed):
    """'' if the records agree, else what differs. Exact, but for the ending
    fields and, on TCP, the clock readings (see TIME_SLACK)."""
    a, b = without(live, ENDING), without(replayed, ENDING)
    if a == b:
        return ""
    if live["proto"] != "TCP":
        return "differs (exact match required)"
    loose = {"flow": {"start", "end"}, "edgesense": {"verdict"}}
    a, b = without(a, loose), without(b, loose)
    for r in (a, b):
        del r["timestamp"], r["flow_id"]
        r["edgesense"] = dict(r["edgesense"], features={
            k: v for k, v in r["edgesense"]["features"].items() if k not in timed})
    if a != b:
        return "differs beyond its clock readings"
    for what in ("start", "end"):
        if abs(seconds(live["flow"][what]) - seconds(replayed["flow"][what])) > TIME_SLACK:
            return f"flow.{what} differs by more than {TIME_SLACK} s"
    for k, v in live["edgesense"]["features"].items():
        w = replayed["edgesense"]["features"][k]
        if k not in timed or k.endswith("per_second"):
            continue  # equal above, or counts over the duration, both compared
        if (v is None) != (w is None) or (v is not None and abs(v - w) > TIME_SLACK):
            return f"feature {k} differs: {v} live, {w} replayed"
    return ""


def describe(record):
    f = record["flow"]
    return (f"{record['proto']} {record['src_ip']}:{record.get('src_port')} -> "
            f"{record['dest_ip']}:{record.get('dest_port')} pkts {f['pkts_toserver']}/"
            f"{f['pkts_toclient']} bytes {f['bytes_toserver']}/{f['bytes_toclient']}")


def run(work):
    cfg = config(work)
    stderr = open(work / "daemon.log", "w")
    daemon = spawn(NS_B, OPTS.edgesense, "run", "-c", cfg, stderr=stderr)
    wait_for("the metrics endpoint", lambda: daemon.poll() is not None or in_ns(
        NS_B, "curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{METRICS_PORT}/metrics",
        check=False).returncode == 0)
    if daemon.poll() is not None:
        raise AssertionError(f"edgesense run exited: {(work / 'daemon.log').read_text()}")
    pcap = work / "wire.pcap"
    tcpdump = spawn(NS_B, "tcpdump", "-i", IF_B, "-w", pcap, "-U", "-s", 0, "--immediate-mode",
                    "-B", 131072, "-Z", "root", BPF, stderr=subprocess.PIPE, text=True)
    wait_for("tcpdump", lambda: "listening on" in tcpdump.stderr.readline())
    for ns, lines in ((NS_A, A_V4 + A_V6), (NS_B, B_V4 + B_V6)):
        server = spawn(ns, sys.executable, "-c", SERVER, *lines, stdout=subprocess.PIPE, text=True)
        wait_for("the echo servers", lambda: server.stdout.readline().strip() == "ready")
    # Both ends open flows: B's (sent by the sensor's own interface) and A's
    # (received by it).
    pairs_b = [f"{b},{a}" for a, b in zip(A_V4 + A_V6, B_V4 + B_V6)]
    pairs_a = [f"{a},{b}" for a, b in zip(A_V4 + A_V6, B_V4 + B_V6)]
    clients = [spawn(NS_B, sys.executable, "-c", CLIENT, *pairs_b, stderr=subprocess.PIPE),
               spawn(NS_A, sys.executable, "-c", CLIENT, *pairs_a, stderr=subprocess.PIPE)]
    for c in clients:
        _, err = c.communicate(timeout=120)
        if c.returncode != 0:
            raise AssertionError(f"traffic client failed: {err.decode()}")
    # Every flow ends live by its idle timeout or FIN, on the wall clock.
    time.sleep(IDLE + 1.5)
    live_metrics = metrics()
    tcpdump.send_signal(signal.SIGINT)
    tcpdump.wait(timeout=10)
    said = tcpdump.stderr.read()
    dropped = re.search(r"(\d+) packets? dropped by kernel", said)
    check(dropped is not None and dropped.group(1) == "0",
          f"tcpdump lost no packet (else the pcap is not the traffic): {said.strip()}")
    daemon.send_signal(signal.SIGTERM)
    check(daemon.wait(timeout=30) == 0, "edgesense run stopped with status 0")
    stderr.close()
    log = [json.loads(line) for line in (work / "daemon.log").read_text().splitlines()]
    live = flow_records(work / "live.json")

    replay_eve, summary = work / "replay.json", work / "summary.json"
    r = sh(OPTS.edgesense, "replay", "-c", work / "replay.yaml", "--models", OPTS.models,
           "--eve", replay_eve, "--summary", summary, pcap, check=False)
    check(r.returncode == 0, f"edgesense replay exit 0 ({r.stderr.strip()[-300:]})")
    return live_metrics, log, live, flow_records(replay_eve), json.loads(summary.read_text())


def verify(live_metrics, log, live, replayed, summary):
    label = f'interface="{IF_B}"'
    unattributed = live_metrics.get(f'edgesense_flow_fragments_total{{{label},result="unattributed"}}')
    attributed = live_metrics.get(f'edgesense_flow_fragments_total{{{label},result="attributed"}}')
    frags = summary["fragments"]
    print(f"live fragments: {attributed} attributed, {unattributed} unattributed; "
          f"replay: {frags}")
    check(unattributed == 0, "live: no unattributed fragments")
    check(frags["unattributed"] == 0, "replay: no unattributed fragments")
    # 8 host pairs x 2 ends x (4000, 2999, 4000, 8000 bytes) both ways: many.
    check(frags["attributed"] > 0, "the pcap has later fragments")
    check(attributed == frags["attributed"],
          "live counted as many later fragments as the replay (none reassembled)")

    print(f"flow records: {len(live)} live, {len(replayed)} replayed")
    # Per host pair: a UDP and a TCP flow from each end.
    check(len(replayed) == 8 * 4, "the replay has every flow")
    key = lambda r: (r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"), r["proto"])
    live_by, replay_by = {key(r): r for r in live}, {key(r): r for r in replayed}
    check(len(live_by) == len(live) and len(replay_by) == len(replayed), "one record per flow")
    timed = timed_features()
    exact, loose, bad = 0, 0, []
    for k in sorted(set(live_by) | set(replay_by), key=str):
        if k not in live_by or k not in replay_by:
            bad.append(f"{'replay' if k in replay_by else 'live'} only: "
                       f"{describe(replay_by.get(k) or live_by[k])}")
            continue
        a, b = live_by[k], replay_by[k]
        why = difference(a, b, timed)
        if why:
            bad.append(f"{describe(a)} live, {describe(b)} replayed: {why}")
        elif without(a, ENDING) == without(b, ENDING):
            exact += 1
        else:
            loose += 1
    for line in bad[:12]:
        print(f"  {line}")
    print(f"flows equal: {exact} whole records, {loose} TCP records up to clock readings")
    check(not bad, f"every live flow record equals its replayed one ({len(bad)} differ)")
    udp = [r for r in live if r["proto"] == "UDP"]
    # 64, 4000, 300, 2999, 4000, 8000 and 1200 bytes: 1+3+1+3+3+6+1 packets
    # on the wire each way, IPv4 and IPv6 alike.
    check(len(udp) == 16 and all(r["flow"]["pkts_toserver"] == 18 and
                                 r["flow"]["pkts_toclient"] == 18 for r in udp),
          "16 UDP flows of 18 packets each way, fragments counted one by one")
    live_packets = live_metrics.get(f"edgesense_capture_packets_total{{{label}}}")
    print(f"packets: {live_packets} live, {summary['packets']} in the pcap")
    check(live_packets == summary["packets"], "live read as many packets as the pcap holds")

    per_thread = {}
    for entry in log:
        m = re.match(r"rx-(\d+) \(.* thread \d+\): (\d+) packets, (\d+) flows", entry.get("message", ""))
        if m:
            per_thread[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    print(f"per capture thread (packets, flows): {per_thread}")
    check(len(per_thread) == OPTS.threads and all(f > 0 for _, f in per_thread.values()),
          f"each of the {OPTS.threads} capture threads had flows")


def main():
    global OPTS
    p = argparse.ArgumentParser()
    p.add_argument("--edgesense", required=True)
    p.add_argument("--models", required=True)
    p.add_argument("--fanout", default="ip-pair")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    OPTS = p.parse_args()
    OPTS.models = os.path.abspath(OPTS.models)
    OPTS.edgesense = os.path.abspath(OPTS.edgesense)
    if os.geteuid() != 0:
        sys.exit("fanout_replay_test.py: needs root (network namespaces, live capture)")
    for tool in ("ip", "curl", "tcpdump"):
        if shutil.which(tool) is None:
            sys.exit(f"fanout_replay_test.py: {tool} not found (run scripts/setup)")
    work = Path(tempfile.mkdtemp(prefix="edgesense-fanout-"))
    stamps = share_timestamps()
    try:
        setup()
        verify(*run(work))
    finally:
        teardown()
        stamps.close()
        if OPTS.keep:
            print(f"work directory: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        sys.exit(f"{len(FAILURES)} checks failed")
    print("all checks passed")


if __name__ == "__main__":
    main()
