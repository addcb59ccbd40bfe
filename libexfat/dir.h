/* SPDX-License-Identifier: MIT */
/* Directories (dir.c, under vol->lock): the per-directory index (struct dir_index, dir_rec), slot
 * reads/writes through the cache, lookup, slot allocation, insert/remove, the slot cursor. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "list.h"
#include "entryset.h"

struct exfat_volume;
struct exfat_node;

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
