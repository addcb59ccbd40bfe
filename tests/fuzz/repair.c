/* SPDX-License-Identifier: MIT */
/*
 * Checksum repair of a mutated image, so that a mutation reaches the code behind the checksums
 * instead of being refused at the first one. Written from the exFAT specification (boot checksum
 * 3.4, up-case table checksum 7.2.2, SetChecksum 6.3.3, NameHash 7.6.4); it shares nothing with
 * libexfat on purpose: a wrong reading of the spec in one must not be hidden by the other.
 * Every read is bounds-checked against the buffer; anything that does not make sense is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_DIRS 64
#define MAX_DIR_CLUSTERS 256
#define MAX_UPCASE_BYTES (256u << 10)
#define MAX_SET 19 /* primary + 18 secondaries */

struct geom {
        uint8_t *img;
        size_t size;
        uint32_t ss;       /* bytes per sector */
        uint32_t cs;       /* bytes per cluster */
        uint64_t fat;      /* byte offset of the first FAT */
        uint64_t heap;     /* byte offset of cluster 2 */
        uint32_t clusters; /* ClusterCount */
        uint32_t root;
        uint16_t *upcase;  /* 65536 entries */
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t) (p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t) rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t) v; p[1] = (uint8_t) (v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t) v); wr16(p + 2, (uint16_t) (v >> 16)); }

static bool in_image(const struct geom *g, uint64_t off, uint64_t len) {
        return off <= g->size && len <= g->size - off;
}

/* 3.4: a 32-bit rotate-right-and-add over sectors 0-10, skipping VolumeFlags and PercentInUse. */
static void repair_boot_region(uint8_t *img, size_t size, uint64_t start) {
        if (start + 512 > size)
                return;
        uint8_t shift = img[start + 108];
        if (shift < 9 || shift > 12)
                return;
        uint32_t ss = 1u << shift;
        if (start + 12ull * ss > size)
                return;
        uint32_t sum = 0;
        for (uint64_t i = 0; i < 11ull * ss; i++) {
                if (i == 106 || i == 107 || i == 112)
                        continue;
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + img[start + i];
        }
        for (uint32_t i = 0; i < ss; i += 4)
                wr32(img + start + 11ull * ss + i, sum);
}

static bool geom_read(struct geom *g, uint8_t *img, size_t size) {
        if (size < 512)
                return false;
        uint8_t shift = img[108], cshift = img[109];
        if (shift < 9 || shift > 12 || cshift > 25 - shift)
                return false;
        *g = (struct geom) {
                .img = img,
                .size = size,
                .ss = 1u << shift,
                .cs = 1u << (shift + cshift),
                .fat = (uint64_t) rd32(img + 80) << shift,
                .heap = (uint64_t) rd32(img + 88) << shift,
                .clusters = rd32(img + 92),
                .root = rd32(img + 96),
        };
        return true;
}

static bool cluster_valid(const struct geom *g, uint32_t c) {
        return c >= 2 && c - 2 < g->clusters && in_image(g, g->heap + (uint64_t) (c - 2) * g->cs, g->cs);
}

static uint64_t cluster_off(const struct geom *g, uint32_t c) {
        return g->heap + (uint64_t) (c - 2) * g->cs;
}

/* Next cluster of a chain: from the FAT, or the following one for a contiguous (NoFatChain) run.
 * 0 at the end or on anything invalid. */
static uint32_t next_cluster(const struct geom *g, uint32_t c, bool contiguous) {
        if (contiguous)
                return cluster_valid(g, c + 1) ? c + 1 : 0;
        uint64_t off = g->fat + (uint64_t) c * 4;
        if (!in_image(g, off, 4))
                return 0;
        uint32_t n = rd32(g->img + off);
        return cluster_valid(g, n) ? n : 0;
}

/* Up to max clusters of a chain, as byte offsets; bytes (0: to the end of the FAT chain) bounds it. */
static size_t chain_offsets(const struct geom *g, uint32_t first, uint64_t bytes, bool contiguous, uint64_t *out,
                            size_t max) {
        size_t n = 0;
        uint64_t want = bytes ? (bytes + g->cs - 1) / g->cs : max;
        for (uint32_t c = first; cluster_valid(g, c) && n < max && n < want; c = next_cluster(g, c, contiguous))
                out[n++] = cluster_off(g, c);
        return n;
}

/* 7.2: the up-case table, decompressed (0xFFFF, N = N identity mappings); identity elsewhere. */
static void load_upcase(struct geom *g, const uint8_t *entry) {
        uint64_t len = rd64(entry + 24);
        for (uint32_t i = 0; i < 65536; i++)
                g->upcase[i] = (uint16_t) i;
        if (len > MAX_UPCASE_BYTES)
                return;
        uint64_t offs[MAX_UPCASE_BYTES / 512];
        size_t n = chain_offsets(g, rd32(entry + 20), len, false, offs, sizeof(offs) / sizeof(offs[0]));
        uint32_t ch = 0;
        bool run = false;
        for (uint64_t pos = 0; pos + 1 < len && pos / g->cs < n && ch < 65536; pos += 2) {
                uint16_t v = rd16(g->img + offs[pos / g->cs] + pos % g->cs);
                if (run) {
                        ch += v; /* identity stays */
                        run = false;
                } else if (v == 0xFFFF)
                        run = true;
                else
                        g->upcase[ch++] = v;
        }
}

/* 7.2.2: a 32-bit rotate-right-and-add over the table's bytes. */
static void repair_upcase(struct geom *g, uint8_t *entry) {
        uint64_t len = rd64(entry + 24);
        if (len == 0 || len > MAX_UPCASE_BYTES)
                return;
        uint64_t offs[MAX_UPCASE_BYTES / 512];
        size_t n = chain_offsets(g, rd32(entry + 20), len, false, offs, sizeof(offs) / sizeof(offs[0]));
        if ((uint64_t) n * g->cs < len)
                return;
        uint32_t sum = 0;
        for (uint64_t pos = 0; pos < len; pos++)
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + g->img[offs[pos / g->cs] + pos % g->cs];
        wr32(entry + 4, sum);
}

static uint16_t rot16_add(uint16_t sum, uint8_t b) {
        return (uint16_t) (((sum & 1) ? 0x8000u : 0) + (sum >> 1) + b);
}

/* One entry set starting at slot i of a directory whose slots are given by offsets. Returns how
 * many slots it covers (1 when it is not a set worth repairing). */
struct dirq {
        uint32_t first;
        uint64_t bytes;
        bool contiguous;
};

static unsigned repair_set(struct geom *g, uint8_t **slot, unsigned avail, struct dirq *queue, unsigned *nq) {
        uint8_t *p = slot[0];
        unsigned count = p[1] + 1u;
        if (count > MAX_SET || count > avail)
                return 1;

        if (p[0] == 0x85 && count >= 2 && slot[1][0] == 0xC0) {
                uint8_t *stream = slot[1];
                unsigned units = stream[3];
                uint16_t hash = 0;
                for (unsigned u = 0; u < units; u++) {
                        unsigned e = 2 + u / 15;
                        if (e >= count)
                                break;
                        uint16_t c = g->upcase[rd16(slot[e] + 2 + 2 * (u % 15))];
                        hash = rot16_add(hash, (uint8_t) c);
                        hash = rot16_add(hash, (uint8_t) (c >> 8));
                }
                wr16(stream + 4, hash);
                /* A directory: walk it too. */
                uint64_t len = rd64(stream + 24);
                if ((rd16(p + 4) & 0x10) && len > 0 && *nq < MAX_DIRS)
                        queue[(*nq)++] = (struct dirq) { rd32(stream + 20), len, (stream[1] & 2) != 0 };
        }

        uint16_t sum = 0;
        for (unsigned e = 0; e < count; e++)
                for (unsigned i = 0; i < 32; i++)
                        if (e != 0 || (i != 2 && i != 3))
                                sum = rot16_add(sum, slot[e][i]);
        wr16(p + 2, sum);
        return count;
}

static void repair_dir(struct geom *g, const struct dirq *d, bool root, struct dirq *queue, unsigned *nq) {
        uint64_t offs[MAX_DIR_CLUSTERS];
        size_t n = chain_offsets(g, d->first, d->bytes, d->contiguous, offs, MAX_DIR_CLUSTERS);
        size_t per = g->cs / 32, nslots = n * per;
        if (d->bytes && d->bytes / 32 < nslots)
                nslots = d->bytes / 32;

        for (size_t i = 0; i < nslots;) {
                uint8_t *slot[MAX_SET];
                unsigned avail = 0;
                for (size_t k = i; k < nslots && avail < MAX_SET; k++)
                        slot[avail++] = g->img + offs[k / per] + (k % per) * 32;
                uint8_t type = slot[0][0];
                if (type == 0x00)
                        break;
                /* In use, primary, and not one of the critical primaries without a set sum
                 * (bitmap 0x81, up-case 0x82, label 0x83). */
                if ((type & 0x80) && !(type & 0x40) && !(type >= 0x81 && type <= 0x83))
                        i += repair_set(g, slot, avail, queue, nq);
                else {
                        if (root && type == 0x82)
                                repair_upcase(g, slot[0]);
                        i++;
                }
        }
}

/* The root's up-case entry, for NameHash (before any set is repaired). */
static void find_upcase(struct geom *g) {
        uint64_t offs[MAX_DIR_CLUSTERS];
        size_t n = chain_offsets(g, g->root, 0, false, offs, MAX_DIR_CLUSTERS);
        for (size_t k = 0; k < n * (g->cs / 32); k++) {
                uint8_t *e = g->img + offs[k / (g->cs / 32)] + (k % (g->cs / 32)) * 32;
                if (e[0] == 0x00)
                        break;
                if (e[0] == 0x82) {
                        repair_upcase(g, e);
                        load_upcase(g, e);
                        return;
                }
        }
        for (uint32_t i = 0; i < 65536; i++)
                g->upcase[i] = (uint16_t) i;
}

void fuzz_repair_image(uint8_t *img, size_t size) {
        struct geom g;
        struct dirq queue[MAX_DIRS];
        unsigned nq = 0;

        if (!geom_read(&g, img, size))
                return;
        /* Static: a fresh 128 KiB per input would be a new mapping each time. */
        static uint16_t upcase[65536];
        g.upcase = upcase;
        find_upcase(&g);
        repair_dir(&g, &(struct dirq) { g.root, 0, false }, true, queue, &nq);
        for (unsigned i = 0; i < nq; i++)
                repair_dir(&g, &queue[i], false, queue, &nq);

        /* Last: the boot regions (nothing above writes into them, but a geometry pointing the
         * FAT or a directory at sector 0 could). */
        repair_boot_region(img, size, 0);
        repair_boot_region(img, size, 12ull << img[108]);
}

/* The allocation bitmap's entry (0x81) in the root, or NULL. */
static uint8_t *find_bitmap_entry(struct geom *g) {
        uint64_t offs[MAX_DIR_CLUSTERS];
        size_t n = chain_offsets(g, g->root, 0, false, offs, MAX_DIR_CLUSTERS);
        for (size_t k = 0; k < n * (g->cs / 32); k++) {
                uint8_t *e = g->img + offs[k / (g->cs / 32)] + (k % (g->cs / 32)) * 32;
                if (e[0] == 0x00)
                        break;
                if (e[0] == 0x81)
                        return e;
        }
        return NULL;
}

void fuzz_poison_free(uint8_t *img, size_t size) {
        struct geom g;
        if (!geom_read(&g, img, size))
                return;
        uint8_t *e = find_bitmap_entry(&g);
        if (!e)
                return;
        uint32_t first = rd32(e + 20);
        uint64_t len = rd64(e + 24);
        if (!cluster_valid(&g, first) || len < (g.clusters + 7) / 8 || !in_image(&g, cluster_off(&g, first), len))
                return; /* a bitmap that is not one contiguous run: leave it */
        const uint8_t *bm = img + cluster_off(&g, first);
        for (uint32_t i = 0; i < g.clusters; i++) {
                uint64_t off = cluster_off(&g, i + 2);
                if ((bm[i / 8] >> (i % 8)) & 1)
                        continue;
                if (!in_image(&g, off, g.cs))
                        break;
                /* Never the bitmap itself (a damaged one may call its own clusters free). */
                if (off < (uint64_t) (bm - img) + len && off + g.cs > (uint64_t) (bm - img))
                        continue;
                for (uint32_t b = 0; b < g.cs; b++)
                        img[off + b] = (uint8_t) (0xD1 ^ (b * 13) ^ i);
        }
}
