/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * File data for READ replies, read from the device with O_DIRECT into buffers the worker reuses.
 *
 * The FUSE mount's page cache already keeps what a reader reads. Splicing the reply out of the
 * device's page cache kept a second copy of every file read there (a 1 GiB file: 1 GiB of device
 * cache), and on a machine that must allocate (and here, fault in from the host) each of those
 * pages, that cost more than the copy it saved. An O_DIRECT read into a warm buffer allocates
 * nothing; the bytes are copied once, into the reply.
 *
 * O_DIRECT wants device offsets and lengths in whole logical blocks: an extent that starts or ends
 * inside one is read whole blocks around it, and the reply points into the middle (struct iovec).
 * Data still in the device's page cache (written there by the library) is written out by the
 * kernel before an O_DIRECT read of it, so the two paths never disagree.
 *
 * Buffers: a READ takes one (at most FUSE_MAX_READ plus the rounding) and gives it back after the
 * reply. Up to DIRECT_READER_KEEP wait for the next READ: the kernel's read-ahead keeps about
 * five READs in flight per sequential reader. direct_reader_trim() gives the idle ones back to the
 * system (the worker calls it when a file is released), so an idle worker holds none.
 */

#include <pthread.h>
#include <stddef.h>
#include <sys/uio.h>

#include "exfat.h"

#define DIRECT_READER_KEEP 8

struct direct_buffer {
        void *data;     /* page-aligned, from mmap */
        size_t size;
};

struct direct_reader {
        int fd;         /* the device, opened with O_DIRECT; not owned */
        size_t align;   /* logical block size: device offsets and lengths are multiples of it */
        pthread_mutex_t lock;
        struct direct_buffer idle[DIRECT_READER_KEEP];
        size_t n_idle;
};

/* One READ's data: iov[0..iov_count) in file order, pointing into buffer. */
struct direct_read {
        struct iovec *iov;
        size_t iov_count;
        struct direct_buffer buffer;
};

/* fd: the device (or image file) opened with O_DIRECT. Learns its logical block size (4096 for a
 * regular file). Returns 0 or -errno. */
int direct_reader_init(struct direct_reader *r, int fd);

/* Reads the count extents of exfat_read_extents() (EXFAT_EXTENT_ZERO ones become zeros) into a
 * buffer. On success the caller replies with out->iov and then calls direct_read_release(). Returns
 * 0, -EINVAL when the device refuses the O_DIRECT read as such (the caller should read another
 * way), -EIO when the device fails or ends early, -ENOMEM. */
int direct_reader_read(struct direct_reader *r, const struct exfat_extent *ext, size_t count,
                       struct direct_read *out);

/* Gives out's buffer back for the next READ (or to the system, when enough wait already). */
void direct_read_release(struct direct_reader *r, struct direct_read *out);

/* Gives the idle buffers back to the system; buffers in use return later as usual. */
void direct_reader_trim(struct direct_reader *r);

/* Trims and frees what init set up (no READ may be running). Does not close fd. */
void direct_reader_done(struct direct_reader *r);
