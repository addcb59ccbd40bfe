/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Read-ahead of a FUSE mount. The kernel proposes its block-device default (128 KiB) in FUSE INIT
 * and keeps the smaller of that and the server's answer, whatever the server asks for; at 128 KiB
 * a cold sequential read runs at a fraction of the device's speed, because the worker never has
 * more than one small READ to work on. Only root can raise it, through the mount's backing-device
 * entry in sysfs, and only after the kernel has processed INIT's reply (INIT would clamp it again).
 */

#include <sys/types.h>

/* What exfat-mountd and the standalone worker set: large enough that several 1 MiB READs are in
 * flight at once, small enough to waste little on a short read. */
#define FUSE_READAHEAD_KIB 4096u

/* Sets the read-ahead of the FUSE mount whose superblock is dev (st_dev of the mount's root), in
 * KiB. Returns 0 or -errno (-ENOENT: no such FUSE mount). */
int fuse_readahead_set(dev_t dev, unsigned kib);

/* Reads it back; returns KiB or -errno. */
int fuse_readahead_get(dev_t dev);
