#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the Debian package from a clean copy of a commit (HEAD by default): `git archive` of the
# commit into a temporary directory, so that nothing uncommitted or untracked in the checkout (build
# directories, files being edited) can leak into the package. Then `dpkg-buildpackage -us -uc -b`
# and lintian, which must report no error.
#
# Usage: tests/deb/build-deb.sh [OUTDIR]       (default OUTDIR: build-deb in the checkout)
#   EXFAT_DEB_REV=COMMIT   build that commit instead of HEAD
#   EXFAT_DEB_JOBS=N       parallel build jobs (default 1)
# Leaves in OUTDIR: exfat-mountd_VERSION_ARCH.deb, the .changes and .buildinfo, lintian.txt (the
# whole lintian output) and build.log. Prints the .deb's path as its last line. Exit status 0 when
# the package was built and lintian reported no error.
set -euo pipefail
src=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out=$(realpath -m "${1:-$src/build-deb}")
rev=${EXFAT_DEB_REV:-HEAD}
jobs=${EXFAT_DEB_JOBS:-1}

"$src/tests/install-deps.sh"
mkdir -p "$out"
rm -f "$out"/exfat-mountd_* "$out"/exfat-mountd-dbgsym_* "$out/lintian.txt" "$out/build.log"

tmp=$(mktemp -d /tmp/exfat-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
commit=$(git -C "$src" rev-parse --verify "$rev^{commit}")
git -C "$src" archive --format=tar --prefix=exfat-mountd/ "$commit" | tar -x -C "$tmp"
[ -x "$tmp/exfat-mountd/debian/rules" ] || { echo "build-deb: $rev has no debian/rules" >&2; exit 1; }
echo "build-deb: building $commit in $tmp/exfat-mountd ($jobs job(s))" >&2

# nocheck: the project's tests need root, loop devices and a private systemd; they run from
# tests/run-all.sh, not inside the package build.
if ! (cd "$tmp/exfat-mountd" &&
      DEB_BUILD_OPTIONS="parallel=$jobs nocheck" dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
        tail -n 40 "$out/build.log" >&2
        echo "build-deb: dpkg-buildpackage failed; whole log in $out/build.log" >&2
        exit 1
fi
cp "$tmp"/exfat-mountd_*.deb "$tmp"/exfat-mountd_*.changes "$tmp"/exfat-mountd_*.buildinfo "$out"/
cp "$tmp"/exfat-mountd-dbgsym_*.deb "$out"/ 2>/dev/null || true
deb=$(ls "$out"/exfat-mountd_*.deb)
changes=$(ls "$out"/exfat-mountd_*.changes)

# lintian exits non-zero when it reports an error (its default --fail-on error). Warnings are kept
# in lintian.txt; why each kept tag is kept: tests/deb/README.md.
set +e
lintian --display-info --pedantic "$changes" >"$out/lintian.txt" 2>&1
lintian_status=$?
set -e
cat "$out/lintian.txt" >&2
if [ "$lintian_status" -ne 0 ] || grep -q '^E: ' "$out/lintian.txt"; then
        echo "build-deb: lintian reported errors (exit $lintian_status)" >&2
        exit 1
fi
echo "build-deb: $(grep -c '^W: ' "$out/lintian.txt" || true) lintian warning(s), no error" >&2
echo "$deb"
