/* SPDX-License-Identifier: MIT */
/* Directories. Each directory in use gets an index built with one scan: a hash table from the
 * up-cased name's key to the entry set's slot, and a bitmap of free slots with a first-free hint.
 * Lookups, inserts and removals are O(1) on average; nothing rescans the directory. All of it runs
 * under vol->lock. */
#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "cache.h"
#include "chain.h"
#include "name.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"

#define NO_REC UINT32_MAX

static inline bool slot_free(const struct dir_index *d, uint32_t s) { return (d->free[s >> 6] >> (s & 63)) & 1; }
static inline void slot_mark(struct dir_index *d, uint32_t s, bool free_) {
        if (free_)
                d->free[s >> 6] |= 1ull << (s & 63);
        else
                d->free[s >> 6] &= ~(1ull << (s & 63));
}

int dir_slot_offset(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, uint64_t *off) {
        uint64_t byte = (uint64_t) slot * ENTRY_SIZE;
        uint32_t pcl, run;

        if ((byte >> vol->cluster_shift) >= dir->nclusters)
                return -EIO;
        if (chain_map(dir, (uint32_t) (byte >> vol->cluster_shift), &pcl, &run) < 0)
                return -EIO;
        *off = cluster_offset(vol, pcl) + (byte & (vol->cluster_size - 1));
        return 0;
}

static int dir_io(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, void *rbuf, const void *wbuf,
                  uint32_t n, enum block_kind kind) {
        uint32_t per_cluster = vol->cluster_size / ENTRY_SIZE;
        int r = 0;

        pthread_mutex_lock(&vol->mlock);
        while (n > 0) {
                uint64_t off;
                uint32_t k = per_cluster - slot % per_cluster;
                if (k > n)
                        k = n;
                r = dir_slot_offset(vol, dir, slot, &off);
                if (r < 0)
                        break;
                if (rbuf) {
                        r = cache_read(vol, BLOCK_DIR, off, rbuf, (size_t) k * ENTRY_SIZE);
                        rbuf = (uint8_t *) rbuf + (size_t) k * ENTRY_SIZE;
                } else {
                        r = cache_write(vol, kind, off, wbuf, (size_t) k * ENTRY_SIZE);
                        wbuf = (const uint8_t *) wbuf + (size_t) k * ENTRY_SIZE;
                }
                if (r < 0)
                        break;
                slot += k;
                n -= k;
        }
        pthread_mutex_unlock(&vol->mlock);
        return r;
}

int dir_read_slots(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, void *buf, uint32_t n) {
        return dir_io(vol, dir, slot, buf, NULL, n, BLOCK_DIR);
}

int dir_write_slots(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, const void *buf, uint32_t n) {
        return dir_io(vol, dir, slot, NULL, buf, n, BLOCK_DIR);
}

int dir_write_removal(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, const void *buf, uint32_t n) {
        return dir_io(vol, dir, slot, NULL, buf, n, BLOCK_DIR_REMOVAL);
}

static uint32_t dir_nslots(const struct exfat_volume *vol, const struct exfat_node *dir) {
        return (uint32_t) (((uint64_t) dir->nclusters << vol->cluster_shift) / ENTRY_SIZE);
}

/* The shape of the set whose file entry is first: a count the set can have, inside the directory. */
static bool set_shape_ok(const struct exfat_volume *vol, const struct exfat_node *dir, uint32_t slot,
                         const struct exfat_entry_generic *first) {
        unsigned count = 1u + first->data[0];
        return first->type == ENTRY_FILE && count >= 3 && count <= ENTRY_SET_MAX && slot + count <= dir_nslots(vol, dir);
}

static int set_damaged(struct exfat_volume *vol, const struct exfat_node *dir, uint32_t slot) {
        vol_err(vol, "directory inode %llu: damaged entry set at slot %u", (unsigned long long) dir->ino, slot);
        return -EIO;
}

int dir_read_set(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, struct entry_set *es) {
        int r = dir_read_slots(vol, dir, slot, &es->e[0], 1);
        if (r < 0)
                return r;
        if (!set_shape_ok(vol, dir, slot, &es->e[0]))
                return set_damaged(vol, dir, slot);
        es->count = 1u + es->e[0].data[0];
        r = dir_read_slots(vol, dir, slot + 1, &es->e[1], es->count - 1);
        if (r < 0)
                return r;
        if (entry_set_parse(vol, es, true) < 0)
                return set_damaged(vol, dir, slot);
        return 0;
}

int dir_cursor_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_cursor *c, uint32_t slot,
                     const struct exfat_entry_generic **e) {
        uint32_t nslots = dir_nslots(vol, dir), end = c->base + c->len;

        if (slot >= nslots)
                return -EIO;
        /* Refilled from slot whenever a set starting there could reach past the window. */
        if (c->len == 0 || slot < c->base || slot >= end || (slot + ENTRY_SET_MAX > end && end < nslots)) {
                uint32_t n = nslots - slot < DIR_CURSOR_SLOTS ? nslots - slot : DIR_CURSOR_SLOTS;
                int r = dir_read_slots(vol, dir, slot, c->w, n);
                if (r < 0) {
                        c->len = 0;
                        return r;
                }
                c->base = slot;
                c->len = n;
        }
        *e = &c->w[slot - c->base];
        return 0;
}

int dir_cursor_set(struct exfat_volume *vol, struct exfat_node *dir, struct dir_cursor *c, uint32_t slot,
                   bool known, struct entry_set *es) {
        const struct exfat_entry_generic *first;
        int r = dir_cursor_entry(vol, dir, c, slot, &first);
        if (r < 0)
                return r;
        /* The window holds every slot up to the directory's end or ENTRY_SET_MAX past slot. */
        if (!set_shape_ok(vol, dir, slot, first))
                return set_damaged(vol, dir, slot);
        es->count = 1u + first->data[0];
        memcpy(es->e, first, (size_t) es->count * ENTRY_SIZE);
        if (entry_set_parse(vol, es, !known) < 0)
                return set_damaged(vol, dir, slot);
        return 0;
}

int dir_write_set(struct exfat_volume *vol, struct exfat_node *dir, uint32_t slot, struct entry_set *es) {
        return dir_write_slots(vol, dir, slot, es->e, es->count);
}

static void index_account(struct exfat_volume *vol, struct dir_index *d) {
        size_t mem = sizeof(*d) + d->caprecs * sizeof(struct dir_rec) + d->nbuckets * sizeof(uint32_t) +
                     div_round_up(d->nslots, 64) * 8;
        mem_account(vol, (ssize_t) mem - (ssize_t) d->mem);
        d->mem = mem;
}

static int index_rehash(struct exfat_volume *vol, struct dir_index *d, uint32_t nb) {
        uint32_t *b = malloc(nb * sizeof(uint32_t));
        if (!b)
                return -ENOMEM;
        memset(b, 0xFF, nb * sizeof(uint32_t));
        for (uint32_t i = 0; i < d->nrecs; i++) {
                struct dir_rec *rec = &d->recs[i];
                if (rec->nslots == 0)
                        continue;
                rec->next = b[rec->hash & (nb - 1)];
                b[rec->hash & (nb - 1)] = i;
        }
        free(d->buckets);
        d->buckets = b;
        d->nbuckets = nb;
        index_account(vol, d);
        return 0;
}

static int index_add(struct exfat_volume *vol, struct dir_index *d, uint32_t hash, uint32_t slot, uint8_t nslots,
                     struct dir_rec **ret) {
        uint32_t i;
        struct dir_rec *rec;

        if (d->free_rec != NO_REC) {
                i = d->free_rec;
                d->free_rec = d->recs[i].next;
        } else {
                if (GREEDY_REALLOC_MIN(d->recs, d->caprecs, d->nrecs + 1, 16) < 0)
                        return -ENOMEM;
                i = d->nrecs++;
        }
        rec = &d->recs[i];
        *rec = (struct dir_rec){ .hash = hash, .slot = slot, .nslots = nslots, .node = NULL };
        rec->next = d->buckets[hash & (d->nbuckets - 1)];
        d->buckets[hash & (d->nbuckets - 1)] = i;
        d->used++;
        if (d->used > d->nbuckets) {
                int r = index_rehash(vol, d, d->nbuckets * 2);
                if (r < 0)
                        return r;
                rec = &d->recs[i];
        } else
                index_account(vol, d);
        *ret = rec;
        return 0;
}

static void index_del(struct dir_index *d, struct dir_rec *rec) {
        uint32_t i = (uint32_t) (rec - d->recs);
        uint32_t *pp = &d->buckets[rec->hash & (d->nbuckets - 1)];

        while (*pp != NO_REC && *pp != i)
                pp = &d->recs[*pp].next;
        if (*pp == i)
                *pp = rec->next;
        rec->nslots = 0;
        rec->node = NULL;
        rec->next = d->free_rec;
        d->free_rec = i;
        d->used--;
}

static int index_grow_slots(struct exfat_volume *vol, struct dir_index *d, uint32_t nslots, bool free_) {
        size_t oldw = div_round_up(d->nslots, 64), neww = div_round_up(nslots, 64);
        if (neww > oldw) {
                uint64_t *f = realloc(d->free, neww * 8);
                if (!f)
                        return -ENOMEM;
                memset(f + oldw, 0, (neww - oldw) * 8);
                d->free = f;
        }
        for (uint32_t s = d->nslots; s < nslots; s++)
                slot_mark(d, s, free_);
        d->nslots = nslots;
        index_account(vol, d);
        return 0;
}

/* Directory indexes sit on their own LRU list (vol->index_lru) so that a directory kept alive by
 * the kernel's lookup reference can still give its index back under memory pressure. */

/* Drops indexes of directories without cached children, least recently used first. */
void dir_index_trim(struct exfat_volume *vol) {
        struct dir_index *d, *prev;

        LIST_FOREACH_BACKWARD_SAFE(d, prev, &vol->index_lru, lru) {
                /* The most recently used index stays: dropping it would make the next call rescan. */
                if (!prev || __atomic_load_n(&vol->mem, __ATOMIC_RELAXED) <= vol->budget)
                        break;
                if (d->owner->nchildren == 0 && d->owner->busy == 0)
                        dir_index_free(vol, d->owner);
        }
}

void dir_index_free(struct exfat_volume *vol, struct exfat_node *dir) {
        struct dir_index *d = dir->dir;
        if (!d)
                return;
        list_remove(&d->lru);
        mem_account(vol, -(ssize_t) d->mem);
        free(d->recs);
        free(d->buckets);
        free(d->free);
        free(d);
        dir->dir = NULL;
}

static int scan(struct exfat_volume *vol, struct exfat_node *dir, struct dir_index *d) {
        struct dir_cursor cur = { 0 };
        uint32_t slot = 0;
        struct entry_set es;
        int r;

        while (slot < d->nslots) {
                const struct exfat_entry_generic *e;
                r = dir_cursor_entry(vol, dir, &cur, slot, &e);
                if (r < 0)
                        return r;
                if (e->type == ENTRY_END) {
                        d->end = slot;
                        for (uint32_t s = slot; s < d->nslots; s++)
                                slot_mark(d, s, true);
                        return 0;
                }
                if (!(e->type & ENTRY_IN_USE)) {
                        slot_mark(d, slot, true);
                        slot++;
                        continue;
                }
                if (e->type == ENTRY_FILE) {
                        struct dir_rec *rec;
                        r = dir_cursor_set(vol, dir, &cur, slot, false, &es);
                        if (r < 0)
                                return r;
                        r = index_add(vol, d, name_key(vol, es.name, es.name_len), slot, (uint8_t) es.count, &rec);
                        if (r < 0)
                                return r;
                        slot += es.count;
                        continue;
                }
                if (!(e->type & ENTRY_SECONDARY) && (e->type & ENTRY_BENIGN) && e->type != ENTRY_LABEL) {
                        /* Benign primary (e.g. the volume GUID): skip it and its secondaries, as far
                         * as they are there. A damaged count must not carry the scan over the end of
                         * the directory or over sets and free slots: readdir would stop at that end,
                         * and a set written in the skipped range would vanish on the next scan. */
                        unsigned count = e->data[0];
                        slot++;
                        while (count-- > 0 && slot < d->nslots) {
                                r = dir_cursor_entry(vol, dir, &cur, slot, &e);
                                if (r < 0)
                                        return r;
                                if ((e->type & (ENTRY_IN_USE | ENTRY_SECONDARY)) != (ENTRY_IN_USE | ENTRY_SECONDARY))
                                        break;
                                slot++;
                        }
                        continue;
                }
                slot++; /* bitmap, up-case, label, unknown entries: in use, left alone */
        }
        d->end = d->nslots;
        return 0;
}

int dir_load(struct exfat_volume *vol, struct exfat_node *dir) {
        struct dir_index *d;
        int r;

        if (dir->dir) {
                list_move_front(&vol->index_lru, &dir->dir->lru);
                return 0;
        }
        r = chain_load(vol, dir);
        if (r < 0)
                return r;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->free_rec = NO_REC;
        d->owner = dir;
        dir->dir = d;
        list_push_front(&vol->index_lru, &d->lru);
        r = index_grow_slots(vol, d, (uint32_t) (((uint64_t) dir->nclusters << vol->cluster_shift) / ENTRY_SIZE), false);
        if (r >= 0)
                r = index_rehash(vol, d, 16);
        if (r >= 0)
                r = scan(vol, dir, d);
        if (r < 0) {
                dir_index_free(vol, dir);
                return r;
        }
        return 0;
}

int dir_find(struct exfat_volume *vol, struct exfat_node *dir, const uint16_t *name, size_t len,
             struct dir_rec **ret, struct entry_set *es) {
        struct dir_index *d;
        uint32_t key;
        int r;

        r = dir_load(vol, dir);
        if (r < 0)
                return r;
        d = dir->dir;
        key = name_key(vol, name, len);
        for (uint32_t i = d->buckets[key & (d->nbuckets - 1)]; i != NO_REC; i = d->recs[i].next) {
                struct dir_rec *rec = &d->recs[i];
                if (rec->hash != key)
                        continue;
                r = dir_read_set(vol, dir, rec->slot, es);
                if (r < 0)
                        return r;
                if (name_equal(vol, es->name, es->name_len, name, len)) {
                        *ret = rec;
                        return 0;
                }
        }
        return -ENOENT;
}

struct dir_rec *dir_rec_by_slot(struct exfat_volume *vol, struct exfat_node *dir, const struct entry_set *es,
                                uint32_t slot, uint32_t *hint) {
        struct dir_index *d = dir->dir;
        uint32_t key;

        /* A scan adds records in slot order and readdir asks in slot order: the record after the
         * last one found is usually the one, which spares hashing the name and a bucket walk. */
        if (hint && *hint < d->nrecs && d->recs[*hint].slot == slot && d->recs[*hint].nslots)
                return &d->recs[(*hint)++];
        if (!es)
                return NULL;
        key = name_key(vol, es->name, es->name_len);
        for (uint32_t i = d->buckets[key & (d->nbuckets - 1)]; i != NO_REC; i = d->recs[i].next)
                if (d->recs[i].slot == slot && d->recs[i].nslots) {
                        if (hint)
                                *hint = i + 1;
                        return &d->recs[i];
                }
        return NULL;
}

/* First free run of n slots from the hint. A set that fits in one cache block is never split over
 * two (a power cut between the two block writes would leave half a set): inside the directory such
 * runs are skipped, at its end the set moves to the next block start (the caller pads the gap). */
static bool find_free(struct dir_index *d, unsigned n, uint32_t per_block, uint32_t *slot) {
        uint32_t i = d->free_hint, first_free = UINT32_MAX;

        /* Compared as i <= nslots - n: i + n could wrap for a hint near UINT32_MAX. */
        if (n > d->nslots)
                return false;
        while (i <= d->nslots - n) {
                uint32_t j;
                if ((i & 63) == 0 && d->free[i >> 6] == 0) {
                        i += 64;
                        continue;
                }
                if (!slot_free(d, i)) {
                        i++;
                        continue;
                }
                if (first_free == UINT32_MAX) {
                        /* The hint only stops at runs a set could use: the smallest set is three
                         * slots within one block. Shorter leftovers would make every search crawl. */
                        uint32_t be = (i / per_block + 1) * per_block, k = i;
                        while (k < be && k < i + 3 && k < d->nslots && slot_free(d, k))
                                k++;
                        if (k - i >= 3 || i >= d->end)
                                first_free = i;
                }
                for (j = i; j < i + n && slot_free(d, j); j++)
                        ;
                if (j < i + n) {
                        i = j + 1;
                        continue;
                }
                if (n <= per_block && i / per_block != (i + n - 1) / per_block) {
                        if (i < d->end) {
                                i++;
                                continue;
                        }
                        i = (i / per_block + 1) * per_block; /* everything past the end is free */
                        if (i > d->nslots - n)
                                break;
                }
                *slot = i;
                /* Nothing usable before i (used slots, or leftovers too short for a set): the next
                 * search starts after this run. */
                d->free_hint = first_free == i || first_free == UINT32_MAX ? i + n : first_free;
                return true;
        }
        if (first_free != UINT32_MAX)
                d->free_hint = first_free;
        return false;
}

/* Deleted-entry padding: slots before a new set at the end must not stay end-of-directory
 * markers, or the set would be invisible. */
static int pad_slots(struct exfat_volume *vol, struct exfat_node *dir, uint32_t from, uint32_t to) {
        struct exfat_entry_generic pad[ENTRY_SET_MAX] = { { 0 } };

        for (uint32_t i = 0; i < ENTRY_SET_MAX; i++)
                pad[i].type = ENTRY_FILE & (uint8_t) ~ENTRY_IN_USE;
        while (from < to) {
                uint32_t k = to - from < ENTRY_SET_MAX ? to - from : ENTRY_SET_MAX;
                int r = dir_write_slots(vol, dir, from, pad, k);
                if (r < 0)
                        return r;
                from += k;
        }
        return 0;
}

/* A set about to be written at [slot, new_end) reaches past the end-of-directory entry. The spec
 * makes every slot after that entry unused, whatever bytes it holds: a used stick, or a hostile
 * image, has old entries there. Once the old end is overwritten they would become part of the
 * directory, so a new end marker goes right after the set first; then the slots between the old
 * end and the set become deleted entries (the set itself included, so that an interrupted write
 * leaves nothing half-made in the listing). */
static int move_end(struct exfat_volume *vol, struct exfat_node *dir, struct dir_index *d,
                    uint32_t slot, uint32_t new_end) {
        int r;

        if (new_end < d->nslots) {
                struct exfat_entry_generic e;
                r = dir_read_slots(vol, dir, new_end, &e, 1);
                if (r < 0)
                        return r;
                if (e.type != ENTRY_END) {
                        memset(&e, 0, sizeof(e));
                        r = dir_write_slots(vol, dir, new_end, &e, 1);
                        if (r < 0)
                                return r;
                }
        }
        if (slot > d->end) {
                r = pad_slots(vol, dir, d->end, new_end);
                if (r < 0)
                        return r;
        }
        d->end = new_end;
        return 0;
}

/* Finds n consecutive free slots, growing the directory by a cluster when needed. */
int dir_alloc_slots(struct exfat_volume *vol, struct exfat_node *dir, unsigned n, uint32_t *slot) {
        uint32_t per_block = (vol->cluster_size < 4096 ? vol->cluster_size : 4096) / ENTRY_SIZE;
        struct dir_index *d;
        int r;

        r = dir_load(vol, dir);
        if (r < 0)
                return r;
        d = dir->dir;
        for (;;) {
                uint32_t newslots;
                if (find_free(d, n, per_block, slot)) {
                        if (*slot + n > d->end) {
                                r = move_end(vol, dir, d, *slot, *slot + n);
                                if (r < 0)
                                        return r;
                        }
                        for (uint32_t s = *slot; s < *slot + n; s++)
                                slot_mark(d, s, false);
                        return 0;
                }
                if (((uint64_t) dir->nclusters + 1) << vol->cluster_shift > EXFAT_DIR_MAX_SIZE)
                        return -ENOSPC;
                pthread_mutex_lock(&vol->mlock);
                r = chain_grow(vol, dir, 1);
                if (r >= 0) {
                        /* Zeroed on the device before anything on disk can point at it. */
                        const struct extent *e = &dir->ext[dir->n_ext - 1];
                        r = dev_zero(vol, cluster_offset(vol, e->pcl + e->len - 1), vol->cluster_size);
                        if (r < 0)
                                (void) chain_shrink(vol, dir, dir->nclusters - 1);
                }
                pthread_mutex_unlock(&vol->mlock);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&dir->mtx);
                dir->size = dir->valid_size = (uint64_t) dir->nclusters << vol->cluster_shift;
                pthread_mutex_unlock(&dir->mtx);
                newslots = (uint32_t) (dir->size / ENTRY_SIZE);
                r = index_grow_slots(vol, d, newslots, true);
                if (r < 0)
                        return r;
                r = node_commit(vol, dir);
                if (r < 0)
                        return r;
        }
}

int dir_insert(struct exfat_volume *vol, struct exfat_node *dir, struct entry_set *es, struct dir_rec **ret) {
        uint32_t slot;
        int r;

        r = dir_alloc_slots(vol, dir, es->count, &slot);
        if (r < 0)
                return r;
        r = dir_write_set(vol, dir, slot, es);
        if (r < 0)
                goto undo;
        r = index_add(vol, dir->dir, name_key(vol, es->name, es->name_len), slot, (uint8_t) es->count, ret);
        if (r < 0)
                goto undo;
        return 0;
undo:
        for (uint32_t s = slot; s < slot + es->count; s++)
                slot_mark(dir->dir, s, true);
        if (slot < dir->dir->free_hint)
                dir->dir->free_hint = slot;
        return r;
}

/* Marks the entry set deleted (in-use bit cleared) and forgets it. */
int dir_remove(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec) {
        struct exfat_entry_generic e[ENTRY_SET_MAX];
        struct dir_index *d = dir->dir;
        uint32_t slot = rec->slot, n = rec->nslots;
        int r;

        r = dir_read_slots(vol, dir, slot, e, n);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < n; i++)
                e[i].type &= (uint8_t) ~ENTRY_IN_USE;
        r = dir_write_removal(vol, dir, slot, e, n);
        if (r < 0)
                return r;
        index_del(d, rec);
        for (uint32_t s = slot; s < slot + n; s++)
                slot_mark(d, s, true);
        if (slot < d->free_hint)
                d->free_hint = slot;
        return 0;
}
