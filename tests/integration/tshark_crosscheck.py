#!/usr/bin/env python3
"""Cross-checks edgesense's per-flow packet and byte counts against tshark.

  tshark_crosscheck.py --edgesense BIN --pcap FILE [--min-match 0.999]
                       [--show 10] [--keep DIR] [--extra-args ARG...]

edgesense replays FILE with an idle timeout longer than any capture and no
active timeout, so every flow is written once, at its end. tshark reads the
same file packet by packet (its `-z conv` tables round large byte counts, so
frame lengths are summed here instead). Both sides are aggregated per
direction-neutral conversation key and compared in both directions:

  TCP, UDP    (proto, VLAN tags, {(address, port), (address, port)})
  ICMP(v6)    (proto, VLAN tags, {address, address}, type, code), with echo,
              timestamp, information and address-mask replies folded onto
              their request type. EVE carries no echo identifier, so pings
              with different identifiers between two hosts share a key; for
              these query types the per-identifier conversations tshark sees
              must also equal edgesense's flow records one for one, so a
              request and its reply have to land in one flow.

VLAN ID 0 is a priority tag, not a VLAN (802.1Q): it is left out of keys.

edgesense may write several records for one key (a TCP connection closes and
the port is reused): records are summed per key.

Direction: where edgesense wrote one record for a key, its initiator (EVE
src) must be the one the documented rule picks from the conversation's first
packet in tshark (README, "What a flow is"): a TCP SYN-ACK's receiver; for
TCP without SYN the side with the higher port (equal ports: the sender);
otherwise the sender. A conversation whose initiator differs is a mismatch.

What tshark cannot attribute packet by packet is handled explicitly:
  * later IP fragments carry no ports. tshark is run a second time with IPv4
    and IPv6 reassembly on (only when the capture holds fragments); every
    fragment of a datagram it reassembles is attributed to the conversation of
    that datagram's first fragment. Fragments of datagrams tshark could not
    reassemble are counted as unattributed, next to edgesense's own count.
  * ICMP errors are keyed by the outer header's type and code; the quoted
    packet plays no part, as in edgesense.
  * non-IP frames (ARP, LLDP, IP behind MPLS/PPPoE/...) and IP protocols
    other than TCP, UDP, ICMP and ICMPv6 are counted, not compared;
    edgesense reports them as packets_skipped.
  * packets whose IP or transport header tshark flags as broken (bogus IP or
    TCP header length, bad UDP length, IPv6 payload length beyond the frame)
    or that are cut before the key fields are counted as malformed and kept
    out of the tshark totals; edgesense's decode errors are printed beside
    them. A packet that one side counts in a flow and the other calls
    malformed shows up as a mismatched conversation.

Exit status: 0 when matched / compared >= --min-match, 1 when below (or when
nothing was compared), 2 on usage or tool errors.
"""
import argparse
import collections
import ipaddress
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PROTO_NAMES = {TCP: "TCP", UDP: "UDP", ICMP: "ICMP", ICMPV6: "IPv6-ICMP"}
PROTO_NUMBERS = {name: number for number, name in PROTO_NAMES.items()}

# Replies folded onto their request type: echo, timestamp, information,
# address mask (ICMP); echo (ICMPv6). Queries also carry an identifier.
ICMP_REPLY_TO_REQUEST = {ICMP: {0: 8, 14: 13, 16: 15, 18: 17}, ICMPV6: {129: 128}}
ICMP_QUERIES = {ICMP: {0, 8, 13, 14, 15, 16, 17, 18}, ICMPV6: {128, 129}}

# Protocols of frame.protocols that may stand before the IP header: the link
# layers edgesense decodes (Ethernet with 802.1Q/802.1ad tags, Linux cooked
# v1/v2, BSD/OpenBSD loopback, raw IP). Anything else in front of the first IP
# header (MPLS, PPPoE, LLC, a tunnel) makes the frame non-IP for edgesense.
LINK_TOKENS = {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "loop", "raw"}
VLAN_TOKENS = {"vlan": "vlan.id", "ieee8021ad": "ieee8021ad.id"}

# IPv6 extension headers edgesense walks, with the tshark field that holds
# each one's next header.
IPV6_EXT_NEXT = {
    0: "ipv6.hopopts.nxt",
    43: "ipv6.routing.nxt",
    44: "ipv6.fraghdr.nxt",
    51: "ah.next_header",
    60: "ipv6.dstopts.nxt",
    135: "mip6.proto",
    139: "hip.proto",
    140: "shim6.nxt",
}

# tshark expert items that mark the IP or transport header itself as broken.
L3_ERRORS = ["ip.bogus_ip_version", "ip.bogus_header_length", "ip.bogus_ip_length",
             "ipv6.bogus_ipv6_version", "ipv6.plen_exceeds_framing", "ipv6.invalid_header"]
L4_ERRORS = ["tcp.bogus_header_length", "udp.length.bad", "udp.length.bad_zero"]

FIELDS = [
    "frame.number", "frame.len", "frame.protocols", "vlan.id", "ieee8021ad.id",
    "ip.src", "ip.dst", "ip.proto", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.nxt", *sorted(set(IPV6_EXT_NEXT.values())),
    "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
    # The last fixed-header field of each transport: present only when the
    # whole fixed header was captured, as edgesense requires.
    "tcp.srcport", "tcp.dstport", "tcp.urgent_pointer", "tcp.flags",
    "udp.srcport", "udp.dstport", "udp.checksum",
    "icmp.type", "icmp.code", "icmp.seq", "icmp.ident",
    "icmpv6.type", "icmpv6.code", "icmpv6.echo.sequence_number", "icmpv6.echo.identifier",
    *L3_ERRORS, *L4_ERRORS,
]
COL = {name: i for i, name in enumerate(FIELDS)}


def fail(message):
    print(f"tshark_crosscheck: {message}", file=sys.stderr)
    sys.exit(2)


def address(text):
    """An address as a sortable, comparable value. IPv4-mapped IPv6 addresses
    count as IPv4: edgesense stores IPv4 that way and prints it as IPv4."""
    a = ipaddress.ip_address(text)
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return (a.version, int(a))


def show_address(a):
    return str(ipaddress.ip_address(a[1]) if a[0] == 6 else ipaddress.IPv4Address(a[1]))


class Conversation:
    """Counts of one key: packets and bytes from the lower end to the higher
    and back, and for ICMP queries the same counts per flow (edgesense: per
    record; tshark: per identifier). `initiators`: whether the initiator is
    the lower end, per edgesense record, or for tshark, by the direction rule
    from the conversation's first packet."""
    __slots__ = ("counts", "parts", "initiators", "first_forward")

    def __init__(self):
        self.counts = [0, 0, 0, 0]  # pkts lo>hi, hi>lo, bytes lo>hi, hi>lo
        self.parts = collections.defaultdict(lambda: [0, 0, 0, 0])
        self.initiators = []
        self.first_forward = None  # tshark: the first packet goes from the lower end

    def add(self, direction, packets, length, part=None):
        self.counts[direction] += packets
        self.counts[2 + direction] += length
        if part is not None:
            self.parts[part][direction] += packets
            self.parts[part][2 + direction] += length

    def value(self):
        return tuple(self.counts), tuple(sorted(tuple(c) for c in self.parts.values()))


def is_icmp_query(key):
    return len(key) > 4 and key[4][0] in ICMP_QUERIES[key[0]]


def make_key(proto, vlan, src, dst, sport=None, dport=None, icmp=None):
    """The direction-neutral key and whether the packet goes from the key's
    lower end to its higher end. Identical ends count as lower-to-higher."""
    if proto in (TCP, UDP):
        s, d = (src, sport), (dst, dport)
        lo, hi = min(s, d), max(s, d)
        return (proto, vlan, lo, hi), s <= d
    lo, hi = min(src, dst), max(src, dst)
    return (proto, vlan, (lo,), (hi,), icmp), src <= dst


def describe(key):
    proto, vlan, lo, hi = key[:4]
    name = PROTO_NAMES.get(proto, str(proto))
    tag = f" vlan {'/'.join(map(str, vlan))}" if vlan else ""

    def end(e):
        a = show_address(e[0])
        if len(e) == 1:
            return a
        return f"[{a}]:{e[1]}" if ":" in a else f"{a}:{e[1]}"

    extra = f" type {key[4][0]} code {key[4][1]}" if len(key) > 4 else ""
    return f"{name}{tag} {end(lo)} <-> {end(hi)}{extra}"


# --- edgesense ----------------------------------------------------------------------------


def run_edgesense(binary, pcap, extra, out):
    eve, summary = out / "eve.json", out / "summary.json"
    cmd = [binary, "replay", "--no-models", "--eve", str(eve), "--summary", str(summary), "--no-features-in-eve",
           "--idle-timeout", "1e7", "--active-timeout", "0", *extra, str(pcap)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        fail(f"cannot run edgesense: {e}")
    if proc.returncode != 0:
        fail(f"edgesense exited with {proc.returncode}: {' '.join(cmd)}\n{proc.stderr}")
    return eve, json.loads(summary.read_text())


def edgesense_conversations(eve_path):
    convs = collections.defaultdict(Conversation)
    records = 0
    for line in eve_path.read_text().splitlines():
        r = json.loads(line)
        if r.get("event_type") != "flow":
            continue
        records += 1
        proto = PROTO_NUMBERS.get(r["proto"])
        if proto is None:
            proto = int(r["proto"])
        vlan = tuple(v for v in r.get("vlan", ()) if v)
        src, dst = address(r["src_ip"]), address(r["dest_ip"])
        if proto in (TCP, UDP):
            key, forward = make_key(proto, vlan, src, dst, r["src_port"], r["dest_port"])
        else:
            icmp = (r.get("icmp_type", 0), r.get("icmp_code", 0))
            icmp = (ICMP_REPLY_TO_REQUEST.get(proto, {}).get(icmp[0], icmp[0]), icmp[1])
            key, forward = make_key(proto, vlan, src, dst, icmp=icmp)
        f = r["flow"]
        # toserver runs from src to dest. Identical ends have no direction:
        # everything goes to the first slot, on both sides.
        same_ends = key[2] == key[3]
        to_server = 0 if forward or same_ends else 1
        to_client = 0 if same_ends else 1 - to_server
        part = records if is_icmp_query(key) else None
        convs[key].initiators.append(forward)
        convs[key].add(to_server, f["pkts_toserver"], f["bytes_toserver"], part)
        convs[key].add(to_client, f["pkts_toclient"], f["bytes_toclient"], part)
    return convs, records


# --- tshark -------------------------------------------------------------------------------


def run_tshark(pcap, args, fields):
    cmd = ["tshark", "-r", str(pcap), "-n", *args, "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=;", "-E", "quote=n"]
    for f in fields:
        cmd += ["-e", f]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        fail(f"cannot run tshark: {e}")
    if proc.returncode != 0:
        fail(f"tshark exited with {proc.returncode}: {' '.join(cmd)}\n{proc.stderr}")
    return proc.stdout.splitlines()


def values(row, name):
    v = row[COL[name]]
    return v.split(";") if v else []


def first(row, name):
    v = row[COL[name]]
    return v.split(";", 1)[0] if v else None


def number(text):
    return int(text, 0)


class Packet:
    """One frame as tshark sees it: its key, or why it has none."""
    __slots__ = ("frame", "length", "status", "key", "forward", "fragment", "protocol", "part",
                 "tcp")

    def __init__(self, frame, length):
        self.frame, self.length = frame, length
        self.status = None    # "ok", "later_fragment", "non_ip", "other_proto", "malformed"
        self.key = self.forward = self.part = None
        self.tcp = None       # (flags, source port, destination port) of a TCP header
        self.fragment = None  # None, "first" or "later"
        self.protocol = None  # the IP protocol, or the malformation reason


def classify(row):
    p = Packet(int(row[COL["frame.number"]]), int(row[COL["frame.len"]]))
    tokens = row[COL["frame.protocols"]].split(":")
    ip_at = next((i for i, t in enumerate(tokens) if t in ("ip", "ipv6")), None)
    if ip_at is None or any(t not in LINK_TOKENS for t in tokens[:ip_at]):
        p.status = "non_ip"
        return p
    # VLAN tags: one per tag token in front of the IP header, outer first.
    taken = collections.Counter()
    vlan = []
    for t in tokens[:ip_at]:
        if t in VLAN_TOKENS:
            ids = values(row, VLAN_TOKENS[t])
            if taken[t] < len(ids):
                vlan.append(number(ids[taken[t]]))
            taken[t] += 1
    if len(vlan) > 2:
        return malformed(p, "vlan_too_deep")
    vlan = tuple(v for v in vlan if v)
    quoted = sum(1 for t in tokens if t in ("ip", "ipv6")) > 1  # e.g. an ICMP error's payload

    if tokens[ip_at] == "ip":
        if any(first(row, f) for f in L3_ERRORS[:3]) and not quoted:
            return malformed(p, next(f for f in L3_ERRORS[:3] if first(row, f)))
        src, dst, proto = first(row, "ip.src"), first(row, "ip.dst"), first(row, "ip.proto")
        if src is None or dst is None or proto is None:
            return malformed(p, "truncated_ipv4")
        proto = number(proto)
        if number(first(row, "ip.frag_offset") or "0") > 0:
            p.fragment = "later"
        elif number(first(row, "ip.flags.mf") or "0"):
            p.fragment = "first"
    else:
        if any(first(row, f) for f in L3_ERRORS[3:]) and not quoted:
            return malformed(p, next(f for f in L3_ERRORS[3:] if first(row, f)))
        src, dst, nxt = first(row, "ipv6.src"), first(row, "ipv6.dst"), first(row, "ipv6.nxt")
        if src is None or dst is None or nxt is None:
            return malformed(p, "truncated_ipv6")
        # Walk the outer chain of extension headers. Occurrences come in packet
        # order, so the n-th header of a kind is that field's n-th value.
        proto, used = number(nxt), collections.Counter()
        for _ in range(17):
            if proto not in IPV6_EXT_NEXT:
                break
            field = IPV6_EXT_NEXT[proto]
            nexts = values(row, field)
            if used[field] >= len(nexts):
                return malformed(p, f"truncated_ipv6_ext_header({proto})")
            if proto == 44:
                i = used[field]
                offsets, more = values(row, "ipv6.fraghdr.offset"), values(row, "ipv6.fraghdr.more")
                if number(offsets[i]) > 0:
                    p.fragment = "later"
                    proto = number(nexts[i])
                    break
                if number(more[i]):
                    p.fragment = "first"
            proto = number(nexts[used[field]])
            used[field] += 1
        else:
            return malformed(p, "ipv6_ext_header_chain_too_long")
    src, dst = address(src), address(dst)
    p.protocol = proto
    if p.fragment == "later":
        # No transport header: attributed through tshark's reassembly later.
        # Its protocol is not known from it alone: an IPv6 fragment header
        # names the first header of the fragmentable part (a destination
        # options header, say), and reassembly ignores it (RFC 8200).
        p.status = "later_fragment"
        p.key = (src, dst, vlan)
        return p
    if proto not in (TCP, UDP, ICMP, ICMPV6):
        p.status = "other_proto"
        return p
    if proto in (TCP, UDP):
        if not quoted and any(first(row, f) for f in L4_ERRORS):
            return malformed(p, next(f for f in L4_ERRORS if first(row, f)))
        name = "tcp" if proto == TCP else "udp"
        last = "tcp.urgent_pointer" if proto == TCP else "udp.checksum"
        sport, dport = first(row, f"{name}.srcport"), first(row, f"{name}.dstport")
        if sport is None or dport is None or first(row, last) is None:
            return malformed(p, f"truncated_{name}")
        p.key, p.forward = make_key(proto, vlan, src, dst, int(sport), int(dport))
        if proto == TCP:
            p.tcp = (number(first(row, "tcp.flags")), int(sport), int(dport))
    else:
        v6 = proto == ICMPV6
        itype = first(row, "icmpv6.type" if v6 else "icmp.type")
        code = first(row, "icmpv6.code" if v6 else "icmp.code")
        if itype is None or code is None:
            return malformed(p, "truncated_icmp")
        itype, code = int(itype), int(code)
        # A query needs its identifier and sequence number (8 bytes), as in edgesense.
        seq = first(row, "icmpv6.echo.sequence_number" if v6 else "icmp.seq")
        if itype in ICMP_QUERIES[proto]:
            if seq is None:
                return malformed(p, "truncated_icmp")
            p.part = first(row, "icmpv6.echo.identifier" if v6 else "icmp.ident")
        itype = ICMP_REPLY_TO_REQUEST[proto].get(itype, itype)
        p.key, p.forward = make_key(proto, vlan, src, dst, icmp=(itype, code))
    p.status = "ok"
    return p


def malformed(p, reason):
    p.status, p.protocol = "malformed", reason
    return p


def reassembled_groups(pcap):
    """Frame numbers of each datagram tshark's own reassembly put together."""
    rows = run_tshark(pcap, ["-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
                             "-o", "tcp.desegment_tcp_streams:FALSE",
                             "-Y", "ip.fragment or ipv6.fragment"],
                      ["frame.number", "ip.fragment", "ipv6.fragment"])
    groups = []
    for row in rows:
        cols = row.split("\t")
        for col in cols[1:]:
            if col:
                groups.append([int(x) for x in col.split(";")])
    return groups


def tshark_conversations(pcap):
    rows = run_tshark(pcap, ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                             "-o", "tcp.desegment_tcp_streams:FALSE"], FIELDS)
    packets = {}
    for row in rows:
        cols = row.split("\t")
        if len(cols) != len(FIELDS):
            fail(f"unexpected tshark line ({len(cols)} columns, {len(FIELDS)} wanted): {row[:200]}")
        p = classify(cols)
        packets[p.frame] = p

    stats = collections.Counter()
    detail = collections.defaultdict(collections.Counter)
    notes = collections.defaultdict(collections.Counter)  # per key: remarks for mismatches
    if any(p.fragment for p in packets.values()):
        for group in reassembled_groups(pcap):
            members = [packets[f] for f in group if f in packets]
            head = next((m for m in members if m.fragment == "first" and m.status == "ok"), None)
            if head is None:
                continue
            for m in members:
                if m.status == "later_fragment" and m.key[:2] in head_ends(head) \
                        and m.key[2] == head.key[1] and head.key[0] in (TCP, UDP, ICMP, ICMPV6):
                    m.status, m.key, m.forward, m.part = "ok", head.key, head.forward, head.part
                    stats["later_fragments_attributed"] += 1
                    if m.frame < head.frame:
                        notes[head.key]["fragments before their first fragment"] += 1
    for p in packets.values():
        if p.fragment:
            stats["fragments"] += 1
        if p.status == "ok":
            continue
        if p.status == "later_fragment":
            stats["unattributed_fragments"] += 1
        elif p.status == "other_proto":
            detail["other_proto"][p.protocol] += 1
        elif p.status == "malformed":
            detail["malformed"][p.protocol] += 1
        stats[p.status] += 1

    convs = collections.defaultdict(Conversation)
    for p in packets.values():
        if p.status != "ok":
            continue
        if p.key not in convs and p.fragment != "later":
            convs[p.key].initiators.append(initiator_is_lower(p))
            convs[p.key].first_forward = p.forward
        same_ends = p.key[2] == p.key[3]
        convs[p.key].add(0 if p.forward or same_ends else 1, 1, p.length, p.part)
        if p.fragment:
            notes[p.key]["fragmented packets"] += 1
        stats["in_conversations"] += 1
    stats["frames"] = len(packets)
    return convs, stats, detail, notes


TCP_SYN, TCP_ACK = 0x02, 0x10


def initiator_is_lower(p):
    """The direction rule on a conversation's first packet: whether its
    initiator is the key's lower end (edgesense's FlowTable::initiatorIsLo)."""
    turned = False
    if p.tcp is not None:
        flags, sport, dport = p.tcp
        turned = bool(flags & TCP_ACK) if flags & TCP_SYN else sport < dport
    return p.forward != turned


def direction_mismatches(es, ts):
    """Keys where edgesense wrote one record whose initiator is not the one
    the direction rule takes from tshark's first packet of the conversation."""
    return [k for k in set(es) & set(ts)
            if k[2] != k[3] and len(es[k].initiators) == 1 and ts[k].initiators
            and es[k].initiators[0] != ts[k].initiators[0]]


def head_ends(head):
    """Both orders of the first fragment's (source, destination) pair; a later
    fragment of the same datagram has the same source and destination."""
    _, _, lo, hi = head.key[:4]
    a, b = lo[0], hi[0]
    return ((a, b), (b, a))


# --- comparison ---------------------------------------------------------------------------


def counts_text(conv):
    if conv is None:
        return "absent"
    (c, parts) = conv.value()
    text = f"pkts {c[0]}/{c[1]} bytes {c[2]}/{c[3]}"
    if len(parts) > 1 or (parts and parts[0] != c):
        text += " per flow (pkts) " + ", ".join(f"{p[0]}/{p[1]}" for p in parts)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edgesense", required=True, help="the edgesense binary")
    ap.add_argument("--pcap", required=True, type=Path, help="the capture to replay")
    ap.add_argument("--min-match", type=float, default=0.999,
                    help="lowest matched/compared ratio that passes (default 0.999)")
    ap.add_argument("--show", type=int, default=10, help="mismatches to print (default 10)")
    ap.add_argument("--keep", type=Path, help="write edgesense's EVE and summary here")
    ap.add_argument("--extra-args", nargs=argparse.REMAINDER, default=[],
                    help="everything after this goes to `edgesense replay`")
    args = ap.parse_args()

    if not args.pcap.is_file():
        fail(f"{args.pcap}: no such capture file")
    if shutil.which("tshark") is None:
        fail("tshark not found (run scripts/setup)")

    with tempfile.TemporaryDirectory(prefix="crosscheck.") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        eve, summary = run_edgesense(args.edgesense, args.pcap, args.extra_args, out)
        es, records = edgesense_conversations(eve)
    ts, stats, detail, notes = tshark_conversations(args.pcap)

    keys = sorted(set(es) | set(ts), key=describe)
    turned = set(direction_mismatches(es, ts))
    mismatched = [k for k in keys
                  if k not in es or k not in ts or es[k].value() != ts[k].value() or k in turned]
    compared, matched = len(keys), len(keys) - len(mismatched)
    ratio = matched / compared if compared else 0.0

    def fmt(counter):
        return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=str)) or "none"

    frag = summary.get("fragments", {})
    errors = {k: v for k, v in summary.get("decode_errors", {}).items() if v}
    skipped = {k: v for k, v in summary.get("packets_skipped", {}).items() if v}
    in_flows = summary["packets_decoded"] - frag.get("unattributed", 0)
    print(f"tshark_crosscheck: {args.pcap}")
    print(f"  tshark:    {stats['frames']} frames; in conversations {stats['in_conversations']} "
          f"(later fragments attributed by reassembly {stats['later_fragments_attributed']}); "
          f"non-IP {stats['non_ip']}; other IP protocols {stats['other_proto']} "
          f"({fmt(detail['other_proto'])}); malformed {stats['malformed']} ({fmt(detail['malformed'])}); "
          f"fragments {stats['fragments']}, unattributed {stats['unattributed_fragments']}")
    print(f"  edgesense: {summary['packets']} packets; in flows {in_flows}; "
          f"skipped {sum(skipped.values())} ({fmt(skipped)}); decode errors {sum(errors.values())} "
          f"({fmt(errors)}); fragments attributed {frag.get('attributed', 0)}, "
          f"unattributed {frag.get('unattributed', 0)}; {records} flow records")
    directed = sum(1 for k in set(es) & set(ts)
                   if k[2] != k[3] and len(es[k].initiators) == 1 and ts[k].initiators)
    turned_round = sum(1 for k in set(es) & set(ts)
                       if len(es[k].initiators) == 1 and ts[k].initiators
                       and ts[k].initiators[0] != ts[k].first_forward)
    print(f"  conversations: tshark {len(ts)}, edgesense {len(es)}, compared {compared}, "
          f"matched {matched}, ratio {ratio:.6f} (minimum {args.min_match})")
    print(f"  direction: checked {directed} one-record conversations, initiator not the first "
          f"sender in {turned_round}, wrong in {len(turned)}")
    evicted = summary.get("flows", {}).get("ended", {}).get("evicted", 0)
    if evicted:
        print(f"  note: edgesense evicted {evicted} flows from its full table; their "
              "conversations may show ICMP queries split over several flows")
    if stats["frames"] != summary["packets"]:
        print(f"  note: tshark read {stats['frames']} frames, edgesense {summary['packets']} packets")
    if mismatched:
        print(f"  first {min(args.show, len(mismatched))} of {len(mismatched)} mismatches "
              f"(pkts and bytes lower->higher end / higher->lower end):")
        for k in mismatched[:args.show]:
            remark = f" [{fmt(notes[k])}]" if notes.get(k) else ""
            if k in turned:
                remark += " [initiator is not the one the direction rule picks]"
            print(f"    {describe(k)}: tshark {counts_text(ts.get(k))}; "
                  f"edgesense {counts_text(es.get(k))}{remark}")
    if compared == 0:
        print("  FAIL: no conversation to compare")
        return 1
    if ratio < args.min_match:
        print(f"  FAIL: match ratio {ratio:.6f} below {args.min_match}")
        return 1
    print("  OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
