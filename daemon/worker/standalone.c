/* SPDX-License-Identifier: MIT */
#include "standalone.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-ops.h"
#include "log.h"
#include "mount-watch.h"
#include "readahead.h"
#include "session.h"
#include "volume.h"

/* A block device is checked for other users first (O_EXCL), then opened without O_EXCL: the
 * kernel's fuseblk mount claims it exclusively itself. */
static int open_device(const char *device, struct worker_options *o, bool *ret_blkdev) {
        struct stat st;
        int fd;

        if (stat(device, &st) < 0)
                return log_error_errno(-errno, "%s", device);
        if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
                log_error("%s: not a block device nor an image file", device);
                return -ENOTBLK;
        }
        *ret_blkdev = S_ISBLK(st.st_mode);
        if (*ret_blkdev) {
                fd = open(device, O_RDONLY | O_EXCL | O_CLOEXEC);
                if (fd < 0 && errno == EBUSY) {
                        log_error("%s: the device is in use (mounted already?)", device);
                        return -EBUSY;
                }
                if (fd >= 0)
                        close(fd);
        }

        if (!o->read_only) {
                fd = open(device, O_RDWR | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
                if (errno != EROFS && errno != EACCES)
                        return log_error_errno(-errno, "%s: cannot open", device);
                log_warning("%s: the device is write-protected; mounting read-only", device);
                o->read_only = true;
        }
        fd = open(device, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "%s: cannot open", device);
        return fd;
}

/* libfuse splits -o lists at commas; a backslash keeps one inside a value. */
static int append_escaped(char *buf, size_t size, const char *s) {
        size_t len = strlen(buf);
        for (; *s; s++) {
                if (len + 3 > size)
                        return -ENAMETOOLONG;
                if (*s == ',' || *s == '\\')
                        buf[len++] = '\\';
                buf[len++] = *s;
        }
        buf[len] = '\0';
        return 0;
}

static int build_fuse_options(char *buf, size_t size, const char *device, const struct worker_options *o,
                              bool read_only, bool blkdev) {
        int n;

        snprintf(buf, size, "fsname=");
        if (append_escaped(buf, size, device) < 0)
                return -ENAMETOOLONG;
        size_t len = strlen(buf);
        /* blkdev makes it a fuseblk mount of the device itself: findmnt, df and udisks see the
         * real device, and umount waits until DESTROY has flushed the volume. */
        n = snprintf(buf + len, size - len, ",subtype=exfat,default_permissions,nosuid,nodev%s%s%s%s%s%s",
                     blkdev ? ",blkdev,blksize=4096" : "", o->allow_other ? ",allow_other" : "",
                     read_only ? ",ro" : "", o->noexec ? ",noexec" : "", o->kernel_flags[0] ? "," : "",
                     o->kernel_flags);
        if (n < 0 || (size_t) n >= size - len)
                return -ENAMETOOLONG;
        /* kernel_flags ends with a comma. */
        len = strlen(buf);
        if (buf[len - 1] == ',')
                buf[len - 1] = '\0';
        return 0;
}

/* EXFAT_WORKER_READAHEAD_KB overrides the read-ahead for A/B measurements; 0 keeps the kernel's. */
static unsigned readahead_kib(void) {
        const char *e = getenv("EXFAT_WORKER_READAHEAD_KB");
        char *end;
        if (!e || !*e)
                return FUSE_READAHEAD_KIB;
        unsigned long v = strtoul(e, &end, 10);
        return *end || v > 1024 * 1024 ? FUSE_READAHEAD_KIB : (unsigned) v;
}

struct readahead_raise {
        bool fuseblk;
        char mountpoint[];
};

/* From the first answered request on, a raised read-ahead stays (see readahead.h). */
static void *raise_readahead(void *arg) {
        struct readahead_raise *a = arg;
        unsigned kib = readahead_kib();
        dev_t dev;

        if (kib > 0 && fuse_mount_await(a->mountpoint, &dev) == 0) {
                int r = fuse_readahead_set(dev, a->fuseblk, kib);
                if (r < 0)
                        log_warning("%s: cannot raise the read-ahead to %u KiB: %s", a->mountpoint, kib, strerror(-r));
        }
        free(a);
        return NULL;
}

static void start_readahead_raise(const char *mountpoint, bool fuseblk) {
        size_t n = strlen(mountpoint);
        struct readahead_raise *a = malloc(sizeof(*a) + n + 1);
        pthread_t t;

        /* Only speed depends on it: serving goes on without it. */
        if (a) {
                a->fuseblk = fuseblk;
                memcpy(a->mountpoint, mountpoint, n + 1);
        }
        if (!a || pthread_create(&t, NULL, raise_readahead, a) != 0) {
                free(a);
                log_warning("%s: cannot raise the read-ahead", mountpoint);
                return;
        }
        pthread_detach(t);
}

int standalone_run(const char *device, const char *mountpoint, struct worker_options *o) {
        struct worker_volume v;
        struct worker_session *s = NULL;
        struct mount_watch *watch = NULL;
        struct worker_fs fs;
        char canonical[PATH_MAX];
        char fuse_options[4096 + 512];
        bool blkdev = false, gone;
        int fd, r, run_r, finish_r;

        /* Resolved now: once mounted, looking at the path would ask this very process. */
        if (!realpath(mountpoint, canonical)) {
                log_error_errno(-errno, "mount point %s", mountpoint);
                return 1;
        }
        r = mount_watch_block_signals();
        if (r < 0) {
                log_error_errno(r, "blocking signals failed");
                return 1;
        }
        fd = open_device(device, o, &blkdev);
        if (fd < 0)
                return 1;
        r = volume_probe(&v, fd, -1, device, o->read_only, o->force, o->sync);
        if (r >= 0)
                r = volume_mount(&v);
        if (r < 0) {
                volume_done(&v);
                close(fd);
                return 1;
        }

        worker_fs_init(&fs, v.vol, &(struct worker_view) {
                .uid = o->uid, .gid = o->gid, .dmask = o->dmask, .fmask = o->fmask,
                .noexec = o->noexec, .read_only = v.read_only,
        }, device);
        worker_fs_read_from(&fs, volume_direct_read_fd(&v), volume_splice_fd(&v));

        r = build_fuse_options(fuse_options, sizeof(fuse_options), device, o, v.read_only, blkdev);
        if (r < 0)
                log_error_errno(r, "%s: mount options too long", device);
        if (r >= 0)
                r = session_new(&fs, fuse_options, canonical, &s);
        if (r >= 0) {
                r = mount_watch_start(s, &fs, canonical, &watch);
                if (r < 0)
                        session_free(s, false); /* aborts and detaches the unserved mount */
        }
        if (r < 0) {
                worker_fs_finish(&fs);
                worker_fs_done(&fs);
                volume_done(&v);
                close(fd);
                return 1;
        }

        start_readahead_raise(canonical, blkdev);
        run_r = session_run(s);
        if (run_r < 0)
                log_error_errno(run_r, "%s: serving %s failed", device, mountpoint);
        gone = mount_watch_stop(watch);

        /* Normally DESTROY has flushed already; this covers a loop that ended another way. */
        finish_r = worker_fs_finish(&fs);
        session_free(s, gone);
        worker_fs_done(&fs);
        volume_done(&v);
        if (close(fd) < 0 && finish_r == 0)
                finish_r = log_error_errno(-errno, "%s: closing the device failed", device);
        return run_r < 0 || finish_r < 0 ? 1 : 0;
}
