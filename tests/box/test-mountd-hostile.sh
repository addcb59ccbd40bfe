#!/bin/bash
# SPDX-License-Identifier: MIT
# The worker is untrusted: a stand-in that lies on the link (wrong version, an fd with HELLO, short
# or garbage packets, messages out of order, labels without NUL or with control characters, a volume
# larger than the device, bad cluster sizes, out-of-range status and flags, silence, READY without
# serving) must get its Mount refused with a named error, leave nothing mounted and no mount point
# behind, and the daemon must stay up.
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

# The box's /usr is its own writable overlay: the real worker is replaced in here only.
install -m 0755 "$(dirname "$0")/mountd-hostile-worker.py" /usr/libexec/exfat-worker
mountd_start
make_exfat_loop dev 64M -L HOSTILE
unit=$(worker_unit "$dev")

try_mode() {
        local mode=$1 want=$2 t0
        echo "$mode" >/etc/exfat-mountd/hostile-mode
        t0=$(date +%s%N)
        expect_error "$want" Mount "$dev" "{}"
        findmnt --source "$dev" >/dev/null && fail "$mode: $dev is mounted"
        [ -z "$(ls -A /run/media/root 2>/dev/null)" ] || fail "$mode: left $(ls /run/media/root)"
        wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$mode: $unit still active"
        mountd_alive "$pid"
        pass "$mode: $want in $((($(date +%s%N) - t0) / 1000000)) ms, nothing left, daemon up"
}

try_mode version WorkerFailed
try_mode fd WorkerFailed
try_mode garbage WorkerFailed
try_mode short WorkerFailed
try_mode exit WorkerFailed
try_mode early-ready WorkerFailed
try_mode badlabel WorkerFailed
try_mode ctrl-label WorkerFailed
try_mode hugesize WorkerFailed
try_mode badcluster WorkerFailed
try_mode badstatus WorkerFailed
try_mode badflag WorkerFailed
try_mode twice WorkerFailed
try_mode notready WorkerFailed
try_mode notexfat NotExfat
# READY but no request ever answered: Mount waits for a first answer (the read-ahead can only be
# raised after it), then the ready timeout (10 s) aborts the connection and ends it.
try_mode ready-no-serve WorkerFailed
wait_for_log "waiting for the first request to be answered"
# Says nothing at all: the start timeout (20 s) ends it, and the unit is stopped.
try_mode silent WorkerFailed
wait_for_log "invalid probe result"

# No worker at all (the binary is missing): the unit's start job fails; WorkerFailed, nothing left.
mv /usr/libexec/exfat-worker /usr/libexec/exfat-worker.away
t0=$(date +%s%N)
expect_error WorkerFailed Mount "$dev" "{}"
findmnt --source "$dev" >/dev/null && fail "missing worker: $dev is mounted"
[ -z "$(ls -A /run/media/root 2>/dev/null)" ] || fail "missing worker: left $(ls /run/media/root)"
mountd_alive "$pid"
mv /usr/libexec/exfat-worker.away /usr/libexec/exfat-worker
pass "missing worker binary: WorkerFailed in $((($(date +%s%N) - t0) / 1000000)) ms, nothing left"

# The daemon dies while a mount is half made (mounted, the worker not ready): the restarted daemon
# finds the record of it and takes it down instead of leaving an unknown mount behind.
echo hang-after-fuse >/etc/exfat-mountd/hostile-mode
gcall Mount "$dev" "{}" >/dev/null &
caller=$!
wait_for 10 findmnt --source "$dev" || fail "hang-after-fuse: $dev never got mounted"
mp=$(findmnt -n -o TARGET --source "$dev")
kill -KILL "$pid"
wait "$caller" 2>/dev/null || true
wait_for 10 sh -c "p=\$(systemctl show -P MainPID exfat-mountd.service); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ]" ||
        fail "the daemon was not restarted after SIGKILL"
wait_for_bus_name "$MOUNTD_DEST"
wait_for_log "still being set up"
findmnt --source "$dev" >/dev/null && fail "the half-made mount of $dev was left behind"
[ -e "$mp" ] && fail "$mp was left behind"
wait_for 10 sh -c "! systemctl is-active --quiet '$unit'" || fail "$unit still active"
pass "daemon killed during a mount: the restarted daemon removed the half-made mount $mp"
