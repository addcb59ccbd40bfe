#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/box/run's command-line contract, checked from the HOST: COMMAND's exit status (also 77) comes
# back, stdin and stdout pass through, the working directory is kept, the exported variables are
# there, BOX_POLKIT_RULES and "# box-polkit-rules:" lines reach polkitd, a missing rules file is a
# hard error (99) before anything boots.
set -uo pipefail

here=$(dirname "$(readlink -f "$0")")
run="$here/run"
build_args=()
[ -n "${BOX_BUILD_DIR:-}" ] && build_args=(--build "$BOX_BUILD_DIR")
if [ "$(id -u)" != 0 ]; then
        echo "needs root; skipping" >&2
        exit 77
fi

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
ok() {
        echo "ok: $*" >&2
}
box() {
        "$run" "${build_args[@]}" "$@" 2>"$work/err"
}

work=$(mktemp -d /tmp/box-host-iface.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Status, stdin, stdout, working directory and exported variables in one boot.
out=$(cd "$here/lib" && echo "from stdin" | box bash -c '
        read -r line; echo "stdin=$line"; echo "pwd=$PWD"
        for v in BOX BOX_SRCDIR BOX_BUILDDIR BOX_LIB BOX_ALICE_UID BOX_ALICE_GID BOX_BOB_UID BOX_BOB_GID \
                BOX_HOST_MARKER DBUS_SYSTEM_BUS_ADDRESS; do echo "$v=${!v:-}"; done
        exit 7')
status=$?
if [ "$status" = 99 ] || [ "$status" = 77 ]; then
        echo "no box could be made (status $status), nothing to check: $(cat "$work/err")" >&2
        exit "$([ "$status" = 77 ] && echo 77 || echo 1)"
fi
[ "$status" = 7 ] || fail "status $status, want 7 ($(cat "$work/err"))"
grep -qx 'stdin=from stdin' <<<"$out" || fail "stdin did not reach COMMAND: $out"
grep -qx "pwd=$here/lib" <<<"$out" || fail "working directory not kept: $out"
grep -qx "BOX=1" <<<"$out" || fail "BOX not exported: $out"
grep -qx "BOX_SRCDIR=$(readlink -f "$here/../..")" <<<"$out" || fail "BOX_SRCDIR wrong: $out"
grep -qx "BOX_LIB=$here/lib" <<<"$out" || fail "BOX_LIB wrong: $out"
grep -qx 'DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket' <<<"$out" || fail "bus address: $out"
for v in BOX_ALICE_UID BOX_ALICE_GID BOX_BOB_UID BOX_BOB_GID; do
        grep -qE "^$v=[0-9]+$" <<<"$out" || fail "$v not exported: $out"
done
grep -qE '^BOX_BUILDDIR=/.+' <<<"$out" || fail "BOX_BUILDDIR not exported: $out"
[ "$failures" = 0 ] && ok "status 7, stdin, stdout, cwd and BOX_* variables pass through"

box bash -c 'exit 77'
status=$?
[ "$status" = 77 ] && ok "status 77 (skip) passes through" || fail "status $status, want 77"

# BOX_POLKIT_RULES from the environment.
cat >"$work/grant-bob.rules" <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.freedesktop.policykit.exec" && subject.user == "bob")
                return polkit.Result.YES;
});
RULES
check='for u in alice bob; do
        if setpriv --reuid=$u --regid=$u --init-groups bash -c "pkcheck --action-id org.freedesktop.policykit.exec --process \$\$" >/dev/null 2>&1
        then echo "$u=yes"; else echo "$u=no"; fi
done'
out=$(BOX_POLKIT_RULES="$work/grant-bob.rules" box bash -c "$check")
[ "$out" = $'alice=no\nbob=yes' ] && ok "BOX_POLKIT_RULES grants bob, not alice" ||
        fail "BOX_POLKIT_RULES: got '$out' ($(cat "$work/err"))"

# A "# box-polkit-rules:" line in the COMMAND script, relative to the script.
cp "$here/lib/alice-exec.rules" "$work/"
printf '#!/bin/bash\n# box-polkit-rules: alice-exec.rules\n%s\n' "$check" >"$work/script.sh"
chmod +x "$work/script.sh"
# run reads the directive from a script file given as COMMAND; the host's /tmp is hidden in the box,
# but the build directory is visible at its own path.
sdir=$(mktemp -d "${BOX_BUILD_DIR:-/tmp/exfat-mountd-build}/box-iface.XXXXXX")
trap 'rm -rf "$work" "$sdir"' EXIT
cp "$work/script.sh" "$work/alice-exec.rules" "$sdir/"
out=$(BOX_POLKIT_RULES= box "$sdir/script.sh")
[ "$out" = $'alice=yes\nbob=no' ] && ok "'# box-polkit-rules:' line grants alice, not bob" ||
        fail "box-polkit-rules directive: got '$out' ($(cat "$work/err"))"

# A missing rules file: hard error, nothing boots.
BOX_POLKIT_RULES=/nonexistent/x.rules box true
status=$?
[ "$status" = 99 ] && grep -q 'not found' "$work/err" && ok "missing rules file: status 99" ||
        fail "missing rules file: status $status ($(cat "$work/err"))"

[ "$failures" = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "PASS" >&2
