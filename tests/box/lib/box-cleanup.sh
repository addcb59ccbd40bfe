#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs inside the box (tests/box/run calls it through nsenter) just before the box is killed. Releases
# what killing the box's processes would not: FUSE connections (a server can hang at exit waiting for a
# DESTROY from itself) and loop devices, which are global to the kernel.
# Arguments: the major:minor numbers of every filesystem the HOST has mounted (what the box inherited
# from the host is never touched). A loop device is the
# box's own when its backing file, looked up in the box, is that very inode on a filesystem the host
# does not have (the box's tmpfs or overlays); loop devices of anyone else are never touched.
# Prints one line per thing it released.
set -u

declare -A host_dev=()
for d in "$@"; do
        host_dev[$d]=1
done

# FUSE mounts the box made: abort the connection (fusectl names it by the kernel's dev_t: major << 20 |
# minor), then detach the mount. The box's mount table starts as a copy of the host's, so a FUSE mount
# whose device the host has mounted is someone else's and must not be touched.
while read -r majmin mnt fstype; do
        case "$fstype" in
        fuse | fuse.* | fuseblk | fuseblk.*) ;;
        *) continue ;;
        esac
        [ -z "${host_dev[$majmin]:-}" ] || continue
        mnt=$(printf '%b' "$mnt")
        conn=$(((${majmin%%:*} << 20) | ${majmin##*:}))
        if [ -w "/sys/fs/fuse/connections/$conn/abort" ]; then
                echo 1 >"/sys/fs/fuse/connections/$conn/abort" 2>/dev/null && echo "aborted FUSE connection $conn ($mnt)"
        fi
        umount -l "$mnt" 2>/dev/null && echo "detached FUSE mount $mnt ($fstype)"
done < <(awk '{ for (i = 7; $i != "-"; i++) ; print $3, $5, $(i + 1) }' /proc/self/mountinfo | tac)

while read -r name file ino majmin; do
        [ -n "$file" ] || continue
        [ -z "${host_dev[$majmin]:-}" ] || continue
        [ "$(stat -c '%Hd:%Ld %i' -- "$file" 2>/dev/null)" = "$majmin $ino" ] || continue
        losetup -d "$name" 2>/dev/null && echo "detached loop device $name ($file)"
done < <(losetup --list --noheadings --raw --output NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN 2>/dev/null)
exit 0
