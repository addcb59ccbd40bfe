# SPDX-License-Identifier: MIT
# For the udisks box tests, on top of lib/common.sh and exfatctl-lib.sh: Debian's systemd-udevd and
# udisksd started as transient units inside the box.
#   start_udisks             udevd (its /dev/disk links in a tmpfs of the box), udisksd; both
#                            stopped at exit
#   start_udevd              udevd alone, the same way (for tests that need udev but not udisks)
#   restart_udisksd          a new udisksd after the test killed it
#   udisks_loop_setup VAR USER IMAGE   `udisksctl loop-setup` as USER; $VAR = the loop device,
#                            deleted at exit
#   wait_udisks_fs DEV       until udisks sees an exfat filesystem on DEV
#   dirty_flag DEV           prints VolumeFlags' VolumeDirty bit (0 or 1)

start_udisks() {
        [ -x /usr/libexec/udisks2/udisksd ] || { echo "udisks2 not installed (tests/install-deps.sh)" >&2; exit 77; }
        start_udevd
        _start_udisksd
        on_exit 'systemctl stop box-udisksd || true'
}

start_udevd() {
        [ -x /lib/systemd/systemd-udevd ] || { echo "udev not installed (tests/install-deps.sh)" >&2; exit 77; }
        # udevd would make /dev/disk/by-* links in the host's devtmpfs, and leave them when the box
        # dies; the box's own tmpfs there takes them instead.
        mkdir -p /dev/disk
        mount -t tmpfs -o mode=0755 box-dev-disk /dev/disk
        on_exit 'umount -l /dev/disk || true'
        systemd-run --quiet --unit=box-udevd -p Type=notify /lib/systemd/systemd-udevd
        on_exit 'systemctl stop box-udevd || true'
}

_start_udisksd() {
        systemd-run --quiet --unit=box-udisksd -p Type=dbus -p BusName=org.freedesktop.UDisks2 \
                /usr/libexec/udisks2/udisksd
}

# After udisksd died (a test killed it): a new one, as D-Bus activation would start.
restart_udisksd() {
        systemctl reset-failed box-udisksd 2>/dev/null || true
        _start_udisksd
}

udisks_loop_setup() {
        local var=$1 user=$2 image=$3 _line _dev
        _line=$(as_user "$user" udisksctl loop-setup --no-user-interaction -f "$image")
        # "Mapped file IMAGE as /dev/loopN."
        _dev=${_line##* as }
        _dev=${_dev%.}
        case "$_dev" in /dev/loop*) ;; *) fail "loop-setup said: $_line" ;; esac
        on_exit "udisksctl loop-delete --no-user-interaction -b '$_dev' >/dev/null 2>&1 || losetup -d '$_dev' 2>/dev/null || true"
        printf -v "$var" "%s" "$_dev"
}

udisks_sees_exfat() {
        udisksctl info -b "$1" 2>/dev/null | grep -q "IdType: *exfat"
}

wait_udisks_fs() {
        udevadm settle
        wait_for 10 udisks_sees_exfat "$1" || fail "udisks does not see an exfat filesystem on $1"
}

dirty_flag() {
        local flags
        flags=$(od -An -tu1 -j106 -N1 "$1" | tr -d ' ')
        echo $(((flags >> 1) & 1))
}
