#!/bin/bash
# SPDX-License-Identifier: MIT
# A demonstration, not part of the test suite: alice's exFAT stick mounted from a real file manager.
# Builds the tree, installs what the scene needs besides the suite's packages (thunar, xvfb,
# imagemagick, xdotool; --no-install-recommends, on the host, not added to tests/install-deps.sh),
# then plays tests/demo/desktop-scene.sh in the test box: Thunar under Xvfb, as alice with gvfs in her
# session, lists the stick under Devices; a click in its side pane mounts it through udisks,
# mount.exfat and exfat-mountd (a fuseblk.exfat mount served by a sandboxed exfat-worker@ unit);
# Thunar shows its files; `gio mount -u` unmounts it clean. Screenshots go to docs/screenshots/.
# The X server, Thunar and gvfs run only inside the box and die with it.
# Run as root on Debian 12: tests/demo/desktop-screenshots.sh   (build dir: $EXFAT_BUILD_DIR or build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${EXFAT_BUILD_DIR:-$repo/build}
out=$repo/docs/screenshots
max_bytes=$((300 * 1024))

. "$repo/tests/prepare.sh" desktop-screenshots

need=()
for p in thunar:thunar Xvfb:xvfb import:imagemagick xdotool:xdotool; do
        command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
        echo "desktop-screenshots: installing ${need[*]} (for this demonstration only)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

case "$repo/" in
/tmp/* | /var/tmp/*)
        echo "desktop-screenshots: the checkout is under /tmp or /var/tmp, which the box shows read-only;" \
                "the screenshots could not be written to $out" >&2
        exit 2
        ;;
esac
mkdir -p "$out"
rc=0
"$repo/tests/box/run" --build "$build" "$repo/tests/demo/desktop-scene.sh" "$out" || rc=$?
[ "$rc" = 0 ] || { echo "desktop-screenshots: the scene failed (status $rc)" >&2; exit "$rc"; }

# The box wrote them as root: hand them to the checkout's owner.
chown "$(stat -c %u:%g "$repo")" "$out" "$out"/*.png
echo
for f in 01-thunar-stick-unmounted 02-thunar-stick-mounted 03-thunar-stick-unmounted-again; do
        f=$out/$f.png
        [ -s "$f" ] || { echo "desktop-screenshots: $f missing" >&2; exit 1; }
        size=$(stat -c %s "$f")
        echo "$f: $(identify -format '%wx%h' "$f"), $size bytes"
        [ "$size" -lt "$max_bytes" ] || { echo "desktop-screenshots: $f is over 300 KB" >&2; exit 1; }
done
