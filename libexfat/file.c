/* SPDX-License-Identifier: MIT */
/* File data: read, write, truncate. Data goes straight to the device, one request per contiguous
 * run of clusters. Bytes between ValidDataLength and DataLength read as zeros; a write starting past
 * ValidDataLength zero-fills the gap first so that ValidDataLength stays a single boundary, and a
 * truncate up writes the zeros it adds: this library never leaves unwritten clusters below a
 * file's DataLength, whatever the reader makes of ValidDataLength. */
#include <limits.h>

#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "chain.h"
#include "timestamp.h"
#include "node.h"
#include "file.h"

enum io_op { IO_READ, IO_WRITE, IO_ZERO };

/* The device span holding the file's bytes from off on: where it starts and how many of the next
 * len bytes it holds (one contiguous run of clusters). */
static int map_run(struct exfat_volume *vol, struct exfat_node *n, uint64_t off, uint64_t len, uint64_t *ret_dev_off,
                   uint64_t *ret_len) {
        uint32_t fcl = (uint32_t) (off >> vol->cluster_shift), pcl, run;
        uint64_t in = off & (vol->cluster_size - 1), avail;

        if (chain_map(n, fcl, &pcl, &run) < 0) {
                vol_err(vol, "inode %llu: offset %llu beyond its clusters", (unsigned long long) n->ino,
                        (unsigned long long) off);
                return -EIO;
        }
        avail = ((uint64_t) run << vol->cluster_shift) - in;
        *ret_len = avail < len ? avail : len;
        *ret_dev_off = cluster_offset(vol, pcl) + in;
        return 0;
}

static int file_io(struct exfat_volume *vol, struct exfat_node *n, enum io_op op, uint64_t off, uint64_t len,
                   void *rbuf, const void *wbuf) {
        while (len > 0) {
                uint64_t dev_off, n_;
                int r;

                r = map_run(vol, n, off, len < (1u << 30) ? len : (1u << 30), &dev_off, &n_);
                if (r < 0)
                        return r;
                if (op == IO_READ) {
                        r = dev_read(vol, rbuf, (size_t) n_, dev_off);
                        rbuf = (uint8_t *) rbuf + n_;
                } else if (op == IO_WRITE) {
                        r = dev_write_data(vol, wbuf, (size_t) n_, dev_off);
                        wbuf = (const uint8_t *) wbuf + n_;
                } else
                        r = dev_zero_data(vol, dev_off, n_);
                if (r < 0)
                        return r;
                off += n_;
                len -= n_;
        }
        return 0;
}

/* Loads the cluster map with the io lock held for reading: upgrades when it must be built. */
static int read_lock_loaded(struct exfat_volume *vol, struct exfat_node *n) {
        for (;;) {
                int r;
                pthread_rwlock_rdlock(&n->io);
                if (n->ext_valid)
                        return 0;
                pthread_rwlock_unlock(&n->io);
                pthread_rwlock_wrlock(&n->io);
                r = chain_load(vol, n);
                pthread_rwlock_unlock(&n->io);
                if (r < 0)
                        return r;
        }
}

/* Takes a reference on file ino and its io lock shared (undone by pthread_rwlock_unlock(&n->io) +
 * node_put), and snapshots its size and ValidDataLength. -EISDIR for a directory. */
static int read_begin(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret, uint64_t *ret_size,
                      uint64_t *ret_valid) {
        struct exfat_node *n;
        int r = node_get(vol, ino, &n);
        if (r < 0)
                return r;
        if (n->is_dir) {
                node_put(vol, n);
                return -EISDIR;
        }
        r = read_lock_loaded(vol, n);
        if (r < 0) {
                node_put(vol, n);
                return r;
        }
        pthread_mutex_lock(&n->mtx);
        *ret_size = n->size;
        *ret_valid = n->valid_size;
        pthread_mutex_unlock(&n->mtx);
        *ret = n;
        return 0;
}

ssize_t exfat_read(struct exfat_volume *vol, uint64_t ino, void *buf, size_t size, uint64_t offset) {
        struct exfat_node *n;
        uint64_t fsize, valid, end;
        int r;

        r = read_begin(vol, ino, &n, &fsize, &valid);
        if (r < 0)
                return r;
        if (offset >= fsize || size == 0) {
                size = 0;
                goto out;
        }
        if (size > fsize - offset)
                size = (size_t) (fsize - offset);
        if (size > SSIZE_MAX)
                size = SSIZE_MAX;
        end = offset + size;
        if (offset < valid) {
                uint64_t upto = end < valid ? end : valid;
                r = file_io(vol, n, IO_READ, offset, upto - offset, buf, NULL);
                if (r < 0)
                        goto out;
                if (upto < end)
                        memset((uint8_t *) buf + (upto - offset), 0, (size_t) (end - upto));
        } else
                memset(buf, 0, size);
out:
        pthread_rwlock_unlock(&n->io);
        node_put(vol, n);
        return r < 0 ? r : (ssize_t) size;
}

/* Appends a run to the list, merging it with the previous one when they touch. */
static void extent_add(struct exfat_extent *ext, size_t *count, uint64_t dev_offset, uint64_t length) {
        struct exfat_extent *last = *count > 0 ? &ext[*count - 1] : NULL;

        if (last && ((dev_offset == EXFAT_EXTENT_ZERO && last->dev_offset == EXFAT_EXTENT_ZERO) ||
                     (dev_offset != EXFAT_EXTENT_ZERO && last->dev_offset != EXFAT_EXTENT_ZERO &&
                      last->dev_offset + last->length == dev_offset))) {
                last->length += length;
                return;
        }
        ext[(*count)++] = (struct exfat_extent) { .dev_offset = dev_offset, .length = length };
}

static int map_extents(struct exfat_volume *vol, struct exfat_node *n, uint64_t off, uint64_t len,
                       struct exfat_extent *ext, size_t *count) {
        while (len > 0) {
                uint64_t dev_off, n_;
                int r = map_run(vol, n, off, len, &dev_off, &n_);
                if (r < 0)
                        return r;
                extent_add(ext, count, dev_off, n_);
                off += n_;
                len -= n_;
        }
        return 0;
}

int exfat_read_extents(struct exfat_volume *vol, uint64_t ino, uint64_t offset, uint64_t size, exfat_extents_fn fn,
                       void *ctx) {
        _cleanup_free_ struct exfat_extent *ext = NULL;
        struct exfat_node *n;
        uint64_t fsize, valid, end, upto;
        size_t count = 0, max;
        int r;

        if (!fn)
                return -EINVAL;
        r = read_begin(vol, ino, &n, &fsize, &valid);
        if (r < 0)
                return r;
        if (offset >= fsize)
                size = 0;
        else if (size > fsize - offset)
                size = fsize - offset;
        end = offset + size;
        /* At most one extent per cluster touched, plus the zeros. */
        max = size == 0 ? 1 : (size_t) (((end - 1) >> vol->cluster_shift) - (offset >> vol->cluster_shift) + 2);
        ext = calloc(max, sizeof(*ext));
        if (!ext) {
                r = -ENOMEM;
                goto out;
        }
        upto = end < valid ? end : valid;
        if (offset < upto) {
                r = map_extents(vol, n, offset, upto - offset, ext, &count);
                if (r < 0)
                        goto out;
        }
        if (upto < offset)
                upto = offset;
        if (upto < end)
                extent_add(ext, &count, EXFAT_EXTENT_ZERO, end - upto);
        /* The caller reads the device itself: data written behind must be there first. */
        dev_drain(vol);
        r = fn(ctx, ext, count, size);
out:
        pthread_rwlock_unlock(&n->io);
        node_put(vol, n);
        return r;
}

static uint64_t max_file_size(const struct exfat_volume *vol) {
        return (uint64_t) vol->cluster_count << vol->cluster_shift;
}

/* Grows or shrinks the cluster chain to cover `size` bytes. io lock held exclusively. */
static int resize_chain(struct exfat_volume *vol, struct exfat_node *n, uint64_t size) {
        uint64_t want = div_round_up(size, vol->cluster_size);
        int r;

        if (want > vol->cluster_count)
                return -EFBIG;
        pthread_mutex_lock(&vol->mlock);
        if (want > n->nclusters)
                r = chain_grow(vol, n, (uint32_t) want - n->nclusters);
        else
                r = chain_shrink(vol, n, (uint32_t) want);
        pthread_mutex_unlock(&vol->mlock);
        return r;
}

static int commit_after_io(struct exfat_volume *vol, struct exfat_node *n) {
        int r;
        pthread_mutex_lock(&vol->lock);
        r = node_commit(vol, n);
        if (r >= 0)
                r = vol_after_change(vol);
        pthread_mutex_unlock(&vol->lock);
        return r;
}

ssize_t exfat_write(struct exfat_volume *vol, uint64_t ino, const void *buf, size_t size, uint64_t offset) {
        struct exfat_node *n;
        uint64_t end, old_size, valid;
        uint32_t old_ncl;
        struct timespec now;
        int r;

        if (vol->read_only)
                return -EROFS;
        r = node_get(vol, ino, &n);
        if (r < 0)
                return r;
        if (n->is_dir) {
                node_put(vol, n);
                return -EISDIR;
        }
        if (size == 0) {
                node_put(vol, n);
                return 0;
        }
        if (size > SSIZE_MAX || offset > max_file_size(vol) || size > max_file_size(vol) - offset) {
                node_put(vol, n);
                return -EFBIG;
        }
        end = offset + size;
        pthread_rwlock_wrlock(&n->io);
        r = chain_load(vol, n);
        if (r < 0)
                goto out;
        old_size = n->size;
        valid = n->valid_size;
        old_ncl = n->nclusters;
        if (end > old_size) {
                r = resize_chain(vol, n, end);
                if (r < 0)
                        goto out;
        }
        if (offset > valid) {
                r = file_io(vol, n, IO_ZERO, valid, offset - valid, NULL, NULL);
                if (r < 0)
                        goto undo;
        }
        r = file_io(vol, n, IO_WRITE, offset, size, NULL, buf);
        if (r < 0)
                goto undo;
        time_now_rounded(&now);
        pthread_mutex_lock(&n->mtx);
        if (end > n->size)
                n->size = end;
        if (end > n->valid_size)
                n->valid_size = end;
        n->mtime = now;
        n->attr |= EXFAT_ATTR_ARCHIVE;
        pthread_mutex_unlock(&n->mtx);
        pthread_rwlock_unlock(&n->io);
        r = commit_after_io(vol, n);
        node_put(vol, n);
        return r < 0 ? r : (ssize_t) size;
undo:
        if (n->nclusters > old_ncl) {
                /* Nothing on disk refers to the new clusters yet: give them back. */
                pthread_mutex_lock(&vol->mlock);
                (void) chain_shrink(vol, n, old_ncl);
                pthread_mutex_unlock(&vol->mlock);
        }
out:
        pthread_rwlock_unlock(&n->io);
        node_put(vol, n);
        return r;
}

/* io lock not held. Truncates up or down. The bytes a truncate adds are written as zeros, not left
 * past ValidDataLength: readers that ignore ValidDataLength (Debian 12's exfat-fuse 1.3, which
 * also writes ValidDataLength = DataLength back whenever it updates an entry) would otherwise show
 * whatever deleted file the clusters held. ValidDataLength follows DataLength up when it was equal
 * (always, for files this library wrote); a file that another system left with unwritten clusters
 * below its DataLength keeps that boundary (zeroing them would cost the whole preallocation). The
 * clusters cut off are held by the node until the caller committed the new size
 * (chain_release_held). */
int file_truncate(struct exfat_volume *vol, struct exfat_node *n, uint64_t size) {
        struct timespec now;
        uint64_t old_size;
        uint32_t old_ncl;
        int r;

        if (size > max_file_size(vol))
                return -EFBIG;
        pthread_rwlock_wrlock(&n->io);
        r = chain_load(vol, n);
        if (r < 0)
                goto out;
        old_size = n->size;
        old_ncl = n->nclusters;
        n->hold_frees = true;
        r = resize_chain(vol, n, size);
        n->hold_frees = false;
        if (r < 0)
                goto out;
        if (size > old_size) {
                r = file_io(vol, n, IO_ZERO, old_size, size - old_size, NULL, NULL);
                if (r < 0) {
                        /* Nothing on disk refers to the new clusters yet: give them back. */
                        pthread_mutex_lock(&vol->mlock);
                        (void) chain_shrink(vol, n, old_ncl);
                        pthread_mutex_unlock(&vol->mlock);
                        goto out;
                }
        }
        time_now_rounded(&now);
        pthread_mutex_lock(&n->mtx);
        if (n->valid_size == old_size || n->valid_size > size)
                n->valid_size = size;
        n->size = size;
        if (size == 0)
                n->first_cluster = 0;
        n->mtime = now;
        pthread_mutex_unlock(&n->mtx);
out:
        pthread_rwlock_unlock(&n->io);
        return r;
}
