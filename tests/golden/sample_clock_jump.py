#!/usr/bin/env python3
"""Golden test of the flow clock on a real-sized capture: one frame of the
sample stamped far ahead or behind (a device whose clock jumped).

  sample_clock_jump.py --edgesense BIN --pcap SAMPLE --seconds S [--frame N]

A copy of SAMPLE is written with record N (from 0; default the middle one)
stamped S seconds off, by editing its pcap record header. Both files are
replayed with the default configuration. Passes when
  * the copy's flows are the sample's: the same number of flow records, the
    same conversations with the same packet and byte counts each way;
  * the copy's conversations equal tshark's, the truth from outside: tshark
    reads the copy frame by frame and its per-conversation counts do not
    depend on time, so each of its conversations must be exactly one
    edgesense flow with the same counts, whose initiator is the one the
    direction rule takes from tshark's first packet of it;
  * the summary counts the jump once, in its direction, with its offset.
"""
import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
import tshark_crosscheck as crosscheck  # noqa: E402

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",  # microseconds
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}  # nanoseconds


def jumped_copy(src, dst, frame, seconds):
    """Writes src to dst with record `frame` stamped `seconds` off; returns the record count."""
    data = bytearray(src.read_bytes())
    order = PCAP_MAGICS.get(bytes(data[:4]))
    if order is None:
        sys.exit(f"{src}: not a classic pcap file")
    offset, index, done = 24, 0, False
    while offset + 16 <= len(data):
        sec, _, caplen, _ = struct.unpack_from(order + "IIII", data, offset)
        if index == frame:
            struct.pack_into(order + "I", data, offset, sec + seconds)
            done = True
        offset += 16 + caplen
        index += 1
    if not done:
        sys.exit(f"{src}: has {index} records, no record {frame}")
    dst.write_bytes(data)
    return index


def replay(binary, pcap, out):
    eve, summary = out / "eve.json", out / "summary.json"
    cmd = [binary, "replay", "--no-models", "--no-features-in-eve", "--eve", str(eve),
           "--summary", str(summary), str(pcap)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited with {proc.returncode}\n{proc.stderr}")
    return eve, json.loads(summary.read_text()), proc.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgesense", required=True)
    ap.add_argument("--pcap", required=True, type=Path)
    ap.add_argument("--seconds", required=True, type=int, help="the jump; negative: behind")
    ap.add_argument("--frame", type=int, help="record to stamp off, from 0 (default: the middle)")
    opts = ap.parse_args()
    failures = []

    with tempfile.TemporaryDirectory(prefix="sample_clock_jump.") as tmp:
        tmp = Path(tmp)
        jumped = tmp / "jumped.pcap"
        records = jumped_copy(opts.pcap, jumped, 0, 0)  # count the records first
        frame = records // 2 if opts.frame is None else opts.frame
        jumped_copy(opts.pcap, jumped, frame, opts.seconds)
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        eve_a, sum_a, _ = replay(opts.edgesense, opts.pcap, tmp / "a")
        eve_b, sum_b, text_b = replay(opts.edgesense, jumped, tmp / "b")
        es_a, records_a = crosscheck.edgesense_conversations(eve_a)
        es_b, records_b = crosscheck.edgesense_conversations(eve_b)
        ts, stats, _, _ = crosscheck.tshark_conversations(jumped)

    print(f"{opts.pcap.name} with record {frame} of {records} stamped {opts.seconds:+d} s:")
    print(f"  sample: {sum_a['flows']['created']} flows created, {records_a} flow records")
    print(f"  copy:   {sum_b['flows']['created']} flows created, {records_b} flow records; "
          f"clock {json.dumps(sum_b['clock'])}")
    print(f"  tshark: {len(ts)} conversations over {stats['in_conversations']} of "
          f"{stats['frames']} frames")
    print("  " + text_b.strip().replace("\n", "\n  "))

    if records_b != records_a or sum_b["flows"]["created"] != sum_a["flows"]["created"]:
        failures.append(f"flows: sample {records_a}, copy {records_b}")
    for name, other in (("the sample's", es_a), ("tshark's", ts)):
        keys = set(es_b) | set(other)
        bad = [k for k in keys if k not in es_b or k not in other or es_b[k].value() != other[k].value()]
        for k in sorted(bad, key=crosscheck.describe)[:5]:
            failures.append(f"{crosscheck.describe(k)}: copy {crosscheck.counts_text(es_b.get(k))}; "
                            f"{name} {crosscheck.counts_text(other.get(k))}")
        if bad:
            failures.append(f"{len(bad)} of {len(keys)} conversations differ from {name}")
    wrong = crosscheck.direction_mismatches(es_b, ts)
    for k in sorted(wrong, key=crosscheck.describe)[:5]:
        failures.append(f"{crosscheck.describe(k)}: the initiator is not the direction rule's")
    if wrong:
        failures.append(f"{len(wrong)} conversations have the wrong initiator")
    if records_b != len(ts):
        failures.append(f"{records_b} flow records for {len(ts)} tshark conversations")
    clock = sum_b["clock"]
    ahead, behind = (1, 0) if opts.seconds > 0 else (0, 1)
    if (clock["jumps_ahead"], clock["jumps_behind"], clock["steps_back"]) != (ahead, behind, 0):
        failures.append(f"clock: want {ahead} ahead, {behind} behind, 0 steps back; got {clock}")
    if abs(clock["last_jump_seconds"] - opts.seconds) > 1:
        failures.append(f"clock.last_jump_seconds {clock['last_jump_seconds']}, want about {opts.seconds}")
    if any(sum_a["clock"][k] for k in ("jumps_ahead", "jumps_behind", "steps_back")):
        failures.append(f"the sample itself has clock jumps: {sum_a['clock']}")

    if failures:
        print("  FAILED", file=sys.stderr)
        for f in failures:
            print("    " + f, file=sys.stderr)
        return 1
    print("  ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
