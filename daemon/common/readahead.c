/* SPDX-License-Identifier: MIT */
#include "readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A fuseblk mount's backing device is named after the block device with a "-fuseblk" suffix
 * (the block device keeps its own); a plain FUSE mount's after its anonymous device number. */
static int open_read_ahead(dev_t dev, int flags) {
        static const char *const suffixes[] = { "-fuseblk", "" };
        char path[96];

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u%s/read_ahead_kb", major(dev), minor(dev),
                         suffixes[i]);
                int fd = open(path, flags | O_CLOEXEC);
                if (fd >= 0 || errno != ENOENT)
                        return fd < 0 ? -errno : fd;
        }
        return -ENOENT;
}

int fuse_readahead_set(dev_t dev, unsigned kib) {
        char buf[16];
        int fd = open_read_ahead(dev, O_WRONLY);
        if (fd < 0)
                return fd;
        int n = snprintf(buf, sizeof(buf), "%u\n", kib);
        ssize_t w = write(fd, buf, (size_t) n);
        int r = w == n ? 0 : w < 0 ? -errno : -EIO;
        close(fd);
        return r;
}

int fuse_readahead_get(dev_t dev) {
        char buf[16];
        int fd = open_read_ahead(dev, O_RDONLY);
        if (fd < 0)
                return fd;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        int r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        buf[n] = '\0';
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (errno || end == buf || v < 0 || v > (1L << 30))
                return -EIO;
        return (int) v;
}
