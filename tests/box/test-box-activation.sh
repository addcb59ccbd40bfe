#!/bin/bash
# SPDX-License-Identifier: MIT
# D-Bus activation in the box goes through systemd, the way exfat-mountd is started: an activation
# file in /usr/share/dbus-1/system-services names a SystemdService, the box's systemd finds that unit
# in its unit path and starts it. Probed with systemd-hostnamed (its activation file and bus policy
# come with the host's systemd), then the project's own install is checked for the same wiring.
. "${BOX_LIB:-$(dirname "$0")/lib}/common.sh"
in_box_require

unit=dbus-org.freedesktop.hostname1.service
unit_dir=$(systemctl show -P UnitPath | tr ' ' '\n' | grep -m1 '^/run/box/units$') ||
        fail "the box's unit path is not /run/box/units: $(systemctl show -P UnitPath)"
# Default dependencies on purpose: the project's units use them, so the stub targets must carry them.
cat >"$unit_dir/$unit" <<'UNIT'
[Unit]
Description=Box activation probe (systemd-hostnamed)

[Service]
Type=dbus
BusName=org.freedesktop.hostname1
ExecStart=/usr/lib/systemd/systemd-hostnamed
UNIT
on_exit "systemctl stop $unit 2>/dev/null; rm -f '$unit_dir/$unit'; systemctl daemon-reload"
check systemctl daemon-reload
check_eq inactive "$(systemctl show -P ActiveState "$unit")" "$unit before the call"

out=$(busctl --system get-property org.freedesktop.hostname1 /org/freedesktop/hostname1 \
        org.freedesktop.hostname1 KernelName) || fail "calling org.freedesktop.hostname1 failed"
check_eq 's "Linux"' "$out" "KernelName"
check_eq active "$(systemctl show -P ActiveState "$unit")" "$unit after the call"
wait_for 5 bash -c "journalctl --no-pager -q -u dbus.service | grep -q \"Activating via systemd: service name='org.freedesktop.hostname1'\"" ||
        fail "the bus did not log an activation through systemd"
pass "bus activation through systemd starts $unit"

# The project's install, when there is one: the unit reaches the box's systemd, the activation file
# and bus policy reach the box's dbus-daemon.
if [ -e /usr/share/dbus-1/system-services/org.exfat.Mountd1.service ]; then
        svc=$(sed -n 's/^SystemdService=//p' /usr/share/dbus-1/system-services/org.exfat.Mountd1.service)
        [ -n "$svc" ] || fail "org.exfat.Mountd1.service has no SystemdService= line"
        check_eq loaded "$(systemctl show -P LoadState "$svc")" "load state of $svc"
        names=$(busctl_call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListActivatableNames)
        check_contains "$names" '"org.exfat.Mountd1"' "activatable names"
        ls /usr/share/dbus-1/system.d/ | grep -q . || fail "no bus policy installed"
        pass "org.exfat.Mountd1 is activatable and $svc is loaded"
else
        log "org.exfat.Mountd1 activation file not installed by this build: skipped that part"
fi
