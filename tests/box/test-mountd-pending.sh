#!/bin/bash
# SPDX-License-Identifier: MIT
# A Mount waiting for polkit reserves nothing (hardening issue 11, item 2): bob leaves his password
# prompt open while alice mounts the same device, and alice is mounted at once; bob's password,
# typed afterwards, gets "already mounted". Ctrl-C at bob's prompt drops his attempt when his exfatctl
# leaves the bus (not when polkit answers the withdrawn check), and alice's next Mount is not Busy. polkit: bob AUTH_SELF, alice yes (rules/mountd-pending.rules).
# box-polkit-rules: rules/mountd-pending.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"
mountd_start
make_exfat_loop dev 32M -L PENDING
unmount_at_exit "$dev"
unit=$(worker_unit "$dev")
hold=$(dirname "$0")/mountd-pty-hold.py
password=pending-Secret-7
echo "bob:$password" | chpasswd || fail "chpasswd failed"
tty_out=$(mktemp)
on_exit "rm -f '$tty_out'"

# bob_prompt : starts bob's exfatctl mount on a terminal and returns once his password prompt is
# shown (polkit's check is then open); sets $bob to the holder's pid.
prompt_shown() {
        grep -q "Password:" "$tty_out"
}
bob_prompt() {
        : >"$tty_out"
        HOLD_PASSWORD=$password python3 "$hold" "$tty_out" setpriv --reuid=bob --regid=bob --init-groups \
                env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" exfatctl mount "$dev" &
        bob=$!
        on_exit "kill_quietly $bob"
        wait_for 20 prompt_shown || fail "bob's password prompt did not appear: $(cat "$tty_out")"
}

log "bob's prompt open, alice mounts the same device"
bob_prompt
expect 0 exfatctl_as alice mount "$dev"
expect_out "Mounted $dev at /run/media/alice/PENDING"
findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev not mounted for alice"
log "bob types his password: the device is taken"
kill -USR1 "$bob"
set +e
wait "$bob"
rc=$?
set -e
[ "$rc" = 8 ] || soft_fail "bob's exfatctl exited $rc after alice mounted, expected 8 (already mounted): $(cat "$tty_out")"
grep -q "already mounted" "$tty_out" || soft_fail "no 'already mounted' for bob: $(cat "$tty_out")"
check_eq "/run/media/alice/PENDING" "$(findmnt -rn -o TARGET -S "$dev")" "mount point after bob's late yes"
expect 0 exfatctl_as alice unmount "$dev"

log "bob's prompt open, Ctrl-C: the attempt is dropped at once"
bob_prompt
# The unit starts while polkit asks: the prompt may show before it is active.
wait_for 20 systemctl is-active --quiet "$unit" || soft_fail "no worker unit started while bob's check was open"
kill -INT "$bob"
set +e
wait "$bob"
rc=$?
set -e
[ "$rc" = 130 ] || soft_fail "bob's exfatctl exited $rc after Ctrl-C, expected 130: $(cat "$tty_out")"
# Dropped when bob's exfatctl left the bus, not when polkit answered the cancelled check.
wait_for_log "uid $(id -u bob) left before polkit answered; dropping the request"
expect 0 exfatctl_as alice mount "$dev"
expect_out "Mounted $dev at /run/media/alice/PENDING"
expect 0 exfatctl_as alice unmount "$dev"
fsck_clean "$dev"
mountd_alive "$pid"
finish
