#!/bin/bash
# SPDX-License-Identifier: MIT
# Label works on an unmounted device (through a short-lived worker) and on a mounted one (through
# its worker); exfatlabel agrees and fsck.exfat stays clean. A dirty volume mounts read-only unless
# force is given, and refuses a new label while unmounted (Dirty).
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L OLDLABEL
unit=$(worker_unit "$dev")
unmount_at_exit "$dev"

label_of() {
        exfatlabel "$1" 2>/dev/null | sed -n 's/^label: //p'
}

# Unmounted: a short-lived worker writes it and is gone when the call returns.
as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Label 'ssa{sv}' "$dev" "Fresh" 0 ||
        fail "Label of the unmounted device failed"
check_eq Fresh "$(label_of "$dev")" "exfatlabel after Label (unmounted)"
systemctl is-active --quiet "$unit" && fail "the label worker is still running"
findmnt --source "$dev" >/dev/null && fail "Label mounted the device"
fsck_clean "$dev"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after Label (unmounted)"
pass "Label on the unmounted device: exfatlabel says Fresh, worker gone, fsck clean"

# Non-ASCII, at the 11-character limit.
gcall Label "$dev" "Ünïcødé_11c" "{}" >/dev/null || fail "Label with 11 non-ASCII characters failed"
check_eq "Ünïcødé_11c" "$(label_of "$dev")" "exfatlabel after a non-ASCII label"
expect_error NotAuthorized as bob Label "$dev" "BOB" "{}"
check_eq "Ünïcødé_11c" "$(label_of "$dev")" "label after bob's refused Label"
pass "11-character non-ASCII label; bob refused"

# Mounted: the worker relabels; the mount object follows.
mount_as alice "$dev"
obj=$MOUNT_OBJ
mp=$MOUNT_POINT
[ -d "/run/media/alice/Ünïcødé_11c" ] && findmnt --mountpoint "/run/media/alice/Ünïcødé_11c" >/dev/null ||
        fail "mount point not named after the label: $mp"
as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Label 'ssa{sv}' "$dev" "Mounted" 0 ||
        fail "Label of the mounted device failed"
check_eq "\"Mounted\"" "$(mount_prop "$obj" Label)" "Label property"
as_user alice busctl_call "$MOUNTD_DEST" "$obj" org.exfat.Mountd1.Mount Unmount 'a{sv}' 0 || fail "Unmount failed"
check_eq Mounted "$(label_of "$dev")" "exfatlabel after Label (mounted) and Unmount"
fsck_clean "$dev"
pass "Label on the mounted device: property and exfatlabel say Mounted, fsck clean"

# The empty label clears it; the default mount point then falls back to the serial.
gcall Label "$dev" "" "{}" >/dev/null || fail "clearing the label failed"
check_eq "" "$(label_of "$dev")" "exfatlabel after clearing"
out=$(gcall Mount "$dev" "{}") || fail "Mount without a label failed: $out"
uuid=$(blkid -s UUID -o value "$dev")
check_contains "$out" "/run/media/root/$uuid" "mount point of an unlabelled volume"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount failed"
pass "empty label clears it; mount point falls back to the serial ($uuid)"

# A dirty volume: VolumeDirty (bit 1 of byte 106) set behind the daemon's back.
gcall Label "$dev" "DIRTY" "{}" >/dev/null || fail "Label DIRTY failed"
flags=$(od -An -tu1 -j106 -N1 "$dev" | tr -d ' ')
printf "\\$(printf %03o $((flags | 2)))" | dd of="$dev" bs=1 seek=106 conv=notrunc status=none
sync
check_eq 1 "$(volume_dirty "$dev")" "dirty flag set by the test"
expect_error Dirty Label "$dev" "NEWLABEL" "{}"
out=$(gcall Mount "$dev" "{}") || fail "Mount of a dirty volume failed: $out"
obj=$(sed -n "s/^(objectpath '\([^']*\)'.*/\1/p" <<<"$out")
check_eq true "$(mount_prop "$obj" ReadOnly)" "ReadOnly of a dirty volume without force"
mp=$(sed -n "s/.*, '\(.*\)').*/\1/p" <<<"$out")
findmnt -n -o OPTIONS --mountpoint "$mp" | grep -qw ro || fail "dirty volume not mounted ro"
expect_error Dirty Label "$dev" "NEWLABEL" "{}"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount of the read-only mount failed"
check_eq 1 "$(volume_dirty "$dev")" "a read-only mount must leave the dirty flag alone"
pass "dirty volume: mounted read-only, Label refused with Dirty"

out=$(gcall Mount "$dev" "{'force': <true>}") || fail "Mount with force failed: $out"
obj=$(sed -n "s/^(objectpath '\([^']*\)'.*/\1/p" <<<"$out")
check_eq false "$(mount_prop "$obj" ReadOnly)" "ReadOnly with force"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount failed"
fsck_clean "$dev"
pass "force mounts the dirty volume read-write; unmounted cleanly"

mountd_alive "$pid"

# A write-protected device (a read-only loop device, like an SD card's lock switch): mounted
# read-only instead of refused; relabelling it fails with a named error.
make_image roimg 64M -L WPROT
ro=$(losetup -f --show -r "$roimg") || fail "losetup -r failed"
on_exit "losetup -d '$ro' 2>/dev/null || true"
unmount_at_exit "$ro"
mount_as alice "$ro"
check_eq true "$(mount_prop "$MOUNT_OBJ" ReadOnly)" "ReadOnly of a write-protected device"
findmnt -n -o OPTIONS --mountpoint "$MOUNT_POINT" | grep -qw ro || fail "write-protected device not mounted ro"
unmount_as alice "$ro"
expect_error Failed Label "$ro" "NOPE" "{}"
check_eq WPROT "$(label_of "$ro")" "label of the write-protected device"
pass "write-protected device: mounted read-only; Label refused"
