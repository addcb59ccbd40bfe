#!/bin/bash
# SPDX-License-Identifier: MIT
# exfatctl's text agent in the box: carol's rule says AUTH_SELF. On a terminal, exfatctl starts
# pkttyagent for itself, the password prompt appears, the right password mounts (exit 0), a wrong
# one is refused (exit 3), Ctrl-C at the prompt ends exfatctl and its agent with nothing mounted;
# --no-ask-password never prompts (exit 3); without a terminal there is no prompt either (exit 3).
# No pkttyagent is left running afterwards.
# Run: tests/box/run tests/box/test-exfatctl-agent.sh
# box-polkit-rules: rules/exfatctl-carol.rules
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require
. "$(dirname "$0")/exfatctl-lib.sh"

pty_run=$(dirname "$0")/exfatctl-pty.py
password=exfatctl-Secret-42

# carol exists in the box only (its /etc is an overlay).
useradd --no-create-home --user-group --shell /bin/bash --home-dir /nonexistent carol ||
        fail "useradd carol failed"
echo "carol:$password" | chpasswd || fail "chpasswd failed"

make_exfat_loop dev 32M -L AGENT
on_exit 'unmount_leftovers "$dev"'
mark_removable "$dev"

as_carol_on_tty() {        # as_carol_on_tty PASSWORD|- EXFATCTL-ARGS...
        local pw=$1
        shift
        python3 "$pty_run" "$pw" setpriv --reuid=carol --regid=carol --init-groups \
                env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" exfatctl "$@"
}

agents() {        # pids of running pkttyagent processes (no procps needed)
        local p
        for p in /proc/[0-9]*; do
                [ "$(cat "$p/comm" 2>/dev/null)" = pkttyagent ] && echo "${p#/proc/}"
        done
        return 0
}

no_agents_left() {
        [ -z "$(agents)" ]
}

log "no terminal: no prompt, refused"
expect 3 exfatctl_as carol mount "$dev"
expect_err_has "Not authorized to mount $dev"

log "terminal, --no-ask-password: no prompt, refused"
expect 3 as_carol_on_tty - --no-ask-password mount "$dev"
! findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev mounted without authorization"

log "terminal, wrong password: refused"
expect 3 as_carol_on_tty wrong-password mount "$dev"
grep -q "Password:" <<<"$out" || soft_fail "no password prompt: [$out]"
grep -q "AUTHENTICATION FAILED" <<<"$out" || soft_fail "the agent did not report the failure: [$out]"
grep -q "Not authorized to mount $dev" <<<"$out" || soft_fail "no refusal message: [$out]"
! findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev mounted with a wrong password"
wait_for 5 no_agents_left || soft_fail "pkttyagent left running: $(agents)"

log "terminal, Ctrl-C at the prompt: nothing mounted, no agent left"
expect 130 as_carol_on_tty "^C" mount "$dev"
grep -q "Password:" <<<"$out" || soft_fail "no password prompt: [$out]"
wait_for 5 no_agents_left || soft_fail "pkttyagent left running after Ctrl-C: $(agents)"
# The daemon drops the attempt when carol's exfatctl leaves the bus (it does not wait for polkit to
# answer the withdrawn check), and a pending attempt reserves nothing: the next Mount below cannot
# find the device Busy, however late the daemon sees her go.
journal_has() {
        journalctl --no-pager -q -u exfat-mountd.service | grep -qF -- "$1"
}
wait_for 5 journal_has "uid $(id -u carol) left before polkit answered; dropping the request" ||
        soft_fail "the daemon did not drop the Ctrl-C'd attempt when its caller left"
# Its worker, started before polkit answered, is told by the hang-up that there is nothing to do:
# it exits 0 with one line, not with an error.
journal_all_has() {
        journalctl --no-pager -q | grep -qF -- "$1"
}
wait_for 5 journal_all_has "the daemon hung up before handing over a device (request refused or withdrawn)" ||
        soft_fail "the dropped attempt's worker did not say why it ended"
! journal_all_has "receiving the device from the daemon failed" ||
        soft_fail "the dropped attempt's worker logged a failure"
! findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev mounted after Ctrl-C at the prompt"
expect 0 exfatctl_as alice list --json
check_eq "[]" "$out" "mounts after Ctrl-C"

log "terminal, right password: mounted"
expect 0 as_carol_on_tty "$password" mount "$dev"
grep -q "AUTHENTICATING FOR org.exfat.mountd.mount" <<<"$out" || soft_fail "no polkit prompt: [$out]"
# The agent's colour escapes may precede our line on the terminal: not anchored.
grep -q "Mounted $dev at /run/media/carol/AGENT\$" <<<"$out" || soft_fail "not mounted: [$out]"
findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev not mounted after the right password"
wait_for 5 no_agents_left || soft_fail "pkttyagent left running: $(agents)"

log "unmount (own mount, password again)"
expect 0 as_carol_on_tty "$password" unmount "$dev"
! findmnt -rn -S "$dev" >/dev/null || soft_fail "$dev still mounted"
fsck_clean "$dev"

finish
