/* SPDX-License-Identifier: MIT */
#pragma once

/* Probing a device and mounting libexfat on it, with the policy both modes share: a volume
 * marked dirty is served read-only unless forced. */

#include <stdbool.h>

#include "exfat.h"

struct worker_volume {
        const char *name;            /* device name for log lines */
        struct exfat_device dev;
        int fd;                      /* the caller's device fd */
        int direct_fd;               /* the device again, O_DIRECT, for file data (written, read); -1 if none */
        struct exfat_info info;
        bool read_only;              /* decided by volume_probe() */
        bool sync;
        struct exfat_volume *vol;    /* set by volume_mount() */
};

/* Reads the boot region through fd (owned by the caller) and decides read-only: asked, or
 * dirty without force (logged). direct_fd is the device opened with O_DIRECT for file data
 * (taken over, closed by volume_done()), or -1 to reopen fd that way where the process can.
 * -EINVAL not exFAT, -EIO damaged, with one log line. */
int volume_probe(struct worker_volume *v, int fd, int direct_fd, const char *name, bool read_only, bool force,
                 bool sync);

/* Mounts libexfat as decided by volume_probe(); falls back to read-only (and says so in
 * read_only) when the library refuses to write this volume. */
int volume_mount(struct worker_volume *v);

/* The device opened with O_DIRECT that READ replies read from (direct-read.h), or -1 (none could
 * be opened, or EXFAT_WORKER_DIRECT=0). */
int volume_direct_read_fd(const struct worker_volume *v);

/* The fd READ replies splice from when there is no direct read fd (the device itself: the fd
 * backend's offsets are device offsets), or -1 when EXFAT_WORKER_SPLICE=0 asks for copies through
 * exfat_read (A/B runs). */
int volume_splice_fd(const struct worker_volume *v);

/* Releases what volume_probe() set up beside the caller's fd; the volume must be unmounted. */
void volume_done(struct worker_volume *v);
