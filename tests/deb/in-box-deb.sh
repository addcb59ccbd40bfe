#!/bin/bash
# SPDX-License-Identifier: MIT
# Inside a box started with `tests/box/run --deb FILE.deb` (see tests/deb/test-deb.sh): nothing of
# the project is installed yet. Installs the package with dpkg, then, as alice: the daemon starts by
# bus activation, the polkit actions are known, exfatctl mounts, labels and unmounts; root's
# mount -t exfat and umount go through the packaged helpers; man pages and completion are where
# they belong. Installing the package again (an upgrade) restarts the daemon, which keeps serving a
# mounted volume. Finally `apt-get purge` with a volume still mounted: the service stops (the volume is
# unmounted, clean), and no file or directory is left that was not there before the install.
# box-polkit-rules: ../box/rules/mountd-alice-basic.rules
. "${BOX_LIB:-$(dirname "$0")/../box/lib}/common.sh"
. "$(dirname "$0")/../box/mountd-lib.sh"
in_box_require
[ -n "${BOX_DEB:-}" ] && [ -f "$BOX_DEB" ] || fail "BOX_DEB is not set: run through tests/box/run --deb FILE.deb"

# What the file systems hold, apart from dpkg's and apt's own records, caches and logs, which an
# install and a purge legitimately change, and /run/media (checked on its own: the daemon makes
# /run/media/$USER, which udisks shares on other distributions, and leaves it).
snapshot() {
        find /usr /etc /var /run -xdev \
                \( -path /var/lib/dpkg -o -path /var/cache -o -path /var/log -o -path /var/lib/apt \
                   -o -path /run/systemd -o -path /run/box -o -path /run/user -o -path /run/udev \
                   -o -path /run/dbus -o -path /run/mount -o -path /run/log -o -path /run/media \
                   -o -path /etc/ld.so.cache \) -prune -o -print |
                LC_ALL=C sort
}

# Nothing of the project before the install: the box did not overlay a meson build.
for f in /usr/bin/exfatctl /usr/libexec/exfat-mountd /usr/sbin/mount.exfat \
        /usr/share/dbus-1/system-services/org.exfat.Mountd1.service; do
        [ ! -e "$f" ] || fail "$f exists before the package is installed"
done
dpkg-query -W -f '${Status}' exfat-mountd 2>/dev/null | grep -q 'install ok installed' &&
        fail "exfat-mountd is installed before the test installs it"
# A container image's policy-rc.d (exit 101: no service may be started or stopped while images are
# built) comes with the host's /usr; a booted system has none, and the box is one. Removed in the
# box's /usr overlay only, so that the maintainer scripts' service actions run as on a real system.
if [ -e /usr/sbin/policy-rc.d ]; then
        rm -f /usr/sbin/policy-rc.d
        log "removed the host image's /usr/sbin/policy-rc.d in the box"
fi
mark_loops_removable    # the admin's configuration, not the package's: kept across the purge
make_exfat_loop dev 64M -L DEBTEST
mkdir -p /mnt/helper
before=$(snapshot)
pass "nothing of exfat-mountd in the box before the install"

# ---- install ----
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$BOX_DEB" 2>&1) || fail "dpkg -i failed: $out"
check_eq "install ok installed" "$(dpkg-query -W -f '${Status}' exfat-mountd)" "package status"
files=$(dpkg -L exfat-mountd)
for f in /usr/bin/exfatctl /usr/libexec/exfat-mountd /usr/libexec/exfat-worker /usr/sbin/mount.exfat \
        /usr/sbin/umount.fuseblk.exfat /lib/systemd/system/exfat-mountd.service \
        /usr/share/dbus-1/system-services/org.exfat.Mountd1.service \
        /usr/share/dbus-1/system.d/org.exfat.Mountd1.conf /usr/share/dbus-1/interfaces/org.exfat.Mountd1.xml \
        /usr/share/polkit-1/actions/org.exfat.mountd.policy; do
        grep -qxF "$f" <<<"$files" || fail "the package does not ship $f"
        [ -f "$f" ] || fail "$f missing after the install"
done
completions=$(pkg-config --variable=completionsdir bash-completion)
[ -f "$completions/exfatctl" ] || fail "no completion in $completions (bash-completion's completionsdir)"
check_eq "complete -F _exfatctl exfatctl" "$(bash -c ". '$completions/exfatctl'; complete -p exfatctl")" \
        "completion after sourcing it"
for page in exfatctl exfat-mountd exfat-worker mount.exfat umount.fuseblk.exfat; do
        man -w "$page" >/dev/null 2>&1 || fail "man -w $page finds no page"
done
check_eq loaded "$(systemctl show -P LoadState exfat-mountd.service)" "LoadState of exfat-mountd.service"
check_eq inactive "$(systemctl show -P ActiveState exfat-mountd.service)" \
        "exfat-mountd.service right after the install (static: started by bus activation only)"
pass "installed: binaries, helpers, unit, D-Bus and polkit files, man pages, completion; daemon not started"

# ---- polkit actions, as polkitd sees them ----
actions=$(pkaction)
for a in $(sed -n 's/.*<action id="\([^"]*\)".*/\1/p' /usr/share/polkit-1/actions/org.exfat.mountd.policy); do
        grep -qxF "$a" <<<"$actions" || fail "polkitd does not know $a"
done
grep -qxF org.exfat.mountd.mount <<<"$actions" || fail "polkitd does not know org.exfat.mountd.mount"
pass "polkitd knows every action of the installed policy"

# ---- bus activation and alice's mount, label, unmount with the packaged exfatctl ----
out=$(as_user alice exfatctl list 2>&1) || fail "alice's exfatctl list failed: $out"
check_eq active "$(systemctl show -P ActiveState exfat-mountd.service)" "exfat-mountd.service after a first call"
check_eq /usr/libexec/exfat-mountd "$(readlink "/proc/$(mountd_pid)/exe")" "the running daemon's binary"
pass "bus activation: alice's first call started exfat-mountd.service"

unmount_at_exit "$dev"
out=$(as_user alice exfatctl mount "$dev" 2>&1) || fail "alice's exfatctl mount failed: $out"
mp=/run/media/alice/DEBTEST
check_contains "$out" "$mp" "exfatctl mount output"
check_eq fuseblk.exfat "$(findmnt -n -o FSTYPE --mountpoint "$mp")" "type of alice's mount"
as_user alice sh -c "echo written-by-alice >'$mp/hello.txt'" || fail "alice cannot write on her mount"
out=$(as_user alice exfatctl label "$dev" DEBLABEL 2>&1) || fail "alice's exfatctl label failed: $out"
out=$(as_user alice exfatctl unmount "$dev" 2>&1) || fail "alice's exfatctl unmount failed: $out"
findmnt --source "$dev" >/dev/null && fail "$dev still mounted after alice's unmount"
check_eq DEBLABEL "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" "label after alice's exfatctl label"
fsck_clean "$dev"
pass "alice mounted at $mp, wrote, labelled DEBLABEL and unmounted with the packaged exfatctl; fsck clean"

# ---- the mount helpers: mount(8) and umount(8) of type exfat reach the daemon ----
mount -t exfat -o uid="$BOX_ALICE_UID",noexec "$dev" /mnt/helper || fail "mount -t exfat (mount.exfat) failed"
check_eq fuseblk.exfat "$(findmnt -n -o FSTYPE --mountpoint /mnt/helper)" "type of the mount -t exfat mount"
busctl --system call org.exfat.Mountd1 /org/exfat/Mountd1 org.freedesktop.DBus.ObjectManager \
        GetManagedObjects | grep -qF '/mnt/helper' || fail "the daemon does not list the mount -t exfat mount"
check_eq written-by-alice "$(cat /mnt/helper/hello.txt)" "file read back through the helper's mount"
umount /mnt/helper || fail "umount (umount.fuseblk.exfat) failed"
findmnt --source "$dev" >/dev/null && fail "$dev still mounted after umount"
systemctl is-active --quiet "$(worker_unit "$dev")" && fail "the worker still runs after umount returned"
fsck_clean "$dev"
pass "mount -t exfat and umount went through the packaged mount.exfat and umount.fuseblk.exfat"

# ---- purge, with alice's volume mounted ----
out=$(as_user alice exfatctl mount "$dev" 2>&1) || fail "alice's second exfatctl mount failed: $out"
mp=/run/media/alice/DEBLABEL
as_user alice sh -c "echo before-purge >'$mp/purge.txt'" || fail "alice cannot write before the purge"
[ -d /run/exfat-mountd ] || fail "no /run/exfat-mountd while the daemon runs (nothing for the purge to remove?)"
pass "alice's volume mounted again at $mp"

# ---- an upgrade (the same package again) restarts the running daemon, which re-adopts the mount ----
old_pid=$(mountd_pid)
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$BOX_DEB" 2>&1) || fail "dpkg -i over the installed package failed: $out"
new_pid=$(mountd_pid)
[ -n "$new_pid" ] && [ "$new_pid" != 0 ] && [ "$new_pid" != "$old_pid" ] ||
        fail "the daemon was not restarted by the upgrade (pid $old_pid, now '$new_pid')"
check_eq fuseblk.exfat "$(findmnt -n -o FSTYPE --mountpoint "$mp")" "alice's mount after the upgrade"
check_eq before-purge "$(as_user alice cat "$mp/purge.txt")" "alice's file after the upgrade"
out=$(as_user alice exfatctl list 2>&1) || fail "exfatctl list after the upgrade failed: $out"
check_contains "$out" "$mp" "exfatctl list after the upgrade"
pass "upgrade: the daemon restarted (pid $old_pid -> $new_pid) and still serves alice's mount"
out=$(DEBIAN_FRONTEND=noninteractive apt-get purge -y -q exfat-mountd 2>&1) || fail "apt-get purge failed: $out"
dpkg-query -W -f '${Status}' exfat-mountd 2>/dev/null | grep -q 'installed' &&
        fail "exfat-mountd still installed after the purge: $(dpkg-query -W -f '${Status}' exfat-mountd)"
findmnt --source "$dev" >/dev/null && fail "$dev still mounted after the purge"
systemctl is-active --quiet exfat-mountd.service && fail "exfat-mountd.service still active after the purge"
wait_for 10 sh -c "! systemctl is-active --quiet '$(worker_unit "$dev")'" || fail "the worker outlived the purge"
check_eq not-found "$(systemctl show -P LoadState exfat-mountd.service)" "LoadState after the purge"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after the purge"
fsck_clean "$dev"
mount -t exfat -o ro "$dev" /mnt/helper 2>/dev/null && {
        # Without the helper, mount(8) falls back to the kernel driver, if the host has one.
        check_eq exfat "$(findmnt -n -o FSTYPE --mountpoint /mnt/helper)" "type of a mount after the purge"
        check_eq before-purge "$(cat /mnt/helper/purge.txt)" "file written before the purge"
        umount /mnt/helper
}
pass "apt-get purge with a volume mounted: service stopped, volume unmounted and clean"

[ -z "$(ls -A /run/media/alice 2>/dev/null)" ] || fail "mount points left in /run/media/alice: $(ls -A /run/media/alice)"
after=$(snapshot)
left=$({ diff <(echo "$before") <(echo "$after") || true; } | sed -n 's/^[<>] //p')
[ -z "$left" ] || fail "the purge left these behind (or removed them):
$left"
for f in $files; do
        # Directories shared with other packages (/usr/bin, /lib, ...) stay; the package's own would
        # show in the comparison above.
        [ -d "$f" ] && continue
        [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is still there after the purge"
done
[ ! -e /run/exfat-mountd ] || fail "/run/exfat-mountd is still there after the purge"
pass "nothing left behind: the file systems are as before the install, /run/exfat-mountd gone"
