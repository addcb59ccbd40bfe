#!/bin/bash
# The demo, played inside the box (see tests/demo.sh). Fails loudly if any step does not do what it
# says.
# box-polkit-rules: alice.rules ../box/rules/udisks-alice.rules
. "${BOX_LIB:-$(dirname "$0")/../box/lib}/common.sh"
in_box_require
. "$(dirname "$0")/../box/udisks-lib.sh"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
as() { local u=$1; shift; printf '%s$ %s\n' "$u" "$*"; as_user "$u" "$@"; }

step "A 256 MiB USB stick, formatted exFAT by mkfs.exfat, labelled 'Holiday 26'"
make_exfat_loop dev 256M -L "Holiday 26"
mkdir -p /etc/exfat-mountd
echo "$dev" >>/etc/exfat-mountd/removable-devices   # loop devices stand in for USB disks
on_exit "exfatctl unmount --force '$dev' >/dev/null 2>&1 || true"
show blkid "$dev"

step "bob has no polkit grant: his mount is refused and nothing is mounted"
if as bob exfatctl --no-ask-password mount "$dev"; then fail "bob could mount"; fi
findmnt -rn -S "$dev" && fail "bob's refused mount left something mounted"

step "alice mounts it through D-Bus; polkit allows her"
as alice exfatctl mount "$dev"
mp=$(findmnt -n -S "$dev" -o TARGET)
[ "$mp" = "/run/media/alice/Holiday 26" ] || fail "unexpected mount point '$mp'"
show findmnt -S "$dev" -o SOURCE,TARGET,FSTYPE,OPTIONS
as alice exfatctl list

step "The worker serving it: a transient unit, dynamic uid, no capabilities, no devices"
unit=$(busctl --system get-property org.exfat.Mountd1 "$(busctl --system call org.exfat.Mountd1 \
        /org/exfat/Mountd1 org.freedesktop.DBus.ObjectManager GetManagedObjects --json=short |
        python3 -c 'import json,sys; print(next(iter(json.load(sys.stdin)["data"][0])))')" \
        org.exfat.Mountd1.Mount Unit | sed 's/^s "\(.*\)"$/\1/')
pid=$(systemctl show -P MainPID "$unit")
show systemctl show -p Id -p User -p DynamicUser -p PrivateDevices -p PrivateNetwork "$unit"
grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$pid/status"
echo "device nodes the worker sees: $(nsenter -t "$pid" -m ls /dev | tr '\n' ' ')"
[ "$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")" = 0000000000000000 ] || fail "worker has capabilities"
[ "$(awk '/^Uid/ {print $2}' "/proc/$pid/status")" != 0 ] || fail "worker runs as root"
show sh -c "systemd-analyze security '$unit' | tail -1"

step "alice copies files, with a unicode name and a directory tree; she owns them"
as alice sh -c "mkdir -p '$mp/Trip 2026/Día 1' && head -c 50M /dev/urandom > '$mp/Trip 2026/Día 1/video.bin' \
        && echo 'Grüße aus Zürich 🏔' > '$mp/Trip 2026/postcard 🏔.txt'"
as alice ls -lR "$mp"
sum_before=$(sha256sum "$mp/Trip 2026/Día 1/video.bin" | cut -d' ' -f1)
[ "$(stat -c %U "$mp/Trip 2026/postcard 🏔.txt")" = alice ] || fail "files not owned by alice"

step "alice relabels the drive while it is mounted"
as alice exfatctl label "$dev" "TRIP 2026"

step "alice unmounts: it returns once every byte is on the device and the volume is clean"
as alice exfatctl unmount "$dev"
findmnt -rn -S "$dev" >/dev/null && fail "still mounted after unmount"
show fsck.exfat -n "$dev"
flags=$(od -An -tu1 -j106 -N1 "$dev" | tr -d ' ')
echo "VolumeFlags byte: $flags (bit 1 = dirty)"
[ $((flags & 2)) = 0 ] || fail "volume left dirty"
show exfatlabel "$dev"
[ "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" = "TRIP 2026" ] || fail "label not written"

step "Interoperability: exfat-fuse reads back exactly what the worker wrote"
peer=$(mktemp -d)
mount.exfat-fuse -o ro "$dev" "$peer" >/dev/null
sum_peer=$(sha256sum "$peer/Trip 2026/Día 1/video.bin" | cut -d' ' -f1)
cat "$peer/Trip 2026/postcard 🏔.txt"
umount "$peer"; rmdir "$peer"
[ "$sum_before" = "$sum_peer" ] || fail "exfat-fuse read different data"
echo "sha256 identical: $sum_peer"

step "The desktop road: a file manager asks udisks, udisks runs mount.exfat, exfat-mountd mounts"
start_udisks
chown alice: "$dev_IMAGE"
losetup -d "$dev"   # the same stick, plugged in again: alice sets it up through udisks as a user's disk
udisks_loop_setup stick alice "$dev_IMAGE"
wait_udisks_fs "$stick"
as alice udisksctl mount -b "$stick"
smp="/media/alice/TRIP 2026"
show findmnt -M "$smp" -o SOURCE,TARGET,FSTYPE,OPTIONS
[ "$(findmnt -rn -o FSTYPE -M "$smp")" = fuseblk.exfat ] || fail "udisks did not mount through exfat-mountd"
sunit=exfat-worker@$(systemd-escape --path "$stick").service
show systemctl show -p Id -p ActiveState -p DynamicUser "$sunit"
[ "$(sha256sum "$smp/Trip 2026/Día 1/video.bin" | cut -d' ' -f1)" = "$sum_before" ] || fail "udisks mount reads different data"
as alice sh -c "head -c 20M /dev/urandom > '$smp/from-the-file-manager.bin'"
as alice udisksctl unmount -b "$stick"
echo "worker unit when udisksctl returned: $(systemctl is-active "$sunit" || true)"
systemctl is-active --quiet "$sunit" && fail "the worker still runs after udisksctl unmount"
show fsck.exfat -n "$stick"
flags=$(od -An -tu1 -j106 -N1 "$stick" | tr -d ' ')
echo "VolumeFlags byte: $flags (bit 1 = dirty)"
[ $((flags & 2)) = 0 ] || fail "volume left dirty by the udisks unmount"
as alice udisksctl loop-delete -b "$stick"

step "Demo complete"
