#!/bin/bash
# SPDX-License-Identifier: MIT
# exfat-mountd's structured journal entries: a mount, an unmount, a refusal, a failure and an abort
# are each logged once, with MESSAGE_ID (one per kind, explained in the installed catalog),
# DEVICE=, MOUNT_POINT=, UNIT=, OWNER_UID= and ERRNO=, so that journalctl finds them by field; the
# worker's own lines carry DEVICE= too.
# box-polkit-rules: rules/mountd-alice-basic.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

ID_MOUNTED=a54586d8e44e4c3896be4a5e54772bdf
ID_UNMOUNTED=6444c7b5a93049b9a41723ad49a1ec8a
ID_REFUSED=234d350701c8437494d85d4507ba291f
ID_FAILED=db32de276f104062b3504f75866ca3e9
ID_ABORTED=b5e2971a6fe946cd8fa92e2c9dcc6f26

# entries ID DEVICE : how many entries of that kind the journal has for DEVICE.
entries() {
        journalctl --no-pager -q -o cat "MESSAGE_ID=$1" "DEVICE=$2" | wc -l
}
# field ID DEVICE NAME : NAME's values in those entries, one per line.
field() {
        journalctl --no-pager -q -o export "MESSAGE_ID=$1" "DEVICE=$2" | sed -n "s/^$3=//p"
}
# expect_entries N ID DEVICE WHAT : the journal shows exactly N such entries (journald reads the
# daemon's socket asynchronously: wait for them, then make sure no more come with the next one).
expect_entries() {
        wait_for 5 sh -c "[ \$(journalctl --no-pager -q -o cat MESSAGE_ID=$2 DEVICE=$3 | wc -l) -ge $1 ]" ||
                fail "$4: $(entries "$2" "$3") entries for $3, want $1"
        check_eq "$1" "$(entries "$2" "$3")" "$4: entries for $3"
}

mountd_start
alice=$(id -u alice)
make_exfat_loop dev 64M -L JOURNAL
make_exfat_loop other 64M -L OTHER
unit=$(worker_unit "$dev")
unmount_at_exit "$dev"
unmount_at_exit "$other"

# A mount: once, with every field.
mount_as alice "$dev"
mp=$MOUNT_POINT
expect_entries 1 $ID_MOUNTED "$dev" "mount"
check_eq "$mp" "$(field $ID_MOUNTED "$dev" MOUNT_POINT)" "MOUNT_POINT of the mount entry"
check_eq "$unit" "$(field $ID_MOUNTED "$dev" UNIT)" "UNIT of the mount entry"
check_eq "$alice" "$(field $ID_MOUNTED "$dev" OWNER_UID)" "OWNER_UID of the mount entry"
check_eq "6" "$(field $ID_MOUNTED "$dev" PRIORITY)" "PRIORITY of the mount entry"
check_eq "exfat-mountd.service" "$(field $ID_MOUNTED "$dev" _SYSTEMD_UNIT)" "the mount entry's sender"
# The worker's unit adds DEVICE= to each of its lines.
check_eq "DEVICE=$dev" "$(systemctl show -P LogExtraFields "$unit")" "LogExtraFields of $unit"
pass "mount: one entry with MOUNT_POINT, UNIT, OWNER_UID"

# A refusal: another owner needs more than org.exfat.mountd.mount, all alice has.
expect_error NotAuthorized as alice Mount "$other" "{'uid': <uint32 0>}"
expect_entries 1 $ID_REFUSED "$other" "refusal"
check_eq "$alice" "$(field $ID_REFUSED "$other" OWNER_UID)" "OWNER_UID of the refusal"
check_contains "$(journalctl --no-pager -q -o cat MESSAGE_ID=$ID_REFUSED DEVICE="$other")" \
        "refused for uid $alice (Mount $other)" "the refusal's message"
check_eq 0 "$(entries $ID_MOUNTED "$other")" "mount entries for the refused device"
pass "refusal: one entry naming the caller"

# An unmount: once; the mount's entry stays the only one.
unmount_as alice "$dev"
expect_entries 1 $ID_UNMOUNTED "$dev" "unmount"
check_eq "$mp" "$(field $ID_UNMOUNTED "$dev" MOUNT_POINT)" "MOUNT_POINT of the unmount entry"
check_eq "$unit" "$(field $ID_UNMOUNTED "$dev" UNIT)" "UNIT of the unmount entry"
check_eq 1 "$(entries $ID_MOUNTED "$dev")" "mount entries after the unmount"
pass "unmount: one entry"

# A failure: no exFAT on the device; ERRNO says why; the worker's complaint carries DEVICE= too, and
# names the device in its text.
bad_image=$(mktemp /var/tmp/box-image.XXXXXX)
on_exit "rm -f '$bad_image'"
truncate -s 16M "$bad_image"
attach_loop bad "$bad_image"
expect_error NotExfat as alice Mount "$bad" "{}"
expect_entries 1 $ID_FAILED "$bad" "failure"
check_eq 22 "$(field $ID_FAILED "$bad" ERRNO)" "ERRNO of the failure (EINVAL)"
check_eq "$(worker_unit "$bad")" "$(field $ID_FAILED "$bad" UNIT)" "UNIT of the failure"
check_eq 0 "$(entries $ID_MOUNTED "$bad")" "mount entries for the bad device"
wait_for 5 sh -c "journalctl --no-pager -q -o cat DEVICE='$bad' _SYSTEMD_UNIT='$(worker_unit "$bad")' | grep -qF '$bad: not an exFAT volume'" ||
        fail "the worker's line about $bad does not carry DEVICE=: $(journalctl --no-pager -q -u "$(worker_unit "$bad")")"
pass "failure: one entry with ERRNO=22; the worker's own line found by DEVICE="

# An abort: the worker dies under a mount.
mount_as alice "$dev"
mp=$MOUNT_POINT
expect_entries 2 $ID_MOUNTED "$dev" "second mount"
wpid=$(systemctl show -P MainPID "$unit")
[ -n "$wpid" ] && [ "$wpid" != 0 ] || fail "no worker pid"
kill -KILL "$wpid"
expect_entries 1 $ID_ABORTED "$dev" "abort"
check_eq "$mp" "$(field $ID_ABORTED "$dev" MOUNT_POINT)" "MOUNT_POINT of the abort"
check_contains "$(journalctl --no-pager -q -o cat MESSAGE_ID=$ID_ABORTED DEVICE="$dev")" "worker exited unexpectedly" \
        "the abort's message"
check_eq 1 "$(entries $ID_UNMOUNTED "$dev")" "unmount entries after the abort"
wait_for_no_mount "$mp"
pass "abort: one entry"

# One query by device finds the whole story, in order.
story=$(journalctl --no-pager -q -o export DEVICE="$dev" | sed -n 's/^MESSAGE_ID=//p' | tr '\n' ' ')
check_eq "$ID_MOUNTED $ID_UNMOUNTED $ID_MOUNTED $ID_ABORTED " "$story" "MESSAGE_IDs for DEVICE=$dev"

# The catalog explains each MESSAGE_ID the daemon uses (indexed in a scratch root: the box's
# /var is not ours to write).
catalog=/usr/lib/systemd/catalog/exfat-mountd.catalog
[ -f "$catalog" ] || fail "$catalog is not installed"
root=$(mktemp -d /var/tmp/catalog.XXXXXX)
on_exit "rm -rf '$root'"
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/"
journalctl --root="$root" --update-catalog || fail "journalctl cannot index $catalog"
for id in $ID_MOUNTED $ID_UNMOUNTED $ID_REFUSED $ID_FAILED $ID_ABORTED; do
        journalctl --root="$root" --list-catalog "$id" | grep -q "$id exfat-mountd" ||
                fail "the catalog does not explain $id: $(journalctl --root="$root" --list-catalog)"
done
pass "the catalog explains every MESSAGE_ID"
mountd_alive "$pid"
