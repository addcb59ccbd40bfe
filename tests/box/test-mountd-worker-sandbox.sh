#!/bin/bash
# SPDX-License-Identifier: MIT
# What a worker taken over by a hostile image can still do from inside its sandbox: no new socket
# of any family (it reaches neither the system bus nor journald's socket: its links are the fds it
# was started with), no io_uring, no device nodes. A stand-in worker tries each from the real
# worker's unit and reports on its journal.
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

# The box's /usr is its own writable overlay: the real worker is replaced in here only.
install -m 0755 "$(dirname "$0")/mountd-probe-worker.py" /usr/libexec/exfat-worker
mountd_start
make_exfat_loop dev 64M -L SANDBOX
unit=$(worker_unit "$dev")

expect_error WorkerFailed Mount "$dev" "{}"
wait_for 10 sh -c "journalctl --no-pager -q -u '$unit' | grep -q 'probe done'" || fail "the probe did not finish"
log=$(journalctl --no-pager -q -o cat -u "$unit" | grep '^probe ')
log "$log"
for p in socket-unix socket-unix-dgram socket-netlink socket-inet socketpair io_uring_setup open-dev-fuse; do
        line=$(grep "^probe $p: " <<<"$log") || fail "no report for $p"
        case "$line" in
        *": denied ("*) ;;
        *) fail "the worker's sandbox allows $p: $line" ;;
        esac
done
pass "sandbox: no socket of any family, no socketpair, no io_uring, no /dev/fuse"
mountd_alive "$pid"
