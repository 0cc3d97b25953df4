#!/usr/bin/python3
"""A wire with delay, jitter and loss between two network interfaces.

    delayfwd.py IF_A IF_B --delay MS [--jitter MS] [--loss FRACTION] [--seed N]
                [--duration SECONDS]

The traffic lab uses it where the kernel has no sch_netem (tc ... netem): it
reads every frame arriving on one interface with an AF_PACKET socket and sends
it out of the other one DELAY +- JITTER milliseconds later, dropping a FRACTION
of frames at random (both directions, independently). Frames keep their order
per direction (a delivery time never precedes the previous frame's), as on one
physical path; netem's default jitter reorders instead. Each direction queues
at most 20000 frames, and a frame that arrived (by the kernel's receive time)
more than MAX_WAIT (1 s) before it could be queued is dropped: a router's
buffer holds a bounded time of traffic, and a flood faster than this process
forwards would otherwise drain for many seconds after its tool stopped.
Runs as root, in the namespace holding both interfaces, until SIGTERM/SIGINT
or --duration seconds; then prints its counts to stderr.

Both interfaces must have checksum and segmentation offloads off (the lab does
so with ethtool), so that frames are whole and carry their checksums.
"""

import argparse
import collections
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_QUEUE = 20000
MAX_FRAME = 65536
MAX_WAIT = 1.0  # seconds a frame may wait in the socket before it is queued
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def open_port(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # each frame's receive time, CLOCK_REALTIME
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--delay", type=float, required=True, help="one-way delay, ms")
    ap.add_argument("--jitter", type=float, default=0.0, help="uniform +- jitter, ms")
    ap.add_argument("--loss", type=float, default=0.0, help="fraction of frames dropped")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=3600.0, help="exit after this many seconds")
    opts = ap.parse_args()
    if opts.delay < 0 or opts.jitter < 0 or not 0 <= opts.loss < 1:
        sys.exit("delayfwd: delay and jitter must be >= 0 and loss in [0, 1)")

    rng = random.Random(opts.seed)
    ports = [open_port(opts.if_a), open_port(opts.if_b)]
    # queues[i]: frames read on ports[i], waiting to leave by the other port.
    queues = [collections.deque(), collections.deque()]
    last_due = [0.0, 0.0]
    counts = {"forwarded": 0, "lost": 0, "overflow": 0, "stale": 0, "send_errors": 0}
    stop = [False]

    def on_signal(signum, frame):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    poller = select.poll()
    fd_index = {}
    for i, s in enumerate(ports):
        poller.register(s.fileno(), select.POLLIN)
        fd_index[s.fileno()] = i
    delay = opts.delay / 1000.0
    jitter = opts.jitter / 1000.0
    end_at = time.monotonic() + opts.duration

    while not stop[0]:
        now = time.monotonic()
        if now >= end_at:
            break
        # Send everything due, then wait for frames or the next due time.
        for i in (0, 1):
            q = queues[i]
            out = ports[1 - i]
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                try:
                    out.send(frame)
                    counts["forwarded"] += 1
                except OSError:
                    counts["send_errors"] += 1  # e.g. ENOBUFS: the shaper's queue is full
        due = [q[0][0] for q in queues if q]
        timeout_ms = 200.0
        if due:
            timeout_ms = max(0.0, (min(due) - time.monotonic()) * 1000.0)
        try:
            events = poller.poll(timeout_ms)
        except InterruptedError:
            continue
        now = time.monotonic()
        oldest = time.time() - MAX_WAIT  # receive times before this are stale
        for fd, _ in events:
            i = fd_index[fd]
            s = ports[i]
            for _ in range(256):  # drain a batch, then serve the other side
                try:
                    frame, anc, _, addr = s.recvmsg(MAX_FRAME, 64)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own send on this port, seen by its socket
                if anc and anc[0][1] == SO_TIMESTAMPNS:  # SCM_TIMESTAMPNS: struct timespec
                    sec, nsec = struct.unpack("qq", anc[0][2][:16])
                    if sec + nsec * 1e-9 < oldest:
                        counts["stale"] += 1
                        continue
                if opts.loss and rng.random() < opts.loss:
                    counts["lost"] += 1
                    continue
                if len(queues[i]) >= MAX_QUEUE:
                    counts["overflow"] += 1
                    continue
                t = now + delay + (rng.uniform(-jitter, jitter) if jitter else 0.0)
                t = max(t, last_due[i], now)
                last_due[i] = t
                queues[i].append((t, frame))
    print("delayfwd {}<->{}: {}".format(opts.if_a, opts.if_b,
          " ".join(f"{k}={v}" for k, v in counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
