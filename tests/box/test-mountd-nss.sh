#!/bin/bash
# SPDX-License-Identifier: MIT
# Looking up a user never stalls the daemon (issue 11 item 1: no NSS on the event loop). A Mount
# names its files' owner with the uid option, a uid of the caller's choosing; /etc/passwd does not know
# 77777, so NSS asks systemd's user database, where a service that never answers holds the lookup
# for 45 s (nss-systemd's timeout). Meanwhile the daemon answers everything else at once: its Version,
# root's relabelling of alice's mounted volume, alice's Unmount of it. (No new worker is started
# meanwhile: systemd itself asks the same user database when it allocates a dynamic user.) Once the
# service goes, the stuck request gets its answer (polkit refuses alice mount-other-owner) and
# nothing is mounted for it. A passwd entry over 4 KiB is read in full (a larger buffer), not taken
# for "no such user".
# box-polkit-rules: rules/mountd-alice-basic.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L STUCK
make_exfat_loop other 64M -L OTHER
unmount_at_exit "$dev"
unmount_at_exit "$other"

# alice's volume is mounted before the user database hangs.
mount_as alice "$other"

sock=/run/systemd/userdb/io.exfat.test.Hang
systemd-run --quiet --unit=box-hung-userdb -p Type=exec "$(dirname "$(readlink -f "$0")")/mountd-hung-userdb.py" "$sock" ||
        fail "cannot start the hung userdb service"
on_exit "systemctl stop box-hung-userdb 2>/dev/null || true; rm -f '$sock'"
wait_for 10 test -S "$sock" || fail "the hung userdb service did not come up"
# alice's calls from now on: as_user's setpriv --init-groups would itself ask the hung database
# (for her groups), so hers run with no supplementary groups, which she has none of anyway.
as_alice() {
        setpriv --reuid=alice --regid=alice --clear-groups env HOME=/ USER=alice LOGNAME=alice \
                DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}" \
                gdbus call --system --timeout 60 --dest "$MOUNTD_DEST" --object-path "$MOUNTD_PATH" \
                --method "org.exfat.Mountd1.Manager.$1" "${@:2}" 2>&1
}

out=$(mktemp)
on_exit "rm -f '$out'"
as_alice Mount "$dev" "{'uid': <uint32 77777>}" >"$out" 2>&1 &
caller=$!
on_exit "kill $caller 2>/dev/null || true"
# The daemon's lookup of 77777 is now stuck in the user database (it connected and waits).
wait_for 10 sh -c "journalctl --no-pager -q -o cat -u box-hung-userdb | grep -q '^accepted pid $pid '" ||
        fail "the daemon never asked the user database about uid 77777"

# within SECONDS CMD... : CMD (a function of ours too) or fail after SECONDS: a stalled daemon fails here.
within() {
        local s=$1
        shift
        timeout "$s" bash -c "$(declare -f); MOUNTD_DEST=$MOUNTD_DEST MOUNTD_PATH=$MOUNTD_PATH MOUNTD_ERR=$MOUNTD_ERR; set -euo pipefail; \"\$@\"" within "$@"
}
t0=$(date +%s%N)
within 5 busctl --system get-property "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Version >/dev/null ||
        fail "the daemon does not answer while a user lookup hangs"
r=$(within 5 gcall Label "$other" "RELABEL" "{}") || fail "root's Label while a user lookup hangs: $r"
r=$(within 5 as_alice Unmount "$other" "{}") || fail "alice's Unmount while a user lookup hangs: $r"
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq RELABEL "$(exfatlabel "$other" 2>/dev/null | sed -n 's/^label: //p')" "label"
kill -0 "$caller" 2>/dev/null || fail "the stuck Mount was answered already: $(cat "$out")"
pass "a lookup hung in NSS: Version, root's Label and alice's Unmount answered in $ms ms for all three"

# The user database goes: the lookup ends with "no such user", polkit refuses alice.
systemctl stop box-hung-userdb
wait "$caller" && fail "alice's Mount for uid 77777 succeeded: $(cat "$out")"
check_contains "$(cat "$out")" "$MOUNTD_ERR.NotAuthorized" "the stuck Mount's answer"
! findmnt --source "$dev" >/dev/null || fail "$dev got mounted"
pass "the stuck request, once NSS answered: NotAuthorized (mount-other-owner), nothing mounted"

# A passwd entry longer than a first 4 KiB buffer (a long GECOS field): looked up in full, not
# taken for "no such user" (before, the files of dave's mount got group 4400, his uid, instead of
# his primary group 4321).
groupadd -g 4321 longgroup || fail "groupadd failed"
useradd --no-create-home -u 4400 -g 4321 -c "$(head -c 6000 /dev/zero | tr '\0' g)" dave || fail "useradd dave failed"
on_exit "userdel dave 2>/dev/null; groupdel longgroup 2>/dev/null"
out=$(gcall Mount "$dev" "{'uid': <uint32 4400>}") || fail "root's Mount for dave failed: $out"
mp=$(sed -n "s/^(objectpath '[^']*', '\(.*\)')\$/\1/p" <<<"$out")
[ -n "$mp" ] || fail "unexpected Mount reply: $out"
check_eq "4400:4321" "$(stat -c %u:%g "$mp")" "owner of dave's files"
gcall Unmount "$dev" "{}" >/dev/null || fail "Unmount of dave's mount failed"
pass "a passwd entry over 4 KiB: the owner's own primary group"

mountd_alive "$pid"
