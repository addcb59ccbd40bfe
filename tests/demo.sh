#!/bin/bash
# The end-to-end demo: builds exfat-mountd, boots the test box (a private systemd 252, dbus-daemon and
# polkitd; nothing on the host's /usr or /etc changes) and plays tests/demo/scenario.sh inside it:
# a desktop user mounts a USB-like exFAT drive through polkit, writes to it, relabels it and unmounts
# it safely, while we look at the sandboxed worker serving it.
# Run as root on Debian 12: tests/demo.sh   (installs missing packages itself)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EXFAT_BUILD_DIR:-$repo/build}

. "$repo/tests/prepare.sh" demo
exec "$repo/tests/box/run" --build "$build" "$repo/tests/demo/scenario.sh"
