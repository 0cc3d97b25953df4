#!/bin/sh
# The systemd unit as installed: `cmake --install` into a staging root with
# the Debian layout, then `systemd-analyze verify` on the staged unit (it
# checks that ExecStart and ExecReload exist there, so the binary must be
# installed where the unit says) with no message at all, and
# `systemd-analyze security --offline=true` at exposure 2.0 or lower.
# Needs no running systemd.
#   ops_unit_test.sh BUILD_DIR
set -u
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}
root=$tmp/root
unitdir=$root/lib/systemd/system

DESTDIR=$root cmake --install "$build" --prefix /usr >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; exit 1; }
for f in usr/bin/edgesense lib/systemd/system/edgesense.service \
  usr/share/edgesense/models/reel/bundle.json usr/share/edgesense/models/attack/model.json \
  usr/share/edgesense/models/anomaly/bundle.json; do
  [ -f "$root/$f" ] || fail "cmake --install did not install /$f"
done
[ -x "$root/usr/bin/edgesense" ] || fail "/usr/bin/edgesense is not executable"
"$root/usr/bin/edgesense" --version >/dev/null || fail "the installed binary does not run"

# verify resolves the unit's dependencies (sysinit.target, network-online.target,
# ...) and its commands inside --root: give it the host's targets, slices
# and sockets, and the ExecReload command.
cp -a /lib/systemd/system/*.target /lib/systemd/system/*.slice /lib/systemd/system/*.socket \
  "$unitdir/" 2>/dev/null
mkdir -p "$root/bin"
cp /bin/kill "$root/bin/kill"

verify() {  # verify: sets $status, messages in $tmp/verify.log
  systemd-analyze verify --root="$root" edgesense.service >"$tmp/verify.log" 2>&1
  status=$?
}
verify
[ "$status" -eq 0 ] || fail "systemd-analyze verify: exit status $status"
[ -s "$tmp/verify.log" ] && fail "systemd-analyze verify says: $(cat "$tmp/verify.log")"

# The same check refuses a unit whose binary is missing: the pass above means
# something.
mv "$root/usr/bin/edgesense" "$tmp/edgesense"
verify
[ "$status" -ne 0 ] || fail "systemd-analyze verify passed with /usr/bin/edgesense missing"
grep -q "/usr/bin/edgesense" "$tmp/verify.log" ||
  fail "verify with the binary missing does not name it: $(cat "$tmp/verify.log")"
mv "$tmp/edgesense" "$root/usr/bin/edgesense"

systemd-analyze security --offline=true --root="$root" edgesense.service >"$tmp/security.log" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for edgesense.service: \([0-9.]*\).*/\1/p' "$tmp/security.log")
if [ -z "$exposure" ]; then
  fail "no exposure level in: $(cat "$tmp/security.log")"
elif ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
  fail "exposure $exposure, above 2.0:"
  grep "✗" "$tmp/security.log" >&2
else
  echo "systemd-analyze security: exposure $exposure"
fi
# What the rating rests on, and what capture needs, are both there.
for setting in "User=/DynamicUser=" "ProtectSystem=" "NoNewPrivileges=" "SystemCallFilter=~@mount"; do
  grep -q "✓ $setting" "$tmp/security.log" || fail "security: $setting is not satisfied"
done
for line in "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN" "Type=notify" \
  "ExecStart=/usr/bin/edgesense run -c /etc/edgesense/edgesense.yaml"; do
  grep -qxF "$line" "$unitdir/edgesense.service" || fail "the unit has no line '$line'"
done
grep -q "^RestrictAddressFamilies=.*AF_PACKET" "$unitdir/edgesense.service" ||
  fail "RestrictAddressFamilies= leaves out AF_PACKET: capture would fail"
grep -q "^PrivateNetwork=yes" "$unitdir/edgesense.service" &&
  fail "PrivateNetwork=yes hides the host's interfaces from capture"

exit $failed
