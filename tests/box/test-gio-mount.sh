#!/bin/bash
# SPDX-License-Identifier: MIT
# The road of a GNOME or Xfce file manager: GIO in alice's session (gvfs' udisks2 volume monitor)
# asks udisks, udisks runs mount.exfat, mount.exfat asks exfat-mountd.
#  - gio mount -d DEVICE: a fuseblk.exfat mount at /media/alice/LABEL served by a sandboxed worker;
#  - gio mount -u: when it returns the worker has flushed and exited, the dirty flag is clear and
#    fsck.exfat is clean;
# gvfs marks the loop devices it mounts autoclear: once unmounted, the "stick" is gone, as a
# disk image opened in Files goes away on unmount. The checks read the image file itself.
# Run: tests/box/run tests/box/test-gio-mount.sh
# box-polkit-rules: rules/udisks-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"
. "$(dirname "$0")/udisks-lib.sh"

[ -x /usr/libexec/gvfs-udisks2-volume-monitor ] && command -v gio >/dev/null ||
        { echo "gvfs not installed (tests/install-deps.sh)" >&2; exit 77; }
start_udisks
make_image img 64M -L PHOTOS
chown alice: "$img"
on_exit 'unmount_leftovers "$dev"'
mp=/media/alice/PHOTOS
dev=

# alice's session: a session bus (gvfs' volume monitor is activated on it), a runtime directory
# and a home of her own.
alice_home=$(mktemp -d)
chown alice: "$alice_home"
runtime=/run/user/$BOX_ALICE_UID
mkdir -p "$runtime"
chown alice: "$runtime"
chmod 0700 "$runtime"
on_exit "rm -rf '$alice_home' '$runtime'"
session=$(setpriv --reuid=alice --regid=alice --init-groups env HOME="$alice_home" XDG_RUNTIME_DIR="$runtime" \
        dbus-daemon --session --fork --print-address=1 --print-pid=1 --address="unix:path=$runtime/bus")
session_address=$(sed -n 1p <<<"$session")
session_pid=$(sed -n 2p <<<"$session")
[ -n "$session_pid" ] || fail "no session bus for alice: $session"
on_exit "kill_quietly $session_pid; pkill -KILL -u alice -f gvfs || true"

# A hang fails the check (status 124) instead of the whole test's timeout.
gio_as_alice() {
        timeout 60 setpriv --reuid=alice --regid=alice --init-groups env HOME="$alice_home" XDG_RUNTIME_DIR="$runtime" \
                USER=alice LOGNAME=alice DBUS_SESSION_BUS_ADDRESS="$session_address" \
                DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}" \
                gio "$@"
}
worker_gone() {
        local state
        state=$(systemctl is-active "$unit" || true)
        [ "$state" != active ] && [ "$state" != deactivating ] && [ "$state" != activating ]
}
gio_sees_volume() {
        gio_as_alice mount -li | grep -q "unix-device: '$dev'"
}
# clean_now WHAT : the state the moment a gio command returned.
clean_now() {
        check worker_gone
        findmnt -rn -M "$mp" >/dev/null && fail "$1: $mp still mounted"
        check_eq "[]" "$(exfatctl list --json)" "$1: the daemon's mounts"
        check_eq 0 "$(dirty_flag "$img")" "$1: dirty flag"
        fsck_clean "$img"
}
# plug_in : alice's stick appears (udisksctl loop-setup); waits until gio lists it.
plug_in() {
        udisks_loop_setup dev alice "$img"
        unit=exfat-worker@$(systemd-escape --path "$dev").service
        wait_udisks_fs "$dev"
        # The volume monitor learns of the device from udisks, maybe after it appeared there.
        wait_for 20 gio_sees_volume || fail "gio does not list a volume for $dev: $(gio_as_alice mount -li 2>&1 | head -40)"
}

plug_in

log "gio mount -d: mounted through udisks and exfat-mountd"
expect 0 gio_as_alice mount -d "$dev"
check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$mp" || true)" "type of the mount at $mp"
check_eq active "$(systemctl is-active "$unit" || true)" "worker unit"
check_eq "$BOX_ALICE_UID" "$(stat -c %u "$mp")" "owner of the volume's root"
setpriv --reuid=alice --regid=alice --init-groups dd if=/dev/urandom of="$mp/a" bs=1M count=16 status=none
want=$(sha256sum <"$mp/a")

log "gio mount -u: clean when it returns"
expect 0 gio_as_alice mount -u "$mp"
clean_now "gio mount -u"

log "gio mount -d again: the data is there"
loop_gone() {
        ! losetup "$dev" >/dev/null 2>&1
}
wait_for 10 loop_gone || fail "$dev still attached after gio mount -u (gvfs sets autoclear): $(losetup "$dev")"
plug_in
expect 0 gio_as_alice mount -d "$dev"
check_eq "$want" "$(sha256sum <"$mp/a")" "data after a remount"
setpriv --reuid=alice --regid=alice --init-groups dd if=/dev/urandom of="$mp/b" bs=1M count=16 status=none
want_b=$(sha256sum <"$mp/b")
# Not gio mount -e: for a loop device (no udisks Drive) gvfs 1.50's eject neither unmounts nor
# returns (the volume monitor never calls udisks). A USB stick has a Drive: its eject unmounts
# through udisks as -u does, then powers the drive off.
expect 0 gio_as_alice mount -u "$mp"
clean_now "second gio mount -u"

log "the data is on the image"
dev2=$(losetup --find --show "$img")
on_exit "losetup -d '$dev2' 2>/dev/null || true"
expect 0 exfatctl mount "$dev2"
mp2=$(findmnt -rn -o TARGET -S "$dev2")
check_eq "$want" "$(sha256sum <"$mp2/a")" "first file on the ejected image"
check_eq "$want_b" "$(sha256sum <"$mp2/b")" "second file on the ejected image"
expect 0 exfatctl unmount "$dev2"
finish
