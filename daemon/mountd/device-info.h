/* SPDX-License-Identifier: MIT */
#pragma once

/* What the Device objects say about an exFAT block device, taken from udev's properties and sysfs
 * as strings: no I/O here (unit-tested in tests/unit/mountd/test-device-info.c). */

#include <stdbool.h>
#include <stdint.h>

#define MOUNTD_DEVICE_PREFIX "/org/exfat/Mountd1/devices"

struct device_info {
        char *node;        /* "/dev/sdb1" */
        char *label;       /* "" when none */
        char *uuid;        /* "" when none */
        uint64_t size;     /* bytes; 0 when unknown */
};

/* What udev and sysfs report, as they report it; any may be NULL. */
struct device_props {
        const char *devname;      /* sd_device_get_devname() */
        const char *fs_type;      /* ID_FS_TYPE */
        const char *label_enc;    /* ID_FS_LABEL_ENC: the label with unsafe bytes as \xNN */
        const char *label;        /* ID_FS_LABEL: unsafe characters replaced by '_' */
        const char *uuid;         /* ID_FS_UUID */
        const char *size;         /* sysfs "size": 512-byte sectors, whatever the logical block size */
};

/* True for the filesystem type we serve. */
bool device_props_is_exfat(const struct device_props *p);

/* Fills *ret from p: -EINVAL without a device node under /dev, -ENOMEM. The label is ID_FS_LABEL_ENC
 * decoded when that gives valid UTF-8 without control characters (a label may hold spaces and
 * any letters), else ID_FS_LABEL; a size sysfs does not give as a number becomes 0. */
int device_info_from_props(const struct device_props *p, struct device_info *ret);
void device_info_done(struct device_info *i);

/* Bitmask of the D-Bus properties that differ between a and b (DEVICE_PROP_*). */
enum {
        DEVICE_PROP_LABEL = 1 << 0,
        DEVICE_PROP_UUID  = 1 << 1,
        DEVICE_PROP_SIZE  = 1 << 2,
};
unsigned device_info_diff(const struct device_info *a, const struct device_info *b);

/* Decodes udev's \xNN escapes (blkid's safe encoding). -EINVAL for a malformed escape or one that
 * gives a NUL byte. */
int udev_decode_string(const char *s, char **ret);

/* /org/exfat/Mountd1/devices/<kernel name, escaped>: any kernel name ("sdb1", "cciss!c0d0p1",
 * "mmcblk0p1") gives a valid object path, distinct names distinct paths. */
int device_object_path(const char *sysname, char **ret);
