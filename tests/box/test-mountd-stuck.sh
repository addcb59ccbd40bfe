#!/bin/bash
# SPDX-License-Identifier: MIT
# A worker that stops answering never holds up the daemon: with the worker frozen (SIGSTOP), an
# Unmount waits in umount(2) for DESTROY, but other requests are still served at once; after 30 s
# the daemon aborts the FUSE connection through fusectl, and once the worker runs again it flushes
# and the Unmount completes with the volume clean.
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L STUCK
make_exfat_loop other 64M -L OTHER
unit=$(worker_unit "$dev")
mount_as alice "$dev"
obj=$MOUNT_OBJ
mp=$MOUNT_POINT
as_user alice sh -c "echo frozen > '$mp/f.txt'" || fail "write failed"
wpid=$(systemctl show -P MainPID "$unit")
on_exit "kill -CONT $wpid 2>/dev/null || true"
unmount_at_exit "$other"

kill -STOP "$wpid"
res=$(mktemp /var/tmp/stuck.XXXXXX)
on_exit "rm -f '$res'"
t0=$(date +%s%N)
( as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Unmount 'sa{sv}' "$dev" 0 >"$res" 2>&1
  echo "status=$? ms=$((($(date +%s%N) - t0) / 1000000))" >>"$res" ) &
waiter=$!
wait_for 5 sh -c "busctl --system get-property $MOUNTD_DEST $obj org.exfat.Mountd1.Mount State | grep -q unmounting" ||
        fail "State did not become unmounting"

# Meanwhile the daemon serves others at once.
t1=$(date +%s%N)
out=$(gcall Mount "$other" "{}") || fail "Mount of another device while one worker is frozen: $out"
gcall Unmount "$other" "{}" >/dev/null || fail "Unmount of the other device failed"
log "another Mount+Unmount took $((($(date +%s%N) - t1) / 1000000)) ms while the frozen Unmount waits"
[ -s "$res" ] && fail "the frozen Unmount returned early: $(cat "$res")"
pass "worker frozen: Unmount waits, the daemon still serves other requests"

wait_for 40 _mountd_log_has "hangs; aborting the FUSE connection" || fail "no fusectl abort after 40 s"
kill -CONT "$wpid"
wait "$waiter"
log "frozen Unmount: $(tr '\n' ' ' <"$res")"
grep -q "status=0" "$res" || fail "the Unmount failed: $(cat "$res")"
findmnt --mountpoint "$mp" >/dev/null && fail "$mp still mounted"
[ -e "$mp" ] && fail "$mp still exists"
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
fsck_clean "$dev"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag"
mountd_alive "$pid"
pass "after the abort and SIGCONT the worker flushed; Unmount succeeded, fsck clean, dirty flag clear"
