#!/bin/bash
# SPDX-License-Identifier: MIT
# exfatctl label in the box: on an unmounted and on a mounted device (exfatlabel agrees after
# unmount, list shows the new label while mounted), clearing, refusals (bob: 3; bad labels: 2).
# Run: tests/box/run tests/box/test-exfatctl-label.sh
# box-polkit-rules: rules/exfatctl-alice.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"

make_exfat_loop dev 32M -L OLDNAME
on_exit 'unmount_leftovers "$dev"'
mark_removable "$dev"

label_on_disk() {
        # exfatlabel prints "label: NAME" (exfatprogs 1.2), nothing for an empty label.
        exfatlabel "$dev" 2>/dev/null | sed -n 's/^label: //p'
}

log "unmounted device"
expect 0 exfatctl_as alice label "$dev" NEWNAME
expect_out "Set the label of $dev to \"NEWNAME\"."
check_eq NEWNAME "$(label_on_disk)" "exfatlabel after an unmounted label"
fsck_clean "$dev"

log "bob is refused"
expect 3 exfatctl_as bob label "$dev" BOBS
expect_err_has "Not authorized to set the label of $dev"
check_eq NEWNAME "$(label_on_disk)" "label after bob's refused call"

log "bad labels"
expect 2 exfatctl_as alice label "$dev" TWELVECHARSX
expect 2 exfatctl_as alice label "$dev" 'a/b'
expect 2 exfatctl_as alice label "$dev"
check_eq NEWNAME "$(label_on_disk)" "label after refused labels"

log "mounted device"
expect 0 exfatctl_as alice mount "$dev"
expect_out "Mounted $dev at /run/media/alice/NEWNAME"
expect 0 exfatctl_as alice label "$dev" "Ünïcödé 1"
expect 0 exfatctl_as alice list --json
python3 - "$out" "$dev" <<'PY' || soft_fail "list after a mounted label: [$out]"
import json, sys
m = [m for m in json.loads(sys.argv[1]) if m["device"] == sys.argv[2]]
assert len(m) == 1 and m[0]["label"] == "Ünïcödé 1", m
PY
expect 0 exfatctl_as alice unmount "$dev"
check_eq "Ünïcödé 1" "$(label_on_disk)" "exfatlabel after a mounted label and unmount"
fsck_clean "$dev"

log "a label with JSON-special characters, as formatted elsewhere"
make_exfat_loop odd 32M -L 'Q"u\o'
on_exit 'unmount_leftovers "$odd"'
mark_removable "$odd"
expect 0 exfatctl_as alice mount "$odd"
expect 0 exfatctl_as alice list --json
python3 - "$out" "$odd" <<'PY' || soft_fail "list --json with an odd label: [$out]"
import json, sys
m = [m for m in json.loads(sys.argv[1]) if m["device"] == sys.argv[2]]
assert len(m) == 1 and m[0]["label"] == 'Q"u\\o', m
PY
expect 0 exfatctl_as alice list
grep -q "^$odd .* Q\"u\\\\o " <<<"$out" || soft_fail "table row for the odd label: [$out]"
expect 0 exfatctl_as alice unmount "$odd"

log "clearing the label"
expect 0 exfatctl_as alice label "$dev" ""
expect_out "Cleared the label of $dev."
check_eq "" "$(label_on_disk)" "exfatlabel after clearing"
fsck_clean "$dev"

finish
