#!/bin/bash
# SPDX-License-Identifier: MIT
# lib/common.sh does what it promises: cleanups registered with on_exit run even when a test fails,
# make_exfat_loop gives a real exFAT loop device and takes it away again, as_user really switches
# user (also for shell functions), the wait helpers time out, box_polkit_rules takes effect at once.
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require

# A failing child test: its image, loop device and mount are gone afterwards.
child=$(mktemp /tmp/child.XXXXXX.sh)
on_exit "rm -f '$child'"
cat >"$child" <<'CHILD'
. "$BOX_LIB/common.sh"
make_exfat_loop dev 16M -L CHILD
mkdir -p /tmp/child-mnt
on_exit "rmdir /tmp/child-mnt"
mount.exfat-fuse "$dev" /tmp/child-mnt >/dev/null 2>&1 || fail "exfat-fuse mount failed"
on_exit "umount /tmp/child-mnt"
echo "$dev $dev_IMAGE"
fail "failing on purpose"
CHILD
set +e
out=$(bash "$child" 2>"$child.err")
status=$?
set -e
on_exit "rm -f '$child.err'"
check_eq 1 "$status" "status of a failing child"
grep -q 'FAIL: failing on purpose' "$child.err" || fail "child did not report its failure: $(cat "$child.err")"
read -r dev img <<<"$out"
[ -n "$dev" ] && [ -n "$img" ] || fail "child printed no device: $out $(cat "$child.err")"
findmnt /tmp/child-mnt >/dev/null && fail "the child's mount survived it"
[ ! -e /tmp/child-mnt ] || fail "the child's mount point survived it"
[ ! -e "$img" ] || fail "the child's image $img survived it"
if losetup -n -O BACK-FILE "$dev" 2>/dev/null | grep -qF "$img"; then
        fail "the child's loop device $dev is still attached to $img"
fi
pass "a failing test still unmounts, detaches $dev and removes its image"

# as_user, with a command and with a function.
check_eq "$BOX_ALICE_UID" "$(as_user alice id -u)" "uid as alice"
whoami_bus() {
        echo "$(id -un) $DBUS_SYSTEM_BUS_ADDRESS"
}
check_eq "bob unix:path=/run/dbus/system_bus_socket" "$(as_user bob whoami_bus)" "function as bob"
out=$(as_user bob busctl_call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.freedesktop.DBus)
check_contains "$out" 's "org.freedesktop.DBus"' "busctl_call as bob"
pass "as_user runs commands and functions as the user, with the box's bus"

# Waiting: success, and a timeout that returns instead of hanging.
wait_for 2 true || fail "wait_for true failed"
t0=$SECONDS
if wait_for 1 false; then fail "wait_for false succeeded"; fi
[ $((SECONDS - t0)) -le 3 ] || fail "wait_for 1 false took $((SECONDS - t0)) s"
wait_for_bus_name org.freedesktop.PolicyKit1 2
wait_for_unit_state dbus.service active 2
pass "wait helpers succeed and time out"

# box_polkit_rules: bob is refused, then granted by a rule installed now.
pk() {
        pkcheck --action-id org.freedesktop.policykit.exec --process $$
}
if as_user bob pk 2>/dev/null; then fail "bob authorized before any rule"; fi
rules=$(mktemp /tmp/bob.XXXXXX.rules)
on_exit "rm -f '$rules'"
cat >"$rules" <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.freedesktop.policykit.exec" && subject.user == "bob")
                return polkit.Result.YES;
});
RULES
box_polkit_rules "$rules"
as_user bob pk || fail "bob not authorized after box_polkit_rules"
pass "box_polkit_rules takes effect at once"
