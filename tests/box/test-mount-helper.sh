#!/bin/bash
# SPDX-License-Identifier: MIT
# mount(8) and the helpers: `mount -t exfat` runs mount.exfat, which asks exfat-mountd to mount at
# exactly the target (a sandboxed worker, no kernel driver); `umount` runs umount.fuseblk.exfat,
# which asks the daemon and returns with the volume clean. Bad input gets a clear error and
# mount(8)'s exit status (1: bad invocation or permissions, 32: mount failure), and nothing is mounted: suid, dev, unknown options, commas smuggled into
# values, quotes, a relative or symlinked target, a device that is not exFAT, and a user asking
# for files owned by root.
# Run: tests/box/run tests/box/test-mount-helper.sh
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"
. "$(dirname "$0")/mountd-lib.sh"
. "$(dirname "$0")/udisks-lib.sh"

[ -x /usr/sbin/mount.exfat ] && [ -x /usr/sbin/umount.fuseblk.exfat ] || fail "the mount helpers are not installed"
make_exfat_loop dev 64M -L HELPER
make_image plain 16M
mkfs.ext2 -q -F "$plain" >/dev/null 2>&1 || truncate -s 16M "$plain"
attach_loop notexfat "$plain"
target=/mnt/helper-test
mkdir -p "$target"
on_exit "unmount_leftovers '$dev' '$notexfat'; rmdir '$target' 2>/dev/null || true"

nothing_mounted() {
        if findmnt -rn -M "$target" >/dev/null || findmnt -rn -S "$dev" >/dev/null; then
                soft_fail "$1: something is mounted: $(findmnt -rn -S "$dev"; findmnt -rn -M "$target")"
                umount "$target" 2>/dev/null || true
        fi
        check_eq "[]" "$(exfatctl list --json)" "$1: the daemon's mounts"
}
# refused WHAT STATUS WORDS CMD... : CMD fails with STATUS, its stderr names WORDS, nothing mounted.
refused() {
        local what=$1 status=$2 words=$3
        shift 3
        expect "$status" "$@"
        expect_err_has "$words"
        nothing_mounted "$what"
}

log "mount -t exfat as root: through the daemon, at exactly the target"
expect 0 mount -t exfat -o uid="$BOX_ALICE_UID",gid="$BOX_ALICE_GID",noexec,nosuid,nodev,iocharset=utf8,errors=remount-ro "$dev" "$target"
check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$target" || true)" "type of the mount"
check_eq "$dev" "$(findmnt -rn -o SOURCE -M "$target" || true)" "source of the mount"
opts=$(findmnt -rn -o OPTIONS -M "$target")
for o in nosuid nodev noexec; do
        check_contains ",$opts," ",$o," "mount options"
done
unit=$(worker_unit "$dev")
check_eq active "$(systemctl is-active "$unit" || true)" "worker unit"
check_eq "$BOX_ALICE_UID" "$(stat -c %u "$target")" "owner of the volume's root"
# No process of the helper stays behind.
pgrep -x mount.exfat >/dev/null && fail "mount.exfat still running"
as_user alice dd if=/dev/urandom of="$target/f" bs=1M count=8 status=none
want=$(sha256sum <"$target/f")
expect 0 umount "$target"
state=$(systemctl is-active "$unit" || true)
[ "$state" != active ] && [ "$state" != deactivating ] || fail "worker unit $state when umount returned"
check_eq 0 "$(dirty_flag "$dev")" "dirty flag when umount returned"
fsck_clean "$dev"
nothing_mounted "after umount"

log "read-only, then the data is there"
expect 0 mount -t exfat -o ro "$dev" "$target"
check_contains "$(findmnt -rn -o OPTIONS -M "$target")" "ro" "options of a ro mount"
check_eq "$want" "$(sha256sum <"$target/f")" "data after a remount"
expect 0 umount "$target"

log "options the helper refuses: mount(8)'s status 1 (bad invocation)"
# mount(8) keeps suid and dev for itself (the kernel's defaults): the helper sees them only when
# called directly, and the mount is nosuid,nodev whatever mount(8) was told (checked above).
refused "suid" 1 "suid" mount.exfat "$dev" "$target" -o suid
refused "dev" 1 "dev" mount.exfat "$dev" "$target" -o rw,dev
expect 0 mount -t exfat -o suid,dev "$dev" "$target"
check_contains ",$(findmnt -rn -o OPTIONS -M "$target"),"  ",nosuid,nodev," "options of mount -o suid,dev"
expect 0 umount "$target"
refused "unknown option" 1 "frobnicate" mount -t exfat -o frobnicate=1 "$dev" "$target"
refused "a comma in a value" 1 "'2'" mount.exfat "$dev" "$target" -o "uid=0,gid=1,2"
refused "quotes" 1 "quoted" mount.exfat "$dev" "$target" -o 'errors="a,uid=0"'
refused "umask out of range" 1 "umask" mount -t exfat -o umask=7777 "$dev" "$target"
refused "relative target" 1 "absolute" mount.exfat "$dev" mnt/helper-test
ln -s "$target" /mnt/helper-link
on_exit "rm -f /mnt/helper-link"
refused "symlinked target" 1 "symbolic link" mount.exfat "$dev" /mnt/helper-link
mkdir -p /mnt/helper-parent
ln -s /mnt/helper-parent /mnt/helper-plink
on_exit "rm -f /mnt/helper-plink; rmdir /mnt/helper-parent/x /mnt/helper-parent 2>/dev/null || true"
mkdir -p /mnt/helper-parent/x
refused "target under a symlinked parent" 1 "symbolic link" mount.exfat "$dev" /mnt/helper-plink/x
# -s (sloppy) skips unknown options, never the refused ones.
refused "suid with -s" 1 "suid" mount.exfat -s "$dev" "$target" -o suid
expect 0 mount.exfat -s "$dev" "$target" -o frobnicate=1,uid=0
expect 0 umount "$target"
nothing_mounted "after the sloppy mount"

log "argument shapes: -o twice adds up, POSIXLY_CORRECT, \"//\""
# Two -o: both count (before, the second replaced the first and a requested ro was lost).
expect 0 mount.exfat "$dev" "$target" -o ro -o noexec
opts=$(findmnt -rn -o OPTIONS -M "$target")
grep -qw ro <<<"${opts//,/ }" || soft_fail "-o ro -o noexec: not read-only: $opts"
grep -qw noexec <<<"${opts//,/ }" || soft_fail "-o ro -o noexec: not noexec: $opts"
expect 0 umount "$target"
# libmount passes SRC DIR before the options; with POSIXLY_CORRECT getopt used to stop at SRC.
expect 0 env POSIXLY_CORRECT=1 mount.exfat "$dev" "$target" -o ro
check_contains "$(findmnt -rn -o OPTIONS -M "$target")" "ro" "options with POSIXLY_CORRECT"
expect 0 umount "$target"
refused "a third positional argument" 1 "Usage" mount.exfat "$dev" "$target" extra
refused "// (the root)" 1 "cannot mount over /" mount.exfat -f "$dev" //
refused "leading zero in uid" 1 "leading zeros" mount.exfat "$dev" "$target" -o uid=01000
nothing_mounted "after the argument shapes"

log "a device that is not exFAT"
refused "not exFAT" 32 "exFAT" mount -t exfat "$notexfat" "$target"
findmnt -rn -S "$notexfat" >/dev/null && fail "$notexfat mounted"

log "alice runs the helper herself: no more than the daemon grants her (status 1: permissions)"
mark_loops_removable
refused "alice asking for root's files" 1 "Not authorized" as_user alice /usr/sbin/mount.exfat "$dev" "$target" -o uid=0
mountd_alive "$(mountd_pid)"
finish
