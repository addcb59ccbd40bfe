/* SPDX-License-Identifier: MIT */
#include "direct-read.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Buffers come in steps of this, so that READs of slightly different sizes share them. */
#define BUFFER_STEP (128u * 1024)

static uint64_t round_down(uint64_t v, uint64_t a) {
        return v - v % a;
}

static uint64_t round_up(uint64_t v, uint64_t a) {
        return round_down(v + a - 1, a);
}

int direct_reader_init(struct direct_reader *r, int fd) {
        struct stat st;
        int block = 4096;

        *r = (struct direct_reader) { .fd = fd };
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode) && ioctl(fd, BLKSSZGET, &block) < 0)
                return -errno;
        if (block < 512 || (block & (block - 1)) != 0)
                return -EINVAL;
        r->align = (size_t) block;
        pthread_mutex_init(&r->lock, NULL);
        return 0;
}

static void buffer_free(struct direct_buffer *b) {
        if (b->data)
                munmap(b->data, b->size);
        *b = (struct direct_buffer) { 0 };
}

/* An idle buffer of at least size bytes, or a new one. An idle buffer too small is dropped, so
 * that the kept ones grow to what READs need instead of being passed over forever. */
static int buffer_get(struct direct_reader *r, size_t size, struct direct_buffer *ret) {
        struct direct_buffer small = { 0 };

        pthread_mutex_lock(&r->lock);
        for (size_t i = r->n_idle; i-- > 0;)
                if (r->idle[i].size >= size) {
                        *ret = r->idle[i];
                        r->idle[i] = r->idle[--r->n_idle];
                        pthread_mutex_unlock(&r->lock);
                        return 0;
                }
        if (r->n_idle > 0)
                small = r->idle[--r->n_idle];
        pthread_mutex_unlock(&r->lock);
        buffer_free(&small);

        size = (size_t) round_up(size, BUFFER_STEP);
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -ENOMEM;
        *ret = (struct direct_buffer) { .data = p, .size = size };
        return 0;
}

static void buffer_put(struct direct_reader *r, struct direct_buffer *b) {
        pthread_mutex_lock(&r->lock);
        if (r->n_idle < DIRECT_READER_KEEP) {
                r->idle[r->n_idle++] = *b;
                *b = (struct direct_buffer) { 0 };
        }
        pthread_mutex_unlock(&r->lock);
        buffer_free(b);
}

/* Whole blocks around [off, off + len): what O_DIRECT reads for it. */
static uint64_t span_of(const struct direct_reader *r, uint64_t off, uint64_t len) {
        return round_up(off + len, r->align) - round_down(off, r->align);
}

/* Buffer room for one extent: the blocks around it, or its zeros rounded to a block so that the
 * next extent starts aligned. */
static uint64_t room_of(const struct direct_reader *r, const struct exfat_extent *e) {
        return e->dev_offset == EXFAT_EXTENT_ZERO ? round_up(e->length, r->align) : span_of(r, e->dev_offset, e->length);
}

/* Reads the blocks around one extent to dst. An image file may end inside the last block: what
 * lies past its end is not needed unless the extent covers it (then the read meets the end: -EIO). */
static int read_extent(const struct direct_reader *r, const struct exfat_extent *e, uint8_t *dst) {
        uint64_t start = round_down(e->dev_offset, r->align);
        uint64_t span = span_of(r, e->dev_offset, e->length);
        uint64_t need = e->dev_offset + e->length - start;
        uint64_t done = 0;

        while (done < need) {
                ssize_t n = pread(r->fd, dst + done, (size_t) (span - done), (off_t) (start + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EINVAL ? -EINVAL : -EIO;
                if (n == 0)
                        return -EIO;
                done += (uint64_t) n;
        }
        return 0;
}

int direct_reader_read(struct direct_reader *r, const struct exfat_extent *ext, size_t count,
                       struct direct_read *out) {
        uint64_t size = 0;
        int ret;

        *out = (struct direct_read) { 0 };
        for (size_t i = 0; i < count; i++) {
                if (ext[i].length > SIZE_MAX / 2 || (ext[i].dev_offset != EXFAT_EXTENT_ZERO &&
                                                     ext[i].dev_offset > UINT64_MAX / 2))
                        return -EIO;
                size += room_of(r, &ext[i]);
        }
        out->iov = calloc(count > 0 ? count : 1, sizeof(*out->iov));
        if (!out->iov)
                return -ENOMEM;
        ret = buffer_get(r, size > 0 ? (size_t) size : 1, &out->buffer);
        if (ret < 0)
                goto fail;

        uint8_t *at = out->buffer.data;
        for (size_t i = 0; i < count; i++) {
                const struct exfat_extent *e = &ext[i];
                if (e->dev_offset == EXFAT_EXTENT_ZERO) {
                        memset(at, 0, (size_t) e->length);
                        out->iov[i] = (struct iovec) { .iov_base = at, .iov_len = (size_t) e->length };
                } else {
                        ret = read_extent(r, e, at);
                        if (ret < 0)
                                goto fail;
                        out->iov[i] = (struct iovec) { .iov_base = at + e->dev_offset % r->align,
                                                       .iov_len = (size_t) e->length };
                }
                at += room_of(r, e);
        }
        out->iov_count = count;
        return 0;
fail:
        direct_read_release(r, out);
        return ret;
}

void direct_read_release(struct direct_reader *r, struct direct_read *out) {
        free(out->iov);
        if (out->buffer.data)
                buffer_put(r, &out->buffer);
        *out = (struct direct_read) { 0 };
}

void direct_reader_trim(struct direct_reader *r) {
        struct direct_buffer idle[DIRECT_READER_KEEP];
        size_t n;

        pthread_mutex_lock(&r->lock);
        n = r->n_idle;
        memcpy(idle, r->idle, n * sizeof(idle[0]));
        r->n_idle = 0;
        pthread_mutex_unlock(&r->lock);
        for (size_t i = 0; i < n; i++)
                buffer_free(&idle[i]);
}

void direct_reader_done(struct direct_reader *r) {
        if (r->align == 0)
                return;
        direct_reader_trim(r);
        pthread_mutex_destroy(&r->lock);
        r->align = 0;
}
