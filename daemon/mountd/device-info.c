/* SPDX-License-Identifier: MIT */
/* From udev's strings to a Device object's properties. udev escapes what blkid read from the
 * untrusted volume; nothing here trusts it beyond what D-Bus needs (valid UTF-8, no controls). */
#include "device-info.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "protocol.h"
#include "util.h"

bool device_props_is_exfat(const struct device_props *p) {
        return p->fs_type && strcmp(p->fs_type, "exfat") == 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int udev_decode_string(const char *s, char **ret) {
        _cleanup_free_ char *out = malloc(strlen(s) + 1);
        char *o = out;

        if (!out)
                return -ENOMEM;
        while (*s) {
                if (s[0] == '\\' && s[1] == 'x') {
                        int hi = unhex(s[2]), lo = hi >= 0 ? unhex(s[3]) : -1;

                        if (lo < 0 || (hi == 0 && lo == 0))
                                return -EINVAL;
                        *o++ = (char) (hi << 4 | lo);
                        s += 4;
                } else
                        *o++ = *s++;
        }
        *o = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* Both udev strings come from the volume; the decoded one keeps spaces and letters, the plain one
 * is always safe. */
static int pick_label(const struct device_props *p, char **ret) {
        if (p->label_enc) {
                _cleanup_free_ char *decoded = NULL;

                if (udev_decode_string(p->label_enc, &decoded) >= 0 &&
                    link_string_valid(decoded, strlen(decoded) + 1)) {
                        *ret = TAKE_PTR(decoded);
                        return 0;
                }
        }
        if (p->label && link_string_valid(p->label, strlen(p->label) + 1))
                *ret = strdup(p->label);
        else
                *ret = strdup("");
        return *ret ? 0 : -ENOMEM;
}

static uint64_t parse_sectors(const char *s) {
        char *end;
        uint64_t v;

        if (!s || *s < '0' || *s > '9')
                return 0;
        errno = 0;
        v = strtoull(s, &end, 10);
        /* sysfs ends its values with a newline. */
        if (errno != 0 || (*end != '\0' && strcmp(end, "\n") != 0) || v > UINT64_MAX / 512)
                return 0;
        return v * 512;
}

int device_info_from_props(const struct device_props *p, struct device_info *ret) {
        struct device_info i = {};
        int r;

        if (!p->devname || strncmp(p->devname, "/dev/", 5) != 0 || !link_string_valid(p->devname, strlen(p->devname) + 1))
                return -EINVAL;
        i.node = strdup(p->devname);
        i.uuid = strdup(p->uuid && link_string_valid(p->uuid, strlen(p->uuid) + 1) ? p->uuid : "");
        r = pick_label(p, &i.label);
        if (!i.node || !i.uuid || r < 0) {
                device_info_done(&i);
                return -ENOMEM;
        }
        i.size = parse_sectors(p->size);
        *ret = i;
        return 0;
}

void device_info_done(struct device_info *i) {
        free(i->node);
        free(i->label);
        free(i->uuid);
        *i = (struct device_info) {};
}

static bool streq_null(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

unsigned device_info_diff(const struct device_info *a, const struct device_info *b) {
        return (streq_null(a->label, b->label) ? 0 : DEVICE_PROP_LABEL) |
               (streq_null(a->uuid, b->uuid) ? 0 : DEVICE_PROP_UUID) |
               (a->size == b->size ? 0 : DEVICE_PROP_SIZE);
}

int device_object_path(const char *sysname, char **ret) {
        return sd_bus_path_encode(MOUNTD_DEVICE_PREFIX, sysname, ret);
}
