/* SPDX-License-Identifier: MIT */
/* struct exfat_volume, the lock order, and volume.c's helpers: monotonic clock, write-back and
 * sync under vol->lock, the after-change hook. */
#pragma once

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "exfat.h"
#include "list.h"
#include "ondisk.h"

#include "bitmap.h"
#include "cache.h"
#include "chain.h"

struct exfat_node;

/* Locking (see volume.c for the full description):
 *   vol->lock   mutex: namespace, node table, directory indexes, directory contents.
 *   node->io    rwlock: a file's data and cluster map (readers share, writers/truncate exclusive).
 *   node->mtx   mutex: a node's attribute fields; a leaf lock.
 *   vol->mlock  mutex: allocator (bitmap, FAT), metadata block cache, boot sector writes.
 * Order: vol->lock -> node->io -> vol->mlock; node->mtx is taken last and nothing is taken
 * while holding it. */

#define DEFAULT_CACHE_BUDGET (64u * 1024 * 1024)

static inline uint64_t div_round_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

struct exfat_volume {
        const struct exfat_device *dev;
        struct exfat_options opts;
        bool read_only, was_dirty, media_failure, two_fats;
        /* Device flushes that failed in this mount (atomic). A write-behind failure is met by
         * whichever flush comes next, perhaps the idle write-back's or another file's fsync: each
         * node reports a new one once, at its next fsync, and unmount leaves the volume dirty. */
        uint32_t flush_failures;

        /* geometry */
        unsigned sector_shift, cluster_shift;
        uint32_t sector_size, cluster_size;
        uint64_t fat_offset, fat_bytes; /* bytes */
        uint64_t heap_offset;           /* bytes */
        uint32_t cluster_count, root_cluster, serial;
        uint16_t fs_revision, volume_flags;
        uint64_t volume_length;         /* bytes */
        uint8_t percent_in_use;
        uint8_t *boot0;                 /* sector 0 as on the device, sector_size bytes */
        uint8_t *boot_backup;           /* backup region to restore over a damaged main one */

        uint32_t hash_seed; /* directory index keys (name.c) */

        /* up-case table */
        uint16_t *upcase; /* 65536 entries */

        /* allocation bitmap (under mlock) */
        uint64_t *bm;
        uint32_t bm_words;
        uint64_t *bm_dirty;  /* one bit per 4 KiB chunk of the on-disk bitmap */
        uint32_t bm_chunks;
        struct extent *bm_ext;
        uint32_t bm_next, bm_ext_cap;
        uint32_t bm_first_cluster;
        uint64_t bm_bytes;
        uint32_t free_clusters;
        uint32_t alloc_hint;
        struct pending_free *pending;
        size_t npending, cappending;
        uint32_t pending_clusters;

        /* label, guid */
        uint16_t label[EXFAT_LABEL_MAX];
        unsigned label_len;
        int64_t label_slot; /* -1: none */
        bool has_guid;
        uint8_t guid[16];
        bool unknown_critical;

        pthread_mutex_t lock;
        pthread_mutex_t mlock;
        struct bcache cache;

        /* node table */
        struct exfat_node **nodes;
        size_t nnode_buckets, nnodes;
        uint64_t next_ino;
        struct exfat_node *root;
        struct list_node node_lru;  /* evictable nodes, most recently used first */
        struct list_node index_lru; /* directory indexes, most recently used first */
        size_t mem, budget;

        uint64_t last_writeback; /* CLOCK_MONOTONIC ns, under vol->lock */
        uint64_t last_change;    /* CLOCK_MONOTONIC ns of the last unwritten change, 0: none (atomic) */

        /* background write-back (writeback.c) */
        pthread_t wb_thread;
        pthread_mutex_t wb_lock;
        pthread_cond_t wb_cond;
        bool wb_running, wb_stop;
};

/* volume.c */
uint64_t monotonic_now_ns(void);
int vol_writeback_locked(struct exfat_volume *vol);
int vol_sync_locked(struct exfat_volume *vol);
int vol_after_change(struct exfat_volume *vol);
