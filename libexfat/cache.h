/* SPDX-License-Identifier: MIT */
/* Metadata block cache (cache.c): FAT and directory blocks read and written through a
 * write-back cache under vol->mlock; the order they reach the device in is writeorder.h's. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "list.h"

struct exfat_volume;

/* ---- metadata block cache (cache.c) ---- */
/* BLOCK_DIR_REMOVAL: a directory block written by a removal. Such blocks go to the device before
 * the other directory blocks, so a power cut during a rename loses the name (its clusters leak)
 * rather than leaving two names on the same clusters. */
enum block_kind { BLOCK_FAT, BLOCK_DIR, BLOCK_DIR_REMOVAL };

struct cblock {
        uint64_t off;
        uint32_t size;
        uint8_t kind;
        bool dirty, removal;
        struct cblock *hnext;
        struct list_node lru; /* in bcache.lru */
        uint8_t *data;
};

struct bcache {
        struct cblock **buckets;
        size_t nbuckets;
        struct list_node lru; /* every block, most recently used first */
        size_t bytes, dirty_bytes, limit;
        size_t nblocks;
        size_t removal_blocks; /* dirty blocks flagged as holding a removal */
        int (*make_clean)(struct exfat_volume *vol); /* see cache_init() */
};

/* cache.c (callers hold mlock) */
/* make_clean writes every dirty block back in a safe order (writeorder.c's meta_flush); the cache
 * calls it when more than half of its budget is dirty. */
int cache_init(struct exfat_volume *vol, size_t limit, int (*make_clean)(struct exfat_volume *vol));
void cache_done(struct exfat_volume *vol);
int cache_read(struct exfat_volume *vol, enum block_kind kind, uint64_t off, void *buf, size_t len);
int cache_write(struct exfat_volume *vol, enum block_kind kind, uint64_t off, const void *buf, size_t len);
int cache_zero(struct exfat_volume *vol, enum block_kind kind, uint64_t off, size_t len);
int cache_flush_kind(struct exfat_volume *vol, enum block_kind kind);
void cache_drop_range(struct exfat_volume *vol, uint64_t off, uint64_t len);
