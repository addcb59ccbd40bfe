#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package end to end: builds it from a clean copy of HEAD (build-deb.sh: git archive,
# dpkg-buildpackage, lintian without errors), then boots the test box with nothing of the project
# installed (tests/box/run --deb) and runs in-box-deb.sh there: dpkg -i, bus activation, polkit
# actions, alice's mount, label and unmount, the mount helpers, then apt-get purge and nothing left.
#
# Usage: tests/deb/test-deb.sh [OUTDIR]    (where the package is built; default build-deb in the
#                                          checkout; must not lie in /tmp, which the box does not see;
#                                          meson test uses BUILD/deb)
#   EXFAT_DEB=FILE.deb   test this package instead of building one
# Root only (exit 77 otherwise). About 1 to 2 minutes on 2 cores: package build and lintian about
# 40 s idle (90 s with the machine busy), the box 25 to 50 s.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
src=$(readlink -f "$here/../..")
if [ "$(id -u)" != 0 ]; then
        echo "test-deb: needs root (the box); skipping" >&2
        exit 77
fi
deb=${EXFAT_DEB:-}
if [ -z "$deb" ] && ! git -C "$src" rev-parse --verify -q HEAD >/dev/null; then
        echo "test-deb: $src is not a git checkout (the package is built from git archive HEAD); skipping" >&2
        exit 77
fi
if [ -z "$deb" ]; then
        deb=$("$here/build-deb.sh" "${1:-$src/build-deb}" | tail -n 1)
fi
[ -f "$deb" ] || { echo "test-deb: no package at '$deb'" >&2; exit 1; }
echo "test-deb: testing $deb in the box" >&2
exec "$src/tests/box/run" --deb "$deb" "$here/in-box-deb.sh"
