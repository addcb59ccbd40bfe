#!/bin/bash
# SPDX-License-Identifier: MIT
# PID 1 of the box before it becomes systemd: runs in fresh PID, mount and cgroup namespaces (made by
# tests/box/run) and builds the box's view of the system without writing anything of the host's:
#   /usr   overlay: the staged install on top of the host's /usr, writable into a tmpfs (tests may
#          add polkit actions or bus activation files)
#   /etc   overlay with a tmpfs upper dir (test users, polkit rules, config are box-only)
#   /var   overlay with a tmpfs upper dir; /run, /tmp, /var/tmp, /mnt, /media fresh tmpfs
#   users  alice and bob of the box's own, whatever users of those names the host has
#   cgroup hierarchies remounted so their root is the box's own cgroup
# then execs systemd with only the box's unit directory. systemd must never see the host's unit path:
# its sysinit.target would run tmpfiles --remove on the host's /tmp.
# Input (environment): BOX_DIR, BOX_STAGE, BOX_UNITS, BOX_KEEP (host directories to keep visible),
# BOX_POLKIT_RULES (absolute paths, space-separated lists).
set -euo pipefail
# One compound command, read whole before it runs: editing this file while boxes are up (the tree
# is shared) cannot change what a running instance does next.
{

fail() {
        echo "box-init: $*" >&2
        exit 1
}

mount --make-rprivate /

# The new mount namespace is a copy of the host's, and a copy pins what it holds: a host FUSE mount
# kept alive here gets no DESTROY when its owner unmounts it, a loop device stays busy. Drop (in the
# box only) every FUSE and loop-device mount and whatever lives below /tmp, /var/tmp and /run, which
# the box hides anyway.
awk '{ for (i = 7; $i != "-"; i++) ; print $5, $(i + 1), $(i + 2) }' /proc/self/mountinfo | tac |
        while read -r mnt fstype source; do
                case "$fstype:$source:$mnt" in
                fuse:* | fuse.*:* | fuseblk*:* | *:/dev/loop*:* | *:*:/tmp/* | *:*:/var/tmp/* | *:*:/run/*)
                        umount -l "$(printf '%b' "$mnt")" 2>/dev/null || true ;;
                esac
        done

mount -t tmpfs -o mode=0755,nosuid,nodev box-run /run
mkdir -p /run/box/units /run/box/host-etc /run/systemd/system
# The host's /etc as it is, read-only: lets tests prove the box's users and rules stay in the box.
mount --bind -o ro /etc /run/box/host-etc

# Everything writable lives in one tmpfs that dies with the mount namespace.
rw="$BOX_DIR/rw"
mount -t tmpfs -o mode=0755 box-rw "$rw" || fail "cannot mount tmpfs on $rw"
mkdir -p "$rw"/{usr,etc,var}/{upper,work}

mount -t overlay box-usr -o "lowerdir=$BOX_STAGE/usr:/usr,upperdir=$rw/usr/upper,workdir=$rw/usr/work" /usr ||
        fail "cannot overlay /usr"
mount -t overlay box-etc -o "lowerdir=/etc,upperdir=$rw/etc/upper,workdir=$rw/etc/work" /etc ||
        fail "cannot overlay /etc"
mount -t overlay box-var -o "lowerdir=/var,upperdir=$rw/var/upper,workdir=$rw/var/work" /var ||
        fail "cannot overlay /var"

# Polkit rules for this run; polkitd reads them when it starts.
mkdir -p /etc/polkit-1/rules.d
for r in ${BOX_POLKIT_RULES:-}; do
        [ -f "$r" ] || fail "polkit rules file $r not found"
        install -m 0644 "$r" /etc/polkit-1/rules.d/
done

# systemd's console output goes to a file the harness can show; nothing reaches the host's console
# or kernel log.
mount --bind "$BOX_DIR/console.log" /dev/console
mount --bind "$BOX_DIR/console.log" /dev/kmsg

# Host paths under /tmp and /var/tmp are about to be hidden. The source and build directories
# (BOX_KEEP) stay visible, read-only, at their own paths: test scripts and built helpers live there.
cp -a "$BOX_UNITS"/. /run/box/units/
keep=()
# Parents before children (sorted), or a later mount would hide an earlier one.
for k in $(printf '%s\n' ${BOX_KEEP:-} | sort -u); do
        case "$k" in
        /tmp/* | /var/tmp/*)
                keep+=("$k")
                mkdir -p "/run/box/keep/${#keep[@]}"
                mount --bind -o ro "$k" "/run/box/keep/${#keep[@]}"
                ;;
        esac
done
mount -t tmpfs -o mode=1777,nosuid,nodev box-tmp /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev box-var-tmp /var/tmp
# Tests mount on chosen mount points under /mnt and /media: the host's must never get them. (Unless
# the source or build directory lives there: then the host's stays, and such tests write into it.)
for d in /mnt /media; do
        case " ${BOX_KEEP:-} " in
        *" $d/"*) continue ;;
        esac
        mkdir -p "$d" 2>/dev/null || continue
        mount -t tmpfs -o mode=0755,nosuid,nodev "box${d//\//-}" "$d"
done
for i in "${!keep[@]}"; do
        mkdir -p "${keep[$i]}"
        mount --move "/run/box/keep/$((i + 1))" "${keep[$i]}"
done
rm -rf /run/box/keep /run/box/build

# Kernel settings are the host's: read-only in the box, as in any container. (Only this view is
# read-only; the mounts made below stay writable.)
mount -o remount,bind,ro /sys
# Except backing-device settings: exfat-mountd raises its FUSE mounts' read-ahead there, as it does
# on a host, where /sys is writable for it.
mount --bind /sys/devices/virtual/bdi /sys/devices/virtual/bdi
mount -o remount,bind,rw /sys/devices/virtual/bdi
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys

# cgroup hierarchies rooted at the box's cgroup (the cgroup namespace made it our root).
# Same layout as the host's (BOX_CGROUP_LAYOUT): systemd picks its mode from what it finds.
if [ "${BOX_CGROUP_LAYOUT:-hybrid}" = unified ]; then
        mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
else
        mount -t tmpfs -o mode=0755,nosuid,nodev,noexec box-cgroup /sys/fs/cgroup
        mkdir -p /sys/fs/cgroup/unified /sys/fs/cgroup/systemd
        mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup/unified
        mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup /sys/fs/cgroup/systemd
fi

# systemd does this at boot on a real system; the daemon aborts FUSE connections through it.
mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true

# Test users, in the box's /etc only. The host may have users or groups of these names (its /etc is
# the overlay's lower layer): theirs are dropped from the box's copy first, memberships in other
# groups included, so that the box's alice is the box's alone and useradd does not refuse.
forget_users() {
        local f tmp
        for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid; do
                [ -f "$f" ] || continue
                tmp=$(mktemp /run/box/users.XXXXXX)
                awk -F: -v OFS=: -v file="$f" '
                        function strip(list,    n, i, a, out) {
                                n = split(list, a, ",")
                                out = ""
                                for (i = 1; i <= n; i++)
                                        if (a[i] != "alice" && a[i] != "bob")
                                                out = out (out == "" ? "" : ",") a[i]
                                return out
                        }
                        $1 == "alice" || $1 == "bob" { next }
                        file == "/etc/group" && NF >= 4 { $4 = strip($4) }
                        file == "/etc/gshadow" && NF >= 4 { $3 = strip($3); $4 = strip($4) }
                        { print }' "$f" >"$tmp" || fail "cannot read $f"
                # In place (cat, not mv): the file keeps its mode and owner.
                cat "$tmp" >"$f" || fail "cannot rewrite $f"
                rm -f "$tmp"
        done
}
forget_users
for u in alice bob; do
        useradd --no-create-home --user-group --shell /bin/bash --home-dir /nonexistent "$u" ||
                fail "useradd $u failed"
done
{
        for u in alice bob; do
                U=${u^^}
                echo "BOX_${U}_UID=$(id -u "$u")"
                echo "BOX_${U}_GID=$(id -g "$u")"
        done
} >/run/box/env

# A volatile journal without rate limits: it is the box's debugging log.
mkdir -p /etc/systemd/journald.conf.d
cat >/etc/systemd/journald.conf.d/box.conf <<'EOF'
[Journal]
Storage=volatile
RateLimitBurst=0
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF

# Like a booted host (systemd does this outside containers): mounts propagate between the box's
# namespaces, e.g. from the daemon's to a test's. All peer groups are new, so nothing reaches the host.
mount --make-rshared /

export SYSTEMD_UNIT_PATH=/run/box/units
export container=exfat-box
unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID INVOCATION_ID
exec /usr/lib/systemd/systemd --system --unit=box.target --log-target=journal-or-kmsg --show-status=no
exit
}
