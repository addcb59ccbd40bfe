/* SPDX-License-Identifier: MIT */
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

/* Locking (see volume.c for the full description):
 *   vol->lock   mutex: namespace, node table, directory indexes, directory contents.
 *   node->io    rwlock: a file's data and cluster map (readers share, writers/truncate exclusive).
 *   node->mtx   mutex: a node's attribute fields; a leaf lock.
 *   vol->mlock  mutex: allocator (bitmap, FAT), metadata block cache, boot sector writes.
 * Order: vol->lock -> node->io -> vol->mlock; node->mtx is taken last and nothing is taken
 * while holding it. */

#define DEFAULT_CACHE_BUDGET (64u * 1024 * 1024)

static inline uint64_t div_round_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

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
};

struct pending_free {
        uint32_t start, len;
};

/* ---- in-memory cluster map of a chain ---- */
struct extent {
        uint32_t fcl; /* first file cluster index of the run */
        uint32_t pcl; /* first device cluster */
        uint32_t len;
};

struct dir_rec {
        uint32_t hash;
        uint32_t slot;
        uint32_t next; /* bucket chain; UINT32_MAX ends it */
        uint8_t nslots;
        struct exfat_node *node;
};

/* Per-directory index: name hash -> entry set position, plus a free-slot bitmap. */
struct dir_index {
        struct dir_rec *recs;
        uint32_t nrecs, caprecs, free_rec, used;
        uint32_t *buckets;
        uint32_t nbuckets;
        uint64_t *free; /* 1 bit per slot: 1 = free */
        uint32_t nslots;
        uint32_t end;   /* slots >= end are all ENTRY_END */
        uint32_t free_hint;
        size_t mem;
        struct exfat_node *owner;
        struct list_node lru; /* in exfat_volume.index_lru */
};

struct exfat_node {
        uint64_t ino;
        struct exfat_node *hnext;
        struct list_node lru; /* in exfat_volume.node_lru while evictable */
        struct exfat_node *parent; /* holds parent->nchildren */
        uint32_t slot;             /* entry set position in parent */
        uint32_t rec;              /* index of its record in the parent's dir_index */
        uint8_t nslots;
        bool is_dir, unlinked, is_root;
        uint64_t nlookup;
        uint32_t nopen, busy, nchildren;
        uint32_t flush_failures_seen; /* vol->flush_failures when this node last reported them */

        pthread_rwlock_t io;
        pthread_mutex_t mtx;
        /* fields, under mtx (and under io for writers of size/clusters) */
        uint16_t attr;
        uint32_t first_cluster;
        bool contiguous;
        uint64_t size, valid_size;
        struct timespec atime, mtime, crtime;

        /* cluster map, under io (files) or vol->lock (directories) */
        struct extent *ext;
        uint32_t n_ext, cap_ext, nclusters;
        bool ext_valid;

        struct dir_index *dir; /* directories, under vol->lock */

        /* Clusters cut off by a truncation whose new size is not in the entry yet: they join the
         * volume's deferred frees only after node_commit() (under mlock). */
        bool hold_frees;
        struct pending_free *held;
        uint32_t nheld, capheld;
};

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

/* log.c */
void vlog_(struct exfat_volume *vol, enum exfat_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define vol_err(vol, ...) vlog_(vol, EXFAT_LOG_ERR, __VA_ARGS__)
#define vol_warn(vol, ...) vlog_(vol, EXFAT_LOG_WARNING, __VA_ARGS__)
#define vol_info(vol, ...) vlog_(vol, EXFAT_LOG_INFO, __VA_ARGS__)

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

/* boot.c */
int boot_load(struct exfat_volume *vol);
int boot_restore(struct exfat_volume *vol);
int boot_write_flags(struct exfat_volume *vol, uint16_t flags, uint8_t percent);
uint32_t boot_checksum(const uint8_t *region, uint32_t sector_size);

/* cache.c (callers hold mlock) */
int cache_init(struct exfat_volume *vol, size_t limit);
void cache_done(struct exfat_volume *vol);
int cache_read(struct exfat_volume *vol, enum block_kind kind, uint64_t off, void *buf, size_t len);
int cache_write(struct exfat_volume *vol, enum block_kind kind, uint64_t off, const void *buf, size_t len);
int cache_zero(struct exfat_volume *vol, enum block_kind kind, uint64_t off, size_t len);
int cache_flush_kind(struct exfat_volume *vol, enum block_kind kind);
void cache_drop_range(struct exfat_volume *vol, uint64_t off, uint64_t len);
int meta_flush(struct exfat_volume *vol); /* FAT, bitmap, directories, pending frees */

/* fat.c (mlock) */
int fat_get(struct exfat_volume *vol, uint32_t c, uint32_t *next);
int fat_set(struct exfat_volume *vol, uint32_t c, uint32_t next);

/* bitmap.c (mlock) */
int bitmap_load(struct exfat_volume *vol, uint32_t first_cluster, uint64_t length);
void bitmap_done(struct exfat_volume *vol);
bool bitmap_test(const struct exfat_volume *vol, uint32_t c);
void bitmap_set_range(struct exfat_volume *vol, uint32_t c, uint32_t len, bool used);
uint32_t bitmap_free_run_at(struct exfat_volume *vol, uint32_t c, uint32_t max);
bool bitmap_find_run(struct exfat_volume *vol, uint32_t want, uint32_t *start, uint32_t *len);
int bitmap_flush(struct exfat_volume *vol);
int bitmap_defer_free(struct exfat_volume *vol, uint32_t c, uint32_t len);
void bitmap_apply_pending(struct exfat_volume *vol);

/* chain.c */
int chain_load(struct exfat_volume *vol, struct exfat_node *n);
int chain_map(const struct exfat_node *n, uint32_t fcl, uint32_t *pcl, uint32_t *run);
int chain_grow(struct exfat_volume *vol, struct exfat_node *n, uint32_t add); /* mlock */
int chain_shrink(struct exfat_volume *vol, struct exfat_node *n, uint32_t keep); /* mlock */
int chain_walk_free(struct exfat_volume *vol, uint32_t first, uint64_t size, bool contiguous); /* mlock */
void chain_release_held(struct exfat_volume *vol, struct exfat_node *n); /* takes mlock */

/* upcase.c */
int upcase_load(struct exfat_volume *vol, uint32_t first_cluster, uint64_t length, uint32_t checksum);
static inline uint16_t upcase(const struct exfat_volume *vol, uint16_t c) { return vol->upcase[c]; }

/* name.c */
int utf8_to_utf16(const char *in, uint16_t *out, size_t max, size_t *len);
int utf16_to_utf8(const uint16_t *in, size_t len, char *out, size_t size);
int name_validate(const uint16_t *name, size_t len);
/* What any stored name must be, whoever wrote it: one that a POSIX path can name (no U+0000, no
 * '/', not "." or ".."), 1..255 units. Weaker than name_validate: other systems write names with
 * characters exFAT forbids for new names (':', '?', controls), and those must still be found. */
int name_validate_stored(const uint16_t *name, size_t len);
uint16_t name_hash(const struct exfat_volume *vol, const uint16_t *name, size_t len);
uint32_t name_key(const struct exfat_volume *vol, const uint16_t *name, size_t len);
bool name_equal(const struct exfat_volume *vol, const uint16_t *a, size_t alen, const uint16_t *b, size_t blen);

/* time.c */
void time_decode(uint32_t ts, uint8_t cs10, uint8_t utc, struct timespec *out);
void time_encode(const struct timespec *in, uint32_t *ts, uint8_t *cs10, uint8_t *utc);
void time_now(struct timespec *ts);
void time_round(struct timespec *ts, bool access);
void time_now_rounded(struct timespec *ts);

/* entryset.c */
struct entry_set {
        struct exfat_entry_generic e[ENTRY_SET_MAX];
        unsigned count;
        uint16_t name[EXFAT_NAME_MAX];
        unsigned name_len;
};
uint16_t entry_set_checksum(const struct exfat_entry_generic *e, unsigned count);
/* Checks a set's shape and fields and extracts its name; -EIO when damaged. verify_sums: also
 * SetChecksum and NameHash; false only for a set this mount has verified already (one that has a
 * directory record: scanned or written here), where the two cost most of a listing's CPU. */
int entry_set_parse(struct exfat_volume *vol, struct entry_set *es, bool verify_sums);
void entry_set_seal(struct entry_set *es);
int entry_set_build(struct exfat_volume *vol, struct entry_set *es, const uint16_t *name, size_t len,
                    const struct entry_set *from);

/* dir.c (vol->lock) */
int dir_slot_offset(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, uint64_t *off);
int dir_read_slots(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, void *buf, uint32_t n);
int dir_write_slots(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, const void *buf, uint32_t n);
int dir_write_removal(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, const void *buf, uint32_t n);
int dir_load(struct exfat_volume *vol, struct exfat_node *dir);
void dir_index_free(struct exfat_volume *vol, struct exfat_node *dir);
void dir_index_trim(struct exfat_volume *vol);
int dir_find(struct exfat_volume *vol, struct exfat_node *dir, const uint16_t *name, size_t len,
             struct dir_rec **rec, struct entry_set *es);
/* The record of the set at slot; hint (may be NULL) carries the position from one call to the next.
 * es NULL: only the record the hint points to is tried (no name to hash yet). */
struct dir_rec *dir_rec_by_slot(struct exfat_volume *vol, struct exfat_node *dir, const struct entry_set *es,
                                uint32_t slot, uint32_t *hint);
int dir_alloc_slots(struct exfat_volume *vol, struct exfat_node *dir, unsigned n, uint32_t *slot);
int dir_insert(struct exfat_volume *vol, struct exfat_node *dir, struct entry_set *es, struct dir_rec **rec);
int dir_remove(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec);
int dir_read_set(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, struct entry_set *es);
/* Walks a directory's slots in order with one cache access per window instead of a few per entry.
 * A window is a copy: use a cursor only while vol->lock is held, and drop it after writing. */
#define DIR_CURSOR_SLOTS 128
struct dir_cursor {
        uint32_t base, len;
        struct exfat_entry_generic w[DIR_CURSOR_SLOTS];
};
int dir_cursor_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_cursor *c, uint32_t slot,
                     const struct exfat_entry_generic **e);
/* dir_read_set through the cursor; known: the set has a record (entry_set_parse's verify_sums). */
int dir_cursor_set(struct exfat_volume *vol, struct exfat_node *dir, struct dir_cursor *c, uint32_t slot,
                   bool known, struct entry_set *es);
int dir_write_set(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, struct entry_set *es);

/* node.c */
int node_table_init(struct exfat_volume *vol);
void node_table_done(struct exfat_volume *vol);
struct exfat_node *node_new(struct exfat_volume *vol);
void node_free(struct exfat_volume *vol, struct exfat_node *n);
struct exfat_node *node_find(struct exfat_volume *vol, uint64_t ino);
int node_from_set(struct exfat_volume *vol, struct exfat_node *parent, struct dir_rec *rec,
                  const struct entry_set *es, struct exfat_node **ret);
void node_lru_update(struct exfat_volume *vol, struct exfat_node *n);
void node_trim(struct exfat_volume *vol);
void node_stat(struct exfat_volume *vol, struct exfat_node *n, struct exfat_stat *st);
int node_commit(struct exfat_volume *vol, struct exfat_node *n);
void node_detach(struct exfat_volume *vol, struct exfat_node *n);
int node_release_clusters(struct exfat_volume *vol, struct exfat_node *n);
void node_maybe_destroy(struct exfat_volume *vol, struct exfat_node *n);
void mem_account(struct exfat_volume *vol, ssize_t delta);
int node_get(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret); /* takes busy */
void node_put(struct exfat_volume *vol, struct exfat_node *n);

/* file.c */
int file_truncate(struct exfat_volume *vol, struct exfat_node *n, uint64_t size);

/* namei.c (vol->lock) */
struct name_buf {
        uint16_t u[EXFAT_NAME_MAX];
        size_t len;
};
#define SETTABLE_ATTRS (EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM | EXFAT_ATTR_ARCHIVE)
int parse_name(const char *name, struct name_buf *nb);
/* A name looked up, not made: it is checked with name_validate_stored (a name readdir lists must
 * be found); one that cannot be stored is -ENOENT. */
int parse_existing_name(const char *name, struct name_buf *nb);
int get_dir(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret);
void touch_dir(struct exfat_volume *vol, struct exfat_node *dir);
int remove_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec, const struct entry_set *es);
int check_empty_dir(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec, const struct entry_set *es);

/* writeback.c */
int writeback_start(struct exfat_volume *vol);
void writeback_stop(struct exfat_volume *vol);

/* volume.c */
uint64_t monotonic_now_ns(void);
int vol_writeback_locked(struct exfat_volume *vol);
int vol_sync_locked(struct exfat_volume *vol);
int vol_after_change(struct exfat_volume *vol);
