/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool use_prefix;
static const char *log_context = "exfat-worker";

void log_setup(bool syslog_prefix, const char *context) {
        use_prefix = syslog_prefix;
        if (context)
                log_context = context;
}

static void log_line(int level, const char *msg, const char *err) {
        /* One fprintf per line: stderr is unbuffered and threads log concurrently. */
        char prefix[8] = "";
        if (use_prefix)
                snprintf(prefix, sizeof(prefix), "<%d>", level);
        fprintf(stderr, "%s%s: %s%s%s\n", prefix, log_context, msg, err ? ": " : "", err ? err : "");
}

void log_msg(int level, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        log_line(level, buf, NULL);
}

int log_errno(int level, int r, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        log_line(level, buf, strerror(r < 0 ? -r : r));
        return r;
}

void log_exfat(void *ctx, enum exfat_log_level level, const char *message) {
        const char *device = ctx;
        if (level == EXFAT_LOG_DEBUG)
                return;
        if (device)
                log_msg((int) level, "%s: %s", device, message);
        else
                log_msg((int) level, "%s", message);
}
