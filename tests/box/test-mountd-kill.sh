#!/bin/bash
# SPDX-License-Identifier: MIT
# A worker that dies is noticed at once: the daemon detaches the mount, removes the mount point and
# the D-Bus object (InterfacesRemoved), logs why, and stays up; the device can be mounted again.
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L KILLME
unit=$(worker_unit "$dev")

signals=$(mktemp /var/tmp/signals.XXXXXX)
on_exit "rm -f '$signals'"
gdbus monitor --system --dest "$MOUNTD_DEST" >"$signals" 2>&1 &
monitor=$!
on_exit "kill $monitor 2>/dev/null || true"
sleep 0.3

mount_as alice "$dev"
obj=$MOUNT_OBJ
mp=$MOUNT_POINT
unmount_at_exit "$dev"
wait_for 5 grep -q "InterfacesAdded.*$obj" "$signals" || fail "no InterfacesAdded for $obj: $(cat "$signals")"
pass "mounted $dev on $mp; InterfacesAdded seen"

wpid=$(systemctl show -P MainPID "$unit")
[ -n "$wpid" ] && [ "$wpid" != 0 ] || fail "no worker pid"
t0=$(date +%s%N)
kill -KILL "$wpid"
wait_for 10 sh -c "! findmnt --mountpoint '$mp' >/dev/null" || fail "$mp still mounted after the worker died"
log "mount gone $((($(date +%s%N) - t0) / 1000000)) ms after SIGKILL"
wait_for 5 sh -c "[ ! -e '$mp' ]" || fail "$mp still exists"
wait_for 5 sh -c "! busctl --system introspect $MOUNTD_DEST $obj >/dev/null 2>&1" || fail "$obj still exported"
wait_for 5 grep -q "InterfacesRemoved.*$obj" "$signals" || fail "no InterfacesRemoved for $obj"
check_eq "a{oa{sa{sv}}} 0" "$(busctl --system call "$MOUNTD_DEST" "$MOUNTD_PATH" org.freedesktop.DBus.ObjectManager GetManagedObjects)" \
        "GetManagedObjects after the worker died"
wait_for_log "worker exited unexpectedly"
mountd_alive "$pid"
pass "worker killed: mount, mount point, object gone, InterfacesRemoved, logged, daemon alive"

# Nothing is left behind that would block the device: it mounts again. The killed worker left the
# volume dirty, so without force it comes back read-only; with force read-write (the flag is then
# the worker's business: like the kernel's exfat it may keep a flag it found set).
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
check_eq 1 "$(volume_dirty "$dev")" "dirty flag after the worker was killed"
out=$(as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "$dev" 0) ||
        fail "Mount after the kill failed: $out"
obj=$(awk '{print $2}' <<<"$out" | tr -d '"')
check_eq true "$(mount_prop "$obj" ReadOnly)" "ReadOnly of the dirty volume"
unmount_as alice "$dev"
out=$(as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "$dev" 1 \
        force b true) || fail "Mount with force failed: $out"
obj=$(awk '{print $2}' <<<"$out" | tr -d '"')
check_eq false "$(mount_prop "$obj" ReadOnly)" "ReadOnly with force"
unmount_as alice "$dev"
fsck_clean "$dev"
mountd_alive "$pid"
pass "the device mounts again after the kill (read-only: dirty; rw with force); fsck clean"

# Unmounted behind the daemon's back (a file manager falling back to umount(8)): the worker sees
# DESTROY, flushes and says so; the daemon drops the object and the mount point.
out=$(as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "$dev" 1 \
        force b true) || fail "Mount failed: $out"
obj=$(awk '{print $2}' <<<"$out" | tr -d '"')
mp=$(awk '{print $3}' <<<"$out" | tr -d '"')
as_user alice sh -c "echo external > '$mp/ext.txt'" || fail "write failed"
umount "$mp" || fail "umount $mp failed"
wait_for 10 sh -c "[ ! -e '$mp' ]" || fail "$mp still exists after an external umount"
wait_for 5 sh -c "! busctl --system introspect $MOUNTD_DEST $obj >/dev/null 2>&1" || fail "$obj still exported"
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
wait_for_log "unmounted outside exfat-mountd"
fsck_clean "$dev"
mountd_alive "$pid"
pass "external umount: worker flushed, object and mount point gone, fsck clean"
