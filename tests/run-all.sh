#!/bin/bash
# The whole test suite: builds the tree and runs every meson test suite —
#   unit         cmocka tests of libexfat and the client (no privileges needed),
#   integration  exfat-worker on real loop devices and FUSE, fsck.exfat and exfat-fuse as oracles,
#   box          exfat-mountd + exfatctl against a private systemd, dbus-daemon and polkitd.
# Must run as root on Debian 12; installs missing packages itself.
# Usage: tests/run-all.sh [--suite NAME]... [extra meson test arguments]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EXFAT_BUILD_DIR:-$repo/build}

. "$repo/tests/prepare.sh" run-all

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log" || status=$?

# One closing line any reader understands, from meson's own summary.
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
expfail=$(sed -n 's/^Expected Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
unexpass=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log" | tail -1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
passed=$(( ${ok:-0} + ${expfail:-0} ))
failed=$(( ${fail:-0} + ${unexpass:-0} + ${timeout:-0} ))
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
        echo "run-all: no test ran" >&2
fi
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "${passed} passed, ${failed} failed, ${skipped:-0} skipped"
[ "$failed" -eq 0 ]
