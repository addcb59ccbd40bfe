#!/bin/bash
# SPDX-License-Identifier: MIT
# exfatctl end to end in the box: alice (granted by a rule) mounts a loop device, lists it (table and
# JSON), writes, meets a busy mount, forces it off, remounts with -o options and read-only, unmounts
# by device and by directory; fsck.exfat agrees the volume is clean. bob (no rule) gets exit 3 and
# nothing is mounted; errors map to their documented exit codes.
# Run: tests/box/run tests/box/test-exfatctl-mount.sh
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"

mounted() {
        findmnt -rn -S "$1" >/dev/null
}

make_exfat_loop dev 64M -L EXFTEST
zero_image=$(mktemp /var/tmp/exfatctl-zero.XXXXXX)
on_exit "rm -f '$zero_image'"
truncate -s 16M "$zero_image"
attach_loop zero "$zero_image"
sleeper=
on_exit 'unmount_leftovers "$dev"'
on_exit 'kill_quietly "$sleeper"'
mark_removable "$dev" "$zero"

log "bob (no polkit rule) is refused"
expect 3 exfatctl_as bob mount "$dev"
expect_err_has "Not authorized to mount $dev"
expect 3 exfatctl_as bob --no-ask-password mount "$dev"
! mounted "$dev" || soft_fail "bob's refused mount left $dev mounted"

log "alice mounts"
mp=/run/media/alice/EXFTEST
expect 0 exfatctl_as alice mount "$dev"
expect_out "Mounted $dev at $mp"
wait_for_mount "$mp" 5
check_eq "$mp" "$(findmnt -rn -S "$dev" -o TARGET)" "findmnt target of $dev"

log "list (table)"
expect 0 exfatctl_as alice list
echo "$out" >&2
head -n1 <<<"$out" | grep -q '^DEVICE  *MOUNT POINT  *LABEL  *UUID  *OWNER  *ACCESS  *STATE$' ||
        soft_fail "table header: [$out]"
row=$(grep "^$dev " <<<"$out" || true)
for w in "$mp" EXFTEST alice rw mounted; do
        grep -qw -- "$w" <<<"$row" || soft_fail "table row for $dev lacks $w: [$row]"
done

log "list --json"
uuid=$(blkid -o value -s UUID "$dev")
expect 0 exfatctl_as alice list --json
python3 - "$out" "$dev" "$mp" "$uuid" <<'PY' || soft_fail "list --json: [$out]"
import json, sys
doc, dev, mp, uuid = sys.argv[1:]
mounts = json.loads(doc)
assert isinstance(mounts, list), mounts
mine = [m for m in mounts if m["device"] == dev]
assert len(mine) == 1, mounts
m = mine[0]
want = {"mount_point": mp, "label": "EXFTEST", "owner": "alice", "access": "rw", "read_only": False,
        "state": "mounted"}
for k, v in want.items():
    assert m[k] == v, (k, m[k], v)
assert m["uuid"].upper() == uuid.upper(), (m["uuid"], uuid)
assert isinstance(m["owner_uid"], int), m
assert m["object"].startswith("/org/exfat/Mountd1/mount/"), m
PY

log "alice writes and owns the files"
as_user alice sh -c "echo hello >'$mp/hello.txt' && mkdir '$mp/dir'" || soft_fail "alice cannot write to $mp"
check_eq alice "$(stat -c %U "$mp/hello.txt" 2>&1)" "owner of hello.txt"

log "mounting again: already mounted"
expect 8 exfatctl_as alice mount "$dev"

log "bob may not unmount alice's mount"
expect 3 exfatctl_as bob unmount "$dev"
expect_err_has "Not authorized to unmount $dev"
mounted "$dev" || soft_fail "bob's refused unmount unmounted $dev"

log "busy, then --force"
setpriv --reuid=alice --regid=alice --init-groups -- sh -c "cd '$mp' && exec sleep 300" </dev/null &
sleeper=$!
wait_for 5 cwd_is "$sleeper" "$mp" || fail "the sleeper never got into $mp"
expect 5 exfatctl_as alice unmount "$dev"
expect_err_has "Cannot unmount $dev"
mounted "$dev" || soft_fail "a busy unmount without --force unmounted $dev"
expect 0 exfatctl_as alice unmount --force "$dev"
expect_out "Unmounted $dev."
kill -KILL "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null || true
sleeper=
! grep -q " $mp " /proc/self/mountinfo || soft_fail "$mp still in mountinfo after --force"

log "not mounted any more"
expect 4 exfatctl_as alice unmount "$dev"
expect_err_has "$dev"
fsck_clean "$dev"

log "mount with -o options, unmount by directory"
expect 0 exfatctl_as alice mount "$dev" -o noexec -o fmask=0077,dmask=0027
mp2=${out#Mounted "$dev" at }
findmnt -rn -S "$dev" -o OPTIONS | grep -qw noexec || soft_fail "noexec not in: $(findmnt -rn -S "$dev" -o OPTIONS)"
# Files get 0777 & ~fmask, without the x bits under noexec; directories 0777 & ~dmask.
check_eq 600 "$(stat -c %a "$mp2/hello.txt" 2>&1)" "mode of hello.txt with fmask=0077,noexec"
check_eq 750 "$(stat -c %a "$mp2/dir" 2>&1)" "mode of dir with dmask=0027"
check_eq hello "$(cat "$mp2/hello.txt" 2>&1)" "hello.txt after the forced unmount"
expect 0 exfatctl_as alice unmount "$mp2/"
expect_out "Unmounted $mp2."
! mounted "$dev" || soft_fail "$dev still mounted after unmount $mp2"

log "relative paths are made absolute"
expect 0 as_user alice sh -c "cd /dev && exec exfatctl mount '${dev#/dev/}'"
expect_out "Mounted $dev at $mp"
expect 0 as_user alice sh -c "cd '$(dirname "$mp")' && exec exfatctl unmount '$(basename "$mp")'"

log "read-only"
expect 0 exfatctl_as alice mount --read-only "$dev"
mp3=${out#Mounted "$dev" at }
expect 0 exfatctl_as alice list --json
python3 -c 'import json, sys; m = [m for m in json.loads(sys.argv[1]) if m["device"] == sys.argv[2]]; assert m and m[0]["read_only"] and m[0]["access"] == "ro", m' \
        "$out" "$dev" || soft_fail "read-only mount not listed as ro: [$out]"
if as_user alice sh -c "echo x >'$mp3/ro.txt'" 2>/dev/null; then soft_fail "wrote to a read-only mount"; fi
expect 0 exfatctl_as alice unmount "$dev"
fsck_clean "$dev"

log "dirty volume: read-only with a note, read-write with -o force"
# VolumeFlags (boot sector offset 106) bit 1 is VolumeDirty; the flags are outside the boot checksum.
printf '\002\000' | dd of="$dev" bs=1 seek=106 conv=notrunc status=none
expect 0 exfatctl_as alice mount "$dev"
expect_err_has "marked dirty"
findmnt -rn -S "$dev" -o OPTIONS | grep -qw ro || soft_fail "dirty volume not mounted ro: $(findmnt -rn -S "$dev" -o OPTIONS)"
expect 0 exfatctl_as alice unmount "$dev"
expect 0 exfatctl_as alice mount -o force "$dev"
[ -z "$err" ] || soft_fail "a forced mount printed [$err]"
findmnt -rn -S "$dev" -o OPTIONS | grep -qw rw || soft_fail "forced mount not rw: $(findmnt -rn -S "$dev" -o OPTIONS)"
expect 0 exfatctl_as alice unmount "$dev"
fsck_clean "$dev"

log "errors"
expect 4 exfatctl_as alice mount /dev/exfatctl-no-such-device
expect 6 exfatctl_as alice mount "$zero"
! mounted "$zero" || soft_fail "a zeroed device got mounted"
expect 2 exfatctl_as alice mount "$dev" -o bogus=1
expect_err_has "unknown option"
! mounted "$dev" || soft_fail "a usage error mounted $dev"

log "nothing left"
expect 0 exfatctl_as alice list --json
check_eq 0 "$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$out")" "mounts left"

finish
