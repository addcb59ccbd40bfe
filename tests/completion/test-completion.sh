#!/bin/bash
# SPDX-License-Identifier: MIT
# Sources completion/exfatctl with fake lsblk and findmnt first on PATH and checks COMPREPLY of
# _exfatctl for command lines, split into COMP_WORDS the way bash does (blanks, and "=" and ":" as
# words of their own, as in the default COMP_WORDBREAKS). Commands and long options are taken from
# client/main.c, so that one added there fails this test until the completion offers it.
# Usage: test-completion.sh SRCDIR
set -uo pipefail
src=${1:-$(dirname "$0")/../..}
completion=$src/completion/exfatctl
main_c=$src/client/main.c
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/dirs" "$tmp/dirs/media" "$tmp/dirs/mnt"
# lsblk -nrpo NAME,FSTYPE: raw output, empty FSTYPE for a disk without a filesystem.
cat >"$tmp/bin/lsblk" <<'FAKE'
#!/bin/sh
[ "$*" = "-nrpo NAME,FSTYPE" ] || { echo "fake lsblk: unexpected arguments: $*" >&2; exit 1; }
printf '%s\n' "/dev/sda " "/dev/sda1 ext4" "/dev/sdb " "/dev/sdb1 exfat" "/dev/sdc1 exfat" \
        "/dev/sdd1 vfat" "/dev/mmcblk0p1 exfat"
FAKE
# findmnt -rn -o FSTYPE,SOURCE,TARGET: raw output escapes blanks as \x20.
cat >"$tmp/bin/findmnt" <<'FAKE'
#!/bin/sh
[ "$*" = "-rn -o FSTYPE,SOURCE,TARGET" ] || { echo "fake findmnt: unexpected arguments: $*" >&2; exit 1; }
printf '%s\n' "ext4 /dev/sda1 /" "fuseblk.exfat /dev/sdb1 /run/media/alice/TRIP\x202026" \
        "fuseblk.exfat /dev/mmcblk0p1 /run/media/bob/CAM" "fuseblk /dev/sdc1 /media/exfat-fuse" \
        "tmpfs tmpfs /run"
FAKE
chmod +x "$tmp/bin/lsblk" "$tmp/bin/findmnt"
PATH=$tmp/bin:$PATH

# shellcheck source=/dev/null
. "$completion" || { echo "FAIL: sourcing $completion" >&2; exit 1; }
[ "$(complete -p exfatctl 2>/dev/null)" = "complete -F _exfatctl exfatctl" ] ||
        fail "no 'complete -F _exfatctl exfatctl' after sourcing: $(complete -p exfatctl 2>&1)"

# complete LINE: sets COMP_* for the cursor at the end of LINE, runs _exfatctl, prints COMPREPLY
# sorted, one per line.
complete_line() {
        local line=$1 tok rest
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMP_WORDS=()
        for tok in $line; do
                # "=" and ":" are words of their own.
                while [[ $tok =~ ^([^=:]*)([=:])(.*)$ ]]; do
                        [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
                        COMP_WORDS+=("${BASH_REMATCH[2]}")
                        tok=${BASH_REMATCH[3]}
                done
                [ -n "$tok" ] && COMP_WORDS+=("$tok")
        done
        [[ $line =~ [[:space:]]$ ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _exfatctl exfatctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$tmp/stderr"
        [ -s "$tmp/stderr" ] && fail "[$line]: stderr: $(cat "$tmp/stderr")"
        [ ${#COMPREPLY[@]} -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}" | sort
        return 0
}

# expect LINE WANT...: COMPREPLY is exactly WANT (in any order).
expect() {
        local line=$1 got want
        shift
        got=$(complete_line "$line")
        want=$([ $# -gt 0 ] && printf '%s\n' "$@" | sort)
        if [ "$got" != "$want" ]; then
                fail "[$line]: got [$(echo $got)], want [$(echo $want)]"
        else
                echo "ok: [$line] -> [$(echo $got)]"
        fi
}

# includes LINE WANT...: COMPREPLY holds every WANT.
includes() {
        local line=$1 got w
        shift
        got=$(complete_line "$line")
        for w in "$@"; do
                grep -qxF -- "$w" <<<"$got" || fail "[$line]: [$w] missing from [$(echo $got)]"
        done
        echo "ok: [$line] includes $*"
}

commands=(mount unmount label list info monitor help)

# Commands
expect "exfatctl " "${commands[@]}"
expect "exfatctl mo" mount monitor
expect "exfatctl --no-ask-password u" unmount
expect "exfatctl help " mount unmount label list info monitor
expect "exfatctl -o noexec m" mount monitor

# Devices: exFAT ones from lsblk for mount and label; exfat-mountd's mounts for unmount.
expect "exfatctl mount " /dev/sdb1 /dev/sdc1 /dev/mmcblk0p1
expect "exfatctl mount /dev/s" /dev/sdb1 /dev/sdc1
expect "exfatctl --read-only mount /dev/mm" /dev/mmcblk0p1
expect "exfatctl mount -o noexec " /dev/sdb1 /dev/sdc1 /dev/mmcblk0p1
expect "exfatctl mount -m /mnt " /dev/sdb1 /dev/sdc1 /dev/mmcblk0p1
expect "exfatctl label " /dev/sdb1 /dev/sdc1 /dev/mmcblk0p1
expect "exfatctl label /dev/sdb1 "
expect "exfatctl info " /dev/sdb1 /dev/sdc1 /dev/mmcblk0p1
expect "exfatctl info --json /dev/m" /dev/mmcblk0p1
expect "exfatctl info /dev/sdb1 "
expect "exfatctl mount /dev/sdb1 "
expect "exfatctl unmount " /dev/sdb1 "/run/media/alice/TRIP 2026" /dev/mmcblk0p1 /run/media/bob/CAM
expect "exfatctl unmount /run/media/a" "/run/media/alice/TRIP 2026"
expect "exfatctl unmount --force /dev/" /dev/sdb1 /dev/mmcblk0p1
expect "exfatctl list "
expect "exfatctl monitor "

# Options
expect "exfatctl mount --" --read-only --mount-point --no-ask-password --help
expect "exfatctl mount /dev/sdb1 -" --read-only --mount-point -o --no-ask-password --help
expect "exfatctl unmount -" --force --no-ask-password --help
expect "exfatctl label --" --no-ask-password --help
expect "exfatctl list -" --all --json --help
expect "exfatctl info -" --json --help
expect "exfatctl monitor -" --help
expect "exfatctl --v" --version

# -o keys and values; after "=" bash replaces only what follows it.
expect "exfatctl mount -o " uid= gid= dmask= fmask= noexec sync force
expect "exfatctl mount /dev/sdb1 -o f" fmask= force
expect "exfatctl mount -o noexec,s" noexec,sync
expect "exfatctl mount -o uid=roo" root
expect "exfatctl mount -o noexec,gid=roo" root
expect "exfatctl mount -o dmask=0"
includes "exfatctl mount -o uid=" =root

# --mount-point completes directories.
expect "exfatctl mount -m $tmp/dirs/m" "$tmp/dirs/media" "$tmp/dirs/mnt"
expect "exfatctl mount --mount-point $tmp/dirs/me" "$tmp/dirs/media"

# Drift: every command and long option exfatctl defines is offered.
src_commands=$(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", cmd_.*/\1/p' "$main_c")
[ -n "$src_commands" ] || fail "no commands found in $main_c"
# shellcheck disable=SC2086
includes "exfatctl " $src_commands
src_options=$(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)",[[:space:]]*\(no\|required\|optional\)_argument.*/--\1/p' "$main_c")
[ -n "$src_options" ] || fail "no long options found in $main_c"
# shellcheck disable=SC2086
includes "exfatctl -" $src_options
for c in $src_commands; do
        # Each command's own options from its usage line in main.c.
        usage=$(grep -A1 "{ \"$c\", cmd_" "$main_c" | sed -n 's/^[[:space:]]*"\(.*\)",$/\1/p')
        [ -n "$usage" ] || { fail "no usage line for $c in $main_c"; continue; }
        # shellcheck disable=SC2046
        includes "exfatctl $c -" $(grep -o -- '--[a-z-]*' <<<"$usage") --help
done
src_keys=$(sed -n 's/.*strcmp(key, "\([a-z]*\)").*/\1/p' "$src/client/options.c")
[ -n "$src_keys" ] || fail "no -o keys found in client/options.c"
for k in $src_keys; do
        got=$(complete_line "exfatctl mount -o $k")
        grep -qxE -- "$k=?" <<<"$got" || fail "-o key $k (client/options.c) not offered: [$(echo $got)]"
done

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all completion checks passed"
