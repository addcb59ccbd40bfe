#!/bin/bash
# Sourced by tests/run-all.sh and tests/demo.sh: checks for root, installs missing packages, loads
# the loop and fuse modules and configures + builds the tree in $build (prefix /usr, as the box
# overlays the install on /usr). Expects $repo and $build; $1 names the caller for messages.
if [ "$(id -u)" != 0 ]; then
        echo "$1: must run as root (loop devices, FUSE mounts, a private systemd)" >&2
        exit 2
fi
"$repo/tests/install-deps.sh"
modprobe loop 2>/dev/null || true
modprobe fuse 2>/dev/null || true
if [ ! -f "$build/build.ninja" ]; then
        meson setup --prefix=/usr "$build" "$repo" >/dev/null
fi
if ! ninja_log=$(ninja -C "$build" 2>&1); then
        echo "$ninja_log" >&2
        echo "$1: the build failed" >&2
        exit 1
fi
