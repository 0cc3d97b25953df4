#!/usr/bin/env python3
"""Does `edgesense run` live within the unit's sandbox? Checked with strace.

systemd is not PID 1 here, so the unit's seccomp filter and file-system
fences cannot be applied for real. Instead the daemon runs as the unit starts
it (unprivileged, ambient CAP_NET_RAW and CAP_NET_ADMIN only, no_new_privs)
under `strace -f`, on a veth in a network namespace of its own, through a
whole life: start, capture with ping traffic, scrapes of /metrics, /healthz
and /api/v1/models, SIGHUP (reload), SIGTERM (stop). Then, against what
systemd/edgesense.service itself says (read from the file, so the test
follows the unit):

* every system call it made is in its SystemCallFilter= (the groups
  expanded by systemd-analyze syscall-filter, deny lists taken out);
* every socket it opened is of a family in RestrictAddressFamilies=;
* with MemoryDenyWriteExecute=: no writable and executable mapping, no
  mprotect() adding execute;
* with ProtectSystem=strict: the only files it opened for writing are its
  EVE file (which the unit's LogsDirectory= holds) and /dev/null;
* with ProcSubset=pid: no /proc file outside the process directories.

  ops_sandbox_test.py --edgesense BIN --models DIR --unit systemd/edgesense.service
"""
import argparse
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

failures = []
TAG = f"ess{os.getpid() % 100000}"
NS, NS_PEER = f"{TAG}-ns", f"{TAG}-peer"


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)
    return ok


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key, []).append(value)
    return settings


def expand(group, cache={}):
    """The system call names of a group (or a single name), groups expanded."""
    if not group.startswith("@"):
        return {group}
    if group not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", group], check=True,
                             capture_output=True, text=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            token = line.strip()
            if token and not token.startswith("#"):
                names |= expand(token)
        cache[group] = names
    return cache[group]


def allowed_syscalls(filters):
    """systemd's semantics: the first line an allow list, later ~lines remove."""
    allowed = set()
    for i, value in enumerate(filters):
        deny = value.startswith("~")
        names = set().union(*(expand(t) for t in value.lstrip("~").split()))
        if i == 0 and deny:
            sys.exit("the unit's first SystemCallFilter= is a deny list; the test expects an "
                     "allow list")
        allowed = allowed - names if deny else allowed | names
    return allowed


def curl(path):
    return subprocess.run(["ip", "netns", "exec", NS, "curl", "-sS", "--max-time", "5",
                           f"http://127.0.0.1:9750{path}"], capture_output=True, text=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--edgesense", required=True)
    p.add_argument("--models", required=True)
    p.add_argument("--unit", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("ops_sandbox_test.py: needs root (network namespaces, capabilities)")
    if shutil.which("strace") is None:
        sys.exit("ops_sandbox_test.py: strace not found (scripts/setup installs it)")
    unit = unit_settings(args.unit)
    edgesense = os.path.realpath(args.edgesense)
    nobody = pwd.getpwnam("nobody")

    work = tempfile.mkdtemp(prefix="edgesense-sandbox-")
    daemon = None
    try:
        os.chmod(work, 0o755)
        logs = os.path.join(work, "logs")
        os.mkdir(logs, 0o750)
        os.chown(logs, nobody.pw_uid, nobody.pw_gid)
        eve = os.path.join(logs, "eve.json")
        config = os.path.join(work, "edgesense.yaml")
        with open(config, "w") as f:
            f.write(f"""capture:
  interfaces: [eth0]
  threads: 2
inference:
  models_dir: {os.path.realpath(args.models)}
alerts:
  sinks: [{{file: {eve}}}, {{syslog: local5}}]
metrics:
  listen: 127.0.0.1:9750
run:
  user: ""
  group: ""
""")
        for n in (NS, NS_PEER):
            subprocess.run(["ip", "netns", "add", n], check=True)
            subprocess.run(["ip", "-n", n, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", NS, "link", "add", "eth0", "type", "veth", "peer", "name",
                        "peer0", "netns", NS_PEER], check=True)
        for n, ifname, addr in [(NS, "eth0", "192.0.2.1"), (NS_PEER, "peer0", "192.0.2.2")]:
            subprocess.run(["ip", "-n", n, "addr", "add", addr + "/24", "dev", ifname], check=True)
            subprocess.run(["ip", "-n", n, "link", "set", ifname, "up"], check=True)

        trace = os.path.join(work, "trace")
        log = open(os.path.join(work, "daemon.log"), "w+")
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", NS, "strace", "-f", "-qq", "-s", "256", "-o", trace,
             "setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid),
             "--clear-groups", "--inh-caps=-all,+net_raw,+net_admin",
             "--ambient-caps=-all,+net_raw,+net_admin", "--bounding-set=-all,+net_raw,+net_admin",
             "--no-new-privs", edgesense, "run", "-c", config],
            cwd="/", stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(0o027))
        deadline = time.monotonic() + 60
        while curl("/healthz").returncode != 0 and time.monotonic() < deadline \
                and daemon.poll() is None:
            time.sleep(0.3)
        if not check(daemon.poll() is None and curl("/healthz").returncode == 0,
                     "the daemon did not come up under strace: " + open(log.name).read()[-3000:]):
            return 1
        r = subprocess.run(["ip", "netns", "exec", NS_PEER, "ping", "-q", "-c", "20", "-i", "0.05",
                            "192.0.2.1"], capture_output=True, text=True)
        check(r.returncode == 0, f"ping: {r.stdout}{r.stderr}")
        for path in ("/metrics", "/api/v1/models", "/healthz"):
            check(curl(path).returncode == 0, f"GET {path} failed")
        # The daemon is strace's child: find it by its own command line, which
        # names this test's config (other tests may run edgesense meanwhile).
        pid = int(subprocess.run(
            ["pgrep", "-f", "-x", f"{re.escape(edgesense)} run -c {re.escape(config)}"],
            capture_output=True, text=True).stdout.split()[0])
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "models reloaded" not in open(log.name).read() and time.monotonic() < deadline:
            time.sleep(0.2)
        os.kill(pid, signal.SIGTERM)
        status = daemon.wait(timeout=60)
        check(status == 0, "exit status under strace: " + open(log.name).read()[-3000:])
        check("models reloaded" in open(log.name).read(), "SIGHUP did not reload the models")

        # The daemon's part of the trace: from its execve on (setpriv's own
        # setup before it is systemd's part under the unit).
        lines = open(trace).read().splitlines()
        start = next((i for i, line in enumerate(lines)
                      if f'execve("{edgesense}"' in line and "= 0" in line), None)
        if not check(start is not None, "no execve of the daemon in the trace"):
            return 1
        calls = []
        for line in lines[start:]:
            m = re.match(r"^\d+\s+([a-z_0-9]+)\((.*)", line)
            if m:
                calls.append((m.group(1), m.group(2)))
        check(len(calls) > 1000, f"only {len(calls)} system calls traced")

        allowed = allowed_syscalls(unit.get("SystemCallFilter", []))
        check(allowed, "the unit has no SystemCallFilter=")
        used = sorted({name for name, _ in calls})
        outside = [name for name in used if name not in allowed]
        check(not outside, f"system calls outside the unit's SystemCallFilter=: {outside}")

        families = set(" ".join(unit.get("RestrictAddressFamilies", [])).split())
        opened = {m.group(1) for name, rest in calls if name == "socket"
                  for m in [re.match(r"(AF_[A-Z0-9]+)", rest)] if m}
        check(opened, "no socket() in the trace")
        check(opened <= families, f"socket families outside RestrictAddressFamilies= "
              f"{sorted(families)}: {sorted(opened - families)}")

        if unit.get("MemoryDenyWriteExecute") == ["yes"]:
            wx = [f"{n}({r[:100]}" for n, r in calls
                  if (n == "mmap" and "PROT_WRITE" in r and "PROT_EXEC" in r)
                  or (n in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in r)]
            check(not wx, f"MemoryDenyWriteExecute= would refuse: {wx[:3]}")

        writes = set()
        procs = set()
        for name, rest in calls:
            if name not in ("openat", "open", "creat"):
                continue
            m = re.search(r'"([^"]*)"', rest)
            if not m:
                continue
            path = m.group(1)
            if re.search(r"O_WRONLY|O_RDWR|O_CREAT", rest) and "= -1" not in rest:
                writes.add(path)
            if path.startswith("/proc/") and not re.match(r"/proc/(self|thread-self|\d+)/", path):
                procs.add(path)
        if unit.get("ProtectSystem") == ["strict"]:
            check(writes <= {eve, "/dev/null"},
                  f"files opened for writing besides the EVE file: {sorted(writes - {eve})}")
        if unit.get("ProcSubset") == ["pid"]:
            check(not procs, f"ProcSubset=pid hides these, which the daemon reads: {sorted(procs)}")
        print(f"{len(calls)} system calls of {len(used)} kinds traced; "
              f"socket families {sorted(opened)}; files written {sorted(writes)}")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        for n in (NS, NS_PEER):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAILED' if failures else 'ok'}: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
