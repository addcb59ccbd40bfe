/* SPDX-License-Identifier: MIT */
#include "volume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* exfat_log_fn: the library's messages, on the worker's log; its levels are syslog's. */
static void log_exfat(void *ctx, enum exfat_log_level level, const char *message) {
        const char *device = ctx;

        if (level == EXFAT_LOG_DEBUG)
                return;
        if (device)
                log_full((int) level, "%s: %s", device, message);
        else
                log_full((int) level, "%s", message);
}

static struct exfat_options volume_options(const struct worker_volume *v) {
        return (struct exfat_options) {
                .read_only = v->read_only,
                .sync = v->sync,
                .log = log_exfat,
                .log_ctx = (void *) v->name,
        };
}

/* File data written with O_DIRECT skips the copy into the device's page cache and its write-back
 * (measured: server CPU per GiB written roughly halved); read with O_DIRECT, it is not kept twice
 * (direct-read.h). Reopening needs access to the device node itself, which the service sandbox
 * lacks: there the daemon opens it and passes it in. EXFAT_WORKER_DIRECT=0 turns it off, for
 * reads and writes (for A/B measurements). */
static bool direct_wanted(void) {
        const char *e = getenv("EXFAT_WORKER_DIRECT");
        return !e || strcmp(e, "0") != 0;
}

static int open_direct(int fd, bool read_only) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        return open(path, (read_only ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
}

int volume_probe(struct worker_volume *v, int fd, int direct_fd, const char *name, bool read_only, bool force,
                 bool sync) {
        int r;

        /* direct_fd is ours from here on, also on failure: volume_done() closes it. */
        *v = (struct worker_volume) { .name = name, .read_only = read_only, .sync = sync, .fd = fd,
                                      .direct_fd = direct_fd };
        r = exfat_device_init_fd(&v->dev, fd);
        if (r < 0)
                return log_error_errno(r, "%s: cannot use the device", name);
        struct exfat_options opts = volume_options(v);
        r = exfat_probe(&v->dev, &opts, &v->info);
        if (r == -EINVAL)
                return log_error_errno(r, "%s: not an exFAT volume", name);
        if (r < 0)
                return log_error_errno(r, "%s: the exFAT volume cannot be read", name);

        if (v->info.dirty && !v->read_only && !force) {
                log_warning("%s: the volume was not cleanly unmounted (VolumeDirty is set); mounting it "
                            "read-only. Check it with fsck.exfat, or mount with -o force to write anyway",
                            name);
                v->read_only = true;
        }
        if (v->direct_fd >= 0 && !direct_wanted()) {
                close(v->direct_fd);
                v->direct_fd = -1;
        }
        if (v->direct_fd < 0 && direct_wanted())
                v->direct_fd = open_direct(fd, v->read_only);
        /* Read-only, the library writes nothing: only READ replies use direct_fd. */
        if (v->direct_fd >= 0 && !v->read_only) {
                r = exfat_device_init_fd_direct(&v->dev, fd, v->direct_fd);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot use the device", name);
        }
        return 0;
}

int volume_mount(struct worker_volume *v) {
        struct exfat_options opts = volume_options(v);
        int r = exfat_mount(&v->dev, &opts, &v->vol);
        if (r == -EROFS && !v->read_only) {
                log_warning("%s: the volume can only be mounted read-only (unknown critical entries "
                            "or media failure flag)", v->name);
                v->read_only = true;
                opts.read_only = true;
                r = exfat_mount(&v->dev, &opts, &v->vol);
        }
        if (r < 0)
                return log_error_errno(r, "%s: mounting the exFAT volume failed", v->name);
        return 0;
}

void volume_done(struct worker_volume *v) {
        exfat_device_done(&v->dev);
        if (v->direct_fd >= 0)
                close(v->direct_fd);
        v->direct_fd = -1;
}

int volume_direct_read_fd(const struct worker_volume *v) {
        return v->direct_fd;
}

int volume_splice_fd(const struct worker_volume *v) {
        const char *e = getenv("EXFAT_WORKER_SPLICE");
        return e && strcmp(e, "0") == 0 ? -1 : v->fd;
}
