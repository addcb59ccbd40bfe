#!/bin/bash
# SPDX-License-Identifier: MIT
# Meson learns the box tests when it configures; a test-*.sh added or removed since is silently not
# run. This check fails until the build is reconfigured. Arguments: the directory, then the
# scripts meson registered.
set -euo pipefail
dir=$1
shift
want=$(cd "$dir" && ls test-*.sh 2>/dev/null | sort)
have=$(printf '%s\n' "$@" | sort)
if [ "$want" != "$have" ]; then
        echo "tests/box: the test scripts changed since meson was configured; reconfigure" \
                "(meson setup --reconfigure BUILD) so that all run:" >&2
        diff <(echo "$have") <(echo "$want") | sed -n 's/^[<>] /  /p' >&2
        exit 1
fi
echo "all $(echo "$want" | wc -l) box test scripts are registered"
