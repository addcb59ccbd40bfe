/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "util.h"

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        if (!v) {       /* "-o noexec" */
                *ret = true;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* strtoul alone accepts "-1", " 5" and "" — none of which is a uid or a mask. */
static int parse_unsigned(const char *v, int base, unsigned long max, uint32_t *ret) {
        char *end;
        unsigned long n;

        if (!v || *v < '0' || *v > '9')
                return -EINVAL;
        errno = 0;
        n = strtoul(v, &end, base);
        if (errno != 0 || *end != '\0' || n > max)
                return -EINVAL;
        *ret = (uint32_t) n;
        return 0;
}

/* (uid_t) -1 means "no change" to chown(2) and friends: never a valid owner. */
#define ID_MAX ((unsigned long) UINT32_MAX - 1)

static int parse_uid(const char *v, uint32_t *ret) {
        struct passwd *pw;

        if (!v || !*v)
                return -EINVAL;
        if (parse_unsigned(v, 10, ID_MAX, ret) == 0)
                return 0;
        pw = getpwnam(v);
        if (!pw)
                return -EINVAL;
        *ret = pw->pw_uid;
        return 0;
}

static int parse_gid(const char *v, uint32_t *ret) {
        struct group *gr;

        if (!v || !*v)
                return -EINVAL;
        if (parse_unsigned(v, 10, ID_MAX, ret) == 0)
                return 0;
        gr = getgrnam(v);
        if (!gr)
                return -EINVAL;
        *ret = gr->gr_gid;
        return 0;
}

static int parse_one(struct mount_options *o, const char *key, const char *value, const char **ret_why) {
        if (strcmp(key, "uid") == 0) {
                if (parse_uid(value, &o->uid) < 0)
                        return *ret_why = "uid= needs a user name or a number", -EINVAL;
                o->has_uid = true;
        } else if (strcmp(key, "gid") == 0) {
                if (parse_gid(value, &o->gid) < 0)
                        return *ret_why = "gid= needs a group name or a number", -EINVAL;
                o->has_gid = true;
        } else if (strcmp(key, "dmask") == 0) {
                if (parse_unsigned(value, 8, 0777, &o->dmask) < 0)
                        return *ret_why = "dmask= needs an octal mask between 0 and 0777", -EINVAL;
                o->has_dmask = true;
        } else if (strcmp(key, "fmask") == 0) {
                if (parse_unsigned(value, 8, 0777, &o->fmask) < 0)
                        return *ret_why = "fmask= needs an octal mask between 0 and 0777", -EINVAL;
                o->has_fmask = true;
        } else if (strcmp(key, "noexec") == 0) {
                if (parse_bool(value, &o->noexec) < 0)
                        return *ret_why = "noexec takes yes or no", -EINVAL;
                o->has_noexec = true;
        } else if (strcmp(key, "sync") == 0) {
                if (parse_bool(value, &o->sync) < 0)
                        return *ret_why = "sync takes yes or no", -EINVAL;
                o->has_sync = true;
        } else if (strcmp(key, "force") == 0) {
                if (parse_bool(value, &o->force) < 0)
                        return *ret_why = "force takes yes or no", -EINVAL;
                o->has_force = true;
        } else
                return *ret_why = "unknown option (known: uid, gid, dmask, fmask, noexec, sync, force)", -EINVAL;

        return 0;
}

int mount_options_parse(struct mount_options *o, const char *arg, const char **ret_why) {
        _cleanup_(freep) char *copy = NULL;
        char *item, *save = NULL;
        struct mount_options parsed = *o;
        int r;

        copy = strdup(arg);
        if (!copy)
                return *ret_why = "out of memory", -ENOMEM;

        /* "uid=5,,noexec" or a trailing comma is a typo, not an empty option to skip. */
        if (*arg == '\0' || *arg == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
                return *ret_why = "empty option", -EINVAL;

        for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');

                if (eq)
                        *eq = '\0';
                r = parse_one(&parsed, item, eq ? eq + 1 : NULL, ret_why);
                if (r < 0)
                        return r;
        }

        /* Only a fully valid argument changes the caller's options. */
        *o = parsed;
        return 0;
}

static int append_u(sd_bus_message *m, const char *key, uint32_t v) {
        return sd_bus_message_append(m, "{sv}", key, "u", v);
}

static int append_b(sd_bus_message *m, const char *key, bool v) {
        return sd_bus_message_append(m, "{sv}", key, "b", (int) v);
}

int mount_options_append(const struct mount_options *o, sd_bus_message *m) {
        int r = 0;

        if (o->has_uid && (r = append_u(m, "uid", o->uid)) < 0)
                return r;
        if (o->has_gid && (r = append_u(m, "gid", o->gid)) < 0)
                return r;
        if (o->has_dmask && (r = append_u(m, "dmask", o->dmask)) < 0)
                return r;
        if (o->has_fmask && (r = append_u(m, "fmask", o->fmask)) < 0)
                return r;
        if (o->has_noexec && (r = append_b(m, "noexec", o->noexec)) < 0)
                return r;
        if (o->has_sync && (r = append_b(m, "sync", o->sync)) < 0)
                return r;
        if (o->has_force && (r = append_b(m, "force", o->force)) < 0)
                return r;
        return 0;
}
