#!/bin/bash
# Installs the Debian 12 packages the build, the tests, the demo and the benchmarks need.
# Idempotent: only missing packages are installed.
set -euo pipefail
packages=(
        build-essential pkg-config meson ninja-build
        libfuse3-dev fuse3 libsystemd-dev libcmocka-dev libdbus-1-dev libpolkit-gobject-1-dev
        systemd dbus polkitd pkexec acl util-linux procps passwd
        exfatprogs exfat-fuse
        libglib2.0-bin
        python3
        clang libclang-rt-14-dev
        udev udisks2 gvfs gvfs-daemons
        scdoc bash-completion man-db groff-base debhelper dpkg-dev fakeroot lintian
)
missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "install-deps: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
