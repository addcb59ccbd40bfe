/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "vol.h"
#include "vlog.h"

/* The library never prints: messages go to the caller's logger or nowhere. */
void vlog_(struct exfat_volume *vol, enum exfat_log_level level, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        if (!vol || !vol->opts.log)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        vol->opts.log(vol->opts.log_ctx, level, buf);
}
