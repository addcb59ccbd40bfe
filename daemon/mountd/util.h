/* SPDX-License-Identifier: MIT */
#pragma once

/* What every file of the daemon uses: the shared cleanup helpers (shared/: _cleanup_*, TAKE_PTR,
 * TAKE_FD, safe_close, mfree), the log, and strerr(). */

#include <string.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"

/* "%m"-free strerror for -errno values. */
static inline const char *strerr(int r) {
        return strerror(r < 0 ? -r : r);
}
