#!/bin/bash
# SPDX-License-Identifier: MIT
# The desktop demonstration, played inside the box (see tests/demo/desktop-screenshots.sh): alice's
# Xfce file manager, Thunar, with gvfs in her session, under Xvfb :9. Her USB stick (a `udisksctl
# loop-setup` of an exFAT image labelled HOLIDAY) shows under Devices; a click on it in Thunar's side
# pane (xdotool) mounts it: GIO -> gvfs -> udisks -> mount.exfat -> exfat-mountd -> a sandboxed
# worker. Thunar then shows the stick's files. Screenshots (ImageMagick `import -window root`) go
# to OUTDIR. The mount is checked to be fuseblk.exfat served by an exfat-worker@ unit, and it is
# unmounted at the end with `gio mount -u`; fsck.exfat is clean afterwards.
# A demonstration, not a test: it needs thunar, xvfb, imagemagick, xdotool (exit 77 without them).
# Run: tests/box/run --build BUILD tests/demo/desktop-scene.sh [OUTDIR]   (OUTDIR: docs/screenshots)
# box-polkit-rules: ../box/rules/udisks-alice.rules
. "${BOX_LIB:-$(dirname "$0")/../box/lib}/common.sh"
in_box_require
. "$(dirname "$0")/../box/exfatctl-lib.sh"
. "$(dirname "$0")/../box/udisks-lib.sh"

out=${1:-$BOX_SRCDIR/docs/screenshots}
display=:9
width=1024
height=768

missing=
for p in thunar:thunar Xvfb:xvfb import:imagemagick xdotool:xdotool gio:libglib2.0-bin; do
        command -v "${p%%:*}" >/dev/null || missing="$missing ${p#*:}"
done
[ -x /usr/libexec/gvfs-udisks2-volume-monitor ] || missing="$missing gvfs"
if [ -n "$missing" ]; then
        echo "not installed:$missing (tests/demo/desktop-screenshots.sh installs them)" >&2
        exit 77
fi
mkdir -p "$out"
[ -w "$out" ] || fail "cannot write screenshots to $out"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# ---- alice's stick: an exFAT image with a few files on it ----
step "alice's USB stick: a 256 MiB exFAT image labelled HOLIDAY, a few files copied on it"
make_image img 256M -L HOLIDAY
attach_loop prep "$img"
mkdir -p /etc/exfat-mountd
echo "$prep" >>/etc/exfat-mountd/removable-devices
on_exit "exfatctl unmount --force '$prep' >/dev/null 2>&1 || true"
exfatctl mount "$prep" >/dev/null
pmp=$(findmnt -rn -o TARGET -S "$prep")
mkdir -p "$pmp/Photos 2026" "$pmp/Documents"
for n in beach sunset harbour market; do
        convert -size 320x240 "plasma:" "$pmp/Photos 2026/$n.jpg"
done
printf 'Flight AB123, 14 July, 07:35\n' >"$pmp/Documents/tickets.txt"
printf 'Grüße aus Zürich\n' >"$pmp/postcard.txt"
exfatctl unmount "$prep" >/dev/null
losetup -d "$prep"
chown alice: "$img"

# The box shares the host's /dev and kernel uevents: loop devices that other programs on this
# machine attach (other test boxes) would reach the box's udevd and udisks, and show in Thunar next
# to alice's stick, where a click could land on them. The box's udev (its own /etc and /run) marks
# every loop device UDISKS_IGNORE but the one backed by alice's image: udisks hints them ignored and
# gvfs leaves them out.
mkdir -p /etc/udev/rules.d
cat >/etc/udev/rules.d/90-desktop-demo.rules <<RULES
SUBSYSTEM=="block", KERNEL=="loop*", ENV{UDISKS_IGNORE}="1"
SUBSYSTEM=="block", KERNEL=="loop*", ENV{DEVTYPE}=="disk", ATTR{loop/backing_file}=="$img", ENV{UDISKS_IGNORE}="0"
RULES
start_udisks
udisks_loop_setup dev alice "$img"
wait_udisks_fs "$dev"
unit=exfat-worker@$(systemd-escape --path "$dev").service
mp=/media/alice/HOLIDAY
on_exit 'unmount_leftovers "$dev"'
echo "the stick: $dev (udisksctl loop-setup by alice)"

# ---- alice's session: home, runtime dir, session bus, X server ----
step "alice's session: /home/alice, a session bus (gvfs activates on it), Xvfb $display at ${width}x${height}"
# A tmpfs on /home in the box's own mount namespace: the host's /home is not touched.
mount -t tmpfs -o mode=0755 box-home /home
on_exit 'umount -l /home || true'
alice_home=/home/alice
install -d -o alice -g alice -m 0700 "$alice_home"
runtime=/run/user/$BOX_ALICE_UID
install -d -o alice -g alice -m 0700 "$runtime"
on_exit "rm -rf '$runtime'"
session=$(setpriv --reuid=alice --regid=alice --init-groups env HOME="$alice_home" XDG_RUNTIME_DIR="$runtime" \
        dbus-daemon --session --fork --print-address=1 --print-pid=1 --address="unix:path=$runtime/bus")
session_address=$(sed -n 1p <<<"$session")
session_pid=$(sed -n 2p <<<"$session")
[ -n "$session_pid" ] || fail "no session bus for alice: $session"

as_alice() {
        (cd "$alice_home" && setpriv --reuid=alice --regid=alice --init-groups env -i PATH="$PATH" \
                HOME="$alice_home" XDG_RUNTIME_DIR="$runtime" USER=alice LOGNAME=alice LANG=C.UTF-8 \
                DISPLAY="$display" DBUS_SESSION_BUS_ADDRESS="$session_address" \
                DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}" \
                "$@")
}
# Everything of alice's session ends with it: Thunar, the X server, the bus (gvfs' daemons and
# xfconfd exit when it goes), then whatever of hers is left in the box.
xvfb_pid= thunar_pid=
end_session() {
        kill_quietly $thunar_pid $xvfb_pid $session_pid
        wait $thunar_pid $xvfb_pid 2>/dev/null
        local left
        left=$(pgrep -u alice | xargs)
        [ -z "$left" ] || kill -KILL $left 2>/dev/null
        return 0
}
on_exit end_session

# The box shares the host's network namespace: no TCP, and no abstract socket (-nolisten local), so
# this X server is reachable only through the box's own /tmp/.X11-unix.
as_alice Xvfb "$display" -screen 0 "${width}x${height}x24" -nolisten tcp -nolisten local \
        >"$alice_home/.xvfb.log" 2>&1 &
xvfb_pid=$!
x_up() { as_alice xdotool getdisplaygeometry; }
wait_for 10 x_up || fail "Xvfb did not start: $(cat "$alice_home/.xvfb.log")"

shot() {
        local f=$out/$1.png
        shift
        # The screen as it is, then a caption strip under it (what the script measured then).
        import -display "$display" -window root "$f.tmp.png"
        convert "$f.tmp.png" \( -background '#2b2b2b' -fill white -font DejaVu-Sans -pointsize 13 \
                -size "$((width - 16))x" caption:"$*" -bordercolor '#2b2b2b' -border 8x5 \) \
                -append -strip -define png:compression-level=9 "$f"
        rm -f "$f.tmp.png"
        echo "screenshot: $f ($(stat -c %s "$f") bytes)"
}

step "Thunar, as alice, with gvfs: the stick is listed under Devices, not mounted"
as_alice thunar "$alice_home" >"$alice_home/.thunar.log" 2>&1 &
thunar_pid=$!
thunar_window() { as_alice xdotool search --onlyvisible --class Thunar | head -1; }
wait_for 20 thunar_window || fail "no Thunar window: $(cat "$alice_home/.thunar.log")"
win=$(thunar_window)
# No window manager: the window is placed and sized directly.
as_alice xdotool windowmove "$win" 0 0 windowsize "$win" "$width" "$height"
gio_sees_volume() { as_alice gio mount -li | grep -q "unix-device: '$dev'"; }
wait_for 20 gio_sees_volume || fail "gio lists no volume for $dev"
# alice's stick is the only volume (the click below depends on it).
hidden=
for d in /sys/class/block/loop*; do
        [ -e "$d/loop/backing_file" ] || continue
        udevadm info -q property -p "$d" 2>/dev/null | grep -q '^UDISKS_IGNORE=1$' && hidden="$hidden ${d##*/}"
done
echo "other loop devices on this machine, hidden from udisks:${hidden:- none}"
only_one_volume() { [ "$(as_alice gio mount -li | grep -c '^Volume(')" = 1 ]; }
wait_for 20 only_one_volume || true
volumes=$(as_alice gio mount -li | grep -c '^Volume(' || true)
if [ "$volumes" != 1 ]; then
        as_alice gio mount -li | grep -E '^Volume|unix-device'
        for d in $(as_alice gio mount -li | sed -n "s/.*unix-device: '\(.*\)'/\1/p" | sort -u); do
                udevadm info "$d" | grep -E 'DEVNAME|UDISKS|ID_FS_LABEL='
                cat "/sys/class/block/${d#/dev/}/loop/backing_file" || true
                udisksctl info -b "$d" | grep -i hint || true
        done
        fail "gio lists $volumes volumes, not only alice's stick"
fi
# Thunar's side pane, with a fresh home and no window manager (window at 0,0): Places (Computer,
# alice, Trash), Devices (File System, HOLIDAY), 26 pixels a row; HOLIDAY is the sixth row, at
# y=238, its drive icon at x=27. The click waits until that icon (Adwaita's removable drive, its
# orange #FFD1A3) is drawn there; whether it hit, the mount tells.
click_x=72 click_y=238 icon_x=27 icon_colour="#FFD1A3"
pixel() { import -display "$display" -window root -crop "1x1+$1+$2" -depth 8 txt:- | grep -o '#[0-9A-F]\{6\}'; }
row_drawn() { [ "$(pixel "$icon_x" "$click_y")" = "$icon_colour" ]; }
wait_for 20 row_drawn ||
        fail "no $icon_colour drive icon at $icon_x,$click_y in Thunar's side pane (found $(pixel "$icon_x" "$click_y"))"
# ... and nothing in the row after it.
[ "$(pixel "$icon_x" $((click_y + 26)))" = "#FFFFFF" ] || fail "another row under HOLIDAY in Thunar's side pane"
as_alice xdotool mousemove 600 500
sleep 1
findmnt -rn -S "$dev" >/dev/null && fail "$dev is mounted before anyone clicked"
as_alice gio mount -li | sed -n "/^Volume(0): HOLIDAY/,/^[^ ]/p" | grep -E "Volume|unix-device|can_mount" || true
shot 01-thunar-stick-unmounted \
        "Thunar as alice under Xvfb, gvfs in her session: the exFAT stick HOLIDAY ($dev, udisksctl loop-setup) is listed under Devices, not mounted."

# ---- the mount, from Thunar ----
step "alice clicks HOLIDAY in Thunar's side pane (xdotool): Thunar mounts it through GIO"
mounted_ours() { [ "$(findmnt -rn -o FSTYPE -M "$mp")" = fuseblk.exfat ]; }
mounted_by=
for try in 1 2 3; do
        as_alice xdotool mousemove --sync --window "$win" "$click_x" "$click_y" click 1
        # The pointer leaves the pane again (no tooltip in the screenshots).
        as_alice xdotool mousemove --sync 600 500
        # A mount takes well under a second here; a click that was lost mounts nothing at all.
        if wait_for 15 mounted_ours; then
                mounted_by="a click in Thunar's side pane"
                [ "$try" = 1 ] || mounted_by="$mounted_by (click $try; the earlier ones mounted nothing)"
                break
        fi
        echo "!! click $try at $click_x,$click_y in Thunar mounted nothing within 15 s" >&2
done
if [ -z "$mounted_by" ]; then
        echo "!! mounting with gio mount -d (the GIO call Thunar makes) instead, and opening it in Thunar" >&2
        as_alice gio mount -d "$dev"
        wait_for 10 mounted_ours || fail "gio mount -d did not mount $dev at $mp either"
        as_alice xdotool windowfocus --sync "$win" key ctrl+l type "$mp"
        as_alice xdotool key Return
        mounted_by="gio mount -d (the clicks in Thunar did not mount it)"
fi
echo "mounted by: $mounted_by"

step "The mount: fuseblk.exfat, served by exfat-worker@ under a dynamic uid (not the kernel's exfat)"
findmnt -M "$mp" -o SOURCE,TARGET,FSTYPE,OPTIONS
check_eq "$dev" "$(findmnt -rn -o SOURCE -M "$mp")" "source of the mount at $mp"
check_eq active "$(systemctl is-active "$unit" || true)" "worker unit $unit"
systemctl show -p Id -p ActiveState -p DynamicUser -p PrivateDevices -p PrivateNetwork "$unit"
worker_pid=$(systemctl show -P MainPID "$unit")
worker_uid=$(awk '/^Uid:/ {print $2}' "/proc/$worker_pid/status")
worker_caps=$(awk '/^CapEff:/ {print $2}' "/proc/$worker_pid/status")
echo "worker pid $worker_pid, uid $worker_uid, CapEff $worker_caps"
[ "$worker_uid" != 0 ] || fail "the worker runs as root"
check_eq 0000000000000000 "$worker_caps" "the worker's effective capabilities"
exfatctl list
check_eq fuseblk.exfat "$(findmnt -rn -o FSTYPE -M "$mp")" "type of the mount at $mp"

step "alice copies one more file onto the stick; Thunar shows the stick's files"
as_alice cp /usr/share/common-licenses/GPL-3 "$mp/packing list.txt"
as_alice ls -l "$mp"
thunar_at_stick() { as_alice xdotool getwindowname "$win" | grep -q "^HOLIDAY"; }
wait_for 10 thunar_at_stick || fail "Thunar does not show the stick: window title '$(as_alice xdotool getwindowname "$win")'"
echo "Thunar's window: $(as_alice xdotool getwindowname "$win")"
sleep 2
shot 02-thunar-stick-mounted \
        "Mounted by $mounted_by. findmnt: $dev on $mp type $(findmnt -rn -o FSTYPE -M "$mp"); served by $unit (active, dynamic uid $worker_uid, no capabilities)."

# ---- the end: unmount, clean ----
step "gio mount -u as alice: returns once the worker has flushed and exited"
timeout 60 bash -c "$(declare -f as_alice); $(declare -p alice_home runtime display session_address); as_alice gio mount -u '$mp'" ||
        fail "gio mount -u failed"
state=$(systemctl is-active "$unit" || true)
echo "worker unit when gio returned: $state"
case "$state" in active | activating | deactivating) fail "the worker still runs after gio mount -u" ;; esac
findmnt -rn -M "$mp" >/dev/null && fail "$mp still mounted"
check_eq "[]" "$(exfatctl list --json)" "the daemon's mounts"
check_eq 0 "$(dirty_flag "$img")" "dirty flag"
fsck.exfat -n "$img"
fsck_clean "$img"
# gvfs sets up the loop devices it mounts with autoclear: the unmount also unplugs the "stick".
loop_gone() { ! losetup "$dev" >/dev/null 2>&1; }
if wait_for 10 loop_gone; then
        gone="the loop device went with it (gvfs sets autoclear), so Thunar lists the stick no more"
else
        gone="$dev is still attached"
fi
sleep 2
shot 03-thunar-stick-unmounted-again \
        "After gio mount -u as alice: when it returned the worker had exited, the dirty flag was clear and fsck.exfat -n was clean; $gone."
step "Done: screenshots in $out"
