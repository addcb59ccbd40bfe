#!/bin/bash
# SPDX-License-Identifier: MIT
# exfatctl's command line in the box: --help (per command too) and --version, usage errors (exit 2,
# before any bus traffic), an unreachable bus and a daemon that cannot be activated (exit 7), and
# --no-ask-password: the calls carry auth.no_user_interaction and not the allow-interactive-
# authorization header flag (seen with busctl monitor), while without it the flag is set.
# Run: tests/box/run tests/box/test-exfatctl-cli.sh
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"

log "--version, --help"
expect 0 exfatctl --version
echo "$out" | grep -qx 'exfatctl [0-9][0-9.]*' || soft_fail "--version printed [$out]"
expect 0 exfatctl --help
for w in "exfatctl mount DEVICE" "exfatctl unmount DEVICE|DIR" "exfatctl label DEVICE LABEL" \
        "exfatctl list" "exfatctl monitor" "--no-ask-password" "Exit status:" "3  not authorized" \
        "4  no such device" "5  device or mount busy" "7  exfat-mountd or the system bus is not available"; do
        grep -qF -- "$w" <<<"$out" || soft_fail "--help lacks [$w]"
done
for c in mount unmount label list monitor; do
        expect 0 exfatctl "$c" --help
        grep -q "^Usage: exfatctl $c" <<<"$out" || soft_fail "$c --help: [$out]"
        grep -qF "Exit status:" <<<"$out" || soft_fail "$c --help lacks the exit codes"
        expect 0 exfatctl help "$c"
        grep -q "^Usage: exfatctl $c" <<<"$out" || soft_fail "help $c: [$out]"
done
expect 0 exfatctl mount --help
for w in "--read-only" "--mount-point DIR" "uid=" "gid=" "dmask=" "fmask=" "noexec" "sync" "force"; do
        grep -qF -- "$w" <<<"$out" || soft_fail "mount --help lacks [$w]"
done

log "usage errors: exit 2 before the bus is even needed"
nobus=unix:path=/run/exfatctl-no-such-bus
for args in "" "frobnicate" "--bogus list" "mount" "mount /dev/a /dev/b" "mount -o bogus=1 /dev/loop0" \
        "mount -o uid=-1 /dev/loop0" "mount -o dmask=0999 /dev/loop0" "mount -o noexec=maybe /dev/loop0" \
        "mount -o , /dev/loop0" "mount -m" "unmount" "unmount --json /dev/loop0" "label /dev/loop0" \
        "list --force" "list extra" "monitor --read-only" "help frobnicate"; do
        # shellcheck disable=SC2086 # word splitting wanted
        expect 2 env DBUS_SYSTEM_BUS_ADDRESS=$nobus exfatctl $args
done
expect 2 env DBUS_SYSTEM_BUS_ADDRESS=$nobus exfatctl mount -o bogus=1 /dev/loop0
expect_err_has "unknown option"

log "no system bus: exit 7"
expect 7 env DBUS_SYSTEM_BUS_ADDRESS=$nobus exfatctl list
expect_err_has "Cannot connect to the system bus"
expect 7 env DBUS_SYSTEM_BUS_ADDRESS=$nobus exfatctl unmount /dev/loop0

log "daemon not installed: exit 7"
# The box's systemd reads units from its own (box-private) directory: hide the unit there as if it
# was never installed; bus activation then fails at once.
unit=$(systemctl show -P FragmentPath exfat-mountd.service)
[ -f "$unit" ] || fail "exfat-mountd.service is not installed (FragmentPath '$unit')"
systemctl stop exfat-mountd.service
mv "$unit" "$unit.exfatctl-hidden"
on_exit "[ ! -e '$unit.exfatctl-hidden' ] || { mv '$unit.exfatctl-hidden' '$unit'; systemctl daemon-reload; }"
systemctl daemon-reload
expect 7 exfatctl_as alice list
expect_err_has "exfat-mountd is not available"
expect 7 exfatctl_as alice --no-ask-password mount /dev/loop0
mv "$unit.exfatctl-hidden" "$unit"
systemctl daemon-reload
expect 0 exfatctl_as alice list

log "--no-ask-password, as seen on the bus"
make_exfat_loop dev 32M -L NOASK
on_exit 'unmount_leftovers "$dev"'
mark_removable "$dev"
bus_log=$(mktemp /var/tmp/exfatctl-busmon.XXXXXX)
on_exit "rm -f '$bus_log'"
busctl --system monitor org.exfat.Mountd1 >"$bus_log" 2>&1 &
busmon=$!
on_exit "kill_quietly $busmon"
wait_for 5 grep -q 'Monitoring bus message stream' "$bus_log" || sleep 1

expect 0 exfatctl_as alice --no-ask-password mount "$dev"
expect_out "Mounted $dev at /run/media/alice/NOASK"
expect 0 exfatctl_as alice --no-ask-password unmount "$dev"
expect 0 exfatctl_as alice mount "$dev"
expect 0 exfatctl_as alice unmount "$dev"
fsck_clean "$dev"
sleep 0.5
kill "$busmon" 2>/dev/null
wait "$busmon" 2>/dev/null || true

# busctl prints each message as a header line ("Type=method_call  Endian=l  Flags=N ...") followed
# by its fields and body; flag 4 is ALLOW_INTERACTIVE_AUTHORIZATION.
python3 - "$bus_log" <<'PY' || soft_fail "bus traffic does not show the expected flags/options"
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
calls = []
for block in re.split(r"\n(?=\S*\s*Type=)", text):
    m = re.search(r"Type=method_call\s.*?Flags=(\d+)", block)
    if not m:
        continue
    member = re.search(r"Member=(\w+)", block)
    if member and member.group(1) in ("Mount", "Unmount"):
        calls.append((member.group(1), int(m.group(1)), "auth.no_user_interaction" in block))
print(calls, file=sys.stderr)
want = [("Mount", False, True), ("Unmount", False, True), ("Mount", True, False), ("Unmount", True, False)]
got = [(name, bool(flags & 4), noask) for name, flags, noask in calls]
assert got == want, (got, want)
PY

finish
