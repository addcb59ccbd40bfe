/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "protocol.h"

#define MOUNT_POINT_MAX 1024

void options_done(struct mount_options *o) {
        free(o->mount_point);
        o->mount_point = NULL;
}

bool mount_point_option_valid(const char *p) {
        size_t n = strnlen(p, MOUNT_POINT_MAX + 1);
        if (n == 0 || n > MOUNT_POINT_MAX || p[0] != '/' || strcmp(p, "/") == 0)
                return false;
        /* Any name a file manager may choose (udisks uses the label: "/media/alice/MY STICK"):
         * the path never enters mount data (mount(2) targets an fd) and mountinfo escapes what it
         * must. It must be text, though (it is shown on the bus, in logs and listings): valid
         * UTF-8 without control characters, which would only make those lie. */
        if (!link_string_valid(p, n + 1))
                return false;
        /* Each component must be a plain name. */
        for (const char *c = p; *c;) {
                c++; /* skip the slash */
                size_t len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += len;
        }
        return true;
}

static int read_bool(sd_bus_message *msg, const char *key, bool *ret, sd_bus_error *error) {
        int b, r = sd_bus_message_read(msg, "v", "b", &b);
        if (r < 0)
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Option '%s' must be a boolean (b).", key);
        *ret = b;
        return 0;
}

static int read_u32(sd_bus_message *msg, const char *key, uint32_t *ret, sd_bus_error *error) {
        int r = sd_bus_message_read(msg, "v", "u", ret);
        if (r < 0)
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Option '%s' must be an unsigned integer (u).", key);
        return 0;
}

int options_parse(sd_bus_message *msg, enum option_set set, struct mount_options *o, sd_bus_error *error) {
        int r;

        *o = (struct mount_options) { .dmask = DEFAULT_DMASK, .fmask = DEFAULT_FMASK };

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Options must be a{sv}.");

        const char *key = NULL;
        for (;;) {
                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        goto bad;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        goto bad;

                if (strcmp(key, "auth.no_user_interaction") == 0)
                        r = read_bool(msg, key, &o->no_user_interaction, error);
                else if (strcmp(key, "force") == 0 && set != OPTIONS_LABEL)
                        r = read_bool(msg, key, &o->force, error);
                else if (set != OPTIONS_MOUNT)
                        goto unknown;
                else if (strcmp(key, "read-only") == 0)
                        r = read_bool(msg, key, &o->read_only, error);
                else if (strcmp(key, "noexec") == 0)
                        r = read_bool(msg, key, &o->noexec, error);
                else if (strcmp(key, "sync") == 0)
                        r = read_bool(msg, key, &o->sync, error);
                else if (strcmp(key, "uid") == 0) {
                        r = read_u32(msg, key, &o->uid, error);
                        o->has_uid = true;
                        if (r >= 0 && o->uid == (uint32_t) -1)
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "uid -1 is not a user.");
                } else if (strcmp(key, "gid") == 0) {
                        r = read_u32(msg, key, &o->gid, error);
                        o->has_gid = true;
                        if (r >= 0 && o->gid == (uint32_t) -1)
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "gid -1 is not a group.");
                } else if (strcmp(key, "dmask") == 0 || strcmp(key, "fmask") == 0) {
                        uint32_t *mask = key[0] == 'd' ? &o->dmask : &o->fmask;
                        r = read_u32(msg, key, mask, error);
                        if (r >= 0 && *mask > 0777)
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Option '%s' must be at most 0777.", key);
                } else if (strcmp(key, "mount-point") == 0) {
                        const char *p;
                        r = sd_bus_message_read(msg, "v", "s", &p);
                        if (r < 0)
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Option 'mount-point' must be a string (s).");
                        else if (!mount_point_option_valid(p))
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                                      "Mount point must be an absolute path without '.' or '..' "
                                                      "components, empty components or control characters.");
                        else if (o->mount_point)
                                r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Option 'mount-point' given twice.");
                        else {
                                o->mount_point = strdup(p);
                                if (!o->mount_point)
                                        r = -ENOMEM;
                        }
                } else
                        goto unknown;
                if (r < 0)
                        goto fail;

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        goto bad;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                goto bad;
        return 0;

unknown:
        r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Unknown option '%.64s' for this method.", key);
        goto fail;
bad:
        r = sd_bus_error_setf(error, ERR_INVALID_ARGUMENT, "Malformed options.");
fail:
        options_done(o);
        return r;
}

bool label_valid(const char *label) {
        size_t units = 0;
        if (!link_string_valid(label, LINK_LABEL_MAX))
                return false;
        for (const unsigned char *c = (const unsigned char *) label; *c; c++) {
                if (strchr("\"*/:<>?\\|", *c))
                        return false;
                if ((*c & 0xC0) != 0x80)
                        units += (*c >= 0xF0) ? 2 : 1; /* 4-byte sequences are surrogate pairs */
        }
        return units <= LABEL_MAX_UNITS;
}
