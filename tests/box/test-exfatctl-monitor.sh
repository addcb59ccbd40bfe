#!/bin/bash
# SPDX-License-Identifier: MIT
# exfatctl monitor in the box: started as alice, it prints one line for a mount appearing and one
# for it going (done meanwhile by alice with exfatctl), knows mounts that existed before it started,
# follows the daemon across a restart without repeating lines, and exits 0 on SIGINT and SIGTERM.
# Run: tests/box/run tests/box/test-exfatctl-monitor.sh
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"

make_exfat_loop dev 32M -L MONI
make_exfat_loop early 32M -L EARLY
on_exit 'unmount_leftovers "$dev" "$early"'
mark_removable "$dev" "$early"
log_file=$(mktemp /var/tmp/exfatctl-monitor.XXXXXX)
on_exit "rm -f '$log_file'"
monitor=
on_exit 'kill_quietly "$monitor"'

start_monitor() {
        : >"$log_file"
        # setpriv directly (not the as_user function): $! must be exfatctl itself to signal it.
        setpriv --reuid=alice --regid=alice --init-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
                exfatctl monitor </dev/null >"$log_file" 2>&1 &
        monitor=$!
        wait_for 10 grep -q '^Monitoring exfat-mountd' "$log_file" ||
                fail "monitor did not start: $(cat "$log_file")"
}

exited() {        # a zombie until waited for
        [ ! -d "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_monitor SIGNAL : the monitor must exit 0 on it.
stop_monitor() {
        local rc=0
        kill "-$1" "$monitor"
        wait_for 5 exited "$monitor" || soft_fail "monitor did not exit on SIG$1"
        wait "$monitor" || rc=$?
        monitor=
        check_eq 0 "$rc" "monitor's exit status on SIG$1"
}

# A mount made before the monitor starts: its removal must still name device and mount point.
expect 0 exfatctl_as alice mount "$early"
expect_out "Mounted $early at /run/media/alice/EARLY"

log "monitor sees a mount and an unmount (SIGINT ends it)"
start_monitor
expect 0 exfatctl_as alice mount "$dev"
expect 0 exfatctl_as alice unmount "$dev"
expect 0 exfatctl_as alice unmount "$early"
wait_for 10 grep -q "^Unmounted $early from /run/media/alice/EARLY\$" "$log_file" ||
        soft_fail "no line for the unmount of $early: $(cat "$log_file")"
stop_monitor INT
cat "$log_file" >&2
grep -q "^Mounted $dev at /run/media/alice/MONI (label \"MONI\", uuid [0-9A-F]\{4\}-[0-9A-F]\{4\}, owner alice, rw)\$" \
        "$log_file" || soft_fail "no (or a wrong) line for the mount of $dev"
grep -q "^Unmounted $dev from /run/media/alice/MONI\$" "$log_file" ||
        soft_fail "no line for the unmount of $dev"
check_eq 4 "$(wc -l <"$log_file")" "lines printed by monitor (header, 1 mount, 2 unmounts)"

log "a daemon restart in between: the re-adopted mount is neither added nor removed twice"
expect 0 exfatctl_as alice mount "$dev"
start_monitor
systemctl restart exfat-mountd.service || fail "cannot restart exfat-mountd"
wait_for_bus_name org.exfat.Mountd1
expect 0 exfatctl_as alice unmount "$dev"
wait_for 10 grep -q "^Unmounted $dev from /run/media/alice/MONI\$" "$log_file" ||
        soft_fail "no line for the unmount after the restart: $(cat "$log_file")"
log "SIGTERM ends it too"
stop_monitor TERM
cat "$log_file" >&2
check_eq 2 "$(wc -l <"$log_file")" "lines printed across a daemon restart (header, 1 unmount)"

finish
