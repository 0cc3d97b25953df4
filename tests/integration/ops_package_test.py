#!/usr/bin/env python3
"""The Debian package end to end, on this machine (root; CI is a fresh one).

Builds the .deb with scripts/package, checks its control data and contents,
installs it with dpkg -i, checks what it installed and made (files, the
edgesense system user and group, the state and log directories, the models
link), runs the installed binary with the installed config (replay, and
`run` started as the unit starts it: ready, reload, stop), verifies the
installed unit with systemd-analyze, rotates logs with the installed
logrotate snippet as the service user, installs it again over itself, then
purges it and checks that the machine is as it was.

Refuses to start if an edgesense package or user is already there: it would
remove them.

  ops_package_test.py --root REPO --pcap FILE
"""
import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)
    return ok


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "edgesense")
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def exists(name, db):
    try:
        db(name)
        return True
    except KeyError:
        return False


INSTALLED_FILES = [
    "/usr/bin/edgesense",
    "/lib/systemd/system/edgesense.service",
    "/etc/edgesense/edgesense.yaml",
    "/etc/logrotate.d/edgesense",
    "/usr/share/edgesense/models/reel/bundle.json",
    "/usr/share/edgesense/models/attack/model.json",
    "/usr/share/edgesense/models/anomaly/bundle.json",
    "/usr/share/doc/edgesense/README.md",
]
MADE_BY_INSTALL = ["/var/lib/edgesense", "/var/log/edgesense", "/etc/edgesense"]


def check_package(deb, root):
    info = run("dpkg-deb", "--info", deb).stdout
    depends = re.search(r"^ Depends: (.*)$", info, re.M)
    check(depends is not None, f"no Depends in {deb}")
    if depends:
        for dep in ["adduser", "procps", "libpcap0.8", "libc6"]:
            check(re.search(rf"\b{re.escape(dep)}\b", depends.group(1)) is not None,
                  f"Depends has no {dep} (dpkg-shlibdeps?): {depends.group(1)}")
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    check(sorted(conffiles) == ["/etc/edgesense/edgesense.yaml", "/etc/logrotate.d/edgesense"],
          f"conffiles: {conffiles}")
    for script in ["postinst", "prerm", "postrm"]:
        check(run("dpkg-deb", "--info", deb, script).returncode == 0, f"no {script} in {deb}")
    listing = run("dpkg-deb", "--contents", deb).stdout.splitlines()
    contents = {line.split(" ./", 1)[-1] for line in listing}
    for f in INSTALLED_FILES:
        check(f[1:] in contents, f"{deb} has no {f}")
    # The shipped config is the generated example, unchanged.
    with tempfile.TemporaryDirectory() as x:
        run("dpkg-deb", "-x", deb, x)
        shipped = os.path.join(x, "etc/edgesense/edgesense.yaml")
        check(os.path.exists(shipped) and
              open(shipped).read() == open(os.path.join(root, "config/edgesense.yaml")).read(),
              "the packaged /etc/edgesense/edgesense.yaml is not config/edgesense.yaml")


def owner_and_mode(path):
    st = os.lstat(path)
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, stat.S_IMODE(st.st_mode)


def start_like_the_unit(user):
    """The installed daemon with the installed config, started as the unit
    starts it: user edgesense, ambient CAP_NET_RAW and CAP_NET_ADMIN only,
    no_new_privs, UMask 0027, a NOTIFY_SOCKET, cwd /. No systemd runs here,
    so this stands in for `systemctl start`. The config captures on eth0:
    a network namespace of our own has an eth0 (a veth) and ping traffic on
    it; nothing outside the namespace is touched."""
    tag = f"esp{os.getpid() % 100000}"
    ns = f"{tag}-ns"
    ns_peer = f"{tag}-peer"
    daemon = None
    work = tempfile.mkdtemp(prefix="edgesense-package-")
    notify_path = os.path.join(work, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        os.chmod(work, 0o755)
        sock.bind(notify_path)
        os.chmod(notify_path, 0o777)
        sock.settimeout(0.2)
        for n in (ns, ns_peer):
            subprocess.run(["ip", "netns", "add", n], check=True)
            subprocess.run(["ip", "-n", n, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name",
                        "peer0", "netns", ns_peer], check=True)
        for n, ifname, addr in [(ns, "eth0", "192.0.2.1"), (ns_peer, "peer0", "192.0.2.2")]:
            subprocess.run(["ip", "-n", n, "addr", "add", addr + "/24", "dev", ifname], check=True)
            subprocess.run(["ip", "-n", n, "link", "set", ifname, "up"], check=True)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": notify_path,
               "WATCHDOG_USEC": "30000000"}
        log = open(os.path.join(work, "daemon.log"), "w+")
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", ns, "setpriv", "--reuid", str(user.pw_uid),
             "--regid", str(user.pw_gid), "--clear-groups",
             "--inh-caps=-all,+net_raw,+net_admin", "--ambient-caps=-all,+net_raw,+net_admin",
             "--bounding-set=-all,+net_raw,+net_admin", "--no-new-privs",
             "/usr/bin/edgesense", "run", "-c", "/etc/edgesense/edgesense.yaml"],
            env=env, cwd="/", stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.umask(0o027))
        messages = []
        deadline = time.monotonic() + 30
        while "READY=1" not in messages and time.monotonic() < deadline and daemon.poll() is None:
            try:
                messages.extend(sock.recv(4096).decode().split("\n"))
            except socket.timeout:
                pass
        if not check("READY=1" in messages,
                     "the installed daemon did not get ready: " + open(log.name).read()[-3000:]):
            return
        # Keep reading the socket, as systemd does, so sd_notify never blocks.
        reader_stop = threading.Event()

        def drain():
            while not reader_stop.is_set():
                try:
                    messages.extend(sock.recv(4096).decode().split("\n"))
                except socket.timeout:
                    pass
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        r = subprocess.run(["ip", "netns", "exec", ns_peer, "ping", "-q", "-c", "20", "-i", "0.05",
                            "192.0.2.1"], capture_output=True, text=True)
        check(r.returncode == 0, f"ping to the sensor's eth0: {r.stdout}{r.stderr}")
        r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "-o", "/dev/null", "-w",
                            "%{http_code}", "http://127.0.0.1:9750/healthz"],
                           capture_output=True, text=True)
        check(r.stdout == "200", f"/healthz of the installed daemon: {r.stdout} {r.stderr}")
        daemon.send_signal(signal.SIGHUP)  # ExecReload
        deadline = time.monotonic() + 15
        while "models reloaded" not in open(log.name).read() and time.monotonic() < deadline:
            time.sleep(0.2)
        check("models reloaded" in open(log.name).read(),
              "SIGHUP did not reload the models from /var/lib/edgesense/models")
        daemon.send_signal(signal.SIGTERM)
        try:
            status = daemon.wait(timeout=40)
        except subprocess.TimeoutExpired:
            status = None
        reader_stop.set()
        reader.join()
        check(status == 0, f"the installed daemon's exit status on SIGTERM: {status}: "
              + open(log.name).read()[-3000:])
        check("STOPPING=1" in messages, "no STOPPING=1 from the installed daemon")
        eve = "/var/log/edgesense/eve.json"
        if check(os.path.exists(eve), "the installed daemon wrote no " + eve):
            check(owner_and_mode(eve) == ("edgesense", "edgesense", 0o640),
                  f"{eve}: {owner_and_mode(eve)}, expected edgesense:edgesense 0640")
            records = [json.loads(line) for line in open(eve) if line.strip()]
            check(any(r.get("event_type") == "flow" and "verdict" in r.get("edgesense", {})
                      for r in records), f"{eve} has no scored flow record: {records[:2]}")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        sock.close()
        for n in (ns, ns_peer):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def check_installed(args):
    for f in INSTALLED_FILES:
        check(os.path.isfile(f), f"dpkg -i did not install {f}")
    if not check(exists("edgesense", pwd.getpwnam), "no edgesense user after dpkg -i"):
        return
    user = pwd.getpwnam("edgesense")
    check(user.pw_uid < 1000, f"edgesense is not a system user: uid {user.pw_uid}")
    check(user.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"),
          f"edgesense has a login shell: {user.pw_shell}")
    check(exists("edgesense", grp.getgrnam) and grp.getgrnam("edgesense").gr_gid == user.pw_gid,
          "no edgesense group, or it is not the user's primary group")
    for d in ["/var/lib/edgesense", "/var/log/edgesense"]:
        check(os.path.isdir(d) and owner_and_mode(d) == ("edgesense", "edgesense", 0o750),
              f"{d}: {owner_and_mode(d) if os.path.exists(d) else 'missing'}, "
              "expected edgesense:edgesense 0750")
    link = "/var/lib/edgesense/models"
    check(os.path.islink(link) and os.readlink(link) == "/usr/share/edgesense/models",
          f"{link} is not a link to the shipped models")

    r = run("/usr/bin/edgesense", "--version")
    check(r.returncode == 0 and re.fullmatch(r"edgesense \d+\.\d+\.\d+\n", r.stdout),
          f"edgesense --version: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("/usr/bin/edgesense", "check-config", "-c", "/etc/edgesense/edgesense.yaml")
    check(r.returncode == 0 and r.stderr == "",
          f"check-config of the installed config: {r.returncode}: {r.stderr}")
    check("models_dir: /var/lib/edgesense/models" in r.stdout,
          "the installed config's models_dir is not /var/lib/edgesense/models")

    # The installed binary finds the shipped models by itself (its compiled-in
    # default), and the installed config's models_dir reaches them too.
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        for label, extra in [("default models dir", []),
                             ("installed config", ["-c", "/etc/edgesense/edgesense.yaml"])]:
            summary = os.path.join(tmp, "summary.json")
            r = run("/usr/bin/edgesense", "replay", *extra, "--eve", os.path.join(tmp, "eve.json"),
                    "--summary", summary, args.pcap, cwd="/")
            check(r.returncode == 0, f"installed replay ({label}): {r.returncode}: {r.stderr}")
            if r.returncode == 0:
                eve = open(os.path.join(tmp, "eve.json")).read()
                check('"verdict"' in eve, f"installed replay ({label}): no verdicts in EVE")

    # The installed daemon, configured as installed, started as the unit would.
    start_like_the_unit(user)

    # The installed unit, as systemd itself would read it.
    r = run("systemd-analyze", "verify", "/lib/systemd/system/edgesense.service")
    check(r.returncode == 0 and r.stdout + r.stderr == "",
          f"systemd-analyze verify of the installed unit: {r.returncode}: {r.stdout}{r.stderr}")
    r = run("systemd-analyze", "security", "--offline=true", "/lib/systemd/system/edgesense.service")
    m = re.search(r"Overall exposure level for edgesense.service: ([0-9.]+)", r.stdout + r.stderr)
    check(m is not None and float(m.group(1)) <= 2.0,
          f"installed unit exposure: {m.group(1) if m else r.stdout + r.stderr}")

    # The installed logrotate snippet, pointed at a directory like the real
    # one (owned by the service user), rotates as that user.
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        logs = os.path.join(tmp, "logs")
        os.mkdir(logs)
        os.chmod(logs, 0o750)
        os.chown(logs, user.pw_uid, user.pw_gid)
        with open(os.path.join(logs, "eve.json"), "w") as f:
            f.write('{"event_type": "alert"}\n')
        os.chown(os.path.join(logs, "eve.json"), user.pw_uid, user.pw_gid)
        text = open("/etc/logrotate.d/edgesense").read().replace("/var/log/edgesense/", logs + "/")
        conf = os.path.join(tmp, "edgesense.logrotate")
        with open(conf, "w") as f:
            f.write(text)
        r = run("logrotate", "-f", "-s", os.path.join(tmp, "state"), conf)
        check(r.returncode == 0 and r.stderr == "",
              f"installed logrotate snippet: {r.returncode}: {r.stderr}")
        new = os.path.join(logs, "eve.json")
        check(os.path.exists(new + ".1") and os.path.exists(new) and
              owner_and_mode(new) == ("edgesense", "edgesense", 0o640),
              f"installed logrotate snippet: {sorted(os.listdir(logs))}, "
              f"new file {owner_and_mode(new) if os.path.exists(new) else 'missing'}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--pcap", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("ops_package_test.py: needs root (dpkg -i)")
    if installed() or exists("edgesense", pwd.getpwnam) or exists("edgesense", grp.getgrnam) \
            or any(os.path.exists(d) for d in MADE_BY_INSTALL):
        sys.exit("ops_package_test.py: an edgesense package, user, group or directory is already "
                 "on this machine and the test would remove it; `dpkg --purge edgesense` first")

    r = run(os.path.join(args.root, "scripts/package"))
    if not check(r.returncode == 0, f"scripts/package: {r.returncode}: {r.stderr[-4000:]}"):
        return 1
    deb = r.stdout.strip().splitlines()[-1]
    check(re.search(r"/edgesense_\d+\.\d+\.\d+_[a-z0-9]+\.deb$", deb) is not None,
          f"scripts/package printed {deb!r}")
    check_package(deb, args.root)

    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = run("dpkg", "-i", deb, env=env)
        if check(r.returncode == 0, f"dpkg -i: {r.returncode}: {r.stdout}{r.stderr}"):
            check_installed(args)
            # Installing again (an upgrade to the same version) keeps what is there.
            uid = pwd.getpwnam("edgesense").pw_uid if exists("edgesense", pwd.getpwnam) else None
            r = run("dpkg", "-i", deb, env=env)
            check(r.returncode == 0, f"second dpkg -i: {r.returncode}: {r.stderr}")
            check(uid is not None and pwd.getpwnam("edgesense").pw_uid == uid,
                  "a second install changed the edgesense user")
            check(os.path.islink("/var/lib/edgesense/models"), "a second install lost the models link")
    finally:
        r = run("dpkg", "--purge", "edgesense", env=env)
    check(r.returncode == 0, f"dpkg --purge: {r.returncode}: {r.stdout}{r.stderr}")
    check(not installed(), "edgesense is still installed after dpkg --purge")
    for f in INSTALLED_FILES + MADE_BY_INSTALL:
        check(not os.path.lexists(f), f"{f} is still there after dpkg --purge")
    check(not exists("edgesense", pwd.getpwnam), "the edgesense user is still there after purge")
    check(not exists("edgesense", grp.getgrnam), "the edgesense group is still there after purge")
    print(f"{'FAILED' if failures else 'ok'}: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
