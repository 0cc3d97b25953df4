#!/usr/bin/env bash
# Records real traffic, made by real network stacks, into a pcap for the
# tshark cross-check:
#
#   record_real_traffic.sh OUT.pcap [SECONDS]      (root; default 30 s)
#
# Three network namespaces (a server and two clients) hang off a bridge that
# lives in a fourth namespace; tcpdump captures on that bridge. The host's own
# interfaces, routes and namespaces are never touched: every link is created
# inside the namespaces, and every name carries this run's PID so concurrent
# runs do not collide. The server runs python3's http.server, dnsmasq, a socat
# UDP echo server and iperf3; the clients run curl (hundreds of short
# connections, a few long rate-limited downloads), dig (UDP and TCP DNS),
# socat UDP request/response (some datagrams larger than the MTU, so IPv4 and
# IPv6 fragments), ping and ping -6 (some fragmented), iperf3 TCP and UDP,
# probes of closed ports (TCP RST, ICMP port unreachable), over IPv4, IPv6 and
# an 802.1Q VLAN. Every loop is bounded in time and count. On exit, error or
# signal, every process started here is killed by PID and every namespace
# (with the links in it) is deleted.
set -euo pipefail

usage() { echo "usage: $0 OUT.pcap [SECONDS]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
out=$1
seconds=${2:-30}
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 10 ] && [ "$seconds" -le 600 ] ||
  { echo "$0: SECONDS must be an integer in 10..600" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (network namespaces, tcpdump)" >&2; exit 1; }
for tool in ip tcpdump python3 curl dig dnsmasq socat iperf3 ping; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (run scripts/setup)" >&2; exit 1; }
done
out_dir=$(cd "$(dirname "$out")" && pwd) || { echo "$0: no directory for $out" >&2; exit 1; }
out="$out_dir/$(basename "$out")"

tag="es$$"
ns_br="$tag-br"
ns_srv="$tag-srv"
ns_cli1="$tag-cli1"
ns_cli2="$tag-cli2"
namespaces=()
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/edgesense-record.XXXXXX")

# Documentation prefixes (RFC 5737, RFC 3849); VLAN 42 carries its own subnet.
srv4=192.0.2.1 cli1_4=192.0.2.11 cli2_4=192.0.2.12
srv6=2001:db8:e5::1 cli1_6=2001:db8:e5::11 cli2_6=2001:db8:e5::12
vlan=42 srv4_vlan=198.51.100.1 cli2_4_vlan=198.51.100.12
srv6_vlan=2001:db8:42::1 cli2_6_vlan=2001:db8:42::12

log() { echo "record_real_traffic: $*" >&2; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid ns
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Children of the workers (a curl or dig mid-request) live in our namespaces:
  # end them too, then drop the namespaces, which deletes every link in them.
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Starts "$@" in namespace $1 in the background and remembers its PID
# (ip netns exec execs the command, so the PID is the command's own).
spawn() { local ns=$1; shift; ip netns exec "$ns" "$@" & pids+=("$!"); }

# --- topology -------------------------------------------------------------
# Namespaces left by an earlier run of this script that was killed outright
# (SIGKILL skips the trap): only ours, by name, and only if that run is gone.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^es[0-9]+-(br|srv|cli1|cli2)$' || true); do
  owner=${ns%%-*}
  kill -0 "${owner#es}" 2>/dev/null && continue
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  if ip netns del "$ns" 2>/dev/null; then log "deleted stale namespace $ns"; fi
done

for ns in "$ns_br" "$ns_srv" "$ns_cli1" "$ns_cli2"; do
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
done
ip -n "$ns_br" link add br0 type bridge
ip -n "$ns_br" link set br0 up
# No IPv6 addresses (and so no ND/MLD noise of its own) on the bridge side.
in_ns "$ns_br" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

attach() {  # attach NS PORT: veth eth0 in NS, its peer PORT on the bridge
  local ns=$1 port=$2
  ip -n "$ns_br" link add "$port" type veth peer name eth0 netns "$ns"
  ip -n "$ns_br" link set "$port" master br0 up
  ip -n "$ns" link set eth0 up
}
attach "$ns_srv" p-srv
attach "$ns_cli1" p-cli1
attach "$ns_cli2" p-cli2

addr() {  # addr NS DEV ADDR/LEN
  local ns=$1 dev=$2 a=$3
  if [[ $a == *:* ]]; then
    ip -n "$ns" -6 addr add "$a" dev "$dev" nodad
  else
    ip -n "$ns" addr add "$a" dev "$dev"
  fi
}
addr "$ns_srv" eth0 "$srv4/24";   addr "$ns_srv" eth0 "$srv6/64"
addr "$ns_cli1" eth0 "$cli1_4/24"; addr "$ns_cli1" eth0 "$cli1_6/64"
addr "$ns_cli2" eth0 "$cli2_4/24"; addr "$ns_cli2" eth0 "$cli2_6/64"
# Tagged traffic where the kernel has 802.1Q (some VM kernels lack it).
have_vlan=1
for ns in "$ns_srv" "$ns_cli2"; do
  ip -n "$ns" link add link eth0 name eth0.$vlan type vlan id $vlan 2>/dev/null || { have_vlan=0; break; }
  ip -n "$ns" link set eth0.$vlan up
done
if [ $have_vlan -eq 1 ]; then
  addr "$ns_srv" eth0.$vlan "$srv4_vlan/24";    addr "$ns_srv" eth0.$vlan "$srv6_vlan/64"
  addr "$ns_cli2" eth0.$vlan "$cli2_4_vlan/24"; addr "$ns_cli2" eth0.$vlan "$cli2_6_vlan/64"
else
  log "no 802.1Q support in this kernel: recording without VLAN-tagged traffic"
fi

# --- capture --------------------------------------------------------------
# The bridge in promiscuous mode (tcpdump's default) sees every frame forwarded
# between its ports. -Z root: write OUT as root wherever it is. The snap length
# keeps every header and every IP fragment whole (the MTU is 1500) while
# bulk TCP super-packets (GSO on veth) are cut; frame lengths stay exact.
tcpdump_err="$work/tcpdump.err"
spawn "$ns_br" tcpdump -i br0 -s 2048 -B 8192 -U -Z root -w "$out" 2>"$tcpdump_err"
tcpdump_pid=${pids[-1]}
for _ in $(seq 100); do
  grep -q "listening on" "$tcpdump_err" 2>/dev/null && break
  kill -0 "$tcpdump_pid" 2>/dev/null || { cat "$tcpdump_err" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$tcpdump_err" || { log "tcpdump did not start"; cat "$tcpdump_err" >&2; exit 1; }

# --- servers --------------------------------------------------------------
www="$work/www"
mkdir -p "$www"
for size in 0 100 512 1400 1500 3000 10000 40000 100000 300000 1000000; do
  head -c "$size" /dev/urandom >"$www/f$size"
done
head -c 16000000 /dev/urandom >"$www/big"

spawn "$ns_srv" python3 -m http.server --bind :: --directory "$www" 8080 >"$work/http.log" 2>&1
spawn "$ns_srv" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --pid-file= --bind-interfaces --listen-address="$srv4,$srv6" \
  --except-interface=lo --local=/test/ --address=/example.test/192.0.2.80 \
  --address=/example.test/2001:db8:e5::80 --txt-record=long.example.test,"$(printf 'x%.0s' $(seq 200))" \
  --cache-size=0 --log-facility=/dev/null
spawn "$ns_srv" socat -T 3 UDP6-LISTEN:9000,fork,reuseaddr,ipv6only=0 PIPE 2>"$work/socat.err"
spawn "$ns_srv" iperf3 --server --bind :: --port 5201 >"$work/iperf3.log" 2>&1

wait_listening() {  # wait_listening PORT PROTO(t|u)
  for _ in $(seq 100); do
    in_ns "$ns_srv" ss -Hln"$2" "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  log "no server listening on $2 port $1"; return 1
}
wait_listening 8080 t; wait_listening 53 u; wait_listening 9000 u; wait_listening 5201 t

# --- clients --------------------------------------------------------------
start=$EPOCHSECONDS
deadline=$((start + seconds - 3))  # every loop stops by then; the rest drains
export deadline

# Each worker runs inside a client namespace, as a bash function, with its own
# seed so the mix of requests is the same from run to run.
http_worker() {  # base_url max_count seed
  local base=$1 max=$2 i=0 files=(f0 f100 f512 f1400 f1500 f3000 f10000 f40000 f100000 f300000 f1000000)
  RANDOM=$3
  while [ $i -lt "$max" ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do
    local n=$((RANDOM % 100)) f
    if [ $n -lt 70 ]; then f=${files[RANDOM % 7]}; elif [ $n -lt 97 ]; then f=${files[7 + RANDOM % 3]}; else f=f1000000; fi
    curl -s -o /dev/null --max-time 5 "$base/$f" || true
    # Now and then a request to a missing file, and a keep-alive pair.
    [ $((i % 25)) -eq 7 ] && { curl -s -o /dev/null --max-time 5 "$base/missing" || true; }
    [ $((i % 40)) -eq 11 ] && { curl -s -o /dev/null -o /dev/null --max-time 5 "$base/f512" "$base/f3000" || true; }
    i=$((i + 1))
  done
}
dns_worker() {  # server max_count seed
  local srv=$1 max=$2 i=0
  RANDOM=$3
  while [ $i -lt "$max" ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do
    local name="h$((RANDOM % 50)).example.test" type=A tcp=
    case $((RANDOM % 6)) in 0|1) type=AAAA ;; 2) name="nx$RANDOM.test" ;; 3) name=long.example.test type=TXT ;; esac
    [ $((i % 15)) -eq 0 ] && tcp=+tcp
    dig @"$srv" $tcp +tries=1 +time=1 "$name" "$type" >/dev/null || true
    i=$((i + 1))
  done
}
udp_worker() {  # server max_count seed: socat conversations of 1-4 datagrams, some > MTU
  local srv=$1 max=$2 i=0
  RANDOM=$3
  while [ $i -lt "$max" ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do
    local k=$((1 + RANDOM % 4)) sizes=() j
    for ((j = 0; j < k; j++)); do
      if [ $((RANDOM % 8)) -eq 0 ]; then sizes+=($((1500 + RANDOM % 3500))); else sizes+=($((1 + RANDOM % 1200))); fi
    done
    { for s in "${sizes[@]}"; do head -c "$s" /dev/zero | tr '\0' 'u'; sleep 0.03; done; } |
      timeout 5 socat -b 65000 -t 0.3 -T 2 - "UDP:$srv:9000" >/dev/null 2>&1 || true
    i=$((i + 1))
  done
}
ping_worker() {  # v4 v6 target addresses
  ping -q -c 15 -i 0.2 -w 8 "$1" >/dev/null || true
  ping -q -6 -c 15 -i 0.2 -w 8 "$2" >/dev/null || true
  ping -q -c 3 -i 0.3 -s 3000 -w 5 "$1" >/dev/null || true    # fragmented echo
  ping -q -6 -c 3 -i 0.3 -s 3000 -w 5 "$2" >/dev/null || true
}
closed_port_worker() {  # v4 v6: TCP RSTs and ICMP port unreachables
  local a
  for a in "$1" "[$2]"; do
    curl -s -o /dev/null --max-time 2 "http://$a:8081/" || true
  done
  for a in "$1" "$2"; do
    dig @"$a" -p 5353 +tries=1 +time=1 x.example.test >/dev/null || true
  done
}
iperf_worker() {  # v4 v6
  timeout 10 iperf3 --client "$1" --port 5201 --time 3 --bitrate 40M --connect-timeout 2000 >/dev/null || true
  timeout 10 iperf3 --client "$2" --port 5201 --time 3 --udp --bitrate 4M --length 1200 --connect-timeout 2000 >/dev/null || true
}
long_download_worker() {  # url
  curl -s -o /dev/null --limit-rate 3M --max-time "$((deadline - EPOCHSECONDS))" "$1" || true
}
export -f http_worker dns_worker udp_worker ping_worker closed_port_worker iperf_worker long_download_worker

workers=()
work_in() {  # work_in NS 'function args...'
  spawn "$1" bash -c "$2"
  workers+=("${pids[-1]}")
}
work_in "$ns_cli1" "http_worker http://$srv4:8080 300 11"
work_in "$ns_cli2" "http_worker http://[$srv6]:8080 300 12"
work_in "$ns_cli1" "http_worker http://[$srv6]:8080 80 14"
work_in "$ns_cli1" "dns_worker $srv4 200 21"
work_in "$ns_cli2" "dns_worker $srv6 200 22"
work_in "$ns_cli1" "udp_worker $srv4 120 31"
work_in "$ns_cli2" "udp_worker $srv6 120 32"
work_in "$ns_cli1" "ping_worker $srv4 $srv6"
work_in "$ns_cli2" "ping_worker $srv4 $srv6"
if [ $have_vlan -eq 1 ]; then
  work_in "$ns_cli2" "http_worker http://$srv4_vlan:8080 80 13"
  work_in "$ns_cli2" "ping_worker $srv4_vlan $srv6_vlan"
fi
work_in "$ns_cli1" "closed_port_worker $srv4 $srv6"
work_in "$ns_cli2" "sleep 2; iperf_worker $srv4 $srv6"
work_in "$ns_cli1" "long_download_worker http://$srv4:8080/big"
work_in "$ns_cli2" "long_download_worker http://[$srv6]:8080/big"

for pid in "${workers[@]}"; do wait "$pid" || true; done
sleep 1  # let the last replies, FINs and socat timeouts land

kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
log "$(grep -E 'captured|dropped' "$tcpdump_err" | tr '\n' ' ')in $((EPOCHSECONDS - start)) s -> $out"
