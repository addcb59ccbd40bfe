# SPDX-License-Identifier: MIT
# Helpers for scripts run inside the box by tests/box/run. Source it first thing:
#   . "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
# It sets `set -euo pipefail` and an EXIT trap that runs the cleanups registered with on_exit (last
# registered first), so a failing test still unmounts, detaches and removes what it made.
# Failures print "FAIL: <what>" and exit 1.
#
# Running:   as_user USER CMD...          (CMD may be a function from this file or the test)
#            busctl_call ARGS...          busctl --system call ARGS... (as_user alice busctl_call ...)
#            mountd_call METHOD SIG ARGS  call org.exfat.Mountd1 Manager methods
# Waiting:   wait_for SECONDS CMD...      retry CMD every 0.1 s until it succeeds
#            wait_for_bus_name NAME [S], wait_for_unit_state UNIT STATE [S],
#            wait_for_mount PATH [S], wait_for_no_mount PATH [S]
# Images:    make_image VAR SIZE [mkfs.exfat ARGS...]   -> $VAR = image file (cleanup registered)
#            attach_loop VAR IMAGE                      -> $VAR = /dev/loopN (cleanup registered)
#            make_exfat_loop VAR SIZE [mkfs.exfat ARGS...] both; $VAR = loop device, ${VAR}_IMAGE = file
#            fsck_clean DEVICE|IMAGE       fsck.exfat -n, fail with its output if not clean
# Checking:  pass MSG, fail MSG, check CMD... (run, fail if it fails), check_fails CMD...,
#            check_eq WANT GOT [WHAT], check_contains HAYSTACK NEEDLE [WHAT]
# Box:       box_polkit_rules FILE...     install rules now and restart polkitd
#            box_journal [UNIT]           print the box's journal (of UNIT)
#            in_box_require               exit 77 when not running inside the box

set -euo pipefail

BOX_LIB=${BOX_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
BOX_COMMON="$BOX_LIB/common.sh"
BOX_TEST_NAME=${BOX_TEST_NAME:-$(basename "$0" .sh)}
export BOX_LIB

log() {
        echo "[$BOX_TEST_NAME] $*" >&2
}

fail() {
        echo "[$BOX_TEST_NAME] FAIL: $*" >&2
        exit 1
}

pass() {
        echo "[$BOX_TEST_NAME] ok: $*" >&2
}

in_box_require() {
        if [ "${BOX:-0}" != 1 ] || [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
                echo "[$BOX_TEST_NAME] not inside the box; run it as: tests/box/run $0" >&2
                exit 77
        fi
}

# ---- cleanup stack -------------------------------------------------------------------------------

_box_cleanups=()

# on_exit CMD... : run CMD (a single command line, eval'd) when the script exits, also on failure.
on_exit() {
        _box_cleanups+=("$*")
}

_box_run_cleanups() {
        local rc=$? i
        set +e
        for ((i = ${#_box_cleanups[@]} - 1; i >= 0; i--)); do
                eval "${_box_cleanups[$i]}" || log "cleanup failed: ${_box_cleanups[$i]}"
        done
        if [ "$rc" = 0 ]; then
                log "PASS"
        elif [ "$rc" != 77 ]; then
                log "exit status $rc"
        fi
        exit "$rc"
}
trap _box_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- running things ------------------------------------------------------------------------------

# as_user USER CMD... : run CMD as USER (uid, gid, supplementary groups) with the box's bus address.
# Functions defined by this file or the sourcing script work as CMD (exported through bash -c).
as_user() {
        local user=$1
        shift
        local -a envs=(HOME=/ USER="$user" LOGNAME="$user"
                DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}")
        if [ "$(type -t "$1")" = function ]; then
                setpriv --reuid="$user" --regid="$user" --init-groups \
                        env "${envs[@]}" bash -c "$(declare -f); set -euo pipefail; \"\$@\"" as_user "$@"
        else
                setpriv --reuid="$user" --regid="$user" --init-groups env "${envs[@]}" "$@"
        fi
}

busctl_call() {
        busctl --system --timeout=60 call "$@"
}

# mountd_call METHOD [SIGNATURE ARGS...] : call a method of the daemon's Manager object.
mountd_call() {
        local method=$1
        shift
        busctl_call org.exfat.Mountd1 /org/exfat/Mountd1 org.exfat.Mountd1.Manager "$method" "$@"
}

# ---- waiting -------------------------------------------------------------------------------------

# wait_for SECONDS CMD... : retry CMD every 0.1 s; fails (returns 1) when it never succeeded.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        while true; do
                "$@" >/dev/null 2>&1 && return 0
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.1
        done
}

_bus_name_has_owner() {
        [ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s "$1")" = "b true" ]
}

wait_for_bus_name() {
        wait_for "${2:-10}" _bus_name_has_owner "$1" || fail "bus name $1 did not appear within ${2:-10} s"
}

_unit_in_state() {
        [ "$(systemctl show -P ActiveState "$1")" = "$2" ]
}

wait_for_unit_state() {
        wait_for "${3:-10}" _unit_in_state "$1" "$2" ||
                fail "unit $1 not $2 within ${3:-10} s (it is $(systemctl show -P ActiveState "$1"))"
}

wait_for_mount() {
        wait_for "${2:-10}" findmnt --mountpoint "$1" || fail "$1 not mounted within ${2:-10} s"
}

_not_mounted() {
        ! findmnt --mountpoint "$1" >/dev/null
}

wait_for_no_mount() {
        wait_for "${2:-10}" _not_mounted "$1" || fail "$1 still mounted after ${2:-10} s"
}

# ---- images and loop devices ---------------------------------------------------------------------

# make_image VAR SIZE [mkfs.exfat ARGS...] : a sparse exFAT image in the box's /var/tmp (tmpfs).
make_image() {
        local -n _img=$1
        local size=$2
        shift 2
        _img=$(mktemp /var/tmp/box-image.XXXXXX)
        on_exit "rm -f '$_img'"
        truncate -s "$size" "$_img"
        mkfs.exfat "$@" "$_img" >/dev/null ||
                fail "mkfs.exfat $* $_img failed"
}

# attach_loop VAR IMAGE : attach IMAGE to a free loop device, detached again at exit.
attach_loop() {
        local -n _dev=$1
        _dev=$(losetup -f --show "$2") || fail "losetup -f --show $2 failed"
        on_exit "_detach_loop '$_dev'"
}

_detach_loop() {
        # A mount still holding the device turns this into auto-clear when released.
        losetup -d "$1" 2>/dev/null || true
}

# make_exfat_loop VAR SIZE [mkfs.exfat ARGS...] : image + loop device; $VAR is the device,
# ${VAR}_IMAGE the file.
make_exfat_loop() {
        local _name=$1 _file
        shift
        make_image _file "$@"
        printf -v "${_name}_IMAGE" '%s' "$_file"
        attach_loop "$_name" "$_file"
}

# fsck_clean DEVICE|IMAGE : the oracle says the volume is consistent (read-only check).
fsck_clean() {
        local out
        out=$(fsck.exfat -n "$1" 2>&1) || fail "fsck.exfat -n $1 found problems: $out"
}

# ---- checks --------------------------------------------------------------------------------------

check() {
        "$@" || fail "command failed (status $?): $*"
}

check_fails() {
        if "$@"; then
                fail "command succeeded but should have failed: $*"
        fi
}

check_eq() {
        [ "$1" = "$2" ] || fail "${3:-value}: want '$1', got '$2'"
}

check_contains() {
        case "$1" in
        *"$2"*) ;;
        *) fail "${3:-output} does not contain '$2': $1" ;;
        esac
}

# ---- box -----------------------------------------------------------------------------------------

# box_polkit_rules FILE... : rules for the rest of this run (box only); polkitd is restarted to read
# them, so no decision made before counts.
box_polkit_rules() {
        local r
        for r in "$@"; do
                install -m 0644 "$r" /etc/polkit-1/rules.d/ || fail "cannot install polkit rules $r"
        done
        systemctl restart polkit.service || fail "polkit.service did not restart"
        wait_for_bus_name org.freedesktop.PolicyKit1
}

box_journal() {
        if [ $# -gt 0 ]; then
                journalctl --no-pager -q -o short-monotonic -u "$1"
        else
                journalctl --no-pager -q -o short-monotonic
        fi
}
