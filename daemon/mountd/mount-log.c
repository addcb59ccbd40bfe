/* SPDX-License-Identifier: MIT */
#include "mount-log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

/* Never change an id: administrators' queries and the catalog (units/exfat-mountd.catalog) name
 * them. A new kind of event gets a new one (systemd-id128 new). */
static const struct {
        const char *id;
        int priority;
} events[_MOUNT_EVENT_MAX] = {
        [MOUNT_EVENT_MOUNTED] = { "a54586d8e44e4c3896be4a5e54772bdf", LOG_INFO },
        [MOUNT_EVENT_UNMOUNTED] = { "6444c7b5a93049b9a41723ad49a1ec8a", LOG_INFO },
        [MOUNT_EVENT_REFUSED] = { "234d350701c8437494d85d4507ba291f", LOG_NOTICE },
        [MOUNT_EVENT_FAILED] = { "db32de276f104062b3504f75866ca3e9", LOG_ERR },
        [MOUNT_EVENT_ABORTED] = { "b5e2971a6fe946cd8fa92e2c9dcc6f26", LOG_ERR },
        [MOUNT_EVENT_RELABELLED] = { "2e6e1745d3994412802f4250a72732d9", LOG_INFO },
};

static bool use_journal;

void mount_log_use_journal(bool b) {
        use_journal = b;
}

const char *mount_event_id(MountEvent e) {
        return e < _MOUNT_EVENT_MAX ? events[e].id : NULL;
}

void mount_log_event(MountEvent e, const struct mount_log_fields *f, const char *fmt, ...) {
        char msg[LOG_LINE_MAX];
        va_list ap;

        if (e >= _MOUNT_EVENT_MAX)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        int priority = events[e].priority;
        if (priority > log_get_max_level())
                return;
        if (!use_journal) {
                log_full(priority, "%s", msg);
                return;
        }
        /* Fields without a value are left out rather than sent empty: "journalctl MOUNT_POINT="
         * should not match a refusal. */
        char *fields[8] = {};
        struct iovec iov[8];
        int n = 0;
        if (asprintf(&fields[n++], "MESSAGE=%s", msg) < 0 ||
            asprintf(&fields[n++], "MESSAGE_ID=%s", events[e].id) < 0 ||
            asprintf(&fields[n++], "PRIORITY=%d", priority) < 0 ||
            (f->device && asprintf(&fields[n++], "DEVICE=%s", f->device) < 0) ||
            (f->mount_point && *f->mount_point && asprintf(&fields[n++], "MOUNT_POINT=%s", f->mount_point) < 0) ||
            (f->unit && *f->unit && asprintf(&fields[n++], "UNIT=%s", f->unit) < 0) ||
            (f->owner != (uid_t) -1 && asprintf(&fields[n++], "OWNER_UID=%u", (unsigned) f->owner) < 0) ||
            (f->error != 0 && asprintf(&fields[n++], "ERRNO=%d", abs(f->error)) < 0)) {
                fields[--n] = NULL; /* asprintf leaves it undefined */
                n = -1;
        }
        int r = -ENOMEM;
        if (n > 0) {
                for (int i = 0; i < n; i++)
                        iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
                r = sd_journal_sendv(iov, n);
        }
        for (int i = 0; i < 8; i++)
                free(fields[i]);
        if (r < 0)
                log_full(priority, "%s", msg); /* no journal after all: stderr still is somewhere */
}
