/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set once at start-up, before any thread logs. */
static bool use_syslog_prefix;
static const char *log_context;
static int max_level = LOG_INFO;

void log_setup(bool syslog_prefix, const char *context) {
        use_syslog_prefix = syslog_prefix;
        log_context = context;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *fmt, ...) {
        char msg[LOG_LINE_MAX], prefix[8] = "";
        int r = error < 0 ? error : -error;
        va_list ap;

        if (level > max_level)
                return r;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (use_syslog_prefix)
                snprintf(prefix, sizeof(prefix), "<%d>", level);
        /* One fprintf per line: stderr is unbuffered, and threads log concurrently. */
        fprintf(stderr, "%s%s%s%s%s%s\n", prefix, log_context ? log_context : "", log_context ? ": " : "", msg,
                error != 0 ? ": " : "", error != 0 ? strerror(abs(error)) : "");
        return r;
}
