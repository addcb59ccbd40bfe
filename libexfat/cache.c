/* SPDX-License-Identifier: MIT */
/* Write-back cache of metadata blocks: FAT blocks (4 KiB, aligned to the FAT start) and directory
 * blocks (min(cluster, 4 KiB), aligned to the cluster heap). File data never passes through it.
 * The order in which dirty blocks reach the device is not this file's business: writeorder.c
 * decides it (meta_flush), and the cache asks for it through the make_clean hook when too much of
 * it is dirty, so that cache.c calls neither the bitmap nor the FAT. */
#include "vol.h"
#include "device.h"
#include "cache.h"

#define FAT_BLOCK 4096u
#define WRITE_COALESCE (1u << 20)

static uint32_t dir_block_size(const struct exfat_volume *vol) {
        return vol->cluster_size < 4096 ? vol->cluster_size : 4096;
}

static void block_range(const struct exfat_volume *vol, enum block_kind kind, uint64_t off, uint64_t *start,
                        uint32_t *size) {
        if (kind == BLOCK_FAT) {
                uint64_t rel = (off - vol->fat_offset) & ~(uint64_t) (FAT_BLOCK - 1);
                uint64_t left = vol->fat_bytes - rel;
                *start = vol->fat_offset + rel;
                *size = left < FAT_BLOCK ? (uint32_t) left : FAT_BLOCK;
        } else {
                uint32_t bs = dir_block_size(vol);
                *start = vol->heap_offset + ((off - vol->heap_offset) & ~(uint64_t) (bs - 1));
                *size = bs;
        }
}

static size_t hash_off(const struct bcache *c, uint64_t off) {
        uint64_t h = (off >> 9) * 0x9E3779B97F4A7C15ull;
        return (size_t) (h >> 32) & (c->nbuckets - 1);
}

int cache_init(struct exfat_volume *vol, size_t limit, int (*make_clean)(struct exfat_volume *vol)) {
        struct bcache *c = &vol->cache;
        size_t n = 1024;

        while (n < limit / 4096 * 2 && n < (1u << 20))
                n <<= 1;
        c->buckets = calloc(n, sizeof(*c->buckets));
        if (!c->buckets)
                return -ENOMEM;
        c->nbuckets = n;
        c->limit = limit;
        c->make_clean = make_clean;
        return 0;
}

static void block_free(struct bcache *c, struct cblock *b) {
        struct cblock **pp = &c->buckets[hash_off(c, b->off)];
        while (*pp && *pp != b)
                pp = &(*pp)->hnext;
        if (*pp)
                *pp = b->hnext;
        list_remove(&b->lru);
        c->bytes -= b->size;
        if (b->dirty)
                c->dirty_bytes -= b->size;
        if (b->removal)
                c->removal_blocks--;
        c->nblocks--;
        free(b->data);
        free(b);
}

void cache_done(struct exfat_volume *vol) {
        struct bcache *c = &vol->cache;
        struct cblock *b;

        while ((b = list_first(&c->lru, struct cblock, lru)))
                block_free(c, b);
        free(c->buckets);
        c->buckets = NULL;
}

static struct cblock *lookup(struct bcache *c, uint64_t off) {
        for (struct cblock *b = c->buckets[hash_off(c, off)]; b; b = b->hnext)
                if (b->off == off)
                        return b;
        return NULL;
}

static int cmp_block(const void *a, const void *b) {
        const struct cblock *x = *(struct cblock *const *) a, *y = *(struct cblock *const *) b;
        return x->off < y->off ? -1 : x->off > y->off;
}

/* Writes the dirty blocks of one kind in offset order, merging adjacent blocks into large writes. */
int cache_flush_kind(struct exfat_volume *vol, enum block_kind kind) {
        struct bcache *c = &vol->cache;
        _cleanup_free_ struct cblock **list = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0;
        int r = 0;

        if (c->dirty_bytes == 0)
                return 0;
        list = malloc(c->nblocks * sizeof(*list));
        buf = malloc(WRITE_COALESCE);
        if (!list || !buf)
                return -ENOMEM;
        struct cblock *b;

        LIST_FOREACH(b, &c->lru, lru)
                if (b->dirty && (kind == BLOCK_DIR_REMOVAL ? b->removal : b->kind == kind))
                        list[n++] = b;
        qsort(list, n, sizeof(*list), cmp_block);
        for (size_t i = 0; i < n;) {
                size_t j = i, len = 0;
                while (j < n && len + list[j]->size <= WRITE_COALESCE &&
                       (j == i || list[j]->off == list[i]->off + len)) {
                        memcpy(buf + len, list[j]->data, list[j]->size);
                        len += list[j]->size;
                        j++;
                }
                r = dev_write(vol, buf, len, list[i]->off);
                if (r < 0)
                        return r;
                for (size_t k = i; k < j; k++) {
                        if (list[k]->removal)
                                c->removal_blocks--;
                        list[k]->dirty = list[k]->removal = false;
                        c->dirty_bytes -= list[k]->size;
                }
                i = j;
        }
        return 0;
}

/* Makes room: drops clean blocks from the LRU tail; when only dirty ones are left, writes all
 * metadata back in order first. */
static int make_room(struct exfat_volume *vol) {
        struct bcache *c = &vol->cache;
        struct cblock *b, *prev;

        if (c->dirty_bytes > c->limit / 2) {
                int r = c->make_clean(vol);
                if (r < 0)
                        return r;
        }
        LIST_FOREACH_BACKWARD_SAFE(b, prev, &c->lru, lru) {
                if (c->bytes <= c->limit)
                        break;
                if (!b->dirty)
                        block_free(c, b);
        }
        return 0;
}

static int get_block(struct exfat_volume *vol, enum block_kind kind, uint64_t off, bool fill, struct cblock **ret) {
        struct bcache *c = &vol->cache;
        struct cblock *b;
        uint64_t start;
        uint32_t size;
        int r;

        block_range(vol, kind, off, &start, &size);
        b = lookup(c, start);
        if (b) {
                list_move_front(&c->lru, &b->lru);
                *ret = b;
                return 0;
        }
        if (c->bytes + size > c->limit) {
                r = make_room(vol);
                if (r < 0)
                        return r;
        }
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->data = malloc(size);
        if (!b->data) {
                free(b);
                return -ENOMEM;
        }
        if (fill) {
                r = dev_read(vol, b->data, size, start);
                if (r < 0) {
                        free(b->data);
                        free(b);
                        return r;
                }
        } else
                memset(b->data, 0, size);
        b->off = start;
        b->size = size;
        b->kind = (uint8_t) (kind == BLOCK_FAT ? BLOCK_FAT : BLOCK_DIR);
        b->hnext = c->buckets[hash_off(c, start)];
        c->buckets[hash_off(c, start)] = b;
        list_push_front(&c->lru, &b->lru);
        c->bytes += size;
        c->nblocks++;
        *ret = b;
        return 0;
}

static int access_range(struct exfat_volume *vol, enum block_kind kind, uint64_t off, void *rbuf,
                        const void *wbuf, size_t len) {
        while (len > 0) {
                struct cblock *b;
                uint64_t start;
                uint32_t size;
                size_t in, n;
                int r;

                block_range(vol, kind, off, &start, &size);
                in = (size_t) (off - start);
                n = size - in < len ? size - in : len;
                /* A whole-block overwrite needs no read. */
                r = get_block(vol, kind, off, !(wbuf && in == 0 && n == size), &b);
                if (r < 0)
                        return r;
                if (rbuf) {
                        memcpy(rbuf, b->data + in, n);
                        rbuf = (uint8_t *) rbuf + n;
                } else {
                        if (wbuf)
                                memcpy(b->data + in, wbuf, n);
                        else
                                memset(b->data + in, 0, n);
                        if (!b->dirty) {
                                b->dirty = true;
                                vol->cache.dirty_bytes += b->size;
                        }
                        if (kind == BLOCK_DIR_REMOVAL && !b->removal) {
                                b->removal = true;
                                vol->cache.removal_blocks++;
                        }
                        if (wbuf)
                                wbuf = (const uint8_t *) wbuf + n;
                }
                off += n;
                len -= n;
        }
        return 0;
}

int cache_read(struct exfat_volume *vol, enum block_kind kind, uint64_t off, void *buf, size_t len) {
        return access_range(vol, kind, off, buf, NULL, len);
}

int cache_write(struct exfat_volume *vol, enum block_kind kind, uint64_t off, const void *buf, size_t len) {
        if (vol->read_only)
                return -EROFS;
        return access_range(vol, kind, off, NULL, buf, len);
}

int cache_zero(struct exfat_volume *vol, enum block_kind kind, uint64_t off, size_t len) {
        static const uint8_t zero[4096];
        if (vol->read_only)
                return -EROFS;
        while (len > 0) {
                size_t n = len < sizeof(zero) ? len : sizeof(zero);
                int r = access_range(vol, kind, off, NULL, zero, n);
                if (r < 0)
                        return r;
                off += n;
                len -= n;
        }
        return 0;
}

/* Forgets cached directory blocks of freed clusters, so a stale dirty block can never be written
 * over data that later reuses them. */
void cache_drop_range(struct exfat_volume *vol, uint64_t off, uint64_t len) {
        struct bcache *c = &vol->cache;
        uint32_t bs = dir_block_size(vol);

        if (len / bs > c->nblocks) {
                struct cblock *b, *next;
                LIST_FOREACH_SAFE(b, next, &c->lru, lru)
                        if (b->kind == BLOCK_DIR && b->off >= off && b->off < off + len)
                                block_free(c, b);
                return;
        }
        for (uint64_t o = off; o < off + len; o += bs) {
                struct cblock *b = lookup(c, o);
                if (b && b->kind == BLOCK_DIR)
                        block_free(c, b);
        }
}
