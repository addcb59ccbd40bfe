#!/bin/bash
# SPDX-License-Identifier: MIT
# The box's users are its own (issue 11 item 12: the box failed to boot, status 99, on a host that
# already had a user alice). Seen from the HOST: tests/box/run is started in a mount namespace of this
# test's own in which a copy of /etc, with users and groups alice and bob (and both in a group of the
# host's), is bind-mounted over /etc; the host's real /etc is never written. In the box, alice and bob
# are the box's (the uids run exports, not the host's), members of their own groups only, and polkit
# and setpriv know them; the host's view (/run/box/host-etc) still shows the host's alice.
set -uo pipefail

here=$(dirname "$(readlink -f "$0")")
run="$here/run"
build_args=()
[ -n "${BOX_BUILD_DIR:-}" ] && build_args=(--build "$BOX_BUILD_DIR")
if [ "$(id -u)" != 0 ]; then
        echo "needs root; skipping" >&2
        exit 77
fi

work=$(mktemp -d /tmp/box-host-users.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A host /etc with alice, bob and a group holding both: a copy, never the real one.
cp -a /etc "$work/etc" || { echo "FAIL: cannot copy /etc" >&2; exit 1; }
cat >>"$work/etc/passwd" <<'EOP'
alice:x:4242:4242:the host's alice:/home/alice:/bin/bash
bob:x:4243:4243:the host's bob:/home/bob:/bin/bash
EOP
cat >>"$work/etc/group" <<'EOP'
alice:x:4242:
bob:x:4243:
boxhostgrp:x:4300:alice,bob
EOP
[ -f "$work/etc/shadow" ] && printf 'alice:!:19000:0:99999:7:::\nbob:!:19000:0:99999:7:::\n' >>"$work/etc/shadow"
[ -f "$work/etc/gshadow" ] && printf 'alice:!::\nbob:!::\nboxhostgrp:!:alice:alice,bob\n' >>"$work/etc/gshadow"
host_passwd_sum=$(sha256sum </etc/passwd)

# What the box must show. Runs in the box, as root.
check=$(cat <<'EOF2'
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q "^alice:x:4242:" /run/box/host-etc/passwd || fail "the box's view of the host has no host alice (test setup broken)"
[ "$(id -u alice)" = "$BOX_ALICE_UID" ] || fail "alice's uid $(id -u alice), run exported $BOX_ALICE_UID"
[ "$(id -u bob)" = "$BOX_BOB_UID" ] || fail "bob's uid $(id -u bob), run exported $BOX_BOB_UID"
[ "$BOX_ALICE_UID" != 4242 ] && [ "$BOX_BOB_UID" != 4243 ] || fail "the box's users kept the host's uids"
[ "$(id -g alice)" = "$BOX_ALICE_GID" ] || fail "alice's group $(id -g alice), run exported $BOX_ALICE_GID"
[ "$(grep -c '^alice:' /etc/passwd)" = 1 ] || fail "alice twice in /etc/passwd"
[ "$(grep -c '^alice:' /etc/group)" = 1 ] || fail "group alice twice in /etc/group"
[ "$(id -nG alice)" = alice ] || fail "alice is in the host's groups: $(id -nG alice)"
[ "$(id -nG bob)" = bob ] || fail "bob is in the host's groups: $(id -nG bob)"
[ "$(setpriv --reuid=alice --regid=alice --init-groups id -u)" = "$BOX_ALICE_UID" ] || fail "setpriv as alice"
echo "box users ok: alice $BOX_ALICE_UID, bob $BOX_BOB_UID"
EOF2
)

# A mount namespace of our own: the copy over /etc is seen by run and the box it boots, nobody else.
unshare --mount --propagation private -- bash -c '
        mount --bind "$1/etc" /etc || exit 1
        shift
        exec "$@"' users "$work" "$run" "${build_args[@]}" bash -c "$check" >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" != 0 ]; then
        echo "FAIL: the box on a host with alice and bob exited $rc" >&2
        tail -n 40 "$work/err" >&2
        exit 1
fi
grep -q "box users ok" "$work/out" || { echo "FAIL: the check did not run: $(cat "$work/out" "$work/err")" >&2; exit 1; }
[ "$(sha256sum </etc/passwd)" = "$host_passwd_sum" ] || { echo "FAIL: the host's /etc/passwd changed" >&2; exit 1; }
! grep -q "^alice:x:4242:" /etc/passwd || { echo "FAIL: the fake alice reached the host's /etc/passwd" >&2; exit 1; }
echo "ok: $(cat "$work/out")" >&2
echo "PASS" >&2
