#!/bin/bash
# SPDX-License-Identifier: MIT
# exFAT devices on the bus (org.exfat.Mountd1.Device), with udevd running in the box:
# - without udevd the daemon serves on, logs once and exports no device;
# - a loop device with an exFAT image appears as an object (busctl, `exfatctl list --all`,
#   `exfatctl info --json`, also as alice) with its label, uuid, size and Removable; every member of
#   the XML's Device interface is live;
# - its Mount property (and PropertiesChanged) follows a mount and an unmount;
# - a loop device without exFAT (ext4) never appears;
# - `losetup -d` (a hotplug remove) withdraws it;
# - `exfatctl monitor` prints the device's arrival and removal.
# Every wait is for an event (the object, a signal, a monitor line), never a fixed time.
# Run: tests/box/run tests/box/test-mountd-devices.sh
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
here=$(dirname "$0")
. "$here/exfatctl-lib.sh"
. "$here/mountd-lib.sh"
. "$here/udisks-lib.sh"

DEVICE_IFACE=org.exfat.Mountd1.Device
DEVICES_PREFIX=/org/exfat/Mountd1/devices

# managed_paths : every object path GetManagedObjects returns, one per line.
managed_paths() {
        busctl --system --json=short call "$MOUNTD_DEST" "$MOUNTD_PATH" org.freedesktop.DBus.ObjectManager \
                GetManagedObjects | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["data"][0]))'
}

dev_prop() {
        busctl --system get-property "$MOUNTD_DEST" "$1" "$DEVICE_IFACE" "$2" | cut -d' ' -f2-
}

has_object() {
        managed_paths | grep -qx "$1"
}

no_object() {
        ! has_object "$1"
}

log "without udevd: no devices, one log line, the daemon answers"
[ ! -e /run/udev/control ] || fail "udevd already runs in the box"
# Started by D-Bus activation.
busctl --system get-property "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Version >/dev/null ||
        fail "exfat-mountd does not answer"
mountd_alive
wait_for_log "udev is not running"
if managed_paths | grep -q "^$DEVICES_PREFIX/"; then
        fail "device objects without udevd: $(managed_paths)"
fi

log "with udevd: the restarted daemon follows udev"
start_udevd
mark_removable '/dev/loop*'
systemctl restart exfat-mountd.service || fail "cannot restart exfat-mountd"
wait_for_bus_name "$MOUNTD_DEST"

log_file=$(mktemp /var/tmp/mountd-devices.XXXXXX)
sig_file=$(mktemp /var/tmp/mountd-devices-sig.XXXXXX)
on_exit "rm -f '$log_file' '$sig_file'"
monitor=
sigmon=
on_exit 'kill_quietly "$monitor" "$sigmon"'
exfatctl monitor </dev/null >"$log_file" 2>&1 &
monitor=$!
wait_for 10 grep -q '^Monitoring exfat-mountd' "$log_file" || fail "monitor did not start: $(cat "$log_file")"

log "a loop device without exFAT is not exported"
make_image plain_img 32M
mkfs.ext4 -q -F "$plain_img" || fail "mkfs.ext4 failed"
attach_loop plain "$plain_img"
plain_obj=$DEVICES_PREFIX/$(basename "$plain")
# Once udevd's queue is empty its broadcast for $plain is in the daemon's socket; the exFAT device
# attached next is announced after it, so once that one is there, $plain has been seen and skipped.
udevadm settle

log "an exFAT loop device appears"
make_exfat_loop dev 32M -L "MY DISK"
obj=$DEVICES_PREFIX/$(basename "$dev")
wait_for 10 has_object "$obj" || fail "$obj did not appear: $(managed_paths)"
check_eq '"'"$dev"'"' "$(dev_prop "$obj" Device)" "Device"
check_eq '"MY DISK"' "$(dev_prop "$obj" Label)" "Label (a space, from ID_FS_LABEL_ENC)"
uuid=$(blkid -o value -s UUID "$dev")
check_eq '"'"$uuid"'"' "$(dev_prop "$obj" Uuid)" "Uuid"
check_eq $((32 * 1024 * 1024)) "$(dev_prop "$obj" Size)" "Size"
check_eq true "$(dev_prop "$obj" Removable)" "Removable (listed in removable-devices)"
check_eq '"/"' "$(dev_prop "$obj" Mount)" "Mount of an unmounted device"
check_eq '"unknown"' "$(dev_prop "$obj" Dirty)" "Dirty of an unmounted device"
if has_object "$plain_obj"; then
        fail "the ext4 loop device $plain is exported"
fi

log "the installed XML's Device members are all live"
xml=/usr/share/dbus-1/interfaces/org.exfat.Mountd1.xml
live=$(busctl --system introspect --xml-interface "$MOUNTD_DEST" "$obj")
members=$(sed -n '/<interface name="org.exfat.Mountd1.Device">/,/<\/interface>/ s/.*<property name="\([^"]*\)".*/\1/p' "$xml")
[ "$(wc -w <<<"$members")" -ge 7 ] || fail "the XML's Device interface lists too few members: $members"
for member in $members; do
        check_contains "$live" "name=\"$member\"" "live Device introspection (member $member of the XML)"
done

log "exfatctl list --all and info"
expect 0 exfatctl list
case "$out" in *"$dev "*) soft_fail "list without --all shows the unmounted $dev: $out" ;; esac
expect 0 exfatctl list --all
grep -q "^$dev  *-  *MY DISK  *$uuid  *-  *-  *unmounted\$" <<<"$out" || soft_fail "list --all has no unmounted row for $dev: [$out]"
grep -q "^$plain " <<<"$out" && soft_fail "list --all shows the ext4 device $plain: [$out]"
expect 0 exfatctl list --all --json
python3 - "$out" "$dev" "$obj" <<'PY' || soft_fail "list --all --json: $out"
import json, sys
rows = [r for r in json.loads(sys.argv[1]) if r["device"] == sys.argv[2]]
assert len(rows) == 1, rows
r = rows[0]
assert r["state"] == "unmounted" and r["label"] == "MY DISK" and r["object"] == sys.argv[3], r
assert r["owner_uid"] is None and r["read_only"] is None and r["mount_point"] == "", r
PY
expect 0 exfatctl info --json "$dev"
python3 - "$out" "$dev" "$uuid" "$obj" <<'PY' || soft_fail "info --json of the unmounted device: $out"
import json, sys
i = json.loads(sys.argv[1])
want = {"device": sys.argv[2], "label": "MY DISK", "uuid": sys.argv[3], "size": 32 << 20, "removable": True,
        "dirty": None, "state": "unmounted", "mount_point": "", "owner": "", "owner_uid": None, "access": "",
        "read_only": None, "unit": "", "object": sys.argv[4], "mount_object": ""}
assert i == want, (i, want)
PY
expect 0 exfatctl info "$dev"
check_contains "$out" "Size:        32.0 MiB (33554432 bytes)" "info"
check_contains "$out" "State:       unmounted" "info"
# A symlink under /dev names the same device.
ln -s "$dev" /dev/exfat-mountd-test-link
on_exit 'rm -f /dev/exfat-mountd-test-link'
expect 0 exfatctl info --json /dev/exfat-mountd-test-link
check_contains "$out" "\"device\":\"$dev\"" "info through a symlink"
# Reading devices needs no authorization: the bus policy lets anybody read properties.
expect 0 exfatctl_as alice info "$dev"
check_contains "$out" "Label:       MY DISK" "info as alice"
expect 0 exfatctl_as alice list --all
grep -q "^$dev .* unmounted\$" <<<"$out" || soft_fail "list --all as alice: [$out]"
expect 4 exfatctl info "$plain"
expect_err_has "knows no exFAT device"
expect 2 exfatctl info
expect 2 exfatctl list --all extra

log "Mount follows a mount and an unmount (with PropertiesChanged)"
on_exit 'unmount_leftovers "$dev"'
gdbus monitor --system --dest "$MOUNTD_DEST" --object-path "$obj" >"$sig_file" 2>&1 &
sigmon=$!
wait_for 10 grep -q "owned by" "$sig_file" || fail "gdbus monitor did not start: $(cat "$sig_file")"
expect 0 exfatctl mount "$dev"
mount_obj=$(dev_prop "$obj" Mount)
mount_obj=${mount_obj//\"/}
case "$mount_obj" in /org/exfat/Mountd1/mount/*) ;; *) fail "Mount of the mounted device: '$mount_obj'" ;; esac
check_eq '"'"$dev"'"' "$(mount_prop "$mount_obj" Device)" "Device of the Mount object the device points to"
check_eq '"clean"' "$(dev_prop "$obj" Dirty)" "Dirty of the mounted device"
wait_for 10 grep -q "'Mount': <objectpath '$mount_obj'>" "$sig_file" ||
        soft_fail "no PropertiesChanged for the mount: $(cat "$sig_file")"
expect 0 exfatctl info --json "$dev"
python3 - "$out" "$mount_obj" <<'PY' || soft_fail "info --json of the mounted device: $out"
import json, sys
i = json.loads(sys.argv[1])
assert i["state"] == "mounted" and i["mount_point"] == "/run/media/root/MY DISK", i
assert i["owner"] == "root" and i["owner_uid"] == 0 and i["access"] == "rw" and i["read_only"] is False, i
assert i["dirty"] is False and i["mount_object"] == sys.argv[2], i
assert i["unit"].startswith("exfat-worker@") and i["unit"].endswith(".service"), i
PY
expect 0 exfatctl list --all
check_eq 1 "$(grep -c "^$dev " <<<"$out")" "rows of $dev in list --all while mounted: [$out]"
grep -q "^$dev .* mounted\$" <<<"$out" || soft_fail "list --all: $dev not shown mounted: [$out]"
expect 0 exfatctl unmount "$dev"
check_eq '"/"' "$(dev_prop "$obj" Mount)" "Mount after the unmount"
check_eq '"unknown"' "$(dev_prop "$obj" Dirty)" "Dirty after the unmount"
wait_for 10 grep -q "'Mount': <objectpath '/'>" "$sig_file" ||
        soft_fail "no PropertiesChanged for the unmount: $(cat "$sig_file")"
kill "$sigmon"
sigmon=

log "losetup -d withdraws the device"
losetup -d "$dev"
wait_for 10 no_object "$obj" || fail "$obj still exported after losetup -d"
wait_for 10 grep -q "^Removed device $dev\$" "$log_file" || soft_fail "monitor printed no removal: $(cat "$log_file")"
expect 4 exfatctl info "$dev"

log "exfatctl monitor's lines"
kill -INT "$monitor"
wait "$monitor" || soft_fail "monitor exited $?"
monitor=
cat "$log_file" >&2
grep -q "^Added device $dev (label \"MY DISK\", uuid $uuid, 32.0 MiB)\$" "$log_file" ||
        soft_fail "monitor printed no (or a wrong) line for the arrival of $dev"
grep -q "^Mounted $dev at /run/media/root/MY DISK " "$log_file" || soft_fail "monitor printed no mount line"
grep -q "^Unmounted $dev from /run/media/root/MY DISK\$" "$log_file" || soft_fail "monitor printed no unmount line"
grep -q "$plain\\b" "$log_file" && soft_fail "monitor printed a line for the ext4 device $plain"

finish
