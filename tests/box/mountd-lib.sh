# SPDX-License-Identifier: MIT
# Helpers for the exfat-mountd box tests (test-mountd-*.sh), on top of lib/common.sh.
# gdbus is used where the D-Bus error *name* matters (busctl prints only the message).

MOUNTD_DEST=org.exfat.Mountd1
MOUNTD_PATH=/org/exfat/Mountd1
MOUNTD_ERR=org.exfat.Mountd1.Error

# gcall METHOD ARGS... : org.exfat.Mountd1.Manager.METHOD with gdbus's GVariant text arguments.
gcall() {
        local method=$1
        shift
        # Literal names: as_user runs this function in a fresh bash without our variables.
        gdbus call --system --timeout 60 --dest org.exfat.Mountd1 --object-path /org/exfat/Mountd1 \
                --method "org.exfat.Mountd1.Manager.$method" "$@" 2>&1
}

# expect_error ERRNAME [as USER] METHOD ARGS... : the call fails with org.exfat.Mountd1.Error.ERRNAME.
expect_error() {
        local want=$1 out
        shift
        local -a prefix=()
        if [ "$1" = as ]; then
                prefix=(as_user "$2")
                shift 2
        fi
        if out=$("${prefix[@]}" gcall "$@"); then
                fail "$* succeeded but should fail with $want: $out"
        fi
        check_contains "$out" "$MOUNTD_ERR.$want" "error of $*"
}

# Loop devices count as removable for the daemon (the config file the tests are meant to use).
mark_loops_removable() {
        mkdir -p /etc/exfat-mountd
        echo '/dev/loop*' >/etc/exfat-mountd/removable-devices
}

mountd_pid() {
        systemctl show -P MainPID exfat-mountd.service
}

# The daemon is up, answers, and is still the process it was (no crash + restart).
mountd_alive() {
        local want=${1:-}
        local pid
        pid=$(mountd_pid)
        [ -n "$pid" ] && [ "$pid" != 0 ] || fail "exfat-mountd is not running"
        [ -z "$want" ] || check_eq "$want" "$pid" "exfat-mountd pid (it restarted?)"
        busctl --system get-property "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Version >/dev/null ||
                fail "exfat-mountd does not answer"
}

# mount_prop OBJECT PROPERTY : one property of a mount object, busctl's value part only.
mount_prop() {
        busctl --system get-property "$MOUNTD_DEST" "$1" org.exfat.Mountd1.Mount "$2" | cut -d' ' -f2-
}

# The dirty flag (VolumeFlags bit 1, byte 106 of the boot sector) of a device or image.
volume_dirty() {
        local b
        b=$(od -An -tu1 -j106 -N1 "$1" | tr -d ' ')
        echo $(((b >> 1) & 1))
}

# worker_units : names of running exfat-worker@ units.
worker_units() {
        systemctl list-units --no-legend --plain 'exfat-worker@*' | awk '{print $1}'
}

# wait_for_log TEXT : the daemon's journal shows TEXT within 5 s (journald reads stderr streams
# asynchronously, so a line logged just before a reply may not be there yet).
_mountd_log_has() {
        journalctl --no-pager -q -u exfat-mountd.service | grep -qF -- "$1"
}
wait_for_log() {
        wait_for 5 _mountd_log_has "$1" || fail "the daemon's log does not show '$1'"
}

# mountd_start : loop devices removable, the daemon up by bus activation; sets $pid to its pid.
mountd_start() {
        mark_loops_removable
        busctl --system introspect "$MOUNTD_DEST" "$MOUNTD_PATH" >/dev/null || fail "exfat-mountd did not start"
        pid=$(mountd_pid)
}

# worker_unit DEVICE : the name of DEVICE's worker unit.
worker_unit() {
        echo "exfat-worker@$(systemd-escape --path "$1").service"
}

# unmount_at_exit DEVICE : force-unmount DEVICE when the test ends, whatever state it left it in.
unmount_at_exit() {
        on_exit "gcall Unmount '$1' \"{'force': <true>}\" >/dev/null 2>&1 || true"
}

# mount_as USER DEVICE [N KEY TYPE VALUE...] : Mount through busctl as USER (options in busctl's
# a{sv} syntax, none by default); sets MOUNT_OBJ and MOUNT_POINT, fails the test on an error.
mount_as() {
        local user=$1 dev=$2 out
        shift 2
        [ $# -gt 0 ] || set -- 0
        out=$(as_user "$user" busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' \
                "$dev" "$@") || fail "$user's Mount of $dev failed: $out"
        MOUNT_OBJ=$(sed -n 's/^os "\([^"]*\)" ".*"$/\1/p' <<<"$out")
        MOUNT_POINT=$(sed -n 's/^os "[^"]*" "\(.*\)"$/\1/p' <<<"$out")
        [ -n "$MOUNT_OBJ" ] && [ -n "$MOUNT_POINT" ] || fail "unexpected Mount reply: $out"
}

# unmount_as USER DEVICE_OR_MOUNT_POINT [N KEY TYPE VALUE...] : Unmount through busctl as USER.
unmount_as() {
        local user=$1 what=$2 out
        shift 2
        [ $# -gt 0 ] || set -- 0
        out=$(as_user "$user" busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Unmount 'sa{sv}' \
                "$what" "$@") || fail "$user's Unmount of $what failed: $out"
}
