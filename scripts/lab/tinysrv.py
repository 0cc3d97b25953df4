#!/usr/bin/python3
"""Small lab servers and tools that no Debian package gives as simply: a
BitTorrent tracker, a .torrent maker (aria2c downloads and seeds torrents but
cannot make one) and an NTP responder.

    tinysrv.py tracker --port 6969 [--interval 20]
    tinysrv.py ntp --port 123
    tinysrv.py mktorrent --announce URL --out FILE.torrent [--piece-kb 256] PATH

`scripts/lab/run` starts the tracker and the NTP responder on `infra` (each on
IPv4 and IPv6, one dual-stack socket) and makes the torrents at start. The
tracker answers HTTP announces (BEP 3) with compact peer lists, IPv4 in
`peers` and IPv6 in `peers6` (BEP 7, BEP 23), keeping each swarm in memory;
the NTP responder answers client (mode 3) requests with server (mode 4)
replies carrying its own clock, as a stratum-2 server would.
"""

import argparse
import hashlib
import http.server
import ipaddress
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse


def bencode(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(bencode(v) for v in x) + b"e"
    if isinstance(x, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in x.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(x).__name__}")


def mktorrent(path, announce, piece_len):
    """A .torrent's bytes for a file or a directory (multi-file), and its info hash."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        files = sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs)
        full = [os.path.join(path, f) for f in files]
    else:
        files, full = None, [path]
    pieces, buf = [], b""
    for name in full:
        with open(name, "rb") as f:
            while True:
                chunk = f.read(piece_len - len(buf))
                if not chunk:
                    break
                buf += chunk
                if len(buf) == piece_len:
                    pieces.append(hashlib.sha1(buf).digest())
                    buf = b""
    if buf:
        pieces.append(hashlib.sha1(buf).digest())
    info = {"name": os.path.basename(path), "piece length": piece_len, "pieces": b"".join(pieces)}
    if files is None:
        info["length"] = os.path.getsize(path)
    else:
        info["files"] = [{"length": os.path.getsize(p), "path": f.split(os.sep)} for f, p in zip(files, full)]
    meta = {"announce": announce, "created by": "edgesense lab", "creation date": int(time.time()), "info": info}
    return bencode(meta), hashlib.sha1(bencode(info)).hexdigest()


class DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        # One socket for both families: IPv4 peers arrive as ::ffff:a.b.c.d.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def tracker(port, interval):
    swarms = {}  # info_hash -> {peer_id: (address, port, left, last seen)}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/announce":
                return self.reply(404, b"not found\n")
            # info_hash and peer_id are 20 raw bytes, percent-encoded.
            q = urllib.parse.parse_qs(url.query, encoding="latin-1")
            try:
                ih, pid = q["info_hash"][0].encode("latin-1"), q["peer_id"][0].encode("latin-1")
                pport, left = int(q["port"][0]), int(q.get("left", ["0"])[0])
            except (KeyError, ValueError):
                return self.reply(200, bencode({"failure reason": "bad announce"}))
            event = q.get("event", [""])[0]
            addr = ipaddress.ip_address(self.client_address[0].split("%")[0])
            addr = addr.ipv4_mapped or addr
            now = time.time()
            with lock:
                swarm = swarms.setdefault(ih, {})
                for k in [k for k, v in swarm.items() if now - v[3] > 3 * interval]:
                    del swarm[k]
                if event == "stopped":
                    swarm.pop(pid, None)
                else:
                    swarm[pid] = (addr, pport, left, now)
                others = [v for k, v in swarm.items() if k != pid]
                seeders = sum(1 for v in swarm.values() if v[2] == 0)
            random.shuffle(others)
            others = others[:int(q.get("numwant", ["50"])[0] or 50)]
            body = {"interval": interval, "min interval": max(5, interval // 2), "complete": seeders,
                    "incomplete": len(swarm) - seeders,
                    "peers": b"".join(a.packed + struct.pack(">H", p) for a, p, _, _ in others if a.version == 4),
                    "peers6": b"".join(a.packed + struct.pack(">H", p) for a, p, _, _ in others if a.version == 6)}
            self.reply(200, bencode(body))

        def log_message(self, fmt, *args):
            sys.stderr.write(f"tracker: {self.client_address[0]} {fmt % args}\n")

    DualStackServer(("::", port), Handler).serve_forever()


NTP_EPOCH = 2208988800  # 1900-01-01 to 1970-01-01


def ntp_time(t):
    return struct.pack(">II", int(t) + NTP_EPOCH, int((t % 1) * (1 << 32)) & 0xFFFFFFFF)


def ntp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, peer = s.recvfrom(512)
        received = time.time()
        if len(data) < 48 or data[0] & 7 != 3:  # client requests only
            continue
        version = (data[0] >> 3) & 7
        # LI 0, the client's version, mode 4 (server); stratum 2, the client's
        # poll, precision 2^-20; root delay and dispersion of a LAN server;
        # reference ID (an upstream's address), reference time a poll ago.
        head = struct.pack(">BBBbII4s", (version << 3) | 4, 2, data[2], -20, 0x0000_0180, 0x0000_0400,
                           bytes([198, 51, 100, 1]))
        s.sendto(head + ntp_time(received - 64) + data[40:48] + ntp_time(received) + ntp_time(time.time()), peer)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tracker")
    t.add_argument("--port", type=int, default=6969)
    t.add_argument("--interval", type=int, default=20, help="seconds between a peer's announces")
    n = sub.add_parser("ntp")
    n.add_argument("--port", type=int, default=123)
    m = sub.add_parser("mktorrent")
    m.add_argument("--announce", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--piece-kb", type=int, default=256)
    m.add_argument("path")
    opts = ap.parse_args()
    if opts.cmd == "tracker":
        tracker(opts.port, opts.interval)
    elif opts.cmd == "ntp":
        ntp(opts.port)
    else:
        data, info_hash = mktorrent(opts.path, opts.announce, opts.piece_kb * 1024)
        with open(opts.out, "wb") as f:
            f.write(data)
        print(info_hash)


if __name__ == "__main__":
    main()
