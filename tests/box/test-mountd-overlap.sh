#!/bin/bash
# SPDX-License-Identifier: MIT
# The worker's unit starts while polkit decides (to save the caller one of the two waits), but a
# refused caller must get nothing else: no device opened or sent to the worker, no mount point, no
# unit left behind, and the answer is NotAuthorized whether polkit refuses before or after the
# worker said HELLO. A granted slow answer still mounts. polkit answers alice after 1 s
# (rules/mountd-overlap.rules); bob is refused at once.
# box-polkit-rules: rules/mountd-overlap.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L OVERLAP
unmount_at_exit "$dev"
unit=$(worker_unit "$dev")

ms_since() {
        echo $((($(date +%s%N) - $1) / 1000000))
}

# nothing_left WHAT : no mount, no mount point, no worker unit once the refusal is answered.
nothing_left() {
        findmnt --source "$dev" >/dev/null && fail "$1: $dev is mounted"
        [ -z "$(ls -A /run/media/alice 2>/dev/null)$(ls -A /run/media/bob 2>/dev/null)" ] ||
                fail "$1: left a mount point under /run/media"
        [ ! -e /mnt/overlap-mnt ] || fail "$1: created the chosen mount point"
        [ -z "$(worker_units)" ] || fail "$1: a worker unit is still loaded when the answer came: $(worker_units)"
}

# Slow yes: the worker is up long before polkit answers; the mount still completes.
t0=$(date +%s%N)
mount_as alice "$dev"
t=$(ms_since "$t0")
[ "$t" -ge 1000 ] || fail "alice's Mount took $t ms: polkit's rule did not delay it (rules not loaded?)"
findmnt --source "$dev" >/dev/null || fail "$dev is not mounted after alice's Mount"
unmount_as alice "$dev"
pass "slow polkit yes: mounted in $t ms"

# Slow no (mount-point: a chosen mount point), then a fast no (bob), with the real worker.
# While polkit thinks, the worker's unit is up but the daemon has not even opened the device.
t0=$(date +%s%N)
refused=$(mktemp)
on_exit "rm -f '$refused'"
as_user alice gcall Mount "$dev" "{'mount-point': <'/mnt/overlap-mnt'>}" >"$refused" 2>&1 &
caller=$!
wait_for 5 systemctl is-active --quiet "$unit" || fail "no worker unit started while polkit was deciding"
devnode=$(stat -L -c %t:%T "$dev")
for fd in /proc/"$pid"/fd/*; do
        [ "$(stat -L -c %t:%T "$fd" 2>/dev/null)" != "$devnode" ] || fail "the daemon opened $dev before polkit answered"
done
wait "$caller" && fail "alice's Mount with a chosen mount point succeeded: $(cat "$refused")"
check_contains "$(cat "$refused")" "$MOUNTD_ERR.NotAuthorized" "error of the late refusal"
nothing_left "alice refused late"
expect_error NotAuthorized as bob Mount "$dev" "{}"
nothing_left "bob refused at once"
pass "refusals (late, at once): NotAuthorized, nothing left ($(ms_since "$t0") ms for both)"

# The same with a worker that reports what it is sent: HELLO comes, DEVICE never does.
cp /usr/libexec/exfat-worker /usr/libexec/exfat-worker.real
on_exit "[ ! -e /usr/libexec/exfat-worker.real ] || mv -f /usr/libexec/exfat-worker.real /usr/libexec/exfat-worker"
install -m 0755 "$(dirname "$0")/mountd-recording-worker.py" /usr/libexec/exfat-worker
recorded() {
        journalctl --no-pager -q -o cat -u "$unit" | grep '^recorder' || true
}
expect_error NotAuthorized as alice Mount "$dev" "{'mount-point': <'/mnt/overlap-mnt'>}"
nothing_left "alice refused late (recorder)"
expect_error NotAuthorized as bob Mount "$dev" "{}"
nothing_left "bob refused at once (recorder)"
expect_error NotAuthorized as bob Label "$dev" "BOB" "{}"
nothing_left "bob's Label refused (recorder)"
wait_for 5 sh -c "journalctl --no-pager -q -o cat -u '$unit' | grep -q 'recorder.*hello sent'" ||
        fail "the recording worker never ran: $(recorded)"
log "recorder: $(recorded | tr '\n' ';')"
recorded | grep -q ': got ' && fail "a refused caller's worker was sent something (the device?): $(recorded)"
check_eq OVERLAP "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" "label after a refused Label"
# The check above can fail: an authorized request (root) does reach the worker with the device.
expect_error WorkerFailed Mount "$dev" "{}"
wait_for 5 sh -c "journalctl --no-pager -q -o cat -u '$unit' | grep -q 'recorder.*got DEVICE with an fd'" ||
        fail "root's Mount never sent DEVICE to the recording worker: $(recorded)"
mv -f /usr/libexec/exfat-worker.real /usr/libexec/exfat-worker
pass "refused callers' workers said HELLO and were sent nothing; root's got DEVICE"

# Right after a refusal the device is free for the next caller.
expect_error NotAuthorized as bob Mount "$dev" "{}"
mount_as root "$dev"
unmount_as root "$dev"
fsck_clean "$dev"
pass "a Mount right after a refusal succeeds"
mountd_alive "$pid"
