#!/usr/bin/env python3
"""The logrotate snippet (packaging/edgesense.logrotate) with real logrotate.

1. A temporary copy pointed at a temporary log directory (owner edgesense
   swapped for root, as the user may not exist here) rotates eve.json by
   renaming it, makes a new empty one, compresses a cycle late, and its
   postrotate command exits 0 when the service is not running.
2. The same rotation under a real writer: `edgesense replay` paced over the
   sample capture writes EVE records to the log directory while the copy's
   postrotate sends it SIGHUP (what `systemctl reload` sends the service).
   Every record lands whole in eve.json.1 or the new eve.json, none twice,
   and together they are exactly the records of an unpaced replay.

  ops_logrotate_test.py --edgesense BIN --snippet FILE --pcap FILE --models DIR
"""
import argparse
import gzip
import json
import os
import stat
import subprocess
import sys
import tempfile
import time

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)


def temp_snippet(snippet, log_dir, postrotate=None):
    """The snippet pointed at log_dir, owned by root; postrotate replaced if given."""
    text = open(snippet).read()
    for old, new in [("/var/log/edgesense/", log_dir + "/"),
                     ("su edgesense edgesense", "su root root"),
                     ("create 0640 edgesense edgesense", "create 0640 root root")]:
        if text.count(old) != 1:
            sys.exit(f"{snippet}: expected '{old}' once; the test needs updating")
        text = text.replace(old, new)
    if postrotate is not None:
        start = text.index("\tpostrotate\n") + len("\tpostrotate\n")
        end = text.index("\tendscript")
        text = text[:start] + "\t\t" + postrotate + "\n" + text[end:]
    return text


def logrotate(conf_text, work):
    conf = os.path.join(work, "logrotate.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    # logrotate refuses a config file others can write to.
    os.chmod(conf, 0o644)
    return subprocess.run(["logrotate", "-f", "-s", os.path.join(work, "state"), conf],
                          capture_output=True, text=True)


def eve_lines(path):
    with open(path) as f:
        data = f.read()
    check(data == "" or data.endswith("\n"), f"{path} ends mid-record")
    return [line for line in data.split("\n") if line]


def rotation_alone(snippet, work):
    logs = os.path.join(work, "logs")
    os.mkdir(logs, 0o750)
    eve = os.path.join(logs, "eve.json")
    with open(eve, "w") as f:
        f.write('{"first": 1}\n')
    inode = os.stat(eve).st_ino
    conf = temp_snippet(snippet, logs)
    r = logrotate(conf, work)
    check(r.returncode == 0, f"logrotate exit status {r.returncode}: {r.stderr}")
    check(r.stderr == "", f"logrotate stderr (the postrotate must be quiet): {r.stderr}")
    check(os.path.exists(eve + ".1") and os.stat(eve + ".1").st_ino == inode,
          "eve.json was not renamed to eve.json.1 (copied instead?)")
    check(open(eve + ".1").read() == '{"first": 1}\n', "eve.json.1 lost its content")
    check(os.path.exists(eve) and os.path.getsize(eve) == 0, "no new empty eve.json")
    if os.path.exists(eve):
        check(stat.S_IMODE(os.stat(eve).st_mode) == 0o640,
              f"new eve.json mode {oct(os.stat(eve).st_mode)}, expected 0640")
    check(not os.path.exists(eve + ".1.gz"), "the fresh eve.json.1 was compressed at once")

    # Second rotation: the previous file is compressed now.
    with open(eve, "w") as f:
        f.write('{"second": 2}\n')
    r = logrotate(conf, work)
    check(r.returncode == 0, f"second logrotate exit status {r.returncode}: {r.stderr}")
    check(open(eve + ".1").read() == '{"second": 2}\n', "second rotation: eve.json.1")
    check(os.path.exists(eve + ".2.gz") and
          gzip.open(eve + ".2.gz", "rt").read() == '{"first": 1}\n',
          "second rotation: eve.json.2.gz does not hold the first records")

    # An empty file is left alone (notifempty).
    open(eve, "w").close()
    r = logrotate(conf, work)
    check(r.returncode == 0 and open(eve + ".1").read() == '{"second": 2}\n',
          "an empty eve.json was rotated")


def rotation_under_a_writer(args, work):
    ref = os.path.join(work, "reference.json")
    subprocess.run([args.edgesense, "replay", "--models", args.models, "--workers", "1",
                    "--eve", ref, args.pcap], check=True, capture_output=True)
    expected = sorted(eve_lines(ref))
    check(len(expected) > 100, f"the reference replay wrote only {len(expected)} records")

    logs = os.path.join(work, "live")
    os.mkdir(logs, 0o750)
    eve = os.path.join(logs, "eve.json")
    pid_file = os.path.join(work, "replay.pid")
    # The sample lasts about 275 s of packet time: 25 times real time is
    # about 11 s, long enough to rotate in the middle.
    replay = subprocess.Popen(
        [args.edgesense, "replay", "--models", args.models, "--workers", "1", "--speed", "25",
         "--eve", eve, args.pcap], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with open(pid_file, "w") as f:
        f.write(str(replay.pid))
    try:
        deadline = time.monotonic() + 60
        while (not os.path.exists(eve) or os.path.getsize(eve) < 20000) and replay.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        check(replay.poll() is None, "the paced replay ended before the rotation")
        conf = temp_snippet(args.snippet, logs, postrotate=f"kill -HUP $(cat {pid_file})")
        r = logrotate(conf, work)
        check(r.returncode == 0, f"logrotate under a writer: status {r.returncode}: {r.stderr}")
        _, stderr = replay.communicate(timeout=120)
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.wait()
    check(replay.returncode == 0, f"the paced replay exited {replay.returncode}: {stderr}")
    check("models reloaded" in stderr, f"the replay did not see the SIGHUP: {stderr}")

    before = eve_lines(eve + ".1") if os.path.exists(eve + ".1") else []
    after = eve_lines(eve) if os.path.exists(eve) else []
    check(len(before) > 0, "eve.json.1 is empty: nothing was written before the rotation")
    check(len(after) > 0, "the new eve.json is empty: the writer did not reopen it")
    for line in before + after:
        try:
            json.loads(line)
        except ValueError:
            check(False, f"a record was cut by the rotation: {line[:120]}")
            break
    check(sorted(before + after) == expected,
          f"rotated records differ from the reference: {len(before)} + {len(after)} "
          f"records against {len(expected)}")
    print(f"rotation under a writer: {len(before)} records before, {len(after)} after")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--edgesense", required=True)
    p.add_argument("--snippet", required=True)
    p.add_argument("--pcap", required=True)
    p.add_argument("--models", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o755)
        rotation_alone(args.snippet, work)
        rotation_under_a_writer(args, work)
    print(f"{'FAILED' if failures else 'ok'}: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
