#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon holds the device exclusively (an O_EXCL fd: the kernel's claim) from the moment it
# opens it for an authorized request: for a Label of an unmounted device until the worker has
# exited, for a Mount until mount(2) claims it itself (hardening issue 11, item 8). A stand-in
# worker stops where a real one reads or writes the device; meanwhile another O_EXCL open (what
# udisks or a kernel mount does) gets EBUSY. Before, the daemon's O_EXCL probe was closed at once
# and anybody could mount the device under the worker's feet.
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

# The box's /usr is its own writable overlay: the real worker is replaced in here only.
install -m 0755 "$(dirname "$0")/mountd-holding-worker.py" /usr/libexec/exfat-worker
mountd_start
make_exfat_loop dev 64M -L EXCL
unmount_at_exit "$dev"
unit=$(worker_unit "$dev")
reached=/etc/exfat-mountd/holding-reached
release=/etc/exfat-mountd/holding-release
rm -f "$reached" "$release"
mkfifo -m 0666 "$reached" "$release"
on_exit "rm -f '$reached' '$release'"

# excl_open : what another opener with O_EXCL gets: "ok" or the errno's name.
excl_open() {
        python3 -c 'import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$dev"
}

# at STEP : waits until the stand-in holds at STEP (DEVICE or SET_LABEL).
at() {
        local got
        got=$(timeout 20 cat "$reached") || fail "the worker never reached $1 (the call said: $(cat "$out"))"
        check_eq "$1" "$got" "where the worker holds"
}

go_on() {
        timeout 20 sh -c "echo go >'$release'" || fail "the worker did not wait to be released"
}

check_eq ok "$(excl_open)" "O_EXCL open of the idle device"

# Label of the unmounted device: claimed while the worker probes and while it writes.
out=$(mktemp)
on_exit "rm -f '$out'"
gcall Label "$dev" NEWLABEL "{}" >"$out" 2>&1 &
caller=$!
at DEVICE
check_eq EBUSY "$(excl_open)" "O_EXCL open while the relabelling worker probes"
if grep -qw exfat /proc/filesystems; then
        mkdir -p /mnt/excl
        on_exit "umount /mnt/excl 2>/dev/null; rmdir /mnt/excl 2>/dev/null || true"
        mount -i -t exfat "$dev" /mnt/excl 2>/dev/null && fail "the kernel driver mounted $dev during the Label"
fi
go_on
at SET_LABEL
check_eq EBUSY "$(excl_open)" "O_EXCL open while the worker writes the label"
go_on
wait "$caller" || fail "the Label failed: $(cat "$out")"
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active after the Label"
check_eq ok "$(excl_open)" "O_EXCL open once the Label is answered"
pass "Label: the device is claimed from the open until the worker has exited"

# Mount: claimed while the worker probes; let go for mount(2), which claims it itself (the stand-in
# then fails READY: WorkerFailed, not Busy from mount(2)).
gcall Mount "$dev" "{}" >"$out" 2>&1 &
caller=$!
at DEVICE
check_eq EBUSY "$(excl_open)" "O_EXCL open while the mounting worker probes"
go_on
wait "$caller" && fail "the stand-in's Mount succeeded: $(cat "$out")"
check_contains "$(cat "$out")" "$MOUNTD_ERR.WorkerFailed" "error of the Mount"
check_contains "$(cat "$out")" "could not serve" "error of the Mount (mount(2) itself worked)"
findmnt --source "$dev" >/dev/null && fail "$dev is still mounted"
check_eq ok "$(excl_open)" "O_EXCL open once the Mount is answered"
pass "Mount: the device is claimed until mount(2), which then succeeds"
mountd_alive "$pid"
