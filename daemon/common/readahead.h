/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Reading a FUSE mount fast: the largest READ, and the mount's read-ahead.
 *
 * READs are capped below 1 MiB with the max_read mount option: libfuse splices a READ reply from
 * the device's page cache into /dev/fuse only when the header, the data and a page per buffer fit
 * in one pipe of pipe-max-size (1 MiB by default). At 1 MiB every READ fell back to a fresh 1 MiB
 * buffer, a pread and a copy: about three times the worker's CPU per GiB read (measured 1.03 s vs
 * 0.35 s). 960 KiB leaves room for a read spanning 13 extents. WRITEs stay at 1 MiB.
 *
 * Read-ahead. The kernel proposes its block-device default (128 KiB) in FUSE INIT and keeps the
 * smaller of that and the server's answer, whatever the server asks for; at 128 KiB the worker
 * never has more than one small READ of a sequential reader to work on. Only root can raise it,
 * through the mount's backing-device entry in sysfs, and only after the kernel has processed
 * INIT's reply (INIT would clamp it again): callers wait for a first answered statfs.
 */

#include <stdbool.h>
#include <sys/types.h>

#define FUSE_MAX_READ (960u * 1024)

/* What exfat-mountd and the standalone worker set: large enough that several READs are in flight
 * at once, small enough to waste little on a short read. */
#define FUSE_READAHEAD_KIB 4096u

/* statfs's f_type of fuse and fuseblk mounts alike. */
#define FUSE_SUPER_MAGIC 0x65735546

/* Waits until the FUSE mount at mountpoint has answered a first statfs: the kernel has then
 * processed INIT's reply. statfs and stat go through one fd, so that *ret_dev is the mount's even
 * if it goes away meanwhile. Returns 0, -ENOTCONN when mountpoint is no FUSE mount (any more), or
 * -errno (the mount's connection aborted: -ENOTCONN too). */
int fuse_mount_await(const char *mountpoint, dev_t *ret_dev);

/* Sets the read-ahead of the FUSE mount whose superblock is dev (st_dev of the mount's root; for a
 * fuseblk mount the block device's number), in KiB. fuseblk says which kind of mount it is: the
 * entry of a fuseblk mount is MAJ:MIN-fuseblk, and MAJ:MIN without the suffix is then the block
 * device's own, which is never touched. Returns 0 or -errno (-ENOENT: no such mount). */
int fuse_readahead_set(dev_t dev, bool fuseblk, unsigned kib);
