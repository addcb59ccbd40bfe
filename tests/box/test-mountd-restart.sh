#!/bin/bash
# SPDX-License-Identifier: MIT
# Restarting exfat-mountd keeps mounts: the new daemon re-adopts them from its state file and gets
# its ends of the worker links back from systemd's fd store, so the objects come back, the files stay
# reachable, and Unmount still reaches the worker (dirty flag cleared, fsck clean).
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
alice=$(id -u alice)
make_exfat_loop dev 64M -L KEEPME
make_exfat_loop dev2 64M -L "TWO WORDS"
unit=$(worker_unit "$dev")

mount_as alice "$dev"
obj=$MOUNT_OBJ
mp=$MOUNT_POINT
unmount_at_exit "$dev"
out=$(gcall Mount "$dev2" "{}") || fail "Mount of $dev2 failed: $out"
unmount_at_exit "$dev2"
wpid=$(systemctl show -P MainPID "$unit")
pass "mounted $dev on $mp (alice) and $dev2 (root)"

# A second instance (someone runs it by hand) must give up before touching anything.
/usr/libexec/exfat-mountd 2>/dev/null && fail "a second exfat-mountd instance ran"
findmnt --mountpoint "$mp" >/dev/null || fail "a second instance disturbed $mp"
mountd_alive "$pid"
pass "a second instance exits without touching the mounts"

systemctl restart exfat-mountd.service || fail "restart failed"
wait_for_bus_name "$MOUNTD_DEST"
pid2=$(mountd_pid)
[ "$pid2" != "$pid" ] || fail "the daemon did not restart (pid $pid)"
wait_for_log "re-adopted the mount on $mp"
pass "daemon restarted ($pid -> $pid2) and says it re-adopted $mp"

findmnt --mountpoint "$mp" >/dev/null || fail "$mp lost across the restart"
check_eq "$wpid" "$(systemctl show -P MainPID "$unit")" "worker pid across the restart"
check_eq "\"$mp\"" "$(mount_prop "$obj" MountPoint)" "MountPoint after restart"
check_eq "$alice" "$(mount_prop "$obj" Owner)" "Owner after restart"
check_eq "\"KEEPME\"" "$(mount_prop "$obj" Label)" "Label after restart"
check_eq "\"mounted\"" "$(mount_prop "$obj" State)" "State after restart"
as_user alice sh -c "echo after-restart > '$mp/note.txt'" || fail "alice cannot write after the restart"
check_eq after-restart "$(cat "$mp/note.txt")" "file written after the restart"
pass "mount, worker, object and properties survived; alice still writes"

# Ownership survived too: bob still may not unmount it; alice may.
expect_error NotAuthorized as bob Unmount "$mp" "{}"
unmount_as alice "$mp"
findmnt --mountpoint "$mp" >/dev/null && fail "$mp still mounted"
[ -e "$mp" ] && fail "$mp still exists"
wait_for 5 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after Unmount"
fsck_clean "$dev"
pass "Unmount after the restart: worker shut down cleanly, fsck clean, dirty flag clear"

# A second restart with the other mount still there, then its unmount too.
systemctl restart exfat-mountd.service || fail "second restart failed"
wait_for_bus_name "$MOUNTD_DEST"
findmnt --mountpoint "/run/media/root/TWO WORDS" >/dev/null || fail "'/run/media/root/TWO WORDS' lost across the restarts"
gcall Unmount "$dev2" "{}" >/dev/null || fail "Unmount of $dev2 after the second restart failed"
[ -e "/run/media/root/TWO WORDS" ] && fail "'/run/media/root/TWO WORDS' left behind"
fsck_clean "$dev2"
check_eq 0 "$(volume_dirty "$dev2")" "dirty flag of $dev2"
pass "second restart; $dev2 (mount point with a space) re-adopted and unmounted cleanly"

# A crash: systemd restarts the daemon (Restart=on-failure) with the fd store intact.
mount_as alice "$dev"
mp=$MOUNT_POINT
pid3=$(mountd_pid)
kill -SEGV "$pid3"
wait_for 10 sh -c "p=\$(systemctl show -P MainPID exfat-mountd.service); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $pid3 ]" ||
        fail "the daemon was not restarted after a crash"
wait_for_bus_name "$MOUNTD_DEST"
wait_for_log "re-adopted the mount on $mp"
findmnt --mountpoint "$mp" >/dev/null || fail "$mp lost in the crash"
unmount_as alice "$mp"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after Unmount following a crash"
fsck_clean "$dev"
pass "crash (SIGSEGV): restarted by systemd, mount re-adopted, clean Unmount"

# A stop (not a restart): the daemon unmounts everything before it exits (its fd store goes with
# it, so nobody could serve these mounts any more): clean, nothing left behind.
mount_as alice "$dev"
mp=$MOUNT_POINT
as_user alice sh -c "echo before-stop > '$mp/stop.txt'" || fail "alice cannot write before the stop"
systemctl stop exfat-mountd.service || fail "stop failed"
findmnt --mountpoint "$mp" >/dev/null && fail "$mp still mounted after the daemon stopped"
[ -e "$mp" ] && fail "$mp still exists after the daemon stopped"
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active after the daemon stopped"
check_eq 0 "$(volume_dirty "$dev")" "dirty flag after the stop"
fsck_clean "$dev"
check_contains "$(journalctl --no-pager -q -u exfat-mountd.service)" "unmounting $mp: the daemon is stopping" "daemon log"
busctl --system introspect "$MOUNTD_DEST" "$MOUNTD_PATH" >/dev/null || fail "bus activation after the stop failed"
out=$(gcall Mount "$dev" "{'read-only': <true>}") || fail "Mount after the stop failed: $out"
mp=$(sed -n "s/.*, '\(.*\)').*/\1/p" <<<"$out")
check_eq before-stop "$(cat "$mp/stop.txt")" "file written before the stop"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount failed"
pass "stop: the daemon unmounted cleanly before exiting; data intact"
