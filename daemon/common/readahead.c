/* SPDX-License-Identifier: MIT */
#include "readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int fuse_mount_await(const char *mountpoint, dev_t *ret_dev) {
        struct statfs sfs;
        struct stat st;
        int r = 0;

        int fd = open(mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                r = -errno;
        else if (sfs.f_type != FUSE_SUPER_MAGIC)
                r = -ENOTCONN;
        else
                *ret_dev = st.st_dev;
        close(fd);
        return r;
}

int fuse_readahead_set(dev_t dev, bool fuseblk, unsigned kib) {
        char path[96], buf[16];

        snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u%s/read_ahead_kb", major(dev), minor(dev),
                 fuseblk ? "-fuseblk" : "");
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int n = snprintf(buf, sizeof(buf), "%u\n", kib);
        ssize_t w = write(fd, buf, (size_t) n);
        int r = w == n ? 0 : w < 0 ? -errno : -EIO;
        close(fd);
        return r;
}
