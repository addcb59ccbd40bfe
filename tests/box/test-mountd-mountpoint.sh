#!/bin/bash
# SPDX-License-Identifier: MIT
# A chosen mount point, for a caller polkit grants everything (mount-point included): only strictly
# beneath /run/media, /media, /mnt or the caller's home, never in or above a system directory, never
# over a non-empty directory, never through a symlink on the way. Refusals are named errors (system
# directories and places outside the prefixes before polkit is asked, for root too) and leave nothing
# mounted and nothing created. /mnt/x and ~/x work, and the directory made for them goes again.
# box-polkit-rules: rules/mountd-alice-everything.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L CHOSEN
unmount_at_exit "$dev"

# alice gets a home (the box's users have none): /run is the box's own tmpfs.
home=/run/box-home/alice
mkdir -p "$home"
chown alice: "$home"
usermod -d "$home" alice || fail "usermod failed"
on_exit "usermod -d /nonexistent alice"

nothing_mounted() {
        ! findmnt --source "$dev" >/dev/null || fail "$1: $dev got mounted on $(findmnt -n -o TARGET --source "$dev")"
        [ -z "$(worker_units)" ] || wait_for 10 sh -c '[ -z "$(systemctl list-units --no-legend --plain "exfat-worker@*")" ]' ||
                fail "$1: a worker is still running: $(worker_units)"
}

# refused USER MOUNT_POINT TEXT : InvalidArgument whose message holds TEXT; nothing mounted.
refused() {
        local out
        out=$(as_user "$1" gcall Mount "$dev" "{'mount-point': <'$2'>}") &&
                fail "$1's Mount on $2 succeeded: $out"
        check_contains "$out" "$MOUNTD_ERR.InvalidArgument" "error of a Mount on $2"
        check_contains "$out" "$3" "message of a Mount on $2"
        nothing_mounted "$2"
}

ls -A /usr/local/bin >/tmp/usr-local-bin.before
refused alice /usr/local/bin "system directory"
refused alice /etc/udev/rules.d "system directory"
refused root /etc/udev/rules.d "system directory"
refused alice /etc "system directory"
refused alice /run "system directory"
refused alice /x "not under an allowed mount point prefix"
refused root /x "not under an allowed mount point prefix"
refused alice /tmp/x "not under an allowed mount point prefix"
refused alice /home/bob/x "not under an allowed mount point prefix"
# Per-user media directories: not another user's, and not one itself (the next default mount would
# go inside the mount). Before, alice could mount on /run/media/bob and bob's next mount then went
# through her FUSE mount from the daemon's event loop.
refused alice /run/media/bob "a user's media directory or lies in another user's"
refused alice /run/media/bob/x "a user's media directory or lies in another user's"
refused alice /media/bob/STICK "a user's media directory or lies in another user's"
refused alice /run/media/alice "a user's media directory or lies in another user's"
[ ! -e /run/media/bob ] || fail "/run/media/bob was created"
[ ! -e /x ] || fail "/x was created"
[ ! -e /tmp/x ] || fail "/tmp/x was created"
ls -A /usr/local/bin | cmp -s - /tmp/usr-local-bin.before || fail "/usr/local/bin changed"
pass "system directories and places outside the prefixes: InvalidArgument, nothing mounted or created"

# A parent that is a symlink (to a system directory, or to a fine place): the daemon walks the path
# without following any, so nothing is made or mounted where the link points.
ln -s /etc/udev /mnt/to-etc
mkdir /mnt/real
ln -s /mnt/real /mnt/to-real
on_exit "rm -rf /mnt/to-etc /mnt/real /mnt/to-real"
refused alice /mnt/to-etc/rules.d "symbolic links"
refused alice /mnt/to-etc/new "symbolic links"
refused alice /mnt/to-real/x "symbolic links"
[ ! -e /etc/udev/new ] || fail "/etc/udev/new was created through the symlink"
[ ! -e /mnt/real/x ] || fail "/mnt/real/x was created through the symlink"
# The mount point itself a symlink.
ln -s /etc/udev/rules.d "$home/rules"
refused alice "$home/rules" "symbolic links"
pass "a symlinked parent or mount point: InvalidArgument, nothing mounted or created"

mkdir /mnt/full
echo keep >/mnt/full/file
on_exit "rm -rf /mnt/full"
refused alice /mnt/full "not empty"
check_eq keep "$(cat /mnt/full/file)" "the non-empty directory's file"
pass "a non-empty directory: InvalidArgument"

# Allowed: a new directory under /mnt, and one in alice's home; each goes again after Unmount.
for mp in /mnt/x "$home/x"; do
        mount_as alice "$dev" 1 mount-point s "$mp"
        check_eq "$mp" "$MOUNT_POINT" "mount point"
        check_eq "$dev" "$(findmnt -n -o SOURCE --mountpoint "$mp")" "source at $mp"
        as_user alice sh -c "echo hi > '$mp/f'" || fail "alice cannot write to $mp"
        unmount_as alice "$mp"
        [ ! -e "$mp" ] || fail "$mp (made by the daemon) was not removed"
done
# An existing empty directory of hers stays after Unmount.
mkdir "$home/mine"
chown alice: "$home/mine"
mount_as alice "$dev" 1 mount-point s "$home/mine"
unmount_as alice "$home/mine"
[ -d "$home/mine" ] || fail "her own directory $home/mine was removed"
pass "/mnt/x and ~/x mounted and removed again; her own empty directory kept"

# After the mount, alice swaps a parent of her mount point for a symlink to someone else's mount
# (a tmpfs standing in for bob's stick). Unmount and the removal of the directory the daemon made
# must reach only her own mount, never follow the link: before, the daemon synced and detached the
# tmpfs and removed its directory as root.
mkdir -p /mnt/victim/STICK
mount -t tmpfs -o size=1M victim /mnt/victim/STICK || fail "cannot mount the stand-in tmpfs"
echo bob >/mnt/victim/STICK/f
on_exit "umount /mnt/victim/STICK 2>/dev/null; rm -rf /mnt/victim"
mkdir "$home/a"
chown alice: "$home/a"
mount_as alice "$dev" 1 mount-point s "$home/a/STICK"
as_user alice sh -c "mv '$home/a' '$home/b' && ln -s /mnt/victim '$home/a'" || fail "alice cannot swap her directory"
for force in false true; do
        out=$(as_user alice gcall Unmount "$home/a/STICK" "{'force': <$force>}") &&
                fail "Unmount (force $force) through the swapped parent succeeded: $out"
        check_contains "$out" "$MOUNTD_ERR." "error of Unmount (force $force) through the swapped parent"
        findmnt -n -o FSTYPE --mountpoint /mnt/victim/STICK | grep -qx tmpfs ||
                fail "the unmount (force $force) reached the tmpfs behind the symlink"
        check_eq bob "$(cat /mnt/victim/STICK/f)" "the stand-in's file"
done
findmnt --source "$dev" -n -o TARGET | grep -qx "$home/b/STICK" || fail "her mount is not where she moved it"
# Moved back, it unmounts as ever, and the directory the daemon made goes.
as_user alice sh -c "rm '$home/a' && mv '$home/b' '$home/a'" || fail "alice cannot move her directory back"
unmount_as alice "$home/a/STICK"
[ ! -e "$home/a/STICK" ] || fail "$home/a/STICK (made by the daemon) was not removed"
[ -d /mnt/victim/STICK ] || fail "/mnt/victim/STICK was removed"
pass "a parent swapped for a symlink after the mount: Unmount refused, nothing behind the link touched"

mountd_alive "$pid"
