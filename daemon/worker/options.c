/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Generic VFS flags that mean the same on any mount; passed to the kernel unchanged. */
static const char *const kernel_flags[] = {
        "nosuid", "suid", "nodev", "dev", "exec", "atime", "noatime", "relatime", "norelatime",
        "strictatime", "diratime", "nodiratime", "lazytime", "nolazytime", "dirsync",
};

void options_init(struct worker_options *o) {
        *o = (struct worker_options) {
                .uid = getuid(),
                .gid = getgid(),
                .dmask = 022,
                .fmask = 022,
                .allow_other = geteuid() == 0,
        };
}

static int parse_number(const char *key, const char *value, int base, unsigned long max, unsigned long *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, base);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v > max) {
                log_error("invalid value for %s: \"%s\"", key, value);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int add_kernel_flag(struct worker_options *o, const char *flag) {
        size_t len = strlen(o->kernel_flags);
        if (len + strlen(flag) + 2 > sizeof(o->kernel_flags)) {
                log_error("too many mount options");
                return -EINVAL;
        }
        snprintf(o->kernel_flags + len, sizeof(o->kernel_flags) - len, "%s,", flag);
        return 0;
}

static int parse_one(struct worker_options *o, char *opt) {
        char *value = strchr(opt, '=');
        unsigned long v;
        int r;

        if (value)
                *value++ = '\0';

        if (!value) {
                if (strcmp(opt, "ro") == 0)
                        o->read_only = true;
                else if (strcmp(opt, "rw") == 0)
                        o->read_only = false;
                else if (strcmp(opt, "force") == 0)
                        o->force = true;
                else if (strcmp(opt, "sync") == 0)
                        o->sync = true;
                else if (strcmp(opt, "async") == 0)
                        o->sync = false;
                else if (strcmp(opt, "noexec") == 0)
                        o->noexec = true;
                else if (strcmp(opt, "exec") == 0)
                        o->noexec = false;
                else if (strcmp(opt, "allow_other") == 0)
                        o->allow_other = true;
                else if (strcmp(opt, "default_permissions") == 0)
                        ; /* always on: permissions are checked by the kernel */
                else {
                        for (size_t i = 0; i < sizeof(kernel_flags) / sizeof(kernel_flags[0]); i++)
                                if (strcmp(opt, kernel_flags[i]) == 0)
                                        return add_kernel_flag(o, opt);
                        log_error("unknown mount option \"%s\"", opt);
                        return -EINVAL;
                }
                return 0;
        }

        if (strcmp(opt, "uid") == 0) {
                r = parse_number(opt, value, 10, (uid_t) -2, &v);
                o->uid = (uid_t) v;
        } else if (strcmp(opt, "gid") == 0) {
                r = parse_number(opt, value, 10, (gid_t) -2, &v);
                o->gid = (gid_t) v;
        } else if (strcmp(opt, "umask") == 0) {
                r = parse_number(opt, value, 8, 0777, &v);
                o->dmask = o->fmask = (mode_t) v;
        } else if (strcmp(opt, "dmask") == 0) {
                r = parse_number(opt, value, 8, 0777, &v);
                o->dmask = (mode_t) v;
        } else if (strcmp(opt, "fmask") == 0) {
                r = parse_number(opt, value, 8, 0777, &v);
                o->fmask = (mode_t) v;
        } else {
                log_error("unknown mount option \"%s=%s\"", opt, value);
                return -EINVAL;
        }
        return r;
}

int options_parse(struct worker_options *o, const char *list) {
        char *copy = strdup(list), *save = NULL;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
                r = parse_one(o, opt);
                if (r < 0)
                        break;
        }
        free(copy);
        return r;
}
