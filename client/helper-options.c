/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "helper-options.h"

/* Options libmount keeps for itself and may still pass on to a helper. */
static const char *const userspace_only[] = {
        "defaults", "auto", "noauto", "nofail", "user", "users", "nouser", "nousers", "owner", "noowner",
        "group", "nogroup", "_netdev",
};
static const char *const userspace_prefixes[] = { "user=", "uhelper=", "helper=", "comment=", "x-" };

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

static bool has_prefix_in(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(s, list[i], strlen(list[i])) == 0)
                        return true;
        return false;
}

/* A decimal id: no sign, no names, not (uid_t) -1. The kernel's exfat reads 010 as octal 8 and
 * 0x3e8 as 1000: a leading zero is refused rather than read differently from an fstab line
 * written for the kernel driver. */
static int parse_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long v;

        if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_mask(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '7')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 8);
        if (errno != 0 || *end != '\0' || v > 0777)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static void set_masks(struct mount_options *o, bool dir, bool file, uint32_t mask) {
        if (dir) {
                o->has_dmask = true;
                o->dmask = mask;
        }
        if (file) {
                o->has_fmask = true;
                o->fmask = mask;
        }
}

/* One item of the list. Returns 0 when taken or ignored, 1 when unknown, -EINVAL with *why set
 * when known but refused. */
static int parse_item(const char *item, struct helper_options *h, const char **why) {
        struct mount_options *o = &h->mount;
        const char *eq = strchr(item, '=');
        const char *value = eq ? eq + 1 : NULL;
        size_t klen = eq ? (size_t) (eq - item) : strlen(item);
        uint32_t v;

#define KEY(name) (klen == strlen(name) && strncmp(item, (name), klen) == 0)
        if (has_prefix_in(item, userspace_prefixes, sizeof(userspace_prefixes) / sizeof(*userspace_prefixes)))
                return 0;
        if (!value) {
                if (strcmp(item, "ro") == 0 || strcmp(item, "rw") == 0) {
                        h->read_only = item[1] == 'o';
                        return 0;
                }
                if (strcmp(item, "noexec") == 0 || strcmp(item, "exec") == 0) {
                        o->has_noexec = true;
                        o->noexec = item[0] == 'n';
                        return 0;
                }
                if (strcmp(item, "sync") == 0 || strcmp(item, "async") == 0) {
                        o->has_sync = true;
                        o->sync = item[0] == 's';
                        return 0;
                }
                if (strcmp(item, "nosuid") == 0 || strcmp(item, "nodev") == 0)
                        return 0;
                if (strcmp(item, "suid") == 0 || strcmp(item, "dev") == 0) {
                        *why = "exfat-mountd always mounts nosuid,nodev";
                        return -EINVAL;
                }
                if (in_list(item, userspace_only, sizeof(userspace_only) / sizeof(*userspace_only)))
                        return 0;
                if (KEY("uid") || KEY("gid") || KEY("umask") || KEY("dmask") || KEY("fmask") ||
                    KEY("iocharset") || KEY("errors")) {
                        *why = "this option needs a value";
                        return -EINVAL;
                }
                return 1;
        }
        if (KEY("uid") || KEY("gid")) {
                if (parse_id(value, &v) < 0) {
                        *why = "expected a decimal user or group id without leading zeros";
                        return -EINVAL;
                }
                if (item[0] == 'u') {
                        o->has_uid = true;
                        o->uid = v;
                } else {
                        o->has_gid = true;
                        o->gid = v;
                }
                return 0;
        }
        if (KEY("umask") || KEY("dmask") || KEY("fmask")) {
                if (parse_mask(value, &v) < 0) {
                        *why = "expected an octal mask up to 0777";
                        return -EINVAL;
                }
                set_masks(o, item[0] != 'f', item[0] != 'd', v);
                return 0;
        }
        if (KEY("iocharset")) {
                if (strcasecmp(value, "utf8") != 0 && strcasecmp(value, "utf-8") != 0) {
                        *why = "names are always UTF-8: only iocharset=utf8 is accepted";
                        return -EINVAL;
                }
                return 0;
        }
        if (KEY("errors")) {
                if (strcmp(value, "continue") != 0 && strcmp(value, "remount-ro") != 0 &&
                    strcmp(value, "panic") != 0) {
                        *why = "expected errors=continue, remount-ro or panic";
                        return -EINVAL;
                }
                return 0;
        }
#undef KEY
        return 1;
}

static void copy_bad(char *bad, size_t size, const char *item, size_t len) {
        if (size == 0)
                return;
        if (len >= size)
                len = size - 1;
        memcpy(bad, item, len);
        bad[len] = '\0';
}

int helper_options_parse(const char *optstr, bool sloppy, struct helper_options *ret,
                         char *bad, size_t bad_size, const char **ret_why) {
        struct helper_options h = { 0 };
        const char *p = optstr ? optstr : "";

        copy_bad(bad, bad_size, "", 0);
        while (*p) {
                const char *end = strchrnul(p, ',');
                size_t len = (size_t) (end - p);
                char item[256];
                const char *why = NULL;
                int r;

                copy_bad(bad, bad_size, p, len);
                /* mount(8) quotes values that hold commas; none of ours may, so a quote is an error
                 * rather than something to unquote. */
                if (memchr(p, '"', len)) {
                        *ret_why = "quoted values are not supported (no value may contain a comma)";
                        return -EINVAL;
                }
                if (len >= sizeof(item)) {
                        *ret_why = "option too long";
                        return -EINVAL;
                }
                memcpy(item, p, len);
                item[len] = '\0';
                p = *end ? end + 1 : end;
                if (len == 0)
                        continue;
                r = parse_item(item, &h, &why);
                if (r < 0) {
                        *ret_why = why;
                        return r;
                }
                if (r > 0 && !sloppy) {
                        *ret_why = "unknown option";
                        return -EINVAL;
                }
        }
        copy_bad(bad, bad_size, "", 0);
        *ret = h;
        return 0;
}

int helper_exit_from_exfatctl(int exfatctl_exit) {
        switch (exfatctl_exit) {
        case EXFATCTL_EXIT_OK:
                return HELPER_EXIT_OK;
        case EXFATCTL_EXIT_USAGE:
        case EXFATCTL_EXIT_NOT_AUTHORIZED:
                return HELPER_EXIT_USAGE;
        case EXFATCTL_EXIT_UNAVAILABLE:
                return HELPER_EXIT_SYSERR;
        default:
                return HELPER_EXIT_FAIL;
        }
}
