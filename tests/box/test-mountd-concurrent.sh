#!/bin/bash
# SPDX-License-Identifier: MIT
# Requests run side by side: three volumes with the same label are mounted at once (each by its own
# worker) and get unique mount points (SAME, SAME1, SAME2), a second Mount of a device in flight is
# refused instead of racing, and all three unmount at once, clean.
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
devs=()
for i in 1 2 3; do
        make_exfat_loop d 64M -L SAME
        devs+=("$d")
        unmount_at_exit "$d"
done
out=$(mktemp -d /var/tmp/concurrent.XXXXXX)
on_exit "rm -rf '$out'"

for i in 0 1 2; do
        as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Mount 'sa{sv}' "${devs[$i]}" 0 \
                >"$out/mount.$i" 2>&1 &
done
# The same device a second time, racing the first: exactly one of the two may win; the other gets
# Busy (still in flight) or AlreadyMounted, never a second mount.
as_user alice gcall Mount "${devs[0]}" "{}" >"$out/again" 2>&1 &
wait
mps=()
for i in 0 1 2; do
        if [ "$i" = 0 ] && ! grep -q '^os ' "$out/mount.0"; then
                # The racing call won; this one must have been refused.
                grep -qE "already mounted|is busy" "$out/mount.0" || fail "first Mount of ${devs[0]}: $(cat "$out/mount.0")"
                grep -q "^(objectpath" "$out/again" || fail "neither Mount of ${devs[0]} succeeded: $(cat "$out/again")"
                mps+=("$(sed -n "s/.*, '\(.*\)').*/\1/p" "$out/again")")
                continue
        fi
        grep -q '^os ' "$out/mount.$i" || fail "Mount of ${devs[$i]} failed: $(cat "$out/mount.$i")"
        mps+=("$(awk '{print $3}' "$out/mount.$i" | tr -d '"')")
done
if grep -q '^os ' "$out/mount.0"; then
        grep -qE "Error\.(Busy|AlreadyMounted)" "$out/again" || fail "racing second Mount: $(cat "$out/again")"
fi
check_eq "/run/media/alice/SAME /run/media/alice/SAME1 /run/media/alice/SAME2" \
        "$(printf '%s\n' "${mps[@]}" | sort | paste -sd' ')" "mount points"
check_eq 1 "$(findmnt -n --source "${devs[0]}" | wc -l)" "mounts of ${devs[0]}"
pass "three concurrent Mounts: $(printf '%s ' "${mps[@]}"); a second Mount of one device refused"

# Each worker has a dynamic uid of its own: no worker may signal another.
uids=()
for d in "${devs[@]}"; do
        wpid=$(systemctl show -P MainPID "exfat-worker@$(systemd-escape --path "$d").service")
        uids+=("$(awk '/^Uid:/ {print $2}' "/proc/$wpid/status")")
done
check_eq 3 "$(printf '%s\n' "${uids[@]}" | sort -u | wc -l)" "distinct worker uids (${uids[*]})"
pass "workers run as distinct dynamic uids: ${uids[*]}"

for i in 0 1 2; do
        as_user alice sh -c "echo $i > '${mps[$i]}/n'" || fail "write to ${mps[$i]}"
done
for i in 0 1 2; do
        as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Unmount 'sa{sv}' "${devs[$i]}" 0 \
                >"$out/umount.$i" 2>&1 &
done
wait
for i in 0 1 2; do
        [ ! -s "$out/umount.$i" ] || fail "Unmount of ${devs[$i]}: $(cat "$out/umount.$i")"
        findmnt --source "${devs[$i]}" >/dev/null && fail "${devs[$i]} still mounted"
        fsck_clean "${devs[$i]}"
        check_eq 0 "$(volume_dirty "${devs[$i]}")" "dirty flag of ${devs[$i]}"
done
check_eq "" "$(ls /run/media/alice)" "/run/media/alice after the unmounts"
mountd_alive "$pid"
pass "three concurrent Unmounts: clean, mount points gone"
