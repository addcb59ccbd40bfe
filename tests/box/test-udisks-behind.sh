#!/bin/bash
# SPDX-License-Identifier: MIT
# The desktop road when things happen around the daemon rather than through it:
#  - a label with a space ("MY STICK"): udisks mounts at "/media/alice/MY STICK";
#  - udisksd killed while the volume is mounted: the mount and its worker (own unit) live on, and
#    a new udisksd sees the mount and unmounts it cleanly;
#  - root's umount -i (no helper: the kernel alone), and umount -l -i while a file is open: the
#    worker flushes, clears the dirty flag and exits once the last user is gone, and the daemon
#    drops the mount's object;
#  - root's umount and umount -l (libmount runs umount.fuseblk.exfat, which asks the daemon): when
#    they return the worker is gone and the volume clean, a file held open notwithstanding.
# Run: tests/box/run tests/box/test-udisks-behind.sh
# box-polkit-rules: rules/udisks-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"
. "$(dirname "$0")/udisks-lib.sh"

start_udisks
make_image img 64M -L "MY STICK"
chown alice: "$img"
udisks_loop_setup dev alice "$img"
on_exit 'unmount_leftovers "$dev"'
wait_udisks_fs "$dev"
mp="/media/alice/MY STICK"

mounts_json() {
        exfatctl list --json
}
no_mount_object() {
        [ "$(mounts_json)" = "[]" ]
}
worker_gone() {
        local state
        state=$(systemctl is-active "$1" || true)
        [ "$state" != active ] && [ "$state" != deactivating ] && [ "$state" != activating ]
}
# udisks_mount : alice mounts $dev through udisks; sets $unit to its worker's unit.
udisks_mount() {
        expect 0 as_user alice udisksctl mount --no-user-interaction -b "$dev"
        expect_out "Mounted $dev at $mp"
        check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$mp" || true)" "type of the mount at $mp"
        unit=exfat-worker@$(systemd-escape --path "$dev").service
        check_eq active "$(systemctl is-active "$unit" || true)" "worker unit after udisksctl mount"
}
# clean_after LABEL SINCE : the worker gone, the object removed, the volume clean; logs how long it
# took from SINCE (date +%s%N). The daemon hears of the unmount from the worker, which hears of it
# from the kernel (FUSE DESTROY): no polling anywhere, so it is quick; the limit only guards a hang.
clean_after() {
        local what=$1 since=$2
        wait_for 10 worker_gone "$unit" || fail "$what: worker $unit still $(systemctl is-active "$unit")"
        wait_for 10 no_mount_object || fail "$what: the daemon still lists a mount: $(mounts_json)"
        log "$what: worker gone and object removed after $((($(date +%s%N) - since) / 1000000)) ms"
        check_eq 0 "$(dirty_flag "$dev")" "$what: dirty flag"
        fsck_clean "$dev"
}
# hold_open FILE : alice keeps FILE open from a background process; sets $holder.
hold_open() {
        setpriv --reuid=alice --regid=alice --init-groups sh -c 'exec 3<"$1"; exec sleep infinity' sh "$1" &
        holder=$!
        on_exit "kill_quietly $holder"
        wait_for 5 test -e "/proc/$holder/fd/3" || fail "alice's holder did not open $1"
}

log "a label with a space: udisks mounts at '$mp'"
udisks_mount
as_user alice dd if=/dev/urandom of="$mp/one" bs=1M count=8 status=none
want_one=$(sha256sum <"$mp/one")

log "udisksd killed while mounted: the mount and its worker live on"
worker_pid=$(systemctl show -p MainPID --value "$unit")
systemctl kill -s KILL box-udisksd
wait_for 5 sh -c '! systemctl is-active --quiet box-udisksd' || fail "udisksd survived SIGKILL"
check_eq active "$(systemctl is-active "$unit" || true)" "worker unit after udisksd died"
check_eq "$worker_pid" "$(systemctl show -p MainPID --value "$unit")" "worker pid after udisksd died"
as_user alice dd if=/dev/urandom of="$mp/two" bs=1M count=8 status=none
want_two=$(sha256sum <"$mp/two")
check_eq "$want_one" "$(sha256sum <"$mp/one")" "data written before udisksd died"
restart_udisksd
wait_for 10 sh -c "udisksctl info -b '$dev' | grep -qF 'MountPoints: *$mp'" ||
        wait_for 10 sh -c "udisksctl info -b '$dev' | grep -qF '$mp'" || fail "the new udisksd does not see $mp"
expect 0 as_user alice udisksctl unmount --no-user-interaction -b "$dev"
check worker_gone "$unit"
check_eq 0 "$(dirty_flag "$dev")" "dirty flag after unmount through the new udisksd"
fsck_clean "$dev"

log "root unmounts behind the daemon's back (umount -i: no helper)"
udisks_mount
check_eq "$want_two" "$(sha256sum <"$mp/two")" "data after udisksd's restart"
as_user alice sh -c "head -c 3000000 /dev/urandom >'$mp/three'"
want_three=$(sha256sum <"$mp/three")
since=$(date +%s%N)
umount -i "$mp"
clean_after "umount -i" "$since"

log "root detaches it lazily behind the daemon's back while alice holds a file open (umount -l -i)"
udisks_mount
check_eq "$want_three" "$(sha256sum <"$mp/three")" "data after umount -i"
as_user alice sh -c "head -c 1000000 /dev/urandom >'$mp/four'"
want_four=$(sha256sum <"$mp/four")
hold_open "$mp/four"
umount -l -i "$mp"
findmnt -rn -M "$mp" >/dev/null && fail "$mp still in the mount table after umount -l"
# The superblock lives while the file is open: the worker serves it, and the volume stays mounted
# as far as the daemon knows.
check_eq active "$(systemctl is-active "$unit" || true)" "worker while a detached file is open"
check_eq "$want_four" "$(sha256sum <"/proc/$holder/fd/3")" "the held file read through the detached mount"
since=$(date +%s%N)
kill "$holder"
wait "$holder" 2>/dev/null || true
clean_after "umount -l -i, last file closed" "$since"

log "root's umount (libmount runs umount.fuseblk.exfat): clean when it returns"
udisks_mount
check_eq "$want_four" "$(sha256sum <"$mp/four")" "data after umount -l -i"
as_user alice dd if=/dev/urandom of="$mp/five" bs=1M count=16 status=none
want_five=$(sha256sum <"$mp/five")
umount "$mp"
check worker_gone "$unit"
check no_mount_object
check_eq 0 "$(dirty_flag "$dev")" "dirty flag when umount returned"
fsck_clean "$dev"

log "root's umount -l with a file held open: clean when it returns"
udisks_mount
check_eq "$want_five" "$(sha256sum <"$mp/five")" "data after umount"
as_user alice dd if=/dev/urandom of="$mp/six" bs=1M count=16 status=none
want_six=$(sha256sum <"$mp/six")
hold_open "$mp/six"
umount -l "$mp"
check worker_gone "$unit"
check no_mount_object
check_eq 0 "$(dirty_flag "$dev")" "dirty flag when umount -l returned"
fsck_clean "$dev"
kill_quietly "$holder"

log "everything written is there"
udisks_mount
check_eq "$want_six" "$(sha256sum <"$mp/six")" "data after umount -l"
for f in one two three four five; do
        [ -s "$mp/$f" ] || fail "$f missing"
done
expect 0 as_user alice udisksctl unmount --no-user-interaction -b "$dev"
fsck_clean "$dev"
finish
