/* SPDX-License-Identifier: MIT */
#pragma once

/* Mount options of the standalone mode ("-o ro,uid=1000,..."). */

#include <stdbool.h>
#include <sys/types.h>

struct worker_options {
        bool read_only;
        bool force;           /* read-write even when the volume is marked dirty */
        bool sync;
        bool noexec;
        bool allow_other;
        uid_t uid;
        gid_t gid;
        mode_t dmask;
        mode_t fmask;
        char kernel_flags[256]; /* generic mount flags handed to the kernel as given ("noatime,") */
};

/* Defaults: the caller owns the files, masks 022, allow_other when root. */
void options_init(struct worker_options *o);

/* Parses one comma-separated list; may be called for each -o. -EINVAL on an unknown option or
 * a bad value, with one log line naming it. */
int options_parse(struct worker_options *o, const char *list);
