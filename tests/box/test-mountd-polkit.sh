#!/bin/bash
# SPDX-License-Identifier: MIT
# Which polkit action each request needs. alice is granted only org.exfat.mountd.mount and .label
# (what an active desktop session gets by default): she mounts and labels removable devices for
# herself; a non-removable device (mount-system), a chosen mount point (mount-point), another uid or
# gid (mount-other-owner), relabelling a system device and unmounting someone else's mount
# (unmount-others) are refused.
# box-polkit-rules: rules/mountd-alice-basic.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

busctl --system introspect "$MOUNTD_DEST" "$MOUNTD_PATH" >/dev/null
pid=$(mountd_pid)
make_exfat_loop dev 64M -L POLKIT
make_exfat_loop other 64M -L ROOTS
unmount_at_exit "$dev"
unmount_at_exit "$other"

# Not removable (no config entry, a loop device is not removable for the kernel): mount-system.
rm -f /etc/exfat-mountd/removable-devices
expect_error NotAuthorized as alice Mount "$dev" "{}"
expect_error NotAuthorized as alice Label "$dev" "X" "{}"
findmnt --source "$dev" >/dev/null && fail "a non-removable device got mounted for alice"
pass "non-removable device: Mount and Label need mount-system"

# The config file makes loop devices removable; a glob and a plain path both count.
mkdir -p /etc/exfat-mountd
printf '# test\n%s\n' "$dev" >/etc/exfat-mountd/removable-devices
out=$(as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "$dev" 0) ||
        fail "alice's Mount of a listed device failed: $out"
unmount_as alice "$dev"
mark_loops_removable
pass "a device listed in removable-devices (path, then glob) mounts with org.exfat.mountd.mount"

# Things that need more than mount even on a removable device.
expect_error NotAuthorized as alice Mount "$dev" "{'mount-point': <'/mnt/alice-mnt'>}"
expect_error NotAuthorized as alice Mount "$dev" "{'uid': <uint32 0>}"
expect_error NotAuthorized as alice Mount "$dev" "{'gid': <uint32 0>}"
[ -e /mnt/alice-mnt ] && fail "a refused Mount created its mount point"
findmnt --source "$dev" >/dev/null && fail "a refused Mount mounted $dev"
# Her own uid is not "another uid".
out=$(as_user alice gcall Mount "$dev" "{'uid': <uint32 $(id -u alice)>, 'dmask': <uint32 0077>}") ||
        fail "Mount with her own uid failed: $out"
as_user alice gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount failed"
pass "a chosen mount point, another uid or gid: NotAuthorized; her own uid is fine"

# root mounts another device; alice may not unmount it (unmount-others), bob neither.
out=$(gcall Mount "$other" "{}") || fail "root's Mount failed: $out"
omp=$(sed -n "s/.*, '\(.*\)').*/\1/p" <<<"$out")
expect_error NotAuthorized as alice Unmount "$other" "{}"
expect_error NotAuthorized as bob Unmount "$omp" "{}"
findmnt --mountpoint "$omp" >/dev/null || fail "a refused Unmount unmounted $omp"
gcall Unmount "$omp" "{}" >/dev/null || fail "root's Unmount failed"
pass "unmounting someone else's mount needs unmount-others"

# Label on a removable device: alice may; bob may not.
as_user alice gcall Label "$dev" "ALICE" "{}" >/dev/null || fail "alice's Label failed"
check_eq ALICE "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" "label"
expect_error NotAuthorized as bob Label "$dev" "BOB" "{}"
pass "Label: alice yes (removable), bob NotAuthorized"

# A custom mount point as root (uid 0 needs no polkit): made, used, removed again.
out=$(gcall Mount "$dev" "{'mount-point': <'/mnt/custom-mnt'>, 'noexec': <true>}") || fail "custom mount point: $out"
check_contains "$out" "/mnt/custom-mnt" "Mount reply"
findmnt -n -o OPTIONS --mountpoint /mnt/custom-mnt | grep -qw noexec || fail "noexec missing"
mkdir -p /mnt/not-empty && touch /mnt/not-empty/file
on_exit "rm -rf /mnt/not-empty"
expect_error InvalidArgument Mount "$other" "{'mount-point': <'/mnt/not-empty'>}"
expect_error Busy Mount "$other" "{'mount-point': <'/mnt/custom-mnt'>}"
gcall Unmount /mnt/custom-mnt "{}" >/dev/null || fail "Unmount by mount point failed"
[ -e /mnt/custom-mnt ] && fail "/mnt/custom-mnt (made by the daemon) was not removed"
pass "custom mount point made and removed; non-empty directory and a mount point refused"

# root mounts for alice (uid option): the mount point is hers, under /run/media/alice.
alice=$(id -u alice)
out=$(gcall Mount "$dev" "{'uid': <uint32 $alice>}") || fail "Mount for alice failed: $out"
check_contains "$out" "/run/media/alice/" "mount point of a mount for alice"
mp=$(sed -n "s/.*, '\(.*\)').*/\1/p" <<<"$out")
check_eq "$alice:$(id -g alice)" "$(stat -c %u:%g "$mp")" "owner of the mount for alice"
as_user alice sh -c "echo mine > '$mp/mine.txt'" || fail "alice cannot write to the mount root made for her"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount failed"
pass "a mount for another uid goes under that user's /run/media directory, owned by them"

# The device is a detail of every check: a rule may grant mount-point for one device only.
rules=$(mktemp /var/tmp/mountd-device-rule.XXXXXX)
on_exit "rm -f '$rules'"
cat >"$rules" <<EOR
polkit.addRule(function(action, subject) {
        if (action.id == "org.exfat.mountd.mount-point" && subject.user == "alice" &&
            action.lookup("device") == "$dev")
                return polkit.Result.YES;
});
EOR
mv "$rules" "$rules.rules"
on_exit "rm -f '$rules.rules'"
box_polkit_rules "$rules.rules"
mount_as alice "$dev" 1 mount-point s /mnt/alice-dev
unmount_as alice /mnt/alice-dev
expect_error NotAuthorized as alice Mount "$other" "{'mount-point': <'/mnt/alice-other'>}"
pass "a rule matching action.lookup(\"device\") grants mount-point for $dev only"

mountd_alive "$pid"
