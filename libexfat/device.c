/* SPDX-License-Identifier: MIT */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <malloc.h>
#include <unistd.h>

#include "vol.h"
#include "vlog.h"
#include "device.h"

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
#define WB_CHUNK (1u << 20)

/*
 * Write-behind. A synchronous O_DIRECT write makes the caller (a FUSE WRITE, and the writer behind
 * it) wait for the device each time, and the device sees one write at a time: the page cache, by
 * contrast, answers at once and writes back several requests together. So an aligned span is
 * copied into one of WB_BUFFERS buffers and queued for WB_THREADS threads; write_data returns
 * before the device is done. Jobs are written in any order, except that a write overlapping an
 * earlier one still queued or running waits for it. Whatever must find the data on the device
 * waits for the queue to empty first (wb_drain): buffered writes (metadata never reaches the
 * device before the data it describes), reads, drain (the caller reads the device itself) and
 * flush. A failed write is remembered and reported by the next flush: fsync, sync and unmount
 * report it, as the page cache would.
 */
#define WB_THREADS 4
#define WB_BUFFERS 16

struct wb_job {
        void *buf;
        size_t len;
        uint64_t offset;
};

/* Jobs may be written in any order, except two that overlap: the later one waits. */
static bool wb_overlaps(const struct wb_job *a, uint64_t offset, size_t len) {
        return a->buf && a->offset < offset + len && offset < a->offset + a->len;
}

struct fd_direct {
        int fd, dfd;
        size_t align;
        /* Buffered writes exclusive, direct writes shared: a direct write first writes back and
         * drops the cached pages it covers; a page dirtied meanwhile through fd (a neighbouring
         * directory block in the same folio) could not be dropped and would keep stale data. */
        pthread_rwlock_t lock;

        pthread_mutex_t wb_lock;
        pthread_cond_t wb_queued;   /* a job was queued, or stop */
        pthread_cond_t wb_finished; /* a job finished: a buffer is free, the queue may be empty */
        struct wb_job queue[WB_BUFFERS];
        unsigned q_first, q_len;    /* ring of queued jobs */
        struct wb_job active[WB_BUFFERS]; /* queued or being written (buf NULL: free slot) */
        unsigned busy;              /* jobs queued or being written */
        void *idle[WB_BUFFERS];     /* buffers not in use */
        unsigned n_idle, n_buffers;
        int error;                  /* first failure since the last flush */
        bool stop;
        unsigned n_threads;
        pthread_t threads[WB_THREADS];
};

static void *wb_thread(void *arg) {
        struct fd_direct *d = arg;

        pthread_mutex_lock(&d->wb_lock);
        for (;;) {
                while (d->q_len == 0 && !d->stop)
                        pthread_cond_wait(&d->wb_queued, &d->wb_lock);
                if (d->q_len == 0)
                        break;
                struct wb_job job = d->queue[d->q_first];
                d->q_first = (d->q_first + 1) % WB_BUFFERS;
                d->q_len--;
                pthread_mutex_unlock(&d->wb_lock);

                pthread_rwlock_rdlock(&d->lock);
                int r = pwrite_full(d->dfd, job.buf, job.len, job.offset);
                pthread_rwlock_unlock(&d->lock);
                if (r == -EINVAL) {
                        /* A device refusing this alignment still takes the data the ordinary way. */
                        pthread_rwlock_wrlock(&d->lock);
                        r = pwrite_full(d->fd, job.buf, job.len, job.offset);
                        pthread_rwlock_unlock(&d->lock);
                }

                pthread_mutex_lock(&d->wb_lock);
                if (r < 0 && d->error == 0)
                        d->error = r;
                for (unsigned i = 0; i < WB_BUFFERS; i++)
                        if (d->active[i].buf == job.buf)
                                d->active[i].buf = NULL;
                d->idle[d->n_idle++] = job.buf;
                d->busy--;
                pthread_cond_broadcast(&d->wb_finished);
        }
        pthread_mutex_unlock(&d->wb_lock);
        return NULL;
}

/* Called with wb_lock held: returns once every queued write is on the device (as far as pwrite
 * goes). */
static void wb_wait_idle(struct fd_direct *d) {
        while (d->busy > 0)
                pthread_cond_wait(&d->wb_finished, &d->wb_lock);
}

/* Waits until every queued write is on the device. With take_error, also returns and forgets the
 * first failure since the last such call. */
static int wb_drain(struct fd_direct *d, bool take_error) {
        int r = 0;

        pthread_mutex_lock(&d->wb_lock);
        wb_wait_idle(d);
        if (take_error) {
                r = d->error;
                d->error = 0;
        }
        pthread_mutex_unlock(&d->wb_lock);
        return r;
}

/* Called with wb_lock held; threads start with the first write, so read-only use has none. */
static int wb_start_threads(struct fd_direct *d) {
        while (d->n_threads < WB_THREADS) {
                if (pthread_create(&d->threads[d->n_threads], NULL, wb_thread, d) != 0)
                        return d->n_threads > 0 ? 0 : -EAGAIN;
                d->n_threads++;
        }
        return 0;
}

/* Called with wb_lock held: a free buffer, waiting for one when all are in flight. */
static void *wb_buffer(struct fd_direct *d, int *ret) {
        void *b;

        *ret = 0;
        while (d->n_idle == 0 && d->n_buffers == WB_BUFFERS)
                pthread_cond_wait(&d->wb_finished, &d->wb_lock);
        if (d->n_idle > 0)
                return d->idle[--d->n_idle];
        if (posix_memalign(&b, d->align, WB_CHUNK) != 0) {
                *ret = -ENOMEM;
                return NULL;
        }
        d->n_buffers++;
        return b;
}

/* Queues an aligned span in chunks of at most WB_CHUNK; the caller's buffer is free on return. */
static int wb_queue(struct fd_direct *d, const uint8_t *p, size_t len, uint64_t offset) {
        int r = 0;

        pthread_mutex_lock(&d->wb_lock);
        r = wb_start_threads(d);
        while (r == 0 && len > 0) {
                size_t n = len < WB_CHUNK ? len : WB_CHUNK;
                void *b = wb_buffer(d, &r);
                if (!b)
                        break;
                /* A job owns its buffer: nobody else touches it until the job is done. */
                pthread_mutex_unlock(&d->wb_lock);
                memcpy(b, p, n);
                pthread_mutex_lock(&d->wb_lock);
                /* An earlier write of the same bytes must land first: no job may pass it. */
                for (unsigned i = 0; i < WB_BUFFERS; i++)
                        while (wb_overlaps(&d->active[i], offset, n))
                                pthread_cond_wait(&d->wb_finished, &d->wb_lock);
                struct wb_job job = { b, n, offset };
                for (unsigned i = 0; i < WB_BUFFERS; i++)
                        if (!d->active[i].buf) {
                                d->active[i] = job;
                                break;
                        }
                d->queue[(d->q_first + d->q_len) % WB_BUFFERS] = job;
                d->q_len++;
                d->busy++;
                pthread_cond_signal(&d->wb_queued);
                p += n;
                len -= n;
                offset += n;
        }
        pthread_mutex_unlock(&d->wb_lock);
        return r;
}

static void wb_stop(struct fd_direct *d) {
        pthread_mutex_lock(&d->wb_lock);
        d->stop = true;
        pthread_cond_broadcast(&d->wb_queued);
        pthread_mutex_unlock(&d->wb_lock);
        for (unsigned i = 0; i < d->n_threads; i++)
                pthread_join(d->threads[i], NULL);
        for (unsigned i = 0; i < d->n_idle; i++)
                free(d->idle[i]);
        pthread_cond_destroy(&d->wb_queued);
        pthread_cond_destroy(&d->wb_finished);
        pthread_mutex_destroy(&d->wb_lock);
}

static int fdd_read(void *ctx, void *buf, size_t len, uint64_t offset) {
        struct fd_direct *d = ctx;
        (void) wb_drain(d, false);
        return pread_full(d->fd, buf, len, offset);
}

static int fdd_drain(void *ctx) {
        (void) wb_drain(ctx, false);
        return 0;
}

/* A worker that copied a file onto the volume and then sat idle kept its 16 MiB of write buffers
 * until unmount; they are made again on the next write. malloc_trim: a freed 1 MiB block may sit
 * in a malloc arena rather than go back to the kernel. */
static void fdd_idle(void *ctx) {
        struct fd_direct *d = ctx;
        unsigned freed;

        pthread_mutex_lock(&d->wb_lock);
        freed = d->n_idle;
        for (unsigned i = 0; i < d->n_idle; i++)
                free(d->idle[i]);
        d->n_buffers -= d->n_idle;
        d->n_idle = 0;
        pthread_mutex_unlock(&d->wb_lock);
        if (freed > 0)
                malloc_trim(0);
}

/* Metadata, and the unaligned edges of file data. Written only while no data write is queued or
 * running, holding wb_lock so that none can be queued meanwhile: whatever data this block may
 * describe (any write_data that returned before it was built) is on the device first. */
static int fdd_write(void *ctx, const void *buf, size_t len, uint64_t offset) {
        struct fd_direct *d = ctx;
        int r;

        pthread_mutex_lock(&d->wb_lock);
        wb_wait_idle(d);
        pthread_rwlock_wrlock(&d->lock);
        r = pwrite_full(d->fd, buf, len, offset);
        pthread_rwlock_unlock(&d->lock);
        pthread_mutex_unlock(&d->wb_lock);
        return r;
}

static int fdd_flush(void *ctx) {
        struct fd_direct *d = ctx;
        /* Flushing the block device flushes its volatile cache, which the direct writes reached. */
        int r = wb_drain(d, true);
        int s = fdatasync_dev(d->fd);
        return r < 0 ? r : s;
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
                r = wb_queue(d, p + head, mid, offset + head);
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
        .drain = fdd_drain,
        .idle = fdd_idle,
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
        pthread_rwlock_init(&d->lock, NULL);
        pthread_mutex_init(&d->wb_lock, NULL);
        pthread_cond_init(&d->wb_queued, NULL);
        pthread_cond_init(&d->wb_finished, NULL);
        dev->ops = &fd_direct_ops;
        dev->ctx = d;
        return 0;
}

void exfat_device_done(struct exfat_device *dev) {
        struct fd_direct *d;

        if (!dev || dev->ops != &fd_direct_ops)
                return;
        d = dev->ctx;
        /* Normally empty: unmount flushed. Whatever is still queued is written before the end. */
        wb_stop(d);
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

void dev_drain(struct exfat_volume *vol) {
        if (vol->dev->ops->drain)
                (void) vol->dev->ops->drain(vol->dev->ctx);
}

void dev_idle(struct exfat_volume *vol) {
        if (vol->dev->ops->idle)
                vol->dev->ops->idle(vol->dev->ctx);
}

int dev_flush(struct exfat_volume *vol) {
        int r;

        if (vol->read_only || !vol->dev->ops->flush)
                return 0;
        r = vol->dev->ops->flush(vol->dev->ctx);
        if (r < 0) {
                __atomic_add_fetch(&vol->flush_failures, 1, __ATOMIC_RELAXED);
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
