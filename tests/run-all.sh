#!/bin/bash
# The whole test suite: builds the tree and runs every meson test suite —
#   unit         cmocka tests of libexfat and the client (no privileges needed),
#   integration  exfat-worker on real loop devices and FUSE, fsck.exfat and exfat-fuse as oracles,
#   box          exfat-mountd + exfatctl against a private systemd, dbus-daemon and polkitd, with
#                udevd, udisksd and gvfs for the desktop road,
#   fuzz         each libFuzzer harness for 15 s (a clang build of its own),
#   deb          the Debian package built from HEAD, installed and purged in the box —
# then unit and integration once more from a second build with ASan and UBSan (the sanitizer
# pass, in build-sanitize: any finding fails its test). The closing line counts both passes.
# Must run as root on Debian 12; installs missing packages itself.
# Usage: tests/run-all.sh [--suite NAME]... [extra meson test arguments]
#   Arguments go to both passes. Without any, the sanitizer pass runs --suite unit --suite
#   integration; with some, it runs what they select less the box suite (so --suite box alone
#   leaves it nothing to do). EXFAT_SANITIZE=0 leaves the sanitizer pass out.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EXFAT_BUILD_DIR:-$repo/build}
sanitize_build=${EXFAT_SANITIZE_BUILD_DIR:-$repo/build-sanitize}
sanitize=${EXFAT_SANITIZE:-1}

. "$repo/tests/prepare.sh" run-all

if [ "$sanitize" != 0 ]; then
        # -fno-sanitize-recover: undefined behaviour ends the process like an ASan finding does,
        # whatever UBSAN_OPTIONS say. b_lundef=false: meson's advice for -fsanitize with shared
        # libraries. The test environment (exit code, leak suppressions) is meson.build's.
        if [ ! -f "$sanitize_build/build.ninja" ]; then
                meson setup --prefix=/usr -Db_sanitize=address,undefined -Db_lundef=false \
                        -Dc_args=-fno-sanitize-recover=undefined "$sanitize_build" "$repo" >/dev/null
        fi
        if ! ninja_log=$(ninja -C "$sanitize_build" 2>&1); then
                echo "$ninja_log" >&2
                echo "run-all: the sanitizer build failed" >&2
                exit 1
        fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 skipped=0

# One count from meson's closing summary in $log ("Ok:", "Fail:", ...; 0 when absent).
summary_count() {
        local n
        n=$(sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$log" | tail -1)
        echo "${n:-0}"
}

# Runs meson test in build dir $1 with the remaining arguments and adds its summary to the totals.
run_pass() {
        local dir=$1 status=0 p f s start=$SECONDS
        shift
        meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log" || status=$?
        p=$(( $(summary_count Ok) + $(summary_count 'Expected Fail') ))
        f=$(( $(summary_count Fail) + $(summary_count 'Unexpected Pass') + $(summary_count Timeout) ))
        s=$(summary_count Skipped)
        # meson itself failed (a build error, a bad argument) without counting a failed test
        [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        echo "run-all: ${dir#"$repo"/}: $p passed, $f failed, $s skipped in $(( SECONDS - start )) s"
        passed=$(( passed + p )) failed=$(( failed + f )) skipped=$(( skipped + s ))
}

run_pass "$build" "$@"
if [ "$sanitize" != 0 ]; then
        echo
        echo "run-all: sanitizer pass (ASan + UBSan) in ${sanitize_build#"$repo"/}: same test names, this build"
        if [ $# -eq 0 ]; then
                run_pass "$sanitize_build" --suite unit --suite integration
        else
                run_pass "$sanitize_build" --no-suite box "$@"
        fi
fi

# One closing line any reader understands, from meson's own summaries.
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
        echo "run-all: no test ran" >&2
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
