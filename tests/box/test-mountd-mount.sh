#!/bin/bash
# SPDX-License-Identifier: MIT
# The main path through exfat-mountd with real systemd, dbus-daemon and polkitd: alice (granted by a
# polkit rule) mounts a loop device, gets /run/media/alice/LABEL, owns the files and writes; the
# worker runs under a dynamic uid without capabilities and device nodes; the mount's read-ahead is
# raised; bob may not unmount her mount; a busy mount gives Busy; Unmount returns with the volume
# clean (fsck.exfat -n, dirty flag).
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
alice=$(id -u alice)
make_exfat_loop dev 128M -L MYDISK
unit=$(worker_unit "$dev")
unmount_at_exit "$dev"

# Mount as alice.
out=$(as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "$dev" 0) ||
        fail "alice's Mount failed: $out"
mp=/run/media/alice/MYDISK
obj=$(awk '{print $2}' <<<"$out" | tr -d '"')
check_eq "os \"$obj\" \"$mp\"" "$out" "Mount reply"
pass "alice mounted $dev on $mp ($obj)"

# What the kernel sees: a fuseblk.exfat mount of the real device, nosuid, nodev.
check_eq "fuseblk.exfat $dev" "$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$mp" | tr -s ' ')" "mount type and source"
opts=$(findmnt -n -o OPTIONS --mountpoint "$mp")
check_contains "$opts" nosuid "mount options"
check_contains "$opts" nodev "mount options"
check_contains "$opts" allow_other "mount options"
# READs below 1 MiB, or libfuse cannot splice their replies (daemon/common/readahead.h).
check_contains "$opts" max_read=983040 "mount options"
check_eq "0:0 750" "$(stat -c '%u:%g %a' /run/media/alice)" "/run/media/alice owner and mode"
check_contains "$(getfacl -cn /run/media/alice 2>/dev/null)" "user:$alice:r-x" "ACL of /run/media/alice"
as_user bob test -x /run/media/alice && fail "bob can enter /run/media/alice"
pass "fuseblk.exfat on $dev, nosuid,nodev; /run/media/alice root 0750 + ACL alice r-x"

# The read-ahead was raised after FUSE INIT, which clamps it to the kernel's 128 KiB proposal; the
# mount's own backing device is MAJ:MIN-fuseblk (the block device keeps its own setting).
bdi=/sys/class/bdi/$(findmnt -n -o MAJ:MIN --mountpoint "$mp" | tr -d ' ')-fuseblk
check_eq 4096 "$(cat "$bdi/read_ahead_kb")" "read-ahead of $bdi when Mount returned"
pass "read-ahead of the mount raised to 4096 KiB before Mount returned"

# Properties and the ObjectManager.
check_eq "\"$dev\"" "$(mount_prop "$obj" Device)" Device
check_eq "\"$mp\"" "$(mount_prop "$obj" MountPoint)" MountPoint
check_eq "\"MYDISK\"" "$(mount_prop "$obj" Label)" Label
check_eq "$alice" "$(mount_prop "$obj" Owner)" Owner
check_eq false "$(mount_prop "$obj" ReadOnly)" ReadOnly
check_eq "\"mounted\"" "$(mount_prop "$obj" State)" State
check_eq "\"$unit\"" "$(mount_prop "$obj" Unit)" Unit
uuid=$(blkid -s UUID -o value "$dev" 2>/dev/null || true)
[ -z "$uuid" ] || check_eq "\"$uuid\"" "$(mount_prop "$obj" Uuid)" "Uuid (blkid says $uuid)"
check_contains "$(busctl --system call "$MOUNTD_DEST" "$MOUNTD_PATH" org.freedesktop.DBus.ObjectManager GetManagedObjects)" \
        "$obj" GetManagedObjects
live=$(busctl --system introspect --xml-interface "$MOUNTD_DEST" "$obj")
for member in $(sed -n '/<interface name="org.exfat.Mountd1.Mount">/,/<\/interface>/ s/.*<\(method\|property\) name="\([^"]*\)".*/\2/p' \
        /usr/share/dbus-1/interfaces/org.exfat.Mountd1.xml); do
        check_contains "$live" "name=\"$member\"" "live mount object (member $member of the XML)"
done
pass "mount object properties (Uuid $uuid), the XML's Mount members, GetManagedObjects"

# alice owns the files and can write.
as_user alice sh -c "echo hello > '$mp/hello.txt' && mkdir '$mp/dir' && cp /etc/services '$mp/dir/services'" ||
        fail "alice cannot write to $mp"
check_eq "$alice" "$(stat -c %u "$mp/hello.txt")" "owner of a new file"
check_eq "$alice" "$(stat -c %u "$mp")" "owner of the root directory"
check_eq hello "$(as_user alice cat "$mp/hello.txt")" "content read back"
check_eq "644" "$(stat -c %a "$mp/hello.txt")" "file mode (fmask 0133: not executable)"
as_user bob sh -c "echo x > '$mp/bob.txt'" 2>/dev/null && fail "bob could write into alice's mount"
pass "alice owns the files (uid $alice, 0644) and writes; bob cannot"

# The worker: dynamic uid, no capabilities, no device nodes.
wpid=$(systemctl show -P MainPID "$unit")
[ -n "$wpid" ] && [ "$wpid" != 0 ] || fail "no worker process for $unit"
wuid=$(awk '/^Uid:/ {print $2}' "/proc/$wpid/status")
[ "$wuid" -ge 61184 ] && [ "$wuid" -le 65519 ] || fail "worker uid $wuid is not a dynamic uid"
for cap in CapEff CapPrm CapBnd CapAmb; do
        check_eq 0000000000000000 "$(awk "/^$cap:/ {print \$2}" "/proc/$wpid/status")" "worker $cap"
done
check_eq 1 "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$wpid/status")" "worker NoNewPrivs"
check_eq 2 "$(awk '/^Seccomp:/ {print $2}' "/proc/$wpid/status")" "worker seccomp mode"
wdev=$(nsenter -t "$wpid" -m ls /dev)
if grep -qxE 'loop[0-9]+|fuse|sd[a-z]+|vd[a-z]+|nvme.*|loop-control' <<<"$wdev"; then
        fail "the worker sees device nodes: $(tr '\n' ' ' <<<"$wdev")"
fi
# The daemon hands the worker two opens of the device: buffered for metadata, O_DIRECT (040000)
# for file data, which the sandbox could not open itself.
# device_fds PID DEV : how many of PID's fds open DEV with O_DIRECT, without, and for writing.
device_fds() {
        local f flags direct=0 buffered=0 writable=0
        for f in /proc/"$1"/fd/*; do
                [ "$(stat -L -c %t:%T "$f" 2>/dev/null)" = "$(stat -c %t:%T "$2")" ] || continue
                flags=$(awk '/^flags:/ {print $2}' "/proc/$1/fdinfo/${f##*/}")
                if (( 8#$flags & 8#40000 )); then direct=$((direct + 1)); else buffered=$((buffered + 1)); fi
                (( (8#$flags & 3) != 0 )) && writable=$((writable + 1))
        done
        echo "$direct $buffered $writable"
}
check_eq "1 1 2" "$(device_fds "$wpid" "$dev")" "worker's O_DIRECT, buffered and writable fds of $dev"
pass "worker pid $wpid: uid $wuid (dynamic), CapEff/Prm/Bnd/Amb 0, NoNewPrivs, seccomp; /dev: $(tr '\n' ' ' <<<"$wdev")"



rating=$(systemd-analyze security --no-pager "$unit" | grep "Overall exposure level")
log "worker exposure: $rating"
grep -qE ' (SAFE|OK) ' <<<"$rating" || fail "worker exposure rating is not SAFE or OK: $rating"

# A second Mount of the same device; bob may not unmount alice's mount.
expect_error AlreadyMounted as alice Mount "$dev" "{}"
expect_error NotAuthorized as bob Unmount "$mp" "{}"
findmnt --mountpoint "$mp" >/dev/null || fail "bob's refused Unmount unmounted it anyway"
pass "AlreadyMounted for a second Mount; bob's Unmount refused"

# Busy: an open file keeps the mount; Unmount says Busy and changes nothing.
as_user alice bash -c "exec 3<'$mp/hello.txt'; exec sleep 30" &
wait_for 5 pgrep -u alice -x sleep || fail "the holder did not start"
holder=$(pgrep -u alice -x sleep)
on_exit "kill $holder 2>/dev/null || true"
wait_for 5 sh -c "ls -l /proc/$holder/fd 2>/dev/null | grep -q hello.txt" || fail "the holder did not open the file"
expect_error Busy as alice Unmount "$mp" "{}"
check_eq "\"mounted\"" "$(mount_prop "$obj" State)" "State after a Busy unmount"
findmnt --mountpoint "$mp" >/dev/null || fail "a Busy Unmount unmounted it"
{ kill "$holder"; wait; } 2>/dev/null || true
pass "busy mount: Busy, still mounted"

# Unmount through the mount object; when it returns, the volume must be clean.
t0=$(date +%s%N)
as_user alice busctl_call "$MOUNTD_DEST" "$obj" org.exfat.Mountd1.Mount Unmount 'a{sv}' 0 >/dev/null ||
        fail "alice's Unmount failed"
log "Unmount took $((($(date +%s%N) - t0) / 1000000)) ms"
findmnt --mountpoint "$mp" >/dev/null && fail "$mp still mounted after Unmount returned"
[ -e "$mp" ] && fail "$mp still exists"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after Unmount"
fsck_clean "$dev"
busctl --system introspect "$MOUNTD_DEST" "$obj" >/dev/null 2>&1 && fail "$obj still exported"
wait_for 5 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
pass "Unmount: mount, mount point, object and worker gone; fsck.exfat -n clean, dirty flag clear"

# The data is there: mount again (as root, read-only) and read it back.
out=$(gcall Mount "$dev" "{'read-only': <true>}") || fail "read-only remount failed: $out"
mp2=$(sed -n "s/.*, '\(.*\)').*/\1/p" <<<"$out")
check_eq hello "$(cat "$mp2/hello.txt")" "hello.txt after remount"
cmp -s /etc/services "$mp2/dir/services" || fail "dir/services differs after remount"
findmnt -n -o OPTIONS --mountpoint "$mp2" | grep -qw ro || fail "read-only mount is not ro"
# Read-only too, file data is read around the device's page cache; nothing can write the device.
wpid2=$(systemctl show -P MainPID "$(worker_unit "$dev")")
check_eq "1 1 0" "$(device_fds "$wpid2" "$dev")" "read-only worker's O_DIRECT, buffered and writable fds of $dev"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount of the read-only mount failed"
fsck_clean "$dev"
pass "data intact after remount (read-only: ro in mountinfo; device fds O_DIRECT + buffered, both read-only)"

mountd_alive "$pid"
pass "daemon still the same process"
