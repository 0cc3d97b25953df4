#!/usr/bin/env python3
"""`edgesense run` as the systemd unit runs it, scraped by a real Prometheus.

No systemd runs as PID 1 here, so this test plays its part: it starts the
daemon as an unprivileged user holding only the unit's ambient capabilities
(CAP_NET_RAW, CAP_NET_ADMIN, nothing else in the bounding set, no_new_privs),
with NOTIFY_SOCKET and WATCHDOG_USEC set, capturing on a veth in a network
namespace of its own while another namespace pings across it. It checks:

* READY=1 arrives on the notify socket, then WATCHDOG=1 pings and STATUS=;
* once ready the daemon holds no capability at all (effective, permitted,
  ambient), yet it counts the packets;
* a real Prometheus server (Debian's, run directly with a temporary config
  and storage, in the same namespace) scrapes /metrics: its HTTP API returns
  edgesense_capture_packets_total > 0, and once the traffic stops the value
  it stored is the one /metrics serves;
* SIGHUP (`systemctl reload`): the models are reloaded (the reload counter
  moves) and the EVE file reopens, so a file renamed away by logrotate is
  followed by a new one;
* SIGTERM (`systemctl stop`): STOPPING=1, exit status 0.

Every process started here is ended by its PID and both namespaces are
deleted, on success or failure.

  ops_service_test.py --edgesense BIN --models DIR
"""
import argparse
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

failures = []
TAG = f"eso{os.getpid() % 100000}"
NS_RX, NS_TX = f"{TAG}-rx", f"{TAG}-tx"
IF_RX, IF_TX = f"{TAG}r", f"{TAG}t"
# Documentation prefix (RFC 5737): only ever inside our namespaces.
ADDR_RX, ADDR_TX = "192.0.2.1", "192.0.2.2"
METRICS = "127.0.0.1:9750"
PROMETHEUS = "127.0.0.1:9090"


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)
    return ok


def sh(*cmd):
    subprocess.run(list(cmd), check=True, capture_output=True)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def http_get(path, port_addr):
    """GET inside the sensor's namespace (its loopback is not ours)."""
    r = subprocess.run(in_ns(NS_RX, "curl", "-sS", "--max-time", "5", f"http://{port_addr}{path}"),
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def metric_sum(text, name):
    """Sum of every series of a metric in Prometheus text format; None if absent."""
    total, seen = 0.0, False
    for line in (text or "").splitlines():
        m = re.match(rf"^{name}(\{{[^}}]*\}})? ([0-9.eE+-]+)$", line)
        if m:
            total += float(m.group(2))
            seen = True
    return total if seen else None


def prometheus_value(query):
    """The value of an instant query in the Prometheus server's HTTP API, or None."""
    body = http_get("/api/v1/query?query=" + urllib.parse.quote(query), PROMETHEUS)
    if not body:
        return None
    data = json.loads(body)
    if data.get("status") != "success" or not data["data"]["result"]:
        return None
    return sum(float(r["value"][1]) for r in data["data"]["result"])


def capabilities(pid):
    caps = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Cap"):
                key, value = line.split(":")
                caps[key] = int(value.strip(), 16)
    return caps


class Notifications:
    """The NOTIFY_SOCKET systemd would listen on: a datagram socket read all
    the time by a thread, as systemd does (a full socket blocks sd_notify)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)  # the daemon writes as the unprivileged user
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            with self.lock:
                self.messages.extend(data.split("\n"))

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = next((m for m in self.messages if pred(m)), None)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def close(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


def setup_network():
    sh("ip", "netns", "add", NS_RX)
    sh("ip", "netns", "add", NS_TX)
    sh("ip", "link", "add", IF_RX, "netns", NS_RX, "type", "veth", "peer", "name", IF_TX,
       "netns", NS_TX)
    for ns, ifname, addr in [(NS_RX, IF_RX, ADDR_RX), (NS_TX, IF_TX, ADDR_TX)]:
        sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
        sh(*in_ns(ns, "ip", "addr", "add", addr + "/24", "dev", ifname))
        sh(*in_ns(ns, "ip", "link", "set", ifname, "up"))


def teardown(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for ns in (NS_RX, NS_TX):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def ping(count):
    r = subprocess.run(in_ns(NS_TX, "ping", "-q", "-c", str(count), "-i", "0.01", "-W", "1",
                             ADDR_RX), capture_output=True, text=True)
    check(r.returncode == 0, f"ping across the veth failed: {r.stdout}{r.stderr}")


def wait_until(pred, timeout, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--edgesense", required=True)
    p.add_argument("--models", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("ops_service_test.py: needs root (network namespaces, capabilities)")
    prometheus_bin = shutil.which("prometheus")
    if prometheus_bin is None:
        sys.exit("ops_service_test.py: prometheus not found (scripts/setup installs it)")
    nobody = pwd.getpwnam("nobody")

    procs = []
    notify = None
    work = tempfile.mkdtemp(prefix="edgesense-service-")
    try:
        os.chmod(work, 0o755)
        logs = os.path.join(work, "logs")
        os.mkdir(logs)
        os.chown(logs, nobody.pw_uid, nobody.pw_gid)
        eve = os.path.join(logs, "eve.json")
        config = os.path.join(work, "edgesense.yaml")
        with open(config, "w") as f:
            f.write(f"""capture:
  interfaces: [{IF_RX}]
  buffer_size: 4194304
inference:
  workers: 1
  models_dir: {args.models}
alerts:
  sinks: [{{file: {eve}}}]
metrics:
  listen: {METRICS}
run:
  user: ""
  group: ""
""")
        r = subprocess.run([args.edgesense, "check-config", "-c", config], capture_output=True,
                           text=True)
        if not check(r.returncode == 0, f"the test's config: {r.stderr}"):
            return 1
        setup_network()

        notify = Notifications(os.path.join(work, "notify"))
        env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="2000000")
        # What the unit's User=, AmbientCapabilities=, CapabilityBoundingSet=
        # and NoNewPrivileges= amount to.
        daemon_cmd = in_ns(NS_RX, "setpriv", "--reuid", str(nobody.pw_uid),
                           "--regid", str(nobody.pw_gid), "--clear-groups",
                           "--inh-caps=-all,+net_raw,+net_admin",
                           "--ambient-caps=-all,+net_raw,+net_admin",
                           "--bounding-set=-all,+net_raw,+net_admin", "--no-new-privs",
                           args.edgesense, "run", "-c", config)
        daemon_log = open(os.path.join(work, "daemon.log"), "w+")
        daemon = subprocess.Popen(daemon_cmd, env=env, stdout=daemon_log, stderr=subprocess.STDOUT)
        procs.append(daemon)

        ready = notify.wait_for(lambda m: m == "READY=1", 30)
        if not check(ready is not None and daemon.poll() is None,
                     "no READY=1 from the daemon: " + open(daemon_log.name).read()[-3000:]):
            return 1
        # setpriv and ip netns exec exec() into the daemon: same PID.
        caps = capabilities(daemon.pid)
        check(caps["CapEff"] == 0 and caps["CapPrm"] == 0 and caps["CapAmb"] == 0,
              f"the daemon still holds capabilities once ready: {caps}")
        check(notify.wait_for(lambda m: m == "WATCHDOG=1", 10) is not None,
              "no WATCHDOG=1 within 10 s with WATCHDOG_USEC=2 s")
        check(notify.wait_for(lambda m: m.startswith("STATUS="), 10) is not None,
              "no STATUS= line for systemctl status")

        prom_dir = os.path.join(work, "prometheus")
        os.mkdir(prom_dir)
        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: edgesense
    static_configs:
      - targets: ["{METRICS}"]
""")
        prom_log = open(os.path.join(work, "prometheus.log"), "w+")
        prometheus = subprocess.Popen(
            in_ns(NS_RX, prometheus_bin, f"--config.file={prom_dir}/prometheus.yml",
                  f"--storage.tsdb.path={prom_dir}/data", f"--web.listen-address={PROMETHEUS}"),
            stdout=prom_log, stderr=subprocess.STDOUT)
        procs.append(prometheus)

        ping(200)
        up = wait_until(lambda: prometheus_value('up{job="edgesense"}'), 60)
        check(up == 1.0, "Prometheus does not see the target up: "
              + open(prom_log.name).read()[-2000:])
        stored = wait_until(lambda: prometheus_value("edgesense_capture_packets_total"), 30)
        check(stored is not None and stored > 0,
              f"Prometheus has no edgesense_capture_packets_total > 0: {stored}")
        # With the pings over, the stored value catches up with what /metrics
        # served. A stray packet (neighbour discovery, say) may be counted
        # after the read below, so the stored counter may also pass it.
        served = metric_sum(http_get("/metrics", METRICS), "edgesense_capture_packets_total")
        check(served is not None and served >= 400,
              f"/metrics counts {served} packets after 200 pings each way")
        stored = wait_until(
            lambda: (prometheus_value("edgesense_capture_packets_total") or 0) >= served, 15)
        check(stored, "Prometheus's stored packet count never reached /metrics' "
              f"{served}: {prometheus_value('edgesense_capture_packets_total')}")
        print(f"Prometheus stored edgesense_capture_packets_total "
              f"{prometheus_value('edgesense_capture_packets_total')}, /metrics serves {served}")
        check(http_get("/healthz", METRICS) is not None, "/healthz does not answer 200")

        # SIGHUP, as `systemctl reload` and logrotate's postrotate send it.
        reloads = metric_sum(http_get("/metrics", METRICS), "edgesense_model_reloads_total") or 0
        check(os.path.exists(eve), "no EVE file after start")
        os.rename(eve, eve + ".1")
        daemon.send_signal(signal.SIGHUP)
        check(wait_until(lambda: (metric_sum(http_get("/metrics", METRICS),
                                             "edgesense_model_reloads_total") or 0) > reloads, 15),
              "SIGHUP did not reload the models (edgesense_model_reloads_total did not move)")
        ping(50)  # new flows end and are written after the idle timeout or at stop
        daemon.send_signal(signal.SIGTERM)
        try:
            status = daemon.wait(timeout=40)
        except subprocess.TimeoutExpired:
            status = None
        check(status == 0, f"SIGTERM: exit status {status}: " + open(daemon_log.name).read()[-3000:])
        check(notify.wait_for(lambda m: m == "STOPPING=1", 2) is not None, "no STOPPING=1")
        check(os.path.exists(eve) and os.path.getsize(eve) > 0,
              "after SIGHUP the daemon did not reopen eve.json (flows flushed at stop are missing)")
        if os.path.exists(eve):
            check(os.stat(eve).st_uid == nobody.pw_uid, "the reopened EVE file is not the user's")
    finally:
        teardown(procs)
        if notify:
            notify.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAILED' if failures else 'ok'}: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
