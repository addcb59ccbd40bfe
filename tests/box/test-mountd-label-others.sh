#!/bin/bash
# SPDX-License-Identifier: MIT
# Relabelling a volume that another user mounted needs what unmounting it needs
# (org.exfat.mountd.unmount-others): bob, granted mount and label as any active-session user is,
# cannot rename alice's mounted stick under her; his own label grant still works on a device
# nobody mounted, and alice relabels her own.
# box-polkit-rules: rules/mountd-desktop-users.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
. "$(dirname "$0")/mountd-lib.sh"
in_box_require

mountd_start
make_exfat_loop dev 64M -L ALICES
make_exfat_loop free 64M -L NOBODYS
unmount_at_exit "$dev"

mount_as alice "$dev"
obj=$MOUNT_OBJ
expect_error NotAuthorized as bob Label "$dev" "BOBS" "{}"
check_eq '"ALICES"' "$(mount_prop "$obj" Label)" "Label property after bob's refused Label"
box_journal | grep -q "org.exfat.mountd.unmount-others refused for" ||
        fail "the refusal did not name org.exfat.mountd.unmount-others"
pass "bob cannot relabel alice's mounted volume (unmount-others refused)"

as_user bob busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Label 'ssa{sv}' "$free" "BOBS" 0 ||
        fail "bob's Label of a device nobody mounted failed"
check_eq BOBS "$(exfatlabel "$free" 2>/dev/null | sed -n 's/^label: //p')" "label bob set on the unmounted device"
as_user alice busctl_call "$MOUNTD_DEST" "$MOUNTD_PATH" org.exfat.Mountd1.Manager Label 'ssa{sv}' "$dev" "ALICE2" 0 ||
        fail "alice's Label of her own mount failed"
check_eq '"ALICE2"' "$(mount_prop "$obj" Label)" "Label property after alice's Label"
pass "bob labels an unmounted device, alice her own mount"

unmount_as alice "$dev"
check_eq ALICE2 "$(exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p')" "label on the device after Unmount"
fsck_clean "$dev"
fsck_clean "$free"
mountd_alive "$pid"
pass "unmounted clean"
