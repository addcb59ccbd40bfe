#!/bin/bash
# SPDX-License-Identifier: MIT
# exfat-mountd's D-Bus surface: the objects and interfaces it exports, and malformed calls (bad
# paths, not-a-device, commas and ".." in options, bad labels, huge strings, unknown keys, wrong
# variant types) answered with the right named errors while the daemon stays up. bob, who has no
# polkit rule, is refused and nothing gets mounted.
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mark_loops_removable

busctl --system introspect "$MOUNTD_DEST" "$MOUNTD_PATH" >/dev/null 2>&1 || true
wait_for_bus_name org.exfat.Mountd1
pid=$(mountd_pid)
pass "exfat-mountd is up (pid $pid)"

out=$(busctl --system introspect "$MOUNTD_DEST" "$MOUNTD_PATH")
for want in org.exfat.Mountd1.Manager org.freedesktop.DBus.ObjectManager .Mount .Unmount .Label; do
        check_contains "$out" "$want" "introspection"
done
check_contains "$(busctl --system get-property "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Version)" 's "' Version
out=$(busctl --system call "$MOUNTD_DEST" "$MOUNTD_PATH" org.freedesktop.DBus.ObjectManager GetManagedObjects)
check_eq "a{oa{sa{sv}}} 0" "$out" "GetManagedObjects with nothing mounted"
pass "Manager, ObjectManager and Version exported"

# The installed interface XML (the contract) and the live objects agree on every member.
xml=/usr/share/dbus-1/interfaces/org.exfat.Mountd1.xml
[ -f "$xml" ] || fail "$xml not installed"
live=$(busctl --system introspect --xml-interface "$MOUNTD_DEST" "$MOUNTD_PATH")
for member in $(sed -n '/<interface name="org.exfat.Mountd1.Manager">/,/<\/interface>/ s/.*<\(method\|property\|signal\) name="\([^"]*\)".*/\2/p' "$xml"); do
        check_contains "$live" "name=\"$member\"" "live Manager introspection (member $member of the XML)"
done
mount_members=$(sed -n '/<interface name="org.exfat.Mountd1.Mount">/,/<\/interface>/ s/.*<\(method\|property\) name="\([^"]*\)".*/\2/p' "$xml")
[ "$(wc -w <<<"$mount_members")" -ge 9 ] || fail "the XML's Mount interface lists too few members: $mount_members"
pass "the installed XML's Manager members are all live; Mount lists $(wc -w <<<"$mount_members") members"

make_exfat_loop dev 64M -L APITEST
long=$(head -c 5000 /dev/zero | tr '\0' a)
huge=$(head -c 100000 /dev/zero | tr '\0' b)

# Device paths.
expect_error InvalidArgument Mount "relative/path" "{}"
expect_error InvalidArgument Mount "" "{}"
expect_error InvalidArgument Mount "/dev/$long" "{}"
expect_error InvalidArgument Mount "/$huge" "{}"
expect_error NoSuchDevice Mount /etc/passwd "{}"
expect_error NoSuchDevice Mount /etc "{}"
expect_error NoSuchDevice Mount /dev/does-not-exist "{}"
expect_error NoSuchDevice Mount /dev/null "{}"
pass "bad device paths, /etc/passwd, a directory, a char device: named errors"

# Options: unknown keys, wrong types, bad values.
expect_error InvalidArgument Mount "$dev" "{'no-such-option': <true>}"
expect_error InvalidArgument Mount "$dev" "{'read-only': <'yes'>}"
expect_error InvalidArgument Mount "$dev" "{'uid': <int32 5>}"
expect_error InvalidArgument Mount "$dev" "{'dmask': <uint32 4096>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <'/mnt//x'>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <'/mnt/../etc'>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <'relative'>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <'/mnt/./x'>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <'/$long'>}"
expect_error InvalidArgument Mount "$dev" "{'mount-point': <true>}"
expect_error InvalidArgument Mount "$dev" "{'$huge': <true>}"
expect_error InvalidArgument Unmount "$dev" "{'read-only': <true>}"
expect_error InvalidArgument Unmount "$dev" "{'force': <'x'>}"
expect_error InvalidArgument Label "$dev" "X" "{'force': <true>}"
pass "unknown option keys, wrong variant types, empty, '.' and '..' components in mount points: InvalidArgument"

# Labels.
expect_error InvalidArgument Label "$dev" "a/b" "{}"
expect_error InvalidArgument Label "$dev" "TWELVE_CHARS" "{}"
expect_error InvalidArgument Label "$dev" "$long" "{}"
expect_error InvalidArgument Label "$dev" "$(printf 'a\tb')" "{}"
expect_error InvalidArgument Label "$dev" 'a:b' "{}"
expect_error InvalidArgument Label relative "X" "{}"
expect_error NoSuchDevice Label /etc/passwd "X" "{}"
pass "labels with '/', ':', control characters, too long: InvalidArgument"

# Unmount of things that are not mounted.
expect_error NotMounted Unmount "$dev" "{}"
expect_error NotMounted Unmount /run/media/nobody "{}"
expect_error InvalidArgument Unmount "relative" "{}"
pass "Unmount of what is not mounted: NotMounted"

# bob has no rule: refused, nothing mounted, no worker started.
expect_error NotAuthorized as bob Mount "$dev" "{}"
expect_error NotAuthorized as bob Label "$dev" "BOB" "{}"
expect_error NotAuthorized as bob Mount "$dev" "{'auth.no_user_interaction': <true>}"
findmnt --source "$dev" >/dev/null && fail "$dev got mounted for bob"
[ -z "$(worker_units)" ] || fail "a worker was started for bob: $(worker_units)"
check_eq "" "$(ls /run/media 2>/dev/null)" "/run/media after bob's attempts"
pass "bob: NotAuthorized, nothing mounted, no worker"

# alice's rule allows all org.exfat.mountd.* actions, so here only the uid-0-free path is exercised:
# a mount point option outside any sane place is still syntax-checked first.
expect_error InvalidArgument as alice Mount "$dev" "{'mount-point': <'/run/media/../../etc'>}"

mountd_alive "$pid"
pass "the daemon survived all of it (pid $pid)"
