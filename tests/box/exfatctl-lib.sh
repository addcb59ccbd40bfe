# SPDX-License-Identifier: MIT
# Shared by tests/box/test-exfatctl-*.sh, on top of lib/common.sh: checks that record a failure and
# go on (one run then shows every exit code that is off, not just the first), and the summary.
#   expect CODE CMD...      run CMD (stdin /dev/null); sets $out, $err, $rc; records a failure if
#                           the exit code is not CODE
#   expect_out WANT         $out must equal WANT       (both skipped when the last expect failed:
#   expect_err_has TEXT     $err must contain TEXT      one failure, one message)
#   soft_fail MSG           record a failure
#   finish                  exit 1 if anything failed
#   exfatctl_as USER ARGS   exfatctl as USER (as_user), no terminal
#   mark_removable DEV...   list DEVs in the daemon's removable-devices config (box /etc only)
#   unmount_leftovers DEV...  for on_exit: unmount what a failed test left (daemon first, then umount -l)
#   kill_quietly PID...     for on_exit: SIGKILL, ignoring processes already gone

_exfatctl_failures=0
_expect_ok=0
_exfatctl_tmp=$(mktemp -d)
on_exit "rm -rf '$_exfatctl_tmp'"

soft_fail() {
        echo "[$BOX_TEST_NAME] FAIL: $*" >&2
        _exfatctl_failures=$((_exfatctl_failures + 1))
}

expect() {
        local want=$1
        shift
        set +e
        out=$("$@" 2>"$_exfatctl_tmp/stderr" </dev/null)
        rc=$?
        set -e
        err=$(cat "$_exfatctl_tmp/stderr")
        _expect_ok=0
        if [ "$rc" != "$want" ]; then
                soft_fail "'$*' exited $rc, expected $want; stdout: [$out] stderr: [$err]"
                return 0
        fi
        _expect_ok=1
        log "ok: exit $rc: $*${err:+ (stderr: $err)}"
}

expect_out() {
        [ "$_expect_ok" = 1 ] || return 0
        [ "$out" = "$1" ] || soft_fail "stdout [$out], expected [$1]"
}

expect_err_has() {
        [ "$_expect_ok" = 1 ] || return 0
        case "$err" in
        *"$1"*) ;;
        *) soft_fail "stderr [$err] does not contain [$1]" ;;
        esac
}

exfatctl_as() {
        local user=$1
        shift
        as_user "$user" exfatctl "$@"
}

mark_removable() {
        mkdir -p /etc/exfat-mountd
        printf '%s\n' "$@" >>/etc/exfat-mountd/removable-devices
}

# cwd_is PID DIR : PID's working directory is DIR (for wait_for).
cwd_is() {
        [ "$(readlink "/proc/$1/cwd")" = "$2" ]
}

unmount_leftovers() {
        local d m
        for d in "$@"; do
                findmnt -rn -S "$d" >/dev/null 2>&1 || continue
                exfatctl unmount --force "$d" </dev/null >/dev/null 2>&1 || true
                findmnt -rn -S "$d" -o TARGET 2>/dev/null | while read -r m; do umount -l "$m" || true; done
        done
        return 0
}

kill_quietly() {
        local p
        for p in "$@"; do
                [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
        done
        return 0
}

finish() {
        if [ "$_exfatctl_failures" -gt 0 ]; then
                echo "[$BOX_TEST_NAME] $_exfatctl_failures check(s) failed" >&2
                exit 1
        fi
}
