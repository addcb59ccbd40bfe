/* SPDX-License-Identifier: MIT */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int pread_full(int fd, void *buf, size_t len, uint64_t offset) {
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

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t offset) {
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

static int fdatasync_dev(int fd) {
        if (fdatasync(fd) < 0 && errno != EINVAL && errno != EROFS)
                return -errno;
        return 0;
}

static int fd_read(void *ctx, void *buf, size_t len, uint64_t offset) {
        return pread_full((int) (intptr_t) ctx, buf, len, offset);
}

static int fd_write(void *ctx, const void *buf, size_t len, uint64_t offset) {
        return pwrite_full((int) (intptr_t) ctx, buf, len, offset);
}

static int fd_flush(void *ctx) {
        return fdatasync_dev((int) (intptr_t) ctx);
}

static const struct exfat_dev_ops fd_ops = {
        .read = fd_read,
        .write = fd_write,
        .flush = fd_flush,
};

static int device_size(int fd, uint64_t *ret) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, ret) < 0)
                        return -errno;
        } else if (S_ISREG(st.st_mode))
                *ret = (uint64_t) st.st_size;
        else
                return -ENOTBLK;
        return 0;
}

int exfat_device_init_fd(struct exfat_device *dev, int fd) {
        uint64_t size;
        int r;

        if (!dev || fd < 0)
                return -EINVAL;
        r = device_size(fd, &size);
        if (r < 0)
                return r;
        *dev = (struct exfat_device) { .ops = &fd_ops, .ctx = (void *) (intptr_t) fd, .size = size };
        return 0;
}

/* ---- direct file data ---------------------------------------------------------------------- */

#define DIRECT_ALIGN 4096u
#define BOUNCE_SIZE (1u << 20)

struct fd_direct {
        int fd, dfd;
        size_t align;
        /* Buffered writes exclusive, direct writes shared: a direct write first writes back and
         * drops the cached pages it covers; a page dirtied meanwhile through fd (a neighbouring
         * directory block in the same folio) could not be dropped and would keep stale data. */
        pthread_rwlock_t lock;
        /* Per-thread aligned copy of unaligned caller buffers (FUSE's payload sits after a header). */
        pthread_key_t bounce;
};

static int fdd_read(void *ctx, void *buf, size_t len, uint64_t offset) {
        struct fd_direct *d = ctx;
        return pread_full(d->fd, buf, len, offset);
}

static int fdd_write(void *ctx, const void *buf, size_t len, uint64_t offset) {
        struct fd_direct *d = ctx;
        int r;

        pthread_rwlock_wrlock(&d->lock);
        r = pwrite_full(d->fd, buf, len, offset);
        pthread_rwlock_unlock(&d->lock);
        return r;
}

static int fdd_flush(void *ctx) {
        struct fd_direct *d = ctx;
        /* Flushing the block device flushes its volatile cache, which the direct writes reached. */
        return fdatasync_dev(d->fd);
}

static void *bounce_get(struct fd_direct *d) {
        void *b = pthread_getspecific(d->bounce);

        if (b)
                return b;
        if (posix_memalign(&b, d->align, BOUNCE_SIZE) != 0)
                return NULL;
        if (pthread_setspecific(d->bounce, b) != 0) {
                free(b);
                return NULL;
        }
        return b;
}

/* An aligned span: straight from buf when it is aligned in memory too, else copied in chunks. */
static int direct_span(struct fd_direct *d, const uint8_t *p, size_t len, uint64_t offset) {
        void *b = NULL;
        int r = 0;

        if (((uintptr_t) p & (d->align - 1)) != 0) {
                b = bounce_get(d);
                if (!b)
                        return -ENOMEM;
        }
        pthread_rwlock_rdlock(&d->lock);
        while (len > 0 && r >= 0) {
                size_t n = len;
                if (b) {
                        n = len < BOUNCE_SIZE ? len : BOUNCE_SIZE;
                        memcpy(b, p, n);
                }
                r = pwrite_full(d->dfd, b ? b : p, n, offset);
                p += n;
                len -= n;
                offset += n;
        }
        pthread_rwlock_unlock(&d->lock);
        return r;
}

static int fdd_write_data(void *ctx, const void *buf, size_t len, uint64_t offset) {
        struct fd_direct *d = ctx;
        const uint8_t *p = buf;
        size_t head, mid;
        int r;

        head = (size_t) ((d->align - (offset & (d->align - 1))) & (d->align - 1));
        if (head >= len)
                return fdd_write(d, buf, len, offset);
        mid = (len - head) & ~(d->align - 1);
        if (head > 0) {
                r = fdd_write(d, p, head, offset);
                if (r < 0)
                        return r;
        }
        if (mid > 0) {
                r = direct_span(d, p + head, mid, offset + head);
                /* A device refusing this alignment still takes the data the ordinary way. */
                if (r == -EINVAL)
                        r = fdd_write(d, p + head, mid, offset + head);
                if (r < 0)
                        return r;
        }
        if (head + mid < len)
                return fdd_write(d, p + head + mid, len - head - mid, offset + head + mid);
        return 0;
}

static const struct exfat_dev_ops fd_direct_ops = {
        .read = fdd_read,
        .write = fdd_write,
        .flush = fdd_flush,
        .write_data = fdd_write_data,
};

int exfat_device_init_fd_direct(struct exfat_device *dev, int fd, int direct_fd) {
        struct fd_direct *d;
        int lbs = 0, r;

        r = exfat_device_init_fd(dev, fd);
        if (r < 0 || direct_fd < 0)
                return r;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (struct fd_direct) { .fd = fd, .dfd = direct_fd, .align = DIRECT_ALIGN };
        if (ioctl(direct_fd, BLKSSZGET, &lbs) == 0 && lbs > 0 && (size_t) lbs > d->align &&
            (lbs & (lbs - 1)) == 0)
                d->align = (size_t) lbs;
        if (pthread_key_create(&d->bounce, free) != 0) {
                free(d);
                return -ENOMEM;
        }
        pthread_rwlock_init(&d->lock, NULL);
        dev->ops = &fd_direct_ops;
        dev->ctx = d;
        return 0;
}

void exfat_device_done(struct exfat_device *dev) {
        struct fd_direct *d;

        if (!dev || dev->ops != &fd_direct_ops)
                return;
        d = dev->ctx;
        /* The calling thread's buffer; other threads' were freed when they ended. */
        free(pthread_getspecific(d->bounce));
        pthread_setspecific(d->bounce, NULL);
        pthread_key_delete(d->bounce);
        pthread_rwlock_destroy(&d->lock);
        free(d);
        dev->ops = &fd_ops;
        dev->ctx = (void *) (intptr_t) -1;
}

/* Every device access is bounds-checked against the device size so that offsets computed from
 * damaged metadata never reach the backend. */
static bool in_device(struct exfat_volume *vol, const char *what, size_t len, uint64_t off) {
        if (off > vol->dev->size || len > vol->dev->size - off) {
                vol_err(vol, "%s of %zu bytes at %llu beyond the device end", what, len, (unsigned long long) off);
                return false;
        }
        return true;
}

/* One log line for a failed backend call; callers see -EIO whatever the backend said. */
static int io_result(struct exfat_volume *vol, const char *what, size_t len, uint64_t off, int r) {
        if (r >= 0)
                return 0;
        vol_err(vol, "device %s of %zu bytes at %llu failed: %s", what, len, (unsigned long long) off, strerror(-r));
        return -EIO;
}

int dev_read(struct exfat_volume *vol, void *buf, size_t len, uint64_t off) {
        if (!in_device(vol, "read", len, off))
                return -EIO;
        return io_result(vol, "read", len, off, vol->dev->ops->read(vol->dev->ctx, buf, len, off));
}

int dev_write(struct exfat_volume *vol, const void *buf, size_t len, uint64_t off) {
        if (vol->read_only)
                return -EROFS;
        if (!in_device(vol, "write", len, off))
                return -EIO;
        return io_result(vol, "write", len, off, vol->dev->ops->write(vol->dev->ctx, buf, len, off));
}

/* File contents: through the backend's write_data when it has one. */
int dev_write_data(struct exfat_volume *vol, const void *buf, size_t len, uint64_t off) {
        if (!vol->dev->ops->write_data)
                return dev_write(vol, buf, len, off);
        if (vol->read_only)
                return -EROFS;
        if (!in_device(vol, "write", len, off))
                return -EIO;
        return io_result(vol, "write", len, off, vol->dev->ops->write_data(vol->dev->ctx, buf, len, off));
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

static int zero_with(struct exfat_volume *vol, uint64_t off, uint64_t len,
                     int (*write)(struct exfat_volume *, const void *, size_t, uint64_t)) {
        _cleanup_free_ void *z = NULL;
        size_t chunk = len < ZERO_CHUNK ? (size_t) len : ZERO_CHUNK;

        if (len == 0)
                return 0;
        z = calloc(1, chunk);
        if (!z)
                return -ENOMEM;
        while (len > 0) {
                size_t n = len < chunk ? (size_t) len : chunk;
                int r = write(vol, z, n, off);
                if (r < 0)
                        return r;
                off += n;
                len -= n;
        }
        return 0;
}

int dev_zero(struct exfat_volume *vol, uint64_t off, uint64_t len) {
        return zero_with(vol, off, len, dev_write);
}

int dev_zero_data(struct exfat_volume *vol, uint64_t off, uint64_t len) {
        return zero_with(vol, off, len, dev_write_data);
}
