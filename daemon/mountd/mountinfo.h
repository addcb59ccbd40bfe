/* SPDX-License-Identifier: MIT */
#pragma once

/* /proc/self/mountinfo, read in whole lines (a mount's fields — a FUSE fsname, a path — are the
 * mounter's to choose, and a line read in pieces would let a piece pose as a mount of its own),
 * parsed in one place for devices.c, mountpoints.c and fusectl.c. */

#include <sys/types.h>

#define MOUNTINFO_SELF "/proc/self/mountinfo"

struct mountinfo_entry {
        int id;
        dev_t devnum;
        const char *mount_point; /* unescaped (mountinfo writes space, tab, newline, '\' as \ooo) */
        const char *fstype;
};

/* Parses one line in place (it is modified; the entry points into it). -EBADMSG when it is not a
 * mountinfo line. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *ret);

/* Calls f for every entry of the file, in order, until f returns non-zero; returns that value,
 * 0 when f never did, -errno when the file cannot be read. Lines that do not parse are skipped. */
int mountinfo_foreach(const char *file, int (*f)(const struct mountinfo_entry *e, void *userdata), void *userdata);
