#!/bin/bash
# SPDX-License-Identifier: MIT
# The harness seen from the HOST (test-box-host-*.sh run outside any box): a COMMAND that leaves loop
# devices, FUSE mounts (exfat-fuse; one server alone in a mount namespace of its own, which hangs at
# exit unless its connection is aborted) and a background process behind still leaves nothing on the
# host once tests/box/run returns — after a normal exit (whose status run must pass on), after Ctrl-C
# (SIGINT to run's process group), after run itself is SIGKILLed, and after run and its supervisor
# are both SIGKILLed (then the next run sweeps). Only things carrying this test's
# unique token are looked at, so boxes and tests of others running at the same time do not matter.
set -uo pipefail

here=$(dirname "$(readlink -f "$0")")
run="$here/run"
build_args=()
[ -n "${BOX_BUILD_DIR:-}" ] && build_args=(--build "$BOX_BUILD_DIR")
if [ "$(id -u)" != 0 ]; then
        echo "needs root; skipping" >&2
        exit 77
fi

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
ok() {
        echo "ok: $*" >&2
}

work=$(mktemp -d /tmp/box-host-test.XXXXXX)
marker=$(mktemp /tmp/box-host-marker.XXXXXX)
trap 'rm -rf "$work" "$marker"' EXIT

# The COMMAND run in the box: leaves everything behind on purpose, reports what it made on stdout,
# then exits with $1 (or waits to be interrupted when $1 is "wait").
leaver=$(cat <<'EOF'
set -eu
token=$2
img=/var/tmp/leaver-$token.img
truncate -s 16M "$img"
mkfs.exfat -L LEAVER "$img" >/dev/null
dev=$(losetup -f --show "$img")
mkdir -p "/tmp/mnt-$token"
mount.exfat-fuse "$dev" "/tmp/mnt-$token" >/dev/null 2>&1
findmnt -n "/tmp/mnt-$token" >/dev/null
# A FUSE server alone in a mount namespace of its own, holding its mount there: killed without its
# connection aborted first, it hangs at exit waiting for its own answer to DESTROY.
img2=/var/tmp/lone-$token.img
truncate -s 16M "$img2"
mkfs.exfat -L LONE "$img2" >/dev/null
dev2=$(losetup -f --show "$img2")
mkdir -p "/tmp/lone-$token"
unshare --mount --propagation private mount.exfat-fuse "$dev2" "/tmp/lone-$token" >/dev/null 2>&1
setsid sleep "3600.$token" </dev/null >/dev/null 2>&1 &
echo "dev=$dev"
echo "ready"
if [ "$1" = wait ]; then
        sleep 60
        exit 3
fi
exit "$1"
EOF
)

# leftovers TOKEN DEV: prints what of a box run tagged TOKEN is still on the host.
leftovers() {
        local token=$1 dev=$2 p cmd
        for p in /proc/[0-9]*; do
                cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
                case "$cmd" in
                *"$token"*) [ "${p#/proc/}" != "$BASHPID" ] && echo "process ${p#/proc/}: $cmd" ;;
                esac
        done
        losetup --list --noheadings --output NAME,BACK-FILE 2>/dev/null | grep -- "-$token.img" |
                sed 's/^/loop device still attached: /'

        grep -- "$token" /proc/self/mountinfo | sed 's/^/mount: /'
        [ -e "$marker" ] || echo "host /tmp marker $marker is gone"
}

# wait_gone TOKEN DEV SECONDS: leftovers may take a moment to vanish after a SIGKILL.
wait_gone() {
        local i
        for i in $(seq $(($3 * 10))); do
                [ -z "$(leftovers "$1" "$2")" ] && return 0
                sleep 0.1
        done
        return 1
}

wait_no_box_files() {
        local i
        for i in $(seq 50); do
                [ -z "$(box_files_of "$1")" ] && return 0
                sleep 0.1
        done
        return 1
}

box_files_of() {
        ls -d /tmp/exfat-box."$1".* /tmp/exfat-box-marker."$1".* /sys/fs/cgroup/*/exfat-box-"$1"-* \
                /sys/fs/cgroup/*/*/exfat-box-"$1"-* /sys/fs/cgroup/*/*/*/exfat-box-"$1"-* 2>/dev/null
}

# 1. Normal exit with a status of its own.
token=$RANDOM$RANDOM
start=$(date +%s%N)
"$run" "${build_args[@]}" bash -c "$leaver" leaver 42 "$token" >"$work/out1" 2>"$work/err1" &
pid=$!
wait "$pid"
status=$?
ms=$((($(date +%s%N) - start) / 1000000))
dev=$(sed -n 's/^dev=//p' "$work/out1")
if [ "$status" = 99 ] || [ "$status" = 77 ]; then
        echo "no box could be made (status $status), nothing to check: $(cat "$work/err1")" >&2
        exit "$([ "$status" = 77 ] && echo 77 || echo 1)"
fi
[ "$status" = 42 ] || fail "run exited $status, COMMAND exited 42 (stderr: $(cat "$work/err1"))"
grep -q '^ready$' "$work/out1" || fail "COMMAND did not get going: $(cat "$work/out1" "$work/err1")"
left=$(leftovers "$token" "$dev")
[ -z "$left" ] || fail "after a normal run: $left"
left=$(box_files_of "$pid")
[ -z "$left" ] || fail "box files or cgroups left: $left"
# 15 s is the target on an idle machine; other helpers' builds share its two cores.
[ "$ms" -lt 30000 ] || fail "boot + run + teardown took $ms ms"
[ "$status" = 42 ] && [ -z "$left" ] && ok "normal exit: status 42 passed on, loop $dev, FUSE mount and process released, $ms ms"

# 2. Ctrl-C: SIGINT to run's process group, as a terminal would send it.
token=$RANDOM$RANDOM
# A background job starts with SIGINT ignored, and bash cannot trap a signal ignored on entry:
# restore the default, as in a terminal.
setsid env --default-signal=INT "$run" "${build_args[@]}" bash -c "$leaver" leaver wait "$token" >"$work/out2" 2>"$work/err2" &
pid=$!
for _ in $(seq 150); do
        grep -q '^ready$' "$work/out2" 2>/dev/null && break
        sleep 0.1
done
grep -q '^ready$' "$work/out2" || fail "interrupt case: COMMAND never got ready: $(cat "$work/err2")"
dev=$(sed -n 's/^dev=//p' "$work/out2")
kill -INT -- "-$pid"
wait "$pid"
status=$?
[ "$status" = 130 ] || fail "run exited $status after SIGINT, expected 130"
left=$(leftovers "$token" "$dev")
[ -z "$left" ] || fail "after Ctrl-C: $left"
left=$(box_files_of "$pid")
[ -z "$left" ] || fail "box files or cgroups left after Ctrl-C: $left"
grep -q 'cleanup: detached loop device' "$work/err2" || fail "teardown did not report detaching the loop device: $(cat "$work/err2")"
[ "$status" = 130 ] && [ -z "$left" ] && ok "Ctrl-C: status 130, loop $dev, FUSE mount and process released"

# start_waiting N TOKEN: a run whose COMMAND sits in the box until killed; sets pid and dev.
start_waiting() {
        "$run" "${build_args[@]}" bash -c "$leaver" leaver wait "$2" >"$work/out$1" 2>"$work/err$1" &
        pid=$!
        for _ in $(seq 150); do
                grep -q '^ready$' "$work/out$1" 2>/dev/null && break
                sleep 0.1
        done
        grep -q '^ready$' "$work/out$1" || fail "case $1: COMMAND never got ready: $(cat "$work/err$1")"
        dev=$(sed -n 's/^dev=//p' "$work/out$1")
}

# 3. run SIGKILLed (a test runner's last resort): its supervisor sees the pipe close and tears down.
token=$RANDOM$RANDOM
start_waiting 3 "$token"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
if wait_gone "$token" "$dev" 15; then
        ok "run SIGKILLed: its supervisor released loop $dev, the FUSE mount and the box's processes"
else
        fail "run SIGKILLed: $(leftovers "$token" "$dev")"
fi
wait_no_box_files "$pid" || fail "box files or cgroups left after run was SIGKILLed: $(box_files_of "$pid")"

# 4. run and its supervisor both SIGKILLed: the box dies with the supervisor (parent-death signal);
# the loop device and the box's files are left for the next run, which sweeps them.
token=$RANDOM$RANDOM
start_waiting 4 "$token"
sup=$(for p in $(cat "/proc/$pid/task/$pid/children"); do
        grep -q box-supervisor "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done)
[ -n "$sup" ] || fail "no supervisor found below run $pid"
kill -KILL "$sup" "$pid"
wait "$pid" 2>/dev/null
for _ in $(seq 100); do
        [ -z "$(leftovers "$token" "" | grep '^process')" ] && break
        sleep 0.1
done
left=$(leftovers "$token" "" | grep '^process')
[ -z "$left" ] || fail "box processes survived their supervisor: $left"
"$run" "${build_args[@]}" true 2>"$work/err5" || fail "the run after a killed one failed: $(cat "$work/err5")"
if wait_gone "$token" "$dev" 5; then
        ok "run and supervisor SIGKILLed: the box died with them, the next run released loop $dev" \
                "$(grep -h 'orphaned' "$work/err5" | tr '\n' ' ')"
else
        fail "after SIGKILL of run and supervisor and another run: $(leftovers "$token" "$dev")"
fi
wait_no_box_files "$pid" || fail "box files or cgroups of the killed run not swept: $(box_files_of "$pid")"

[ "$failures" = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "PASS" >&2
