#!/usr/bin/python3
"""One traffic-lab activity, run inside a client or attacker namespace.

    agent.py CONFIG.json WORKER

`scripts/lab/run` starts one agent per worker (a namespace and an activity
kind) with `ip netns exec`; the agent loops over sessions of its kind, each a
variant drawn from its own seed, with random pauses, until the run's deadline
or its session count, whichever comes first. It drives real tools (curl, wget,
dig, iperf3, ssh, scp, aria2c, ping, nmap, hping3, hydra, slowhttptest, wrk, ab) as child
processes, each with a timeout that never passes the deadline, and Python's
own HTTP client where a session must keep one connection open between
requests (video players, feeds, API pollers), and its IMAP, SMTP and FTP
clients for the mail and FTP users (socket timeouts clipped to the deadline). Attack and reel sessions append
label rows (start,end,src,dst,dport,proto,category) to the worker's own
labels file as soon as each ends; the run merges the files. On SIGTERM the
agent kills its children (by PID) and exits.
"""

import base64
import collections
import ftplib
import http.client
import imaplib
import json
import os
import random
import re
import resource
import selectors
import shlex
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
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


def label(start, end, src, dst, dport, proto, category, tail=2.0):
    """A label row from 0.5 s before START to TAIL s after END. An attacker's
    rows wait in DEFERRED until its pause before the next episode is known."""
    if DEFERRED is not None:
        DEFERRED.append((start, end, src, dst, dport, proto, category))
        return
    with CHILD_LOCK:
        LABELS.write(f"{start - 0.5:.3f},{end + tail:.3f},{src},{dst},{dport},{proto},{category}\n")
        LABELS.flush()


DEFERRED = None  # an attacker's label rows of the episode that runs


def flush_deferred(pause):
    """Writes the attacker's deferred rows. Rows of its own address reach to
    0.6 s before the next episode's rows begin (PAUSE s from now), at most 10 s
    after the tool ended: a tool's last packets can reach the capture seconds
    after it exits (a shaped link's queue draining, connections closing), and
    nothing else comes from or to an attacker's address. Rows of spoofed
    sources keep the 2 s tail."""
    global DEFERRED
    rows, DEFERRED = DEFERRED or [], None
    mine = (CFG["self"]["v4"], CFG["self"]["v6"])
    reach = time.time() + pause - 0.6
    for start, end, src, dst, dport, proto, category in rows:
        tail = min(10.0, max(2.0, reach - end)) if src in mine or dst in mine else 2.0
        label(start, end, src, dst, dport, proto, category, tail)


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

    def get(self, path, headers=None, method="GET", body=None, keep=None):
        """Fetches PATH, reading and dropping the body (or appending it to the
        list KEEP); returns its size or -1."""
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
                    if keep is not None:
                        keep.append(chunk)
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


MAIL_WORDS = ["order", "invoice", "shipping", "meeting", "report", "the", "and", "please", "attached",
              "thanks", "update", "price", "tomorrow", "numbers", "draft", "review", "customer", "team"]


def mail():
    """A mail client checking the inbox: IMAP login (STARTTLS on 143 mostly,
    else plain 143 or IMAPS 993), the newest few headers, a message or two,
    logout; in 30% of checks it first sends a message by SMTP submission (587,
    STARTTLS mostly, AUTH). Short successful logins every 30-120 s (the
    worker's pause): the benign look-alike of IMAP and SMTP brute force."""
    fam = pick_family()
    addr = host("mail", fam)
    user, password = CFG["user"], CFG["password"]
    timeout = min(20, left())
    if timeout < 5:
        return
    try:
        if RNG.random() < 0.3:
            body = "\r\n".join(" ".join(RNG.choice(MAIL_WORDS) for _ in range(RNG.randint(5, 14)))
                               for _ in range(int(RNG.lognormvariate(3, 1.2)) + 1))
            if RNG.random() < 0.2:  # an attachment, base64 like a real one
                body += "\r\n\r\n" + "\r\n".join(
                    base64.b64encode(os.urandom(57)).decode() for _ in range(RNG.randint(500, 8000)))
            msg = (f"From: {user}@lab.test\r\nTo: {RNG.choice(['alice', 'bob', user])}@lab.test\r\n"
                   f"Subject: {' '.join(RNG.sample(MAIL_WORDS, 3))}\r\n"
                   f"Message-ID: <{RNG.randrange(1 << 40)}@{CFG['worker']['node']}.lab.test>\r\n\r\n{body}\r\n")
            # local_hostname: smtplib would otherwise look our name up (no DNS for that here).
            with smtplib.SMTP(addr, 587, local_hostname=f"{CFG['worker']['node']}.lab.test",
                              timeout=timeout) as s:
                s.ehlo()
                if RNG.random() < 0.8:
                    s.starttls(context=TLS)
                    s.ehlo()
                s.login(user, password)
                s.sendmail(f"{user}@lab.test", [f"{user}@lab.test"], msg.encode())
            if not nap(RNG.uniform(0.5, 3)):
                return
        mode = RNG.choice(["starttls", "starttls", "starttls", "plain", "imaps"])
        if mode == "imaps":
            m = imaplib.IMAP4_SSL(addr, 993, ssl_context=TLS, timeout=timeout)
        else:
            m = imaplib.IMAP4(addr, 143, timeout=timeout)
            if mode == "starttls":
                m.starttls(TLS)
        try:
            m.login(user, password)
            n = int(m.select("INBOX", readonly=RNG.random() < 0.5)[1][0] or 0)
            if n:
                lo = max(1, n - RNG.randint(3, 20))
                m.fetch(f"{lo}:{n}", "(FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
                for _ in range(RNG.randint(0, 2)):
                    if not nap(think(0.5, 10, 2)):
                        break
                    m.fetch(str(RNG.randint(lo, n)), "(BODY.PEEK[])")
        finally:
            m.logout()  # LOGOUT, then closes the connection (also after an error)
    except (OSError, EOFError, ValueError, imaplib.IMAP4.error, smtplib.SMTPException) as e:
        log(f"mail: {type(e).__name__}: {e}")  # a failed check is traffic too; the log says why


def ftp_session():
    """An FTP client: logs in as the lab user and downloads one or two files,
    with curl (ftp://, passive) or python's ftplib (which also lists the
    directory first); the benign look-alike of FTP brute force."""
    fam = pick_family()
    addr = host("ftp", fam)
    user, password = CFG["user"], CFG["password"]
    files = sorted(os.listdir(os.path.join(CFG["work"], "ftp", "pub")))  # what the server offers
    picks = RNG.sample(files, RNG.randint(1, 2))
    if left() < 5:
        return
    if RNG.random() < 0.5:
        cmd = ["curl", "-s", "--max-time", str(int(max(1, min(60, left())))), "--connect-timeout", "5",
               "-u", f"{user}:{password}"]
        for name in picks:
            cmd += ["-o", "/dev/null", f"ftp://{url_host(addr)}/pub/{name}"]
        run(cmd, 62)
        return
    try:
        with ftplib.FTP(timeout=min(20, left())) as f:
            f.connect(addr, 21)
            f.login(user, password)
            f.cwd("pub")
            if RNG.random() < 0.6:
                f.dir(lambda line: None)
            else:
                f.nlst()
            for name in picks:
                if not nap(think(0.3, 5, 1)):
                    break
                f.retrbinary(f"RETR {name}", lambda chunk: None)
            f.quit()
    except (OSError, EOFError, ftplib.Error) as e:
        log(f"ftp: {type(e).__name__}: {e}")


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


def reel_browser():
    """Short-form video in a real browser: headless Chromium plays the lab's
    reel page (reelplayer.html, served by Caddy at the reel CDN address) over
    HTTP/1.1, HTTP/2 or HTTP/3 (QUIC), one transport a session. The page's
    player fetches vertical clips with fetch(), prefetches the next 0-3 and
    aborts a clip's download when it is swiped away; what it does comes in the
    page's query, drawn here: clips, watch times (a swipe-away share of the
    session), prefetch depth, whole GETs or Range chunks of 128 KB-2 MB, one to
    three CDN host names. Chromium's log says how many bytes the page read; a
    session that read none (the deadline, a failed handshake) has no label."""
    fam = pick_family()
    cdn = CFG["hosts"]["reelcdn"]
    addr = host("reelcdn", fam)
    proto = RNG.choice(["h1", "h2", "h3"])
    # Chromium takes a few seconds to start and close: the page's session ends
    # well before the run's deadline.
    length = min(RNG.uniform(30, 150), left() - 12)
    if length < 10:
        nap(left())
        return
    swipe = RNG.uniform(0.1, 0.5)
    watch = []
    while sum(watch) < length:
        watch.append(round(RNG.uniform(1.5, 5) if RNG.random() < swipe else think(5, 40, 9), 1))
    clips = [RNG.randrange(CFG["content"]["clips"]) for _ in watch]
    names = cdn["names"][:RNG.choice([1, 1, 2, 3])]
    query = urllib.parse.urlencode({
        "clips": ",".join(map(str, clips)), "watch": ",".join(map(str, watch)),
        "ahead": RNG.choice([0, 1, 1, 2, 2, 3]),
        "chunk": 0 if RNG.random() < 0.5 else RNG.choice([128, 256, 512, 1024, 2048]) * 1024,
        "hosts": ",".join(names), "end": f"{length:.1f}"})
    url = f"https://{names[0]}/reel/player.html?{query}"
    for n in names:  # the browser's own lookups are mapped below; a phone's resolver asks first
        dig(n, fam)
    with open(os.path.join(CFG["work"], "caddy", "spki")) as f:
        spki = f.read().strip()
    profile = os.path.join(CFG["work"], "browser", f"{CFG['worker']['name']}-{STARTED[0]}")
    os.makedirs(profile, exist_ok=True)
    logfile = os.path.join(profile, "chromium.log")
    # Names resolve by the rules, never by a resolver (no DNS outside the lab),
    # and every other name fails at once; no background services, no sandbox
    # (root). QUIC takes the certificate only by its key's hash.
    rules = ", ".join([f"MAP {n} {url_host(addr)}" for n in names] + ["MAP * ~NOTFOUND"])
    cmd = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
           "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
           "--disable-features=MediaRouter,DialMediaRouteProvider,OptimizationHints,Translate",
           "--ignore-certificate-errors", f"--ignore-certificate-errors-spki-list={spki}",
           f"--host-resolver-rules={rules}", "--enable-logging=stderr", "--v=0"]
    cmd += {"h1": ["--disable-http2", "--disable-quic"], "h2": ["--disable-quic"],
            "h3": ["--enable-quic", "--origin-to-force-quic-on=" + ",".join(f"{n}:443" for n in names)]}[proto]
    start = time.time()
    # run() keeps the tool's output from the agent's log; the shell sends
    # Chromium's to a file, and the process group takes Chromium's children.
    run(["sh", "-c", "exec " + " ".join(map(shlex.quote, cmd + [url])) + " 2>" + shlex.quote(logfile)],
        length + 20)
    got = 0
    try:
        with open(logfile, errors="replace") as f:
            for line in f:
                m = re.search(r'"reel-(?:bytes|done) (\d+)"', line)
                if m:
                    got = max(got, int(m.group(1)))
    except OSError:
        pass
    shutil.rmtree(profile, ignore_errors=True)
    log(f"reel_browser {proto} IPv{fam} {len(clips)} clips {len(names)} hosts: {got} bytes")
    if got:
        label(start, time.time(), me(fam), addr, 443, "udp" if proto == "h3" else "tcp", "reel")


# --- benign look-alikes of attacks ------------------------------------------
# Real benign traffic that shares an attack's shape: many short connections
# to many hosts and ports (peer-to-peer, monitoring), many requests fast
# (crawlers, segmented downloads, a busy resolver), UDP to 123 and 5353.
# None is labelled: a model has to tell them from the attacks by more than
# their counts and ports.

QTYPES = {"A": 1, "AAAA": 28, "PTR": 12, "TXT": 16, "SRV": 33, "ANY": 255}


def dns_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def dns_query(qid, questions, flags=0x0100, qclass=1):
    """A DNS message asking QUESTIONS [(name, type)] (flags: recursion desired)."""
    return (struct.pack(">HHHHHH", qid, flags, len(questions), 0, 0, 0) +
            b"".join(dns_name(n) + struct.pack(">HH", QTYPES[t], qclass) for n, t in questions))


def dns_rr(name, rtype, rdata, ttl=120, rclass=1):
    return dns_name(name) + struct.pack(">HHIH", QTYPES[rtype], rclass, ttl, len(rdata)) + rdata


def dns_questions(msg):
    """The (name, type) questions of a DNS message; mDNS queriers may compress
    later questions, and the parse stops at the first pointer."""
    out = []
    try:
        off = 12
        for _ in range(min(struct.unpack(">H", msg[4:6])[0], 16)):
            labels = []
            while msg[off]:
                if msg[off] & 0xC0:
                    return out
                labels.append(msg[off + 1:off + 1 + msg[off]].decode(errors="replace"))
                off += 1 + msg[off]
            out.append((".".join(labels).lower(), struct.unpack(">H", msg[off + 1:off + 3])[0]))
            off += 5
    except (IndexError, struct.error):
        pass
    return out


def p2p():
    """BitTorrent with aria2c among client namespaces: the worker marked seeder
    seeds all the lab's torrents from their files for 1-4 minutes a session;
    the others download one or (30%) all of them (from the seeder and from each
    other, peers found by the tracker on infra and by peer exchange), seed 5-60
    s, and start over from nothing. DHT and local peer discovery are off; each
    worker listens on its own fixed port range."""
    w = CFG["worker"]
    torrents = CFG["content"]["torrents"]
    fam = pick_family()  # the .torrents announcing over IPv6 (same swarms: same info hashes)
    cmd = ["aria2c", "-q", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
           "--enable-peer-exchange=true", f"--listen-port={w['bt_port']}-{w['bt_port'] + w['bt_ports'] - 1}",
           "--seed-ratio=0.0", "--file-allocation=none", "--summary-interval=0", "--allow-overwrite=true",
           "--bt-tracker-connect-timeout=5", "--bt-tracker-timeout=10", f"--bt-max-peers={RNG.choice([8, 20, 55])}"]
    if RNG.random() < 0.3:
        cmd.append("--bt-require-crypto=true")  # message stream encryption, as many clients insist on
    if RNG.random() < 0.4:
        cmd.append(f"--max-upload-limit={RNG.choice([128, 256, 512, 1024])}K")  # a capped uplink
    work = None
    if w.get("seeder"):
        seed = RNG.uniform(60, 240)
        cmd += ["--check-integrity=true", f"--dir={CFG['content']['torrent_dir']}"]
    else:
        seed = RNG.uniform(5, 60)
        if RNG.random() < 0.7:
            torrents = [RNG.choice(torrents)]
        work = os.path.join(CFG["work"], "p2p", f"{w['name']}-{RNG.randrange(1 << 30)}")
        os.makedirs(work, exist_ok=True)
        # Give up on a swarm that gives nothing for 30 s (the seeder between sessions).
        cmd += [f"--dir={work}", "--bt-stop-timeout=30"]
    cmd += [f"--seed-time={seed / 60:.2f}"] + [t["v6" if fam == 6 else "v4"] for t in torrents]
    t0 = time.time()
    rc = run(cmd, seed + 150)
    log(f"p2p: {'seeded' if w.get('seeder') else 'fetched'} {' '.join(t['name'] for t in torrents)} "
        f"over IPv{fam}, exit {rc}, {time.time() - t0:.0f} s")
    if work:
        shutil.rmtree(work, ignore_errors=True)


MONITOR_UP = [("tcp", "www", 80), ("tcp", "www", 443), ("tcp", "api", 443), ("tcp", "img", 443),
              ("tcp", "files", 80), ("tcp", "ssh", 22), ("tcp", "dns", 53), ("tcp", "iperf", 5201),
              ("tcp", "shop", 443), ("tcp", "victim", 22), ("tls", "www", 443), ("tls", "shop", 443),
              ("banner", "ssh", 22), ("banner", "victim", 22),
              ("http", "www", "/healthz"), ("http", "www", "/status"), ("http", "api", "/healthz"),
              ("https", "api", "/api/items0.json"), ("https", "shop", "/healthz"), ("https", "www", "/metrics"),
              ("ping", "www", None), ("ping", "dns", None), ("ping", "victim", None), ("ping", "files", None),
              ("dns", "dns", "www.lab.test"), ("dns", "dns", "api.lab.test"), ("dns", "dns", "db.lab.test")]
# Services a monitor still checks that are down or never were: refused (RST,
# or ICMP port unreachable for UDP). Never the victim's port 80 or its UDP
# ports: spoofed floods' label rows name those with any source.
MONITOR_DOWN = [("tcp", "www", 8080), ("tcp", "www", 9100), ("tcp", "api", 3306), ("tcp", "api", 5432),
                ("tcp", "files", 6379), ("tcp", "dns", 9100), ("tcp", "dns", 8080), ("tcp", "iperf", 2049),
                ("tcp", "victim", 8443), ("tcp", "victim", 9100), ("tcp", "victim", 3306), ("tcp", "img", 8443),
                ("udp", "www", 161), ("udp", "dns", 161), ("udp", "files", 514)]


def check(kind, name, arg, fam):
    """One monitoring check on a new connection; True if the service answered."""
    addr = host(name, fam) if name in CFG["hosts"] else arg
    try:
        if kind in ("tcp", "tls", "banner"):
            with socket.create_connection((addr, arg), timeout=2) as sock:
                if kind == "tls":
                    with TLS.wrap_socket(sock, server_hostname=f"{name}.lab.test"):
                        pass
                elif kind == "banner":
                    sock.recv(256)
            return True
        if kind in ("http", "https"):
            cls = http.client.HTTPSConnection if kind == "https" else http.client.HTTPConnection
            c = cls(addr, timeout=3, **({"context": TLS} if kind == "https" else {}))
            c.request("GET", arg, headers={"Host": f"{name}.lab.test", "User-Agent": "lab-monitor/1.0",
                                           "Connection": "close"})
            ok = c.getresponse().read() is not None
            c.close()
            return ok
        if kind == "ping":
            return run(["ping", "-n", "-c", "1", "-W", "1", addr], 3) == 0
        with socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.5)
            sock.connect((addr, 53 if kind == "dns" else arg))
            sock.send(dns_query(RNG.randrange(65536), [(arg, "A")]) if kind == "dns" else b"\x30\x26\x02\x01\x01")
            sock.recv(512)
            return True
    except (OSError, http.client.HTTPException):
        return False


def poller():
    """A monitoring host: every 1-10 s a round of 6-26 checks on new connections,
    run 1-8 at a time: TCP connects (some with a TLS handshake or reading the SSH
    banner), HTTP(S) health URLs, pings, DNS queries, and some on services that
    are down (refused). A session polls for 30-180 s."""
    fam = pick_family()
    checks = RNG.sample(MONITOR_UP, RNG.randint(5, 18)) + RNG.sample(MONITOR_DOWN, RNG.randint(1, 8))
    # Other clients' addresses too (workstations answering pings), never an attacker's.
    peers = [n for n in CFG["nodes"] if n.startswith("c") and n != CFG["worker"]["node"]]
    for n in RNG.sample(peers, min(len(peers), RNG.randint(0, 2))):
        checks.append(("ping", n, CFG["nodes"][n]["v6" if fam == 6 else "v4"]))
    period, par = RNG.uniform(1, 10), RNG.choice([1, 2, 4, 8])
    t_end = time.time() + RNG.uniform(30, 180)
    failed = total = 0
    for _ in range(300):
        if time.time() >= t_end or left() <= 2:
            break
        t0 = time.time()
        results = []
        threads = [threading.Thread(target=lambda part=checks[j::par]: results.extend(
            check(k, n, a, fam) for k, n, a in part)) for j in range(par)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total, failed = total + len(results), failed + results.count(False)
        if not nap(period * RNG.uniform(0.9, 1.1) - (time.time() - t0)):
            break
    log(f"poller: {total} checks, {failed} failed, every {period:.1f} s")


CRAWLER_AGENTS = ["Wget/1.21", "labbot/1.0 (+http://www.lab.test/bot)", "Mozilla/5.0 (compatible; LabSearch/2.1)"]


def crawl_python(fam):
    """A crawler in Python: breadth first from /wiki/ to depth 2, 1-8 threads,
    on kept connections or a new one per request, sometimes robots.txt first."""
    addr, tls = host("www", fam), RNG.random() < 0.6
    par, fresh, limit = RNG.choice([1, 2, 4, 8]), RNG.random() < 0.4, RNG.randint(30, 200)
    agent = {"User-Agent": RNG.choice(CRAWLER_AGENTS)}
    # The crawl frontier: (path, depth) in the order found, each path once.
    frontier, seen, lock = collections.deque([("/wiki/index.html", 0)]), {"/wiki/index.html"}, threading.Lock()
    if RNG.random() < 0.6:
        Conn("www.lab.test", addr, tls).get("/robots.txt", agent)
    count = [0]
    delay = RNG.choice([0, 0, 0.05, 0.3])

    def worker():
        conn = Conn("www.lab.test", addr, tls)
        idle = 0
        while left() > 1 and idle < 20:
            with lock:
                item = frontier.popleft() if frontier and count[0] < limit else None
                count[0] += item is not None
            if item is None:
                if count[0] >= limit:
                    break
                idle += 1  # other threads may still add links
                nap(0.1)
                continue
            idle = 0
            page, depth = item
            body = []
            conn.get(page, agent, keep=body)
            if fresh:
                conn.close()
            if depth < 2 and page.endswith(".html"):
                for link in re.findall(rb'(?:href|src)="([^"#?]+)"', b"".join(body)):
                    path = urllib.parse.urljoin(page, link.decode())
                    with lock:
                        if path.startswith("/") and path not in seen:
                            seen.add(path)
                            frontier.append((path, depth + 1))
            if delay and not nap(delay):
                break
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log(f"crawl: python, {count[0]} requests over {'https' if tls else 'http'}, {par} threads"
        f"{', a connection each' if fresh else ''}, IPv{fam}")


def crawl():
    """A crawler over the www site's wiki (wget -r or a Python crawler), or a
    segmented download with aria2c: 4-16 parallel connections to one file."""
    fam = pick_family()
    r = RNG.random()
    tmp = os.path.join(CFG["work"], "crawl", f"{CFG['worker']['name']}-{RNG.randrange(1 << 30)}")
    os.makedirs(tmp, exist_ok=True)
    if r < 0.3:
        # wget keeps one connection; robots.txt unless told otherwise.
        scheme = RNG.choice(["http", "https"])
        cmd = ["wget", "-q", "-r", "-l", str(RNG.choice([1, 2, 2])), "-nd", "--delete-after", "-P", tmp,
               "--no-check-certificate", "--timeout=10", "--tries=1", "--header", "Host: www.lab.test",
               "-U", RNG.choice(CRAWLER_AGENTS)]
        if RNG.random() < 0.5:
            cmd.append("-np")  # the wiki only, not the objects its pages show
        if RNG.random() < 0.4:
            cmd += ["-e", "robots=off"]
        if RNG.random() < 0.3:
            cmd += ["--wait=0.3", "--random-wait"]
        run(cmd + [f"{scheme}://{url_host(host('www', fam))}/wiki/index.html"], 90)
        log(f"crawl: wget -r over {scheme}, IPv{fam}")
    elif r < 0.65:
        crawl_python(fam)
    else:
        f = RNG.choice(CFG["content"]["bulk"])
        scheme = RNG.choice(["http", "https"])
        n = RNG.choice([4, 8, 8, 16])
        urls = [f"{scheme}://{url_host(host('files', fam))}/files/{f}"]
        if RNG.random() < 0.3:
            urls.append(f"{scheme}://{url_host(host('www', fam))}/files/{f}")  # a mirror: the same file elsewhere
        cmd = ["aria2c", "-q", f"--max-connection-per-server={n}", f"--split={n}", "--min-split-size=1M",
               "--file-allocation=none", "--check-certificate=false", "--header=Host: files.lab.test",
               "--connect-timeout=5", "--timeout=10", "--max-tries=2", "--allow-overwrite=true",
               "--auto-file-renaming=false", f"--dir={tmp}", "-o", f]
        if RNG.random() < 0.3:
            cmd.append(f"--max-download-limit={RNG.randint(1, 4)}M")
        rc = run(cmd + urls, 150)
        log(f"crawl: aria2c -x {n} of {f} from {len(urls)} URL(s) over {scheme}, IPv{fam}, exit {rc}")
    shutil.rmtree(tmp, ignore_errors=True)


def dnsload():
    """A resolver under load: 50-500 queries a second for 2-8 s to the lab's
    dnsmasq (lab names, random names, NXDOMAIN), each from a new socket and
    source port (as a resolver randomizes them) or, 30%, all from one."""
    fam = pick_family()
    server = (host("dns", fam), 53)
    family = socket.AF_INET6 if fam == 6 else socket.AF_INET
    rate, secs, fresh = RNG.choice([50, 100, 200, 300, 500]), RNG.uniform(2, 8), RNG.random() < 0.7
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # a socket per query
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> when sent
    one = None
    t0 = time.time()
    end = min(t0 + secs, UNTIL - 1)
    sent = answered = 0
    while not STOP.is_set():
        now = time.time()
        while now < end and sent < (now - t0) * rate:
            r = RNG.random()
            if r < 0.5:
                q = (f"{RNG.choice(['www', 'api', 'cdn', 'img', 'mail', 'files'])}.lab.test", RNG.choice(["A", "AAAA"]))
            elif r < 0.8:
                q = (f"h{RNG.randrange(100000)}.lab.test", "A")
            else:
                q = (f"nx{RNG.randrange(1 << 20)}.example", "A")
            if fresh or one is None:
                s = socket.socket(family, socket.SOCK_DGRAM)
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
                one = one if fresh else s
            else:
                s = one
            try:
                s.sendto(dns_query(RNG.randrange(65536), [q]), server)
            except OSError:
                pass
            pending[s] = now
            sent += 1
        if now >= end + 2 or (now >= end and (not pending or not fresh and now >= end + 0.5)):
            break
        for key, _ in sel.select(timeout=0.005):
            try:
                while True:
                    key.fileobj.recv(1500)
                    answered += 1
            except OSError:
                pass
            if fresh:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                pending.pop(key.fileobj, None)
        if fresh:
            for s in [s for s, t in pending.items() if now - t > 2]:
                sel.unregister(s)
                s.close()
                del pending[s]
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    log(f"dnsload: {sent} queries at {rate}/s, {answered} answers, {'a socket each' if fresh else 'one socket'}")


MDNS_SERVICES = ["_http._tcp", "_ipp._tcp", "_googlecast._tcp", "_airplay._tcp", "_spotify-connect._tcp",
                 "_workstation._tcp", "_ssh._tcp", "_smb._tcp", "_raop._tcp"]
SSDP_TYPES = ["urn:schemas-upnp-org:device:MediaRenderer:1", "urn:dial-multiscreen-org:service:dial:1",
              "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:Printer:1"]



def join_group4(s, group, ttl):
    """Joins an IPv4 multicast GROUP on this node's address and sends to it
    from there (the lab has no routes: the interface is named, as a responder
    does), with TTL, without looping our own datagrams back."""
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(me(4)))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(me(4)))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)


def ssdp_send(sock, to, start, **headers):
    """One SSDP message (a NOTIFY or an answer to an M-SEARCH): START, the
    headers every message of ours carries, then HEADERS in order. A send that
    fails is dropped, as by a real device."""
    lines = [start, "CACHE-CONTROL: max-age=1800", "SERVER: Linux/6.1 UPnP/1.0 lab/1.0"]
    lines += [f"{k}: {v}" if v else f"{k}:" for k, v in headers.items()]
    try:
        sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), to)
    except OSError:
        pass

def chatter():
    """A desktop's or a device's background chatter until the deadline, each in
    its own thread: NTP (a burst of 4 queries 2 s apart, then one every 16-64 s,
    to infra), mDNS (probes and announcements of its name and 0-3 services,
    browsing queries every 10-90 s, answers to others' queries; IPv4 and IPv6
    multicast) and SSDP (M-SEARCH every 20-120 s; a device also answers
    searches and sends NOTIFY every 30-120 s)."""
    node = CFG["worker"]["node"]
    ifindex = socket.if_nametoindex("eth0")
    rngs = [random.Random(RNG.random()) for _ in range(4)]  # one per thread
    services = RNG.sample(MDNS_SERVICES, RNG.randint(0, 3))
    device = RNG.choice(SSDP_TYPES) if RNG.random() < 0.5 else None
    uuid = "%08x-0000-4000-8000-%012x" % (zlib.crc32(node.encode()), RNG.randrange(1 << 48))

    def ntp_client(rng):
        fam = 6 if rng.random() < CFG["v6_share"] else 4
        fixed = None
        if rng.random() < 0.3:  # ntpd and chrony as servers of their own send from port 123
            fixed = socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_DGRAM)
            fixed.bind(("::" if fam == 6 else "0.0.0.0", 123))
        poll = rng.choice([16, 32, 64])
        for i in range(1000):
            s = fixed or socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(1)
            now = time.time() + 2208988800
            try:
                s.sendto(bytes([0x23, 0, 6, 0xE9]) + bytes(36) + struct.pack(">II", int(now), int(now % 1 * 2**32)),
                         (host("dns", fam), 123))
                s.recv(512)
            except OSError:
                pass
            if s is not fixed:
                s.close()
            if not nap(2 if i < 3 else poll * rng.uniform(0.9, 1.1)):
                break
        if fixed:
            fixed.close()

    def mdns_records():
        recs = [dns_rr(f"{node}.local", "A", socket.inet_aton(me(4)), rclass=0x8001),
                dns_rr(f"{node}.local", "AAAA", socket.inet_pton(socket.AF_INET6, me(6)), rclass=0x8001)]
        for svc in services:
            inst = f"{node}.{svc}.local"
            recs += [dns_rr(f"{svc}.local", "PTR", dns_name(inst), ttl=4500),
                     dns_rr("_services._dns-sd._udp.local", "PTR", dns_name(f"{svc}.local"), ttl=4500),
                     dns_rr(inst, "SRV", struct.pack(">HHH", 0, 0, 8000 + len(svc)) + dns_name(f"{node}.local"),
                            rclass=0x8001),
                     dns_rr(inst, "TXT", b"\x09txtvers=1", ttl=4500, rclass=0x8001)]
        return recs

    def mdns(rng, fam):
        if fam == 6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == 6:
            s.bind(("::", 5353))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                         socket.inet_pton(socket.AF_INET6, "ff02::fb") + struct.pack("@I", ifindex))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            group = ("ff02::fb", 5353, 0, ifindex)
        else:
            s.bind(("0.0.0.0", 5353))
            join_group4(s, "224.0.0.251", 255)
            group = ("224.0.0.251", 5353)
        s.settimeout(0.5)
        recs = mdns_records()
        mine = {f"{node}.local", "_services._dns-sd._udp.local"} | {f"{svc}.local" for svc in services}

        def send(msg):
            try:
                s.sendto(msg, group)
            except OSError:
                pass

        def answer(rr):
            send(struct.pack(">HHHHHH", 0, 0x8400, 0, len(rr), 0, 0) + b"".join(rr))

        # Probe (three ANY queries for its own name, 250 ms apart), then
        # announce everything twice, a second apart (RFC 6762, 8.1 and 8.3).
        for _ in range(3):
            send(dns_query(0, [(f"{node}.local", "ANY")], flags=0, qclass=0x8001))
            if not nap(0.25):
                return s.close()
        answer(recs)
        nap(1)
        answer(recs)
        next_query = time.time() + rng.uniform(1, 10)
        while left() > 0.5 and not STOP.is_set():
            if time.time() >= next_query:
                want = ["_services._dns-sd._udp"] + rng.sample(MDNS_SERVICES, rng.randint(1, 3))
                send(dns_query(0, [(f"{w}.local", "PTR") for w in want], flags=0))
                next_query = time.time() + rng.uniform(10, 90)
            try:
                msg, _ = s.recvfrom(9000)
            except OSError:
                continue
            if len(msg) < 12 or msg[2] & 0x80:  # a response: a real cache keeps it, this one need not
                continue
            asked = {n for n, _ in dns_questions(msg)} & mine
            if asked:
                nap(rng.uniform(0.02, 0.12))
                answer([r for r in recs if any(r.startswith(dns_name(n)) for n in asked)] or recs[:2])
        s.close()

    def ssdp(rng):
        listen = None
        if device:
            listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listen.bind(("0.0.0.0", 1900))
            join_group4(listen, "239.255.255.250", 2)
            listen.settimeout(0.5)
        loc = f"http://{me(4)}:{49152 + zlib.crc32(uuid.encode()) % 1000}/description.xml"
        group = ("239.255.255.250", 1900)
        next_search = time.time() + rng.uniform(2, 20)
        next_notify = time.time() + rng.uniform(0.5, 5)
        while left() > 0.5 and not STOP.is_set():
            now = time.time()
            if now >= next_search:
                # A control point: a new socket (and source port) per search, two
                # copies of the request, then the answers for MX seconds.
                mx = rng.choice([1, 2, 3])
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(me(4)))
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
                st = rng.choice(["ssdp:all", "upnp:rootdevice"] + SSDP_TYPES)
                msg = (f'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
                       f"MX: {mx}\r\nST: {st}\r\nUSER-AGENT: Linux/6.1 UPnP/1.1 lab/1.0\r\n\r\n").encode()
                s.settimeout(0.2)
                t_end = time.time() + mx + 0.5
                for _ in range(2):
                    try:
                        s.sendto(msg, group)
                    except OSError:
                        pass
                while time.time() < t_end and left() > 0.5:
                    try:
                        s.recv(2000)
                    except OSError:
                        pass
                s.close()
                next_search = time.time() + rng.uniform(20, 120)
            if listen is None:
                nap(min(1.0, max(0.05, next_search - time.time())))
                continue
            if now >= next_notify:
                for nt, usn in (("upnp:rootdevice", f"uuid:{uuid}::upnp:rootdevice"), (f"uuid:{uuid}", f"uuid:{uuid}"),
                                (device, f"uuid:{uuid}::{device}")):
                    ssdp_send(listen, group, "NOTIFY * HTTP/1.1", HOST="239.255.255.250:1900",
                              LOCATION=loc, NT=nt, NTS="ssdp:alive", USN=usn)
                next_notify = now + rng.uniform(30, 120)
            try:
                msg, peer = listen.recvfrom(2000)
            except OSError:
                continue
            if not msg.startswith(b"M-SEARCH"):
                continue
            st = re.search(rb"(?im)^ST:\s*(\S+)", msg)
            st = st.group(1).decode() if st else "ssdp:all"
            if st in ("ssdp:all", "upnp:rootdevice", device):
                nap(rng.uniform(0.05, 0.8))  # a random delay within MX
                ssdp_send(listen, peer, "HTTP/1.1 200 OK", EXT="", LOCATION=loc,
                          ST=device if st == "ssdp:all" else st, USN=f"uuid:{uuid}::{device}")
        if listen:
            listen.close()

    threads = [threading.Thread(target=ntp_client, args=(rngs[0],)),
               threading.Thread(target=mdns, args=(rngs[1], 4)), threading.Thread(target=mdns, args=(rngs[2], 6)),
               threading.Thread(target=ssdp, args=(rngs[3],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- attacks ----------------------------------------------------------------

VARIANTS = {"scan": ["syn", "connect", "udp", "sweep", "syn", "version"],
            "dos": ["syn", "syn_spoofed", "udp", "udp_spoofed", "http_wrk", "http_ab"],
            "bruteforce": ["ssh", "http", "http_form", "ftp", "imap", "smtp"],
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



def flood_path():
    """A URL path for one part of an HTTP flood, on www or the victim (both
    serve the same tree)."""
    c = CFG["content"]
    return RNG.choice(["", f"site/p{RNG.randrange(c['pages'])}.html", f"api/items{RNG.randrange(8)}.json",
                       f"wiki/w{RNG.randrange(60)}.html", "healthz", "status",
                       f"site/o{RNG.randrange(c['objects'])}.bin", f"search?q={RNG.randrange(10**6)}"])


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
            ahead = nxt - time.time()
            if ahead > 0:
                time.sleep(ahead)


def hydra_command(variant, fam):
    """hydra's command line for one brute-force VARIANT: (cmd, target, port).
    A fast guesser runs 1-16 tasks at once (SSH 2-12); a slow one (30%) one
    or two, with seconds between tries (-c: per try, over all tasks, which
    hydra runs as one) or between a task's connections (-W). The word list
    (400 common passwords) holds none of the lab's: every guess fails."""
    words = os.path.join(CFG["work"], "wordlist.txt")
    user = CFG["user"]
    tasks = [1, 2, 4, 8, 16]
    if variant == "ssh":  # sshd allows 3 tries per connection
        target, port, tasks = host(RNG.choice(["ssh", "victim"]), fam), 22, [2, 4, 6, 8, 12]
        users, service = [user, "root", "admin"], f"ssh://{url_host(target)}"
    elif variant == "http":  # HTTP basic auth (nginx auth_basic)
        target, port = host(RNG.choice(["web", "victim"]), fam), 80
        users, service = ["admin", "root", "user"], f"http-get://{url_host(target)}/admin/"
    elif variant == "http_form":  # the shop's sign-in form (loginform.py behind nginx)
        target, port = host("victim", fam), 80
        users = ["admin", "shop", "user", "root"]
        service = f"http-post-form://{url_host(target)}/login:user=^USER^&pass=^PASS^:F=login failed"
    elif variant == "ftp":  # vsftpd: a 1 s delay and a disconnect after 3 failed logins
        target, port = host("ftp", fam), 21
        users, service = [user, "root", "admin", "ftp"], f"ftp://{url_host(target)}"
    elif variant == "imap":  # dovecot: LOGIN, or AUTHENTICATE LOGIN or PLAIN, on 143 or IMAPS 993
        target = host("mail", fam)
        port = 993 if RNG.random() < 0.25 else 143
        users = [user, "admin", "info", "postmaster"]
        service = f"{'imaps' if port == 993 else 'imap'}://{url_host(target)}/{RNG.choice(['CLEAR', 'LOGIN', 'PLAIN'])}"
    else:  # smtp: AUTH on dovecot's submission port, in the clear or after STARTTLS
        target, port = host("mail", fam), 587
        users = [user, "admin", "info", "postmaster"]
        mech = RNG.choice(["LOGIN", "PLAIN", "TLS:LOGIN", "TLS:PLAIN"])
        service = f"smtp://{url_host(target)}:587/{mech}"
    if RNG.random() < 0.3:
        pace = RNG.choice([["-c", str(RNG.choice([1, 2, 3]))],
                           ["-t", str(RNG.choice([1, 2])), "-W", str(RNG.choice([1, 2, 3]))]])
    else:
        pace = ["-t", str(RNG.choice(tasks)), "-W", "0"]
    return ["hydra", "-I", *pace, "-l", RNG.choice(users), "-P", words, service], target, port


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
        # A polite scan (T2) sends a probe every 0.4 s: few ports. T1 (one
        # probe per 15 s) is left out: an episode of 6-25 s would hold one
        # probe, or none.
        if timing <= 2:
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
        elif variant == "version":  # connect, then probe each open port's service (-sV)
            run(base + ["-sV", "--version-intensity", str(RNG.choice([2, 5, 7])), "--top-ports",
                        str(RNG.choice([20, 100]))] + [target], seconds + 5)
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
            # A flood in 1-3 parts (one at full speed), each with its own port
            # (or ports upwards), datagram size and, unspoofed, tool: a model
            # must not take one port's flood for the port's own traffic.
            # Each part is an episode of its own in lab.json.
            spoof = variant == "udp_spoofed"
            parts = 1 if pps == 0 else RNG.randint(1, 3)
            for k in range(parts):
                t1, before = time.time(), STARTED[0]
                pspan = max(2.0, (span - (t1 - t0)) / (parts - k))
                prate = rate if pps == 0 else ["-i", f"u{int(1e6 / pps)}", "-c", str(int(pps * pspan))]
                port = RNG.choice([9999, 5353, 53, 123, 443, 161, 1900, 27015])
                size = RNG.choice([64, 256, 512, 1200])
                many = RNG.choice(P["udp_dports"]) == "many"
                tool = "hping3" if spoof else RNG.choice(P["udp_flood_tool"])
                dport = "*" if many else port
                if tool == "sockets":
                    # A new socket, so a new source port, for every datagram (over
                    # IPv4 or IPv6): the shape of many UDP flooders.
                    target = host("victim", fam)
                    src = me(fam)
                    socket_flood(target, port, many, size, pps, pspan)
                else:
                    src, target = atk4, victim4
                    run(["hping3", "-q", "--udp", *sport, "-p", f"++{port}" if many else str(port), "-d",
                         str(size), *prate, *(["--rand-source"] if spoof else []), target], pspan + 3)
                label_if_ran(t1, time.time(), "*" if spoof else src, target, dport, "udp", "dos", since=before)
                if not spoof:
                    label_if_ran(t1, time.time(), target, src, "*", "icmp", "dos", since=before)
                if STARTED[0] > before:
                    log(f"episode {kind} {variant}_{tool}_{'many' if many else 'one'} {t1:.3f} {time.time():.3f}")
                if left() < 3:
                    break
            variant = None  # logged per part
        else:
            # An HTTP flood in 2-4 parts, over both IP versions (the first
            # drawn), each part with its own target, URL (pages, API answers,
            # objects, wiki pages, health checks, missing pages: responses of
            # a hundred bytes to a hundred KB), connection count, and
            # connection reuse: wrk keeps its connections open unless told
            # `Connection: close` (30%), ab opens one per request unless `-k`
            # (30%). A model must see a flood by its rate, not by one page's
            # size or one tool's habit.
            fams = [fam, 10 - fam] + [RNG.choice([4, 6]) for _ in range(RNG.randint(0, 2))]
            for k, f in enumerate(fams):
                t1, before = time.time(), STARTED[0]
                part = max(2.0, (seconds - (t1 - t0)) / (len(fams) - k))
                target = host(RNG.choice(["web", "victim", "victim"]), f)
                url = f"http://{url_host(target)}/{flood_path()}"
                if variant == "http_wrk":
                    close = ["-H", "Connection: close"] if RNG.random() < 0.3 else []
                    run(["wrk", f"-t{RNG.choice([1, 2])}", f"-c{RNG.choice(P['wrk_conns'])}",
                         f"-d{int(part)}s", "--timeout", "2s", *close, url], part + 5)
                else:
                    keep = ["-k"] if RNG.random() < 0.3 else []
                    run(["ab", "-q", "-s", "3", "-t", str(int(part)), "-n", "1000000", *keep,
                         "-c", str(RNG.choice(P["ab_conc"])), url], part + 5)
                label_if_ran(t1, time.time(), me(f), target, 80, "tcp", "dos", since=before)
                if left() < 3:
                    break
    elif kind == "bruteforce":
        variant = next_variant("bruteforce")
        cmd, target, port = hydra_command(variant, fam)
        log(f"bruteforce {variant}: {' '.join(cmd[1:cmd.index('-P')])} {cmd[-1]}")  # what ran, for the kept logs
        hydra_dir = os.path.join(CFG["work"], "hydra", CFG["worker"]["name"])
        os.makedirs(hydra_dir, exist_ok=True)
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
    if variant is None:
        pass
    elif STARTED[0] > started:
        log(f"episode {kind} {variant} {t0:.3f} {time.time():.3f}")
    else:
        log(f"{kind}/{variant}: cut off before its tool started")


def attacker():
    w = CFG["worker"]
    order = w["order"]
    ep = w["episode"]
    nap(RNG.uniform(0.5, 2.0) * w.get("first_delay", 1.0))
    try:
        attack_episodes(order, ep)
    finally:
        flush_deferred(0.0)


def attack_episodes(order, ep):
    global DEFERRED
    for i in range(200):
        if left() < 4:
            break
        kind = order[i % len(order)]
        DEFERRED = []
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
        pause = RNG.uniform(0.15, 0.5) * ep
        flush_deferred(pause)
        if not nap(pause):
            break


KINDS = {"browse": browse, "api": api, "bulk": bulk_download, "upload": upload, "speedtest": speedtest,
         "dns": dns, "ssh": ssh_session, "video": video, "imagefeed": imagefeed, "reel": reel,
         "reel_browser": reel_browser,
         "p2p": p2p, "poller": poller, "crawl": crawl, "chatter": chatter, "dnsload": dnsload,
         "mail": mail, "ftp": ftp_session}


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
