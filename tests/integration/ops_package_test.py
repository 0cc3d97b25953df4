#!/usr/bin/env python3
"""The Debian package end to end, on this machine (root; CI is a fresh one).

Builds the .deb with scripts/package, checks its control data and contents,
installs it with dpkg -i, checks what it installed and made (files, the
edgesense system user and group, the state and log directories, the models
link), runs the installed binary with the installed config, verifies the
installed unit with systemd-analyze, rotates logs with the installed
logrotate snippet as the service user, installs it again over itself, then
purges it and checks that the machine is as it was.

Refuses to start if an edgesense package or user is already there: it would
remove them.

  ops_package_test.py --root REPO --pcap FILE
"""
import argparse
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile

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
