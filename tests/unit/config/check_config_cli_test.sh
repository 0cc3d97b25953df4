#!/bin/sh
# `edgesense check-config` as an operator runs it: a bad file gives every
# problem as FILE:LINE:COL lines on stderr and exit status 1; a missing file
# one line naming it; a good file its effective config and status 0.
#   check_config_cli_test.sh EDGESENSE REPO_ROOT
set -u
bin=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}

run() {  # run ARGS...: sets $status, output in $tmp/out and $tmp/err
  "$bin" check-config "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
}

cat >"$tmp/bad.yaml" <<'YAML'
capture:
  snaplen: 10
flows:
  idle_timout: 30
logging:
  level: loud
YAML
run -c "$tmp/bad.yaml"
[ "$status" -eq 1 ] || fail "bad file: exit status $status, expected 1"
[ -s "$tmp/out" ] && fail "bad file: stdout is not empty"
for line in \
  "$tmp/bad.yaml:2:12: capture.snaplen: must be between 64 and 262144, got 10" \
  "$tmp/bad.yaml:4:3: flows.idle_timout: unknown key; did you mean 'idle_timeout'?" \
  "$tmp/bad.yaml:6:10: logging.level: expected one of trace, debug, info, warn, error, critical; got 'loud'"; do
  grep -qxF "$line" "$tmp/err" || fail "bad file: no line '$line' in: $(cat "$tmp/err")"
done
[ "$(wc -l <"$tmp/err")" -eq 3 ] || fail "bad file: expected 3 lines, got: $(cat "$tmp/err")"

printf 'flows:\n  max: [1\n' >"$tmp/malformed.yaml"
run -c "$tmp/malformed.yaml"
[ "$status" -eq 1 ] || fail "malformed file: exit status $status, expected 1"
grep -q "^$tmp/malformed.yaml:3:[0-9]*: malformed YAML: " "$tmp/err" ||
  fail "malformed file: got: $(cat "$tmp/err")"

run -c "$tmp/missing.yaml"
[ "$status" -eq 1 ] || fail "missing file: exit status $status, expected 1"
[ "$(cat "$tmp/err")" = "$tmp/missing.yaml: cannot read: No such file or directory" ] ||
  fail "missing file: got: $(cat "$tmp/err")"

run -c "$root/config/edgesense.yaml"
[ "$status" -eq 0 ] || fail "example file: exit status $status: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "example file: stderr: $(cat "$tmp/err")"
grep -qxF "  idle_timeout: 120" "$tmp/out" || fail "example file: no effective idle_timeout"
cp "$tmp/out" "$tmp/effective.yaml"
run -c "$tmp/effective.yaml"
[ "$status" -eq 0 ] || fail "effective config does not load back: $(cat "$tmp/err")"

run --print-example
[ "$status" -eq 0 ] || fail "--print-example: exit status $status"
cmp -s "$tmp/out" "$root/config/edgesense.yaml" ||
  fail "--print-example differs from config/edgesense.yaml"

exit $failed
