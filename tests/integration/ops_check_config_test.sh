#!/bin/sh
# `edgesense check-config` on one file with every kind of mistake an operator
# makes, each at a known line: unknown key and section, wrong type, out of
# range, bad choice, a name listed twice, an unknown sink, a bad address, a
# key given twice. All are reported in file order, nothing else, exit 1;
# and malformed YAML is one message with its line. (tests/unit/config covers
# each kind alone; this is the command end to end, as the README tells
# operators to run it before a restart.)
#   ops_check_config_test.sh EDGESENSE
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}

f=$tmp/edgesense.yaml
cat >"$f" <<'YAML'
capture:
  interfaces: [eth0, eth0]
  snaplen: 10
  promiscuous: maybe
  threads: two
flows:
  idle_timout: 30
  max: {a: 1}
inference:
  workers: 0
  reel_gate:
    protocols: [tcp, sctp]
alerts:
  sinks: [{file: /var/log/edgesense/eve.json}, {kafka: broker}]
metrics:
  listen: nowhere
logging:
  level: loud
  format: text
  format: json
colour: blue
YAML
cat >"$tmp/expected" <<EOF_EXPECTED
$f:2:22: capture.interfaces[1]: 'eth0' is listed twice
$f:3:12: capture.snaplen: must be between 64 and 262144, got 10
$f:4:16: capture.promiscuous: expected true or false, got 'maybe'
$f:5:12: capture.threads: expected a whole number, got 'two'
$f:7:3: flows.idle_timout: unknown key; did you mean 'idle_timeout'?
$f:8:8: flows.max: expected a whole number, got a mapping
$f:10:12: inference.workers: must be between 1 and 64, got 0
$f:12:22: inference.reel_gate.protocols[1]: expected one of tcp, udp; got 'sctp'
$f:14:49: alerts.sinks[1]: unknown sink 'kafka'; sinks are file, stdout and syslog
$f:16:11: metrics.listen: expected HOST:PORT such as 127.0.0.1:9750 or [::1]:9750, got 'nowhere' (no port)
$f:18:10: logging.level: expected one of trace, debug, info, warn, error, critical; got 'loud'
$f:20:3: logging.format: given twice (first on line 19)
$f:21:1: colour: unknown section; the sections are capture, flows, inference, alerts, metrics, logging, run
EOF_EXPECTED
"$bin" check-config -c "$f" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1"
[ -s "$tmp/out" ] && fail "stdout is not empty: $(cat "$tmp/out")"
diff -u "$tmp/expected" "$tmp/err" >&2 || fail "check-config's messages differ from the expected (diff above)"

# Indentation gone wrong on line 3: one message at that line.
printf 'capture:\n  snaplen: 100\n flows:\n  max: 3\n' >"$tmp/malformed.yaml"
"$bin" check-config -c "$tmp/malformed.yaml" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || fail "malformed: exit status $status, expected 1"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^$tmp/malformed.yaml:3:[0-9]*: malformed YAML: " "$tmp/err" ||
  fail "malformed: got: $(cat "$tmp/err")"

# The same file fixed passes, with exit 0 and nothing on stderr.
cat >"$f" <<'YAML'
capture:
  interfaces: [eth0, eth1]
  snaplen: 128
flows:
  idle_timeout: 30
YAML
"$bin" check-config -c "$f" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] && [ ! -s "$tmp/err" ] || fail "fixed file: status $status: $(cat "$tmp/err")"
grep -qxF "  interfaces: [eth0, eth1]" "$tmp/out" || fail "fixed file: effective config: $(cat "$tmp/out")"

exit $failed
