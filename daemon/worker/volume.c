/* SPDX-License-Identifier: MIT */
#include "volume.h"

#include <errno.h>

#include "log.h"

static struct exfat_options volume_options(const struct worker_volume *v) {
        return (struct exfat_options) {
                .read_only = v->read_only,
                .sync = v->sync,
                .log = log_exfat,
                .log_ctx = (void *) v->name,
        };
}

int volume_probe(struct worker_volume *v, int fd, const char *name, bool read_only, bool force, bool sync) {
        int r;

        *v = (struct worker_volume) { .name = name, .read_only = read_only, .sync = sync };
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
