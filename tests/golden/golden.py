#!/usr/bin/env python3
"""Golden test of one case: replay its capture and compare every output with
the reviewed baseline in CASE/expected/.

A case directory holds
  input.pcap | input.pcapng   the capture
  args                        optional extra `edgesense replay` arguments
  truth.json                  optional: the conversations the capture generator
                              wrote, with exact packet and byte counts
  expected/                   eve.json, flows.csv, summary.json, or error.txt
                              (a text the error message must contain)

With UPDATE_GOLDEN=1 the baseline is rewritten from this run instead; review
the diff like code. Besides the comparison, every run checks that EVE records
validate against docs/eve.schema.json, that a second run is byte-identical, and
that the records agree with truth.json.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

# The version changes with every release, not with the records.
VOLATILE_SUMMARY_KEYS = ("edgesense_version", "wall_seconds", "packets_per_second", "files")


def replay(binary, case, out):
    inputs = sorted(p for p in case.iterdir() if p.name.startswith("input."))
    if not inputs:
        sys.exit(f"{case}: no input.* capture")
    args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    cmd = [binary, "replay", "--no-models", *args, "--eve", str(out / "eve.json"), "--csv", str(out / "flows.csv"),
           "--summary", str(out / "summary.json"), *map(str, inputs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode < 0:
        sys.exit(f"{case.name}: edgesense died with signal {-proc.returncode}\n{proc.stderr}")
    return proc


def normalized_summary(path):
    data = json.loads(path.read_text())
    for key in VOLATILE_SUMMARY_KEYS:
        data.pop(key, None)
    data.pop("memory", None)  # layout- and machine-dependent
    # Warnings name the file by its path; keep only what follows the path.
    data["warnings"] = [w.split(": ", 1)[-1] for w in data.get("warnings", [])]
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def check_schema(eve_path, schema_path):
    import jsonschema
    schema = json.loads(Path(schema_path).read_text())
    validator = jsonschema.Draft7Validator(schema)
    for n, line in enumerate(eve_path.read_text().splitlines(), 1):
        errors = list(validator.iter_errors(json.loads(line)))
        if errors:
            return f"eve.json line {n}: {errors[0].message}"
    return None


PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "IPv6-ICMP"}


def check_truth(eve_path, truth_path):
    """Summed EVE counters per conversation, initiator first, equal the
    generator's exact ones; each conversation the generator made is one flow
    record (a tuple reused after an idle gap is several conversations); and no
    record stands for a conversation the generator did not make."""
    truth = json.loads(truth_path.read_text())
    want = {}
    for c in truth["conversations"]:
        proto = PROTO_NAMES.get(c["proto"], str(c["proto"]))
        key = (proto, c["a"], c["a_port"], c["b"], c["b_port"], tuple(c["vlan"]))
        w = want.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((c["pkts_ab"], c["pkts_ba"], c["bytes_ab"], c["bytes_ba"], 1)):
            w[i] += v
    got = {}
    for line in eve_path.read_text().splitlines():
        r = json.loads(line)
        f = r["flow"]
        key = (r["proto"], r["src_ip"], r.get("src_port", 0), r["dest_ip"], r.get("dest_port", 0),
               tuple(r.get("vlan", [])))
        g = got.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((f["pkts_toserver"], f["pkts_toclient"], f["bytes_toserver"], f["bytes_toclient"], 1)):
            g[i] += v
    problems = []
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            problems.append(f"conversation {key}: generator pkts/bytes/flows {want.get(key)}, "
                            f"edgesense {got.get(key)}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgesense", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("case")
    opts = ap.parse_args()
    case = Path(opts.case)
    expected = case / "expected"
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    failures = []

    with tempfile.TemporaryDirectory() as tmp1, tempfile.TemporaryDirectory() as tmp2:
        out, out2 = Path(tmp1), Path(tmp2)
        proc = replay(opts.edgesense, case, out)
        if proc.returncode != 0:
            message = proc.stderr.strip()
            if update:
                expected.mkdir(exist_ok=True)
                # Keep what follows the file's name: the path differs per checkout.
                line = message.splitlines()[-1]
                after = line[line.find("input."):].split(": ", 1)[-1]
                (expected / "error.txt").write_text(after + "\n")
                print(f"{case.name}: baseline error updated")
                return 0
            err = expected / "error.txt"
            if not err.exists():
                sys.exit(f"{case.name}: replay failed (exit {proc.returncode}): {message}")
            want = err.read_text().strip()
            if want not in message:
                sys.exit(f"{case.name}: error message {message!r} lacks {want!r}")
            inputs = [p.name for p in case.iterdir() if p.name.startswith("input.")]
            if not any(name in message for name in inputs):
                sys.exit(f"{case.name}: error message does not name the file: {message!r}")
            if "\n" in message:
                sys.exit(f"{case.name}: more than one line of error: {message!r}")
            print(f"{case.name}: fails as expected: {message}")
            return 0

        outputs = {"eve.json": (out / "eve.json").read_text(),
                   "flows.csv": (out / "flows.csv").read_text(),
                   "summary.json": normalized_summary(out / "summary.json")}
        replay(opts.edgesense, case, out2)
        for name in ("eve.json", "flows.csv"):
            if (out2 / name).read_bytes() != (out / name).read_bytes():
                failures.append(f"{name} differs between two runs of the same input")

        problem = check_schema(out / "eve.json", opts.schema)
        if problem:
            failures.append(problem)
        if (case / "truth.json").exists():
            failures += check_truth(out / "eve.json", case / "truth.json")

        if update:
            expected.mkdir(exist_ok=True)
            for name, text in outputs.items():
                (expected / name).write_text(text)
            print(f"{case.name}: baseline updated")
        else:
            for name, text in outputs.items():
                path = expected / name
                if not path.exists():
                    failures.append(f"no baseline {path}; run with UPDATE_GOLDEN=1 and review")
                elif path.read_text() != text:
                    diff = subprocess.run(["diff", "-u", str(path), "-"], input=text, capture_output=True, text=True).stdout
                    failures.append(f"{name} differs from the baseline:\n" + "\n".join(diff.splitlines()[:40]))

    if failures:
        print(f"{case.name}: FAILED", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print(f"{case.name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
