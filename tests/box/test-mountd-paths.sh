#!/bin/bash
# SPDX-License-Identifier: MIT
# A caller's path is never resolved through a filesystem exfat-mountd serves: with one worker
# frozen (SIGSTOP, as a stalled USB stick or a hostile image would leave it), Mount, Label and
# Unmount of paths inside its mount are answered at once with a named error, and another user's
# Mount of another device goes through within a second. Devices are named under /dev only;
# "not there" and "not a block device" get the same answer (no probing of paths before polkit).
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L FROZEN
make_exfat_loop other 64M -L OTHER
unit=$(worker_unit "$dev")
mount_as alice "$dev"
mp=$MOUNT_POINT
as_user alice sh -c "mkdir '$mp/sub' && echo x > '$mp/sub/f'" || fail "write failed"
wpid=$(systemctl show -P MainPID "$unit")
on_exit "kill -CONT $wpid 2>/dev/null || true"
unmount_at_exit "$other"
unmount_at_exit "$dev"

# timed_error ERROR CALL ARGS... : expect_error within 5 s (a hung daemon fails here, not in meson's
# timeout), and the answer must have taken under 2 s.
timed_error() {
        local want=$1 t0 ms
        shift
        t0=$(date +%s%N)
        timeout 5 bash -c "$(declare -f expect_error gcall check_contains fail log); MOUNTD_ERR=$MOUNTD_ERR MOUNTD_DEST=$MOUNTD_DEST MOUNTD_PATH=$MOUNTD_PATH; expect_error $want $(printf '%q ' "$@")" ||
                fail "$* did not answer $want within 5 s"
        ms=$((($(date +%s%N) - t0) / 1000000))
        [ "$ms" -lt 2000 ] || fail "$* took $ms ms"
        log "$* -> $want in $ms ms"
}

kill -STOP "$wpid"
timed_error NoSuchDevice Mount "$mp/sub/f" "{}"
timed_error NoSuchDevice Mount "$mp/x" "{}"
timed_error NoSuchDevice Label "$mp/sub/f" "X" "{}"
timed_error NotMounted Unmount "$mp/sub" "{}"
timed_error NotMounted Unmount "$mp/." "{}"
t0=$(date +%s%N)
mount_as alice "$other"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || fail "alice's Mount of another device took $ms ms while a worker is frozen"
unmount_as alice "$other"
pass "worker frozen: paths inside its mount refused at once; another Mount answered in $ms ms"

kill -CONT "$wpid"
# Symlinks under /dev still name the device; paths outside /dev never do.
by_label=/dev/disk/by-label/OTHER
mkdir -p /dev/disk/by-label
ln -sf "../../${other#/dev/}" "$by_label"
on_exit "rm -f '$by_label'"
mount_as alice "$by_label"
check_eq "$other" "$(mount_prop "$MOUNT_OBJ" Device | tr -d '"')" "Device of a Mount by a /dev symlink"
unmount_as alice "$by_label"
ln -sf "$other" /run/exfat-test-link
on_exit "rm -f /run/exfat-test-link"
expect_error NoSuchDevice Mount /run/exfat-test-link "{}"
ln -sf /run/exfat-test-link /dev/exfat-test-escape
on_exit "rm -f /dev/exfat-test-escape"
expect_error NoSuchDevice Mount /dev/exfat-test-escape "{}"
a=$( (gcall Mount /dev/does-not-exist "{}" 2>&1 || true) | sed 's|/dev/does-not-exist|PATH|')
b=$( (gcall Mount /dev/null "{}" 2>&1 || true) | sed 's|/dev/null|PATH|')
check_contains "$a" "$MOUNTD_ERR.NoSuchDevice" "the answer for a missing path"
check_eq "$a" "$b" "the answers for a missing path and a non-block device"
pass "a /dev symlink names its device; links out of /dev and paths outside it do not; one answer for missing and not-a-device"

unmount_as alice "$mp"
fsck_clean "$dev"
mountd_alive "$pid"
pass "unmounted clean"
