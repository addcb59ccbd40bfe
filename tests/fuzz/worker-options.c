/* SPDX-License-Identifier: MIT */
/*
 * The worker's mount-option parser (daemon/worker/options.c) for fuzz-options. Its functions share
 * their names with the daemon's a{sv} parser, so the source is compiled here under other names;
 * the worker's logging is replaced by a sink that still formats every message.
 */
#include <stdarg.h>
#include <stdio.h>

#define options_init worker_options_init
#define options_parse worker_options_parse
#include "../../daemon/worker/options.c"
#undef options_init
#undef options_parse

#include "fuzz.h"

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) level;
        return error < 0 ? error : -error;
}

static bool known_kernel_flag(const char *f, size_t len) {
        /* The generic flags the worker may hand to the kernel (its mount(8) counterparts). */
        static const char *const ok[] = {
                "nosuid", "suid", "nodev", "dev", "exec", "atime", "noatime", "relatime", "norelatime",
                "strictatime", "diratime", "nodiratime", "lazytime", "nolazytime", "dirsync",
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (strlen(ok[i]) == len && memcmp(ok[i], f, len) == 0)
                        return true;
        return false;
}

void fuzz_worker_options(const char *const *lists, size_t n) {
        struct worker_options o;
        worker_options_init(&o);
        for (size_t i = 0; i < n; i++)
                if (worker_options_parse(&o, lists[i]) < 0)
                        return;
        if (o.dmask > 0777 || o.fmask > 0777)
                fuzz_fail("worker options: masks %o/%o accepted", (unsigned) o.dmask, (unsigned) o.fmask);
        if (o.uid == (uid_t) -1 || o.gid == (gid_t) -1)
                fuzz_fail("worker options: uid/gid -1 accepted");
        size_t len = strnlen(o.kernel_flags, sizeof(o.kernel_flags));
        if (len == sizeof(o.kernel_flags))
                fuzz_fail("worker options: kernel flags not terminated");
        /* Only whitelisted flags, each followed by a comma, reach the kernel's mount data. */
        for (const char *p = o.kernel_flags; *p;) {
                const char *comma = strchr(p, ',');
                if (!comma || !known_kernel_flag(p, (size_t) (comma - p)))
                        fuzz_fail("worker options: kernel flags \"%s\"", o.kernel_flags);
                p = comma + 1;
        }
}
