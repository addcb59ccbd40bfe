/* SPDX-License-Identifier: MIT */
/* Device helpers (device.c): bounds-checked read/write/flush/zero of metadata and file data,
 * drain and idle; cluster_offset()/cluster_valid() for heap addressing. */
#pragma once

#include <stddef.h>

#include "vol.h"

/* device.c */
int dev_read(struct exfat_volume *vol, void *buf, size_t len, uint64_t off);
int dev_write(struct exfat_volume *vol, const void *buf, size_t len, uint64_t off);
int dev_flush(struct exfat_volume *vol);
/* Waits until file data written so far is on the device (see exfat_dev_ops.drain). */
void dev_drain(struct exfat_volume *vol);
/* The volume is idle: lets the backend give back memory (see exfat_dev_ops.idle). */
void dev_idle(struct exfat_volume *vol);
int dev_zero(struct exfat_volume *vol, uint64_t off, uint64_t len);
/* File contents (may bypass the page cache, see exfat_dev_ops.write_data). */
int dev_write_data(struct exfat_volume *vol, const void *buf, size_t len, uint64_t off);
int dev_zero_data(struct exfat_volume *vol, uint64_t off, uint64_t len);

static inline uint64_t cluster_offset(const struct exfat_volume *vol, uint32_t c) {
        return vol->heap_offset + ((uint64_t) (c - FAT_FIRST_CLUSTER) << vol->cluster_shift);
}
static inline bool cluster_valid(const struct exfat_volume *vol, uint32_t c) {
        return c >= FAT_FIRST_CLUSTER && c - FAT_FIRST_CLUSTER < vol->cluster_count;
}
