#!/bin/bash
# SPDX-License-Identifier: MIT
# A daemon restart while a Label of a mounted volume is in flight (hardening issue 11, item 10):
# the worker is frozen (SIGSTOP) so that the daemon's SET_LABEL waits in the link, the daemon is
# restarted, then the worker goes on and answers the new daemon. The new daemon expects that
# answer (the relabel is in its state file): the mount stays, with the data written before, the new
# label is taken, and the Unmount that follows is clean. Before, the answer counted as a protocol
# violation and the volume was aborted.
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require
# Debug log: it says when the SET_LABEL has been sent.
systemctl set-environment EXFAT_MOUNTD_DEBUG=1
on_exit "systemctl unset-environment EXFAT_MOUNTD_DEBUG"
mountd_start
make_exfat_loop dev 64M -L BEFORE
unit=$(worker_unit "$dev")
mount_as alice "$dev"
obj=$MOUNT_OBJ
mp=$MOUNT_POINT
unmount_at_exit "$dev"
wpid=$(systemctl show -P MainPID "$unit")
on_exit "kill -CONT $wpid 2>/dev/null || true"
# Written, not synced: the data is in the page cache and the worker's hands.
as_user alice sh -c "head -c 3000000 /dev/urandom > '$mp/data.bin' && echo kept > '$mp/note.txt'" ||
        fail "alice cannot write"
sum=$(sha256sum <"$mp/data.bin")

kill -STOP "$wpid"
gcall Label "$dev" AFTER "{}" >/dev/null 2>&1 &
caller=$!
wait_for_log "$dev: asking the worker to set the label"
systemctl restart exfat-mountd.service || fail "restart failed"
wait_for_bus_name "$MOUNTD_DEST"
wait_for_log "re-adopted the mount on $mp"
wait "$caller" && fail "the Label call was answered although its daemon was restarted"
kill -CONT "$wpid"
label_is_after() {
        [ "$(mount_prop "$obj" Label)" = '"AFTER"' ]
}
wait_for 20 label_is_after || fail "the new daemon did not take the label: $(mount_prop "$obj" Label)"
findmnt --mountpoint "$mp" >/dev/null || fail "$mp lost: the relabel's answer aborted the volume"
check_eq "$wpid" "$(systemctl show -P MainPID "$unit")" "worker pid across the restart"
check_eq kept "$(cat "$mp/note.txt")" "file written before the restart"
check_eq "$sum" "$(sha256sum <"$mp/data.bin")" "data written before the restart"
pass "restart during a delayed LABEL_SET: mount kept, label taken, data intact"

gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount after the restart failed"
wait_for_no_mount "$mp"
fsck_clean "$dev"
check_eq AFTER "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p' || true)" "label on the device"
pass "unmounted clean with the new label"
mountd_alive "$(mountd_pid)"
