#!/usr/bin/python3
"""One traffic-lab activity, run inside a client or attacker namespace.

    agent.py CONFIG.json WORKER

`scripts/lab/run` starts one agent per worker (a namespace and an activity
kind) with `ip netns exec`; the agent loops over sessions of its kind, each a
variant drawn from its own seed, with random pauses, until the run's deadline
or its session count, whichever comes first. It drives real tools (curl, wget,
dig, iperf3, ssh, scp, nmap, hping3, hydra, slowhttptest, wrk, ab) as child
processes, each with a timeout that never passes the deadline, and Python's
own HTTP client where a session must keep one connection open between
requests (video players, feeds, API pollers). Attack and reel sessions append
label rows (start,end,src,dst,dport,proto,category) to the worker's own
labels file as soon as each ends; the run merges the files. On SIGTERM the
agent kills its children (by PID) and exits.
"""

import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib

CFG = None
RNG = None
UNTIL = 0.0
CHILDREN = set()
STARTED = [0]
CHILD_LOCK = threading.Lock()
LABELS = None
STOP = threading.Event()
NULL = subprocess.DEVNULL


def log(msg):
    print(f"agent {CFG['worker']['name']}: {msg}", file=sys.stderr, flush=True)


def left():
    return UNTIL - time.time()


def nap(seconds):
    """Sleeps, never past the deadline; False once the deadline is reached."""
    seconds = min(seconds, left())
    if seconds > 0:
        STOP.wait(seconds)
    return left() > 0 and not STOP.is_set()


def signal_group(p, sig):
    """Signals a tool and the processes it forked (hydra forks one per task)."""
    try:
        os.killpg(p.pid, sig)
    except OSError:
        pass


def run(cmd, timeout, stdin=None, quiet=True):
    """Runs a tool in its own process group; the timeout is clipped to the
    deadline, and on it the whole group ends. Returns its exit code, or None
    after a timeout; does not start it (and returns None) past the deadline.
    STARTED counts the tools started."""
    timeout = min(timeout, left())
    if timeout <= 0.5 or STOP.is_set():
        return None
    p = subprocess.Popen(cmd, stdin=NULL if stdin is None else stdin, stdout=NULL,
                         stderr=NULL if quiet else None, start_new_session=True)
    STARTED[0] += 1
    with CHILD_LOCK:
        CHILDREN.add(p)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(p, signal.SIGTERM)
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        return None
    finally:
        signal_group(p, signal.SIGKILL)  # whatever the tool left running
        if p.poll() is None:
            p.wait()
        with CHILD_LOCK:
            CHILDREN.discard(p)


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    with CHILD_LOCK:
        CHILDREN.add(p)
    return p


def reap(p, timeout):
    try:
        p.wait(timeout=max(0.1, min(timeout, left() + 2)))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    with CHILD_LOCK:
        CHILDREN.discard(p)


def label(start, end, src, dst, dport, proto, category):
    with CHILD_LOCK:
        LABELS.write(f"{start - 0.5:.3f},{end + 2.0:.3f},{src},{dst},{dport},{proto},{category}\n")
        LABELS.flush()


# --- addresses -------------------------------------------------------------

def me(family):
    return CFG["self"]["v6" if family == 6 else "v4"]


def host(name, family):
    # A worker behind a tunnel reaches some servers at their addresses inside it.
    h = CFG["worker"].get("hosts", {}).get(name) or CFG["hosts"][name]
    return h["v6" if family == 6 else "v4"]


def url_host(addr):
    return f"[{addr}]" if ":" in addr else addr


def pick_family():
    return 6 if RNG.random() < CFG["v6_share"] else 4


def think(lo, hi, mu=None):
    """A think time in [lo, hi], log-normal around mu (skewed to short pauses)."""
    mu = mu or (lo + hi) / 3
    return min(hi, max(lo, RNG.lognormvariate(0, 0.6) * mu))


# --- HTTP with one connection held open (players, feeds, pollers) ------------

TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


class Conn:
    """An HTTP/1.1 keep-alive connection to ADDR, HTTPS with SNI NAME by default."""

    def __init__(self, name, addr, tls=True, timeout=15):
        self.name, self.addr, self.tls, self.timeout = name, addr, tls, timeout
        self.c = None

    def _open(self):
        port = 443 if self.tls else 80
        sock = socket.create_connection((self.addr, port), timeout=self.timeout)
        if self.tls:
            sock = TLS.wrap_socket(sock, server_hostname=self.name)
        c = http.client.HTTPConnection(self.addr, port, timeout=self.timeout)
        c.sock = sock
        self.c = c

    def get(self, path, headers=None, method="GET", body=None):
        """Fetches PATH, reading and dropping the body; returns its size or -1."""
        if STOP.is_set() or left() <= 0:
            return -1
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self._open()
                h = {"Host": self.name, "User-Agent": "lab-player/1.0", "Accept": "*/*"}
                h.update(headers or {})
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                n = 0
                while True:
                    chunk = r.read(65536)
                    if not chunk:
                        break
                    n += len(chunk)
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return n
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    return -1
        return -1

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except OSError:
                pass
            self.c = None


def curl(urls, name, addr, timeout, extra=(), parallel=False):
    """curl on URLS (reusing one connection per host), resolving NAME to ADDR."""
    cmd = ["curl", "-sk", "--max-time", str(int(max(1, min(timeout, left())))), "--connect-timeout", "5",
           "--resolve", f"{name}:443:{addr}", "--resolve", f"{name}:80:{addr}", *extra]
    if parallel:
        cmd += ["-Z", "--parallel-max", "6"]
    for u in urls:
        cmd += ["-o", "/dev/null", u]
    return run(cmd, timeout + 2)


def dig(name, family=None, qtype="A", tcp=False):
    family = family or pick_family()
    cmd = ["dig", f"@{host('dns', family)}", "+tries=1", "+time=2", name, qtype]
    if tcp:
        cmd.insert(2, "+tcp")
    run(cmd, 5)


# --- benign activities ----------------------------------------------------

SITES = {"www": "www.lab.test", "shop": "shop.lab.test"}


def browse():
    """A visit: 1-8 pages, each a page plus its objects over 1-6 connections."""
    site = "shop" if RNG.random() < 0.2 else "www"
    fam = pick_family()
    addr, name = host(site, fam), SITES[site]
    # The shop (the attacks' victim) is HTTPS only: spoofed floods hit its port 80.
    scheme = "http" if site == "www" and RNG.random() < 0.2 else "https"
    dig(name, fam, "AAAA" if fam == 6 else "A")
    for _ in range(RNG.randint(1, 8)):
        page = RNG.randrange(CFG["content"]["pages"])
        base = f"{scheme}://{name}"
        curl([f"{base}/site/p{page}.html"], name, addr, 10)
        objs = [f"{base}/site/o{RNG.randrange(CFG['content']['objects'])}.bin" for _ in range(RNG.randint(3, 30))]
        conns = RNG.randint(1, 6)
        if conns == 1:
            curl(objs, name, addr, 20)
        else:
            procs = []
            for k in range(conns):
                part = objs[k::conns]
                if part:
                    cmd = ["curl", "-sk", "--max-time", "20", "--resolve", f"{name}:443:{addr}",
                           "--resolve", f"{name}:80:{addr}"]
                    for u in part:
                        cmd += ["-o", "/dev/null", u]
                    if left() > 2:
                        procs.append(spawn(cmd, stdout=NULL, stderr=NULL))
            for p in procs:
                reap(p, 22)
        if not nap(think(1, 25, 6)):
            return


def api():
    """Polls a JSON API: every 1-10 s, on one kept connection or a new one each time."""
    fam = pick_family()
    addr = host("api", fam)
    period = RNG.uniform(1, 10)
    keep = RNG.random() < 0.6
    conn = Conn("api.lab.test", addr, tls=RNG.random() < 0.85)
    for i in range(RNG.randint(5, 40)):
        path = f"/api/items{RNG.randrange(8)}.json"
        if keep:
            if RNG.random() < 0.15:
                conn.get(path, method="POST", body=json.dumps({"seq": i, "v": RNG.random()}).encode(),
                         headers={"Content-Type": "application/json"})
            else:
                conn.get(path)
        else:
            curl([f"https://api.lab.test{path}"], "api.lab.test", addr, 8)
        if not nap(period * RNG.uniform(0.8, 1.2)):
            break
    conn.close()


def bulk_download():
    fam = pick_family()
    addr = host("files", fam)
    f = RNG.choice(CFG["content"]["bulk"])
    scheme = RNG.choice(["http", "https"])
    url = f"{scheme}://files.lab.test/files/{f}"
    if RNG.random() < 0.5:
        extra = []
        if RNG.random() < 0.3:
            extra = ["--limit-rate", f"{RNG.randint(1, 8)}M"]
        if RNG.random() < 0.2:
            extra += ["-r", f"{RNG.randint(0, 4) * 1000000}-"]  # a resumed download
        curl([url], "files.lab.test", addr, 120, extra)
    else:
        run(["wget", "-q", "-O", "/dev/null", "--no-check-certificate", "--timeout=10", "--tries=1",
             "--header", "Host: files.lab.test", f"{scheme}://{url_host(addr)}/files/{f}"], 120)


def upload():
    fam = pick_family()
    src = os.path.join(CFG["work"], "upload-src", RNG.choice(os.listdir(os.path.join(CFG["work"], "upload-src"))))
    if RNG.random() < 0.6:
        addr = host("files", fam)
        name = f"u{os.getpid()}-{RNG.randrange(1 << 30)}"
        url = f"https://files.lab.test/upload/{name}"
        curl([url], "files.lab.test", addr, 120, ["-T", src])
        curl([url], "files.lab.test", addr, 10, ["-X", "DELETE"])
    else:
        addr = host("ssh", fam)
        run(["sshpass", "-p", CFG["password"], "scp", "-q", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", src,
             f"{CFG['user']}@{url_host(addr)}:/dev/null"], 120)


def speedtest():
    """iperf3 like a speed test: a few seconds down or up, 1-4 streams, sometimes UDP."""
    fam = pick_family()
    addr = host("iperf", fam)
    secs = RNG.randint(4, 10)
    cmd = ["iperf3", "-c", addr, "-p", str(CFG["worker"]["iperf_port"]), "-t", str(secs),
           "--connect-timeout", "3000"]
    r = RNG.random()
    if r < 0.45:
        cmd += ["-R"]
    if RNG.random() < 0.5:
        cmd += ["-P", str(RNG.randint(2, 4))]
    if RNG.random() < 0.15:
        cmd += ["-u", "-b", f"{RNG.randint(2, 15)}M"]
    run(cmd, secs + 10)


def dns():
    """A burst of lookups: names, types, NXDOMAIN, now and then over TCP."""
    for _ in range(RNG.randint(1, 12)):
        r = RNG.random()
        if r < 0.5:
            name, qt = f"{RNG.choice(['www', 'api', 'cdn', 'img', 'mail', 'files'])}.lab.test", RNG.choice(["A", "AAAA"])
        elif r < 0.7:
            name, qt = f"h{RNG.randrange(500)}.lab.test", "A"
        elif r < 0.85:
            name, qt = f"nx{RNG.randrange(1 << 20)}.example", "A"
        else:
            name, qt = "txt.lab.test", "TXT"
        dig(name, None, qt, tcp=RNG.random() < 0.08)
        if not nap(RNG.expovariate(1 / 1.5)):
            return


SSH_COMMANDS = ["ls -la", "uptime", "df -h", "cat /etc/os-release", "ps aux | head -20", "free -m",
                "echo hello", "ls /usr/bin | head -50", "date", "id", "uname -a", "cat /proc/cpuinfo | head -30",
                "top -b -n 1 | head -15", "du -sh /usr/share/doc 2>/dev/null", "w", "history | tail -5"]


def ssh_session():
    """An interactive SSH session: commands typed one key at a time, with pauses to read."""
    fam = pick_family()
    addr = host("ssh", fam)
    cmd = ["sshpass", "-p", CFG["password"], "ssh", "-tt", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=15",
           f"{CFG['user']}@{addr}"]
    if left() < 10:
        return
    if RNG.random() < 0.4:
        # Automation (monitoring, deploy scripts): one command per connection,
        # a few seconds apart; short successful logins, unlike brute force.
        for _ in range(RNG.randint(3, 15)):
            run(cmd[:4] + cmd[5:] + [RNG.choice(SSH_COMMANDS)], 20)  # no -tt: no terminal
            if not nap(RNG.uniform(2, 20)):
                return
        return
    p = spawn(cmd, stdin=subprocess.PIPE, stdout=NULL, stderr=NULL)
    try:
        nap(RNG.uniform(1.5, 3))
        for _ in range(RNG.randint(1, 10)):
            line = RNG.choice(SSH_COMMANDS) + "\n"
            for ch in line:
                p.stdin.write(ch.encode())
                p.stdin.flush()
                if not nap(RNG.uniform(0.05, 0.3)):
                    break
            if not nap(think(1, 30, 5)) or p.poll() is not None:
                break
        p.stdin.write(b"exit\n")
        p.stdin.flush()
    except (BrokenPipeError, OSError):
        pass
    reap(p, 5)


def video():
    """Long-form video: one HTTPS connection, a constant bitrate, 2-6 s segments
    fetched back to back to fill the buffer, then one per segment duration."""
    fam = pick_family()
    addr = host("video", fam)
    kbps = RNG.choice(CFG["content"]["video_kbps"])
    seg = RNG.choice(CFG["content"]["video_seg"])
    length = RNG.uniform(30, 180)
    # Some players open a new connection every few segments.
    reconnect_every = RNG.randint(3, 10) if RNG.random() < 0.35 else 0
    conn = Conn("video.lab.test", addr)
    dig("video.lab.test", fam)
    t_end = time.time() + length
    n = 0
    buffer_segs = RNG.randint(2, 5)
    next_at = time.time()
    while time.time() < t_end and left() > 1 and n < 500:
        if conn.get(f"/video/b{kbps}_d{seg}.m4s?n={n}") < 0:
            break
        n += 1
        if n > buffer_segs:
            next_at += seg
            if not nap(next_at - time.time()):
                break
        else:
            next_at = time.time()
        if RNG.random() < 0.02 or (reconnect_every and n % reconnect_every == 0):
            conn.close()
    conn.close()


def imagefeed():
    """Scrolling an image feed: a few images fetched together, then a pause to look."""
    fam = pick_family()
    addr = host("img", fam)
    conns = [Conn("img.lab.test", addr) for _ in range(RNG.choice([1, 2, 2, 4, 6]))]
    fresh = RNG.random() < 0.3  # a CDN closing idle connections: each scroll opens new ones
    t_end = time.time() + RNG.uniform(15, 90)
    for _ in range(300):
        if time.time() >= t_end or left() <= 1:
            break
        k = RNG.randint(2, 10)
        imgs = [f"/img/i{RNG.randrange(CFG['content']['images'])}.jpg" for _ in range(k)]
        threads = []
        for j, c in enumerate(conns):
            part = imgs[j::len(conns)]
            t = threading.Thread(target=lambda c=c, part=part: [c.get(x) for x in part])
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        if fresh:
            for c in conns:
                c.close()
        if not nap(think(0.5, 8, 2.5)):
            break
    for c in conns:
        c.close()


def reel():
    """Short-form video: clips of 1-6 MB, each watched 5-40 s (or swiped away sooner),
    the next one or two prefetched in parallel; over one kept connection, a small
    pool, or a new connection per clip; whole clips or in range chunks."""
    fam = pick_family()
    addr = host("reel", fam)
    mode = RNG.choice(["one", "pool", "pool", "new", "new"])
    ahead = RNG.choice([1, 2])
    chunked = RNG.random() < 0.35
    clips = CFG["content"]["clips"]
    pool = [Conn("reel.lab.test", addr) for _ in range(1 if mode == "one" else RNG.randint(2, 3))]
    start = time.time()
    t_end = start + RNG.uniform(30, 180)
    dig("reel.lab.test", fam)
    fetched = {}
    lock = threading.Lock()

    def fetch(idx, conn):
        clip = f"/clips/c{idx % clips}.mp4"
        if mode == "new":
            conn = Conn("reel.lab.test", addr)
        if chunked:
            size = CFG["content"]["clip_sizes"][idx % clips]
            first = RNG.randint(300, 900) * 1000
            conn.get(clip, {"Range": f"bytes=0-{first - 1}"})
            conn.get(clip, {"Range": f"bytes={first}-{size - 1}"})
        else:
            conn.get(clip)
        if mode == "new":
            conn.close()
        with lock:
            fetched[idx] = True

    cur = RNG.randrange(10000)
    threads = []
    k = 0
    for _ in range(200):
        if time.time() >= t_end or left() <= 1:
            break
        # Fetch the current clip (if not prefetched) and the next AHEAD in parallel.
        # A connection carries one request at a time: the previous burst ends
        # first (a player waits for its downloads), then each connection of
        # the pool fetches its share of the burst in its own thread.
        for t in threads:
            t.join(timeout=max(1, left() + 5))
        threads = []
        want = [i for i in range(cur, cur + 1 + ahead) if i not in fetched]
        shares = {}
        for i in want:
            fetched[i] = False
            shares.setdefault(k % len(pool), []).append(i)
            k += 1
        for j, share in shares.items():
            t = threading.Thread(target=lambda j=j, share=share: [fetch(i, pool[j]) for i in share])
            t.start()
            threads.append(t)
        watch = think(5, 40, 9) if RNG.random() < 0.7 else RNG.uniform(1.5, 5)
        if not nap(watch):
            break
        cur += 1
    for t in threads:
        t.join(timeout=max(1, left() + 5))
    for c in pool:
        c.close()
    if fetched:  # a session cut off by the deadline before its first clip has no flows
        label(start, time.time(), me(fam), addr, 443, "tcp", "reel")


# --- attacks ----------------------------------------------------------------

VARIANTS = {"scan": ["syn", "connect", "udp", "sweep", "syn"],
            "dos": ["syn", "syn_spoofed", "udp", "udp_spoofed", "http_wrk", "http_ab"],
            "bruteforce": ["ssh", "http", "ssh"],
            "slowdos": ["slowloris", "slowbody", "slowread", "slowloris"]}
NEXT = {}


def next_variant(kind):
    """Variants in turn, in an order drawn from the run's seed, so that every
    variant runs in a run of the default length; the attackers start at
    different points of the same order."""
    order = list(VARIANTS[kind])
    random.Random(f"{CFG['seed']}/{kind}").shuffle(order)
    i = NEXT.get(kind, CFG["worker"].get("offset", 0) * len(order) // 2)
    NEXT[kind] = i + 1
    return order[i % len(order)]



def neighbour_mac(addr):
    """The MAC address of a neighbour on the segment (after one ping), or None."""
    run(["ping", "-c", "1", "-W", "1", addr], 3)
    out = subprocess.run(["ip", "neigh", "show", addr], capture_output=True, text=True).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def socket_flood(target, port, many, size, pps, seconds):
    """UDP datagrams from a fresh socket each (a new source port each), to one
    port or to random ports, at PPS (0: as fast as it goes) for SECONDS."""
    STARTED[0] += 1
    fam = socket.AF_INET6 if ":" in target else socket.AF_INET
    payload = os.urandom(size)
    end = min(time.time() + seconds, UNTIL)
    gap = 1.0 / pps if pps else 0.0
    nxt = time.time()
    while time.time() < end and not STOP.is_set():
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            try:
                s.sendto(payload, (target, RNG.randint(1, 65535) if many else port))
            except OSError:
                pass  # a full send buffer or an ICMP error from the last one: a flood goes on
        if gap:
            nxt += gap
            if nxt > time.time():
                time.sleep(nxt - time.time())

def attack(kind, seconds):
    """One attack episode of about SECONDS; returns after labelling it."""
    fam = 6 if RNG.random() < CFG["v6_share"] else 4
    atk = me(fam)
    t0 = time.time()
    variant = kind
    started = STARTED[0]

    def label_if_ran(*row, since=started):
        # An episode (or part) cut off by the deadline before its tool started has no flows.
        if STARTED[0] > since:
            label(*row)

    P = CFG["attack"]  # the profile's attack-tool parameters
    if kind == "scan":
        variant = next_variant("scan")
        if variant in ("syn", "connect") and "masscan" in P["scan_tool"] and RNG.random() < 0.4:
            variant = "masscan"
        target = host(RNG.choice(["web", "ssh", "victim"]), fam)
        timing = RNG.choice(P["nmap_timing"])
        base = ["nmap", "-n", "-Pn", "--max-retries", "1", f"-T{timing}", "--host-timeout", f"{int(seconds)}s"]
        if fam == 6:
            base.append("-6")
        if timing <= 2:  # a polite scan sends a probe every 0.4 s (T2) or 15 s (T1): few ports
            ports = ["--top-ports", str(RNG.choice([10, 20, 50]))]
        else:
            ports = RNG.choice([["-p", "1-1024"], ["--top-ports", str(RNG.choice([100, 300, 1000]))],
                                ["-p", ",".join(str(RNG.randint(1, 65535)) for _ in range(80))]])
        if variant == "syn":
            run(base + ["-sS"] + ports + [target], seconds + 5)
            label_if_ran(t0, time.time(), atk, target, "*", "tcp", "scan")
        elif variant == "connect":
            run(base + ["-sT"] + ports + [target], seconds + 5)
            label_if_ran(t0, time.time(), atk, target, "*", "tcp", "scan")
        elif variant == "masscan":
            # masscan builds its own frames: it needs the next hop's MAC, here
            # the target's own (one segment, no router). IPv4 only.
            atk, target = me(4), host(RNG.choice(["web", "ssh", "victim"]), 4)
            mac = neighbour_mac(target)
            if mac:
                rate = RNG.choice(P["masscan_rate"])
                span = RNG.choice(["1-1024", "1-10000", "1-65535"])
                run(["masscan", target, "-p", span, "--rate", str(rate), "--wait", "2", "-e", "eth0",
                     "--router-mac", mac, "--adapter-ip", atk], seconds + 3)
                label_if_ran(t0, time.time(), atk, target, "*", "tcp", "scan")
        elif variant == "udp":
            run(base + ["-sU", "--top-ports", str(RNG.choice([20, 50, 100]))] + [target], seconds + 5)
            label_if_ran(t0, time.time(), atk, target, "*", "udp", "scan")
            label_if_ran(t0, time.time(), target, atk, "*", "icmp", "scan")
        else:  # host sweep of the lab subnet (IPv4): echo, timestamp, SYN 443, ACK 80
            atk = me(4)
            subnet = CFG["subnet4"]
            run(["nmap", "-n", "-sn", "--send-ip", f"-T{max(3, timing)}", subnet], seconds + 5)
            label_if_ran(t0, time.time(), atk, subnet, "*", "*", "scan")
            label_if_ran(t0, time.time(), subnet, atk, "*", "icmp", "scan")
    elif kind == "dos":
        variant = next_variant("dos")
        victim4 = host("victim", 4)
        pps = RNG.choice(P["flood_pps"])  # 0: as fast as the tool and the link go
        # A flood at full speed lasts a few seconds: it fills the link, and
        # the capture, at once.
        span = seconds if pps else min(seconds, RNG.uniform(2, 4))
        rate = ["--flood"] if pps == 0 else ["-i", f"u{int(1e6 / pps)}", "-c", str(int(pps * span))]
        atk4 = me(4)
        sport = []
        if RNG.choice(P["hping_sport"]) == "fixed":  # hping3 otherwise increments the source port per packet
            sport = ["-k", "-s", str(RNG.randint(1024, 65000))]
        if variant == "syn":
            target = host(RNG.choice(["web", "victim"]), 4)
            port = RNG.choice([80, 443])
            run(["hping3", "-q", "-S", *sport, "-p", str(port), *rate, target], span + 3)
            label_if_ran(t0, time.time(), atk4, target, port, "tcp", "dos")
        elif variant == "syn_spoofed":
            run(["hping3", "-q", "-S", "-p", "80", "--rand-source", *rate, victim4], span + 3)
            label_if_ran(t0, time.time(), "*", victim4, 80, "tcp", "dos")
        elif variant in ("udp", "udp_spoofed"):
            port = RNG.choice([9999, 5353, 53, 123])
            size = RNG.choice([64, 256, 512, 1200])
            spoof = variant == "udp_spoofed"
            many = RNG.choice(P["udp_dports"]) == "many"
            tool = "hping3" if spoof else RNG.choice(P["udp_flood_tool"])
            dport = "*" if many else port
            if tool == "sockets":
                # A new socket, so a new source port, for every datagram (over
                # IPv4 or IPv6): the shape of many UDP flooders.
                target = host("victim", fam)
                src = me(fam)
                socket_flood(target, port, many, size, pps, span)
            else:
                src, target = atk4, victim4
                run(["hping3", "-q", "--udp", *sport, "-p", f"++{port}" if many else str(port), "-d", str(size),
                     *rate, *(["--rand-source"] if spoof else []), target], span + 3)
            label_if_ran(t0, time.time(), "*" if spoof else src, target, dport, "udp", "dos")
            if not spoof:
                label_if_ran(t0, time.time(), target, src, "*", "icmp", "dos")
            variant = f"{variant}_{tool}_{'many' if many else 'one'}"
        else:
            # Half the episode over each IP version, the first drawn: every
            # run floods over both, whose segments differ by the MSS.
            for k, f in enumerate([fam, 10 - fam]):
                t1, before = time.time(), STARTED[0]
                part = max(2.0, (seconds - (t1 - t0)) / (2 - k))
                target = host(RNG.choice(["web", "victim", "victim"]), f)
                url = f"http://{url_host(target)}/{RNG.choice(['', 'site/p1.html', 'api/items1.json'])}"
                if variant == "http_wrk":
                    run(["wrk", f"-t{RNG.choice([1, 2])}", f"-c{RNG.choice(P['wrk_conns'])}",
                         f"-d{int(part)}s", "--timeout", "2s", url], part + 5)
                else:
                    run(["ab", "-q", "-s", "3", "-t", str(int(part)), "-n", "1000000",
                         "-c", str(RNG.choice(P["ab_conc"])), url], part + 5)
                label_if_ran(t1, time.time(), me(f), target, 80, "tcp", "dos", since=before)
                if left() < 3:
                    break
    elif kind == "bruteforce":
        variant = next_variant("bruteforce")
        words = os.path.join(CFG["work"], "wordlist.txt")
        hydra_dir = os.path.join(CFG["work"], "hydra", CFG["worker"]["name"])
        os.makedirs(hydra_dir, exist_ok=True)
        opts = ["-I", "-W", "0"]
        if variant == "ssh":
            opts += ["-t", str(RNG.choice([2, 4, 6, 8, 12]))]
            target = host(RNG.choice(["ssh", "victim"]), fam)
            cmd = ["hydra", *opts, "-l", RNG.choice([CFG["user"], "root", "admin"]), "-P", words,
                   f"ssh://{url_host(target)}"]
            port = 22
        else:
            target = host(RNG.choice(["web", "victim"]), fam)
            opts += ["-t", str(RNG.choice([1, 2, 4, 8, 16]))]
            if RNG.random() < 0.3:
                opts += ["-c", str(RNG.choice([1, 2]))]  # a slower guesser: seconds between tries
            cmd = ["hydra", *opts, "-l", RNG.choice(["admin", "root", "user"]), "-P", words,
                   f"http-get://{url_host(target)}/admin/"]
            port = 80
        subprocess_cwd = os.getcwd()
        os.chdir(hydra_dir)  # hydra writes hydra.restore where it runs
        try:
            run(cmd, seconds)
        finally:
            os.chdir(subprocess_cwd)
        label_if_ran(t0, time.time(), atk, target, port, "tcp", "bruteforce")
    elif kind == "slowdos":
        variant = next_variant("slowdos")
        target = host(RNG.choice(["web", "victim", "victim"]), fam)
        conns = str(RNG.choice(P["slow_conns"]))
        common = ["slowhttptest", "-c", conns, "-l", str(int(seconds)), "-r", str(RNG.choice([20, 50, 100])),
                  "-p", "3"]
        base = f"http://{url_host(target)}"
        if variant == "slowloris":
            cmd = common + ["-H", "-i", str(RNG.choice([5, 10, 15])), "-x", "24", "-u", f"{base}/"]
        elif variant == "slowbody":
            cmd = common + ["-B", "-i", str(RNG.choice([5, 10])), "-s", "8192", "-x", "10",
                            "-u", f"{base}/api/"]
        else:
            cmd = common + ["-X", "-w", "16", "-y", "64", "-n", str(RNG.choice([2, 5])), "-z", "32",
                            "-k", "2", "-u", f"{base}/files/{CFG['content']['bulk'][0]}"]
        run(cmd, seconds + 5)
        label_if_ran(t0, time.time(), atk, target, 80, "tcp", "slowdos")
    # One line per episode that ran, for lab.json's "episodes" (the run reads it).
    if STARTED[0] > started:
        log(f"episode {kind} {variant} {t0:.3f} {time.time():.3f}")
    else:
        log(f"{kind}/{variant}: cut off before its tool started")


def attacker():
    w = CFG["worker"]
    order = w["order"]
    ep = w["episode"]
    nap(RNG.uniform(0.5, 2.0) * w.get("first_delay", 1.0))
    for i in range(200):
        if left() < 4:
            break
        kind = order[i % len(order)]
        budget = min(max(3.0, left() - 2), ep * RNG.uniform(0.6, 1.0))
        t0 = time.time()
        # A scan of one host takes a second or two on a LAN, and hydra goes
        # through its word list in seconds at some rates: such an episode
        # attacks again (other targets, ports, kinds, rates) until its time is used.
        for _ in range(12 if kind in ("scan", "bruteforce") else 1):
            spent = time.time() - t0
            if spent > budget * 0.7 or left() < 3:
                break
            attack(kind, budget - spent)
            if kind in ("scan", "bruteforce") and not nap(RNG.uniform(0.3, 3)):
                break
        if not nap(RNG.uniform(0.15, 0.5) * ep):
            break


KINDS = {"browse": browse, "api": api, "bulk": bulk_download, "upload": upload, "speedtest": speedtest,
         "dns": dns, "ssh": ssh_session, "video": video, "imagefeed": imagefeed, "reel": reel}


def main():
    global CFG, RNG, UNTIL, LABELS
    if len(sys.argv) != 3:
        sys.exit("usage: agent.py CONFIG.json WORKER")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    worker = next((w for w in cfg["workers"] if w["name"] == sys.argv[2]), None)
    if worker is None:
        sys.exit(f"agent.py: no worker {sys.argv[2]!r} in {sys.argv[1]}")
    cfg["worker"] = worker
    cfg["self"] = cfg["nodes"][worker["node"]]
    CFG = cfg
    RNG = random.Random(zlib.crc32(f"{cfg['seed']}/{worker['name']}".encode()))
    UNTIL = cfg["until"]
    LABELS = open(os.path.join(cfg["work"], "labels", worker["name"] + ".csv"), "a")

    def on_term(signum, frame):
        STOP.set()
        with CHILD_LOCK:
            for p in list(CHILDREN):
                signal_group(p, signal.SIGKILL)
                try:
                    p.kill()
                except OSError:
                    pass
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    if worker["kind"] == "attacker":
        attacker()
        return
    fn = KINDS[worker["kind"]]
    # Workers start spread over the first seconds, then alternate sessions and pauses.
    nap(RNG.uniform(0, worker.get("spread", 5)))
    for _ in range(worker.get("max_sessions", 500)):
        if left() < 2:
            break
        fn()
        if not nap(RNG.uniform(*worker.get("pause", (1, 10)))):
            break


if __name__ == "__main__":
    main()
