/* SPDX-License-Identifier: MIT */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int fd_read(void *ctx, void *buf, size_t len, uint64_t offset) {
        int fd = (int) (intptr_t) ctx;
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t r = pread(fd, p, len, (off_t) offset);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -EIO;
                p += r;
                len -= (size_t) r;
                offset += (uint64_t) r;
        }
        return 0;
}

static int fd_write(void *ctx, const void *buf, size_t len, uint64_t offset) {
        int fd = (int) (intptr_t) ctx;
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t r = pwrite(fd, p, len, (off_t) offset);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -EIO;
                p += r;
                len -= (size_t) r;
                offset += (uint64_t) r;
        }
        return 0;
}

static int fd_flush(void *ctx) {
        int fd = (int) (intptr_t) ctx;
        if (fdatasync(fd) < 0 && errno != EINVAL && errno != EROFS)
                return -errno;
        return 0;
}

static const struct exfat_dev_ops fd_ops = {
        .read = fd_read,
        .write = fd_write,
        .flush = fd_flush,
};

int exfat_device_init_fd(struct exfat_device *dev, int fd) {
        struct stat st;

        if (!dev || fd < 0)
                return -EINVAL;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                uint64_t size;
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return -errno;
                dev->size = size;
        } else if (S_ISREG(st.st_mode))
                dev->size = (uint64_t) st.st_size;
        else
                return -ENOTBLK;
        dev->ops = &fd_ops;
        dev->ctx = (void *) (intptr_t) fd;
        return 0;
}

/* Every device access is bounds-checked against the device size so that offsets computed from
 * damaged metadata never reach the backend. */
int dev_read(struct exfat_volume *vol, void *buf, size_t len, uint64_t off) {
        int r;

        if (off > vol->dev->size || len > vol->dev->size - off) {
                vol_err(vol, "read of %zu bytes at %llu beyond the device end", len, (unsigned long long) off);
                return -EIO;
        }
        r = vol->dev->ops->read(vol->dev->ctx, buf, len, off);
        if (r < 0) {
                vol_err(vol, "device read of %zu bytes at %llu failed: %s", len, (unsigned long long) off,
                        strerror(-r));
                return -EIO;
        }
        return 0;
}

int dev_write(struct exfat_volume *vol, const void *buf, size_t len, uint64_t off) {
        int r;

        if (vol->read_only)
                return -EROFS;
        if (off > vol->dev->size || len > vol->dev->size - off) {
                vol_err(vol, "write of %zu bytes at %llu beyond the device end", len, (unsigned long long) off);
                return -EIO;
        }
        r = vol->dev->ops->write(vol->dev->ctx, buf, len, off);
        if (r < 0) {
                vol_err(vol, "device write of %zu bytes at %llu failed: %s", len, (unsigned long long) off,
                        strerror(-r));
                return -EIO;
        }
        return 0;
}

int dev_flush(struct exfat_volume *vol) {
        int r;

        if (vol->read_only || !vol->dev->ops->flush)
                return 0;
        r = vol->dev->ops->flush(vol->dev->ctx);
        if (r < 0) {
                vol_err(vol, "device flush failed: %s", strerror(-r));
                return -EIO;
        }
        return 0;
}

#define ZERO_CHUNK (1u << 20)

int dev_zero(struct exfat_volume *vol, uint64_t off, uint64_t len) {
        _cleanup_free_ void *z = NULL;
        size_t chunk = len < ZERO_CHUNK ? (size_t) len : ZERO_CHUNK;

        if (len == 0)
                return 0;
        z = calloc(1, chunk);
        if (!z)
                return -ENOMEM;
        while (len > 0) {
                size_t n = len < chunk ? (size_t) len : chunk;
                int r = dev_write(vol, z, n, off);
                if (r < 0)
                        return r;
                off += n;
                len -= n;
        }
        return 0;
}
