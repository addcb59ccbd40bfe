#!/bin/bash
# SPDX-License-Identifier: MIT
# The desktop road: alice sets up a loop device with udisksctl (as a user's USB stick) and mounts
# it through udisks, which runs mount.exfat, which asks exfat-mountd: a fuseblk.exfat mount at
# /media/alice/LABEL served by a sandboxed worker. udisksctl unmount returns only once the worker
# has flushed and exited (fsck clean, dirty flag clear at that moment), also while another service's
# mount namespace pins the mount. bob cannot unmount alice's volume through udisks.
# Run: tests/box/run tests/box/test-udisks-mount.sh
# box-polkit-rules: rules/udisks-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"
. "$(dirname "$0")/udisks-lib.sh"

start_udisks
make_image img 256M -L STICK
chown alice: "$img"
udisks_loop_setup dev alice "$img"
on_exit 'unmount_leftovers "$dev"'
wait_udisks_fs "$dev"

log "alice mounts through udisks"
expect 0 as_user alice udisksctl mount --no-user-interaction -b "$dev"
expect_out "Mounted $dev at /media/alice/STICK"
mp=/media/alice/STICK
check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$mp" || true)" "type of the mount"
check_eq "$dev" "$(findmnt -rn -o SOURCE -M "$mp" || true)" "source of the mount"
unit=$(busctl --system get-property org.exfat.Mountd1 "$(exfatctl list --json | python3 -c '
import json, sys
print([m["object"] for m in json.load(sys.stdin) if m["device"] == sys.argv[1]][0])' "$dev")" \
        org.exfat.Mountd1.Mount Unit | sed 's/^s "\(.*\)"$/\1/' || true)
case "$unit" in exfat-worker@*.service) ;; *) fail "no worker unit for $dev: [$unit]" ;; esac
check_eq active "$(systemctl is-active "$unit" || true)" "worker unit"
worker_pid=$(systemctl show -p MainPID --value "$unit")
worker_uid=$(stat -c %u "/proc/$worker_pid")
[ "$worker_uid" -ne 0 ] || fail "the worker runs as root"
check_eq "$BOX_ALICE_UID" "$(stat -c %u "$mp")" "owner of the volume's root"
# libmount records the helper's mount for udisks in utab (how udisks and umount find it later).
grep -q "TARGET=$mp .*uhelper=udisks2" /run/mount/utab || fail "no utab entry for $mp: $(cat /run/mount/utab 2>&1 || true)"

log "alice writes 64 MiB; a service with a private mount namespace pins the mount"
as_user alice dd if=/dev/urandom of="$mp/data" bs=1M count=64 status=none
want=$(sha256sum <"$mp/data")
systemd-run --quiet --unit=box-pinner -p PrivateTmp=yes -p Type=exec sleep infinity
on_exit 'systemctl stop box-pinner 2>/dev/null || true'
pinner=$(systemctl show -p MainPID --value box-pinner)
wait_for 5 grep -q " $mp " "/proc/$pinner/mountinfo" || fail "the pinning service does not see the mount"

log "bob cannot unmount alice's volume through udisks"
expect 1 as_user bob udisksctl unmount --no-user-interaction -b "$dev"
check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$mp" || true)" "mount after bob's attempt"

log "alice unmounts through udisks: when it returns, every byte is out"
expect 0 as_user alice udisksctl unmount --no-user-interaction -b "$dev"
state=$(systemctl is-active "$unit" || true)
[ "$state" != active ] && [ "$state" != deactivating ] || fail "worker unit $state when udisksctl unmount returned"
check_eq 0 "$(dirty_flag "$dev")" "dirty flag when udisksctl unmount returned"
fsck_clean "$dev"
findmnt -rn -M "$mp" >/dev/null && fail "$mp still mounted"

log "remount through udisks reads back the same bytes"
expect 0 as_user alice udisksctl mount --no-user-interaction -b "$dev"
check_eq "$want" "$(sha256sum <"$mp/data")" "data after a remount"
expect 0 as_user alice udisksctl unmount --no-user-interaction -b "$dev"
fsck_clean "$dev"
expect 0 as_user alice udisksctl loop-delete --no-user-interaction -b "$dev"
finish
