#!/bin/bash
# SPDX-License-Identifier: MIT
# The box itself: systemd is PID 1, the bus and polkitd answer, sandboxed transient units work, test
# users exist only in the box, a rule from BOX_POLKIT_RULES is honoured, the host's /tmp is hidden.
# (The harness itself checks afterwards that the host's /tmp still holds its marker.)
# box-polkit-rules: lib/alice-exec.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require

# systemd is PID 1 of this PID namespace and finished booting.
check_eq systemd "$(cat /proc/1/comm)" "PID 1"
check_eq running "$(systemctl is-system-running)" "system state"
# Only the box's own unit directory: the host's units (sysinit.target pulls tmpfiles --remove) must
# never be seen.
check_eq /run/box/units "$(systemctl show -P UnitPath)" "systemd unit path"
pass "systemd is PID 1, state running, unit path /run/box/units only"

# The system bus answers, and it is the box's: systemd registered on it.
out=$(busctl_call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId)
check_contains "$out" 's "' "GetId reply"
check_contains "$(busctl --system list --no-legend)" org.freedesktop.systemd1 "bus names"
pass "dbus answers ($out)"

# polkitd answers on its bus name.
out=$(busctl --system introspect org.freedesktop.PolicyKit1 /org/freedesktop/PolicyKit1/Authority)
check_contains "$out" CheckAuthorization "polkit introspection"
pass "polkitd answers"

# A sandboxed transient unit runs under a dynamic uid without capabilities and without devices.
out=$(systemd-run --quiet --pipe --wait -p DynamicUser=yes -p PrivateDevices=yes \
        -p SystemCallFilter=@system-service \
        bash -c 'echo "uid=$(id -u)"; grep ^CapEff: /proc/self/status; ls /dev')
uid=$(sed -n 's/^uid=//p' <<<"$out")
[ -n "$uid" ] && [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "not a dynamic uid: $out"
check_contains "$out" "CapEff:	0000000000000000" "transient unit capabilities"
if grep -qxE 'loop[0-9]+|fuse|vda|sda' <<<"$out"; then
        fail "PrivateDevices=yes unit sees real devices: $out"
fi
pass "DynamicUser unit: uid $uid, CapEff 0, no real devices"

# Test users exist here, not on the host (the host's /etc is the lower layer of the box's overlay).
for u in alice bob; do
        id "$u" >/dev/null || fail "user $u missing in the box"
        U=${u^^}
        uidvar="BOX_${U}_UID"
        check_eq "$(id -u "$u")" "${!uidvar}" "exported uid of $u"
        # /run/box/host-etc: the host's /etc, bind-mounted read-only by the box's init.
        [ -f /run/box/host-etc/passwd ] || fail "/run/box/host-etc/passwd missing"
        if grep -q "^$u:" /run/box/host-etc/passwd; then
                fail "user $u exists in the host's /etc/passwd"
        fi
done
check_eq overlay "$(findmnt -n -o FSTYPE /etc)" "/etc file system"
pass "alice ($BOX_ALICE_UID) and bob ($BOX_BOB_UID) exist in the box only"

# The host's /tmp is not the box's: the harness's marker there is invisible here.
[ -n "${BOX_HOST_MARKER:-}" ] || fail "BOX_HOST_MARKER not exported"
[ ! -e "$BOX_HOST_MARKER" ] || fail "host /tmp marker visible in the box: /tmp is not private"
check_eq tmpfs "$(findmnt -n -o FSTYPE /tmp)" "/tmp file system"
pass "/tmp is the box's own tmpfs"

# fusectl is mounted, /dev/fuse and loop devices are usable.
check_eq fusectl "$(findmnt -n -o FSTYPE /sys/fs/fuse/connections)" "fusectl"
[ -c /dev/fuse ] || fail "/dev/fuse missing"
make_exfat_loop dev 16M -L BOXTEST
check_eq BOXTEST "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" "label of $dev"
fsck_clean "$dev"
pass "loop device $dev with a fresh exFAT volume"

# The polkit rule from BOX_POLKIT_RULES: alice is authorized, bob is not.
pk() {
        pkcheck --action-id org.freedesktop.policykit.exec --process $$
}
as_user alice pk || fail "polkit: alice not authorized despite the box rule (status $?)"
if as_user bob pk 2>/dev/null; then
        fail "polkit: bob authorized without any rule"
fi
pass "polkit rule honoured: alice yes, bob no"

# The journal works.
logger_tag="box-basics-$$"
systemd-run --quiet --wait --unit="$logger_tag" -p Type=oneshot echo "$logger_tag says hi"
wait_for 5 bash -c "journalctl --no-pager -q -u '$logger_tag' | grep -q '$logger_tag says hi'" ||
        fail "journal has no output of unit $logger_tag"
pass "journald records unit output"
