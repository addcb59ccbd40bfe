/* SPDX-License-Identifier: MIT */
/* The allocation bitmap lives in memory (1 bit per cluster, bit set = used). Changes mark 4 KiB
 * chunks dirty; only those chunks are written back. Freed clusters stay marked used until the
 * directory entries that referenced them are on disk (see meta_flush). */
#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "fat.h"
#include "bitmap.h"
#include "chain.h"

#define CHUNK_BITS (4096u * 8)

static inline bool test_bit(const uint64_t *w, uint32_t i) { return (w[i >> 6] >> (i & 63)) & 1; }

int bitmap_load(struct exfat_volume *vol, uint32_t first, uint64_t length) {
        uint64_t need = div_round_up(vol->cluster_count, 8);
        uint32_t ncl, c;
        uint8_t *bytes;
        int r;

        if (length < need || length > (uint64_t) vol->cluster_count * 4 + 4096 || !cluster_valid(vol, first)) {
                vol_err(vol, "allocation bitmap entry invalid (cluster %u, %llu bytes)", first,
                        (unsigned long long) length);
                return -EIO;
        }
        vol->bm_first_cluster = first;
        vol->bm_bytes = need;
        vol->bm_words = (uint32_t) div_round_up(vol->cluster_count, 64);
        vol->bm = calloc(vol->bm_words, 8);
        vol->bm_chunks = (uint32_t) div_round_up(vol->cluster_count, CHUNK_BITS);
        vol->bm_dirty = calloc(div_round_up(vol->bm_chunks, 64), 8);
        ncl = (uint32_t) div_round_up(need, vol->cluster_size);
        vol->bm_ext = calloc(1, sizeof(struct extent));
        if (!vol->bm || !vol->bm_dirty || !vol->bm_ext)
                return -ENOMEM;
        vol->bm_ext_cap = 1;

        /* The bitmap is a FAT chain (mkfs makes it contiguous, but nothing requires it). */
        c = first;
        vol->bm_next = 0;
        for (uint32_t i = 0; i < ncl; i++) {
                struct extent *e = vol->bm_next ? &vol->bm_ext[vol->bm_next - 1] : NULL;
                if (!cluster_valid(vol, c)) {
                        vol_err(vol, "allocation bitmap chain broken at cluster %u", c);
                        return -EIO;
                }
                if (e && e->pcl + e->len == c)
                        e->len++;
                else {
                        if (GREEDY_REALLOC_MIN(vol->bm_ext, vol->bm_ext_cap, vol->bm_next + 1, 1) < 0)
                                return -ENOMEM;
                        vol->bm_ext[vol->bm_next++] = (struct extent){ .fcl = i, .pcl = c, .len = 1 };
                }
                if (i + 1 < ncl) {
                        r = fat_get(vol, c, &c);
                        if (r < 0)
                                return r;
                }
        }
        bytes = (uint8_t *) vol->bm;
        for (uint32_t i = 0; i < vol->bm_next; i++) {
                const struct extent *e = &vol->bm_ext[i];
                uint64_t off = (uint64_t) e->fcl << vol->cluster_shift;
                uint64_t len = (uint64_t) e->len << vol->cluster_shift;
                if (off >= need)
                        break;
                if (len > need - off)
                        len = need - off;
                r = dev_read(vol, bytes + off, (size_t) len, cluster_offset(vol, e->pcl));
                if (r < 0)
                        return r;
        }
        for (uint32_t i = 0; i < vol->bm_words; i++)
                vol->bm[i] = le64toh(vol->bm[i]);
        /* Bits past the last cluster are not clusters. */
        if (vol->cluster_count & 63)
                vol->bm[vol->bm_words - 1] &= (1ull << (vol->cluster_count & 63)) - 1;
        vol->free_clusters = 0;
        for (uint32_t i = 0; i < vol->bm_words; i++)
                vol->free_clusters += 64 - (uint32_t) __builtin_popcountll(vol->bm[i]);
        vol->free_clusters -= vol->bm_words * 64 - vol->cluster_count;
        return 0;
}

void bitmap_done(struct exfat_volume *vol) {
        free(vol->bm);
        free(vol->bm_dirty);
        free(vol->bm_ext);
        free(vol->pending);
        vol->bm = vol->bm_dirty = NULL;
        vol->bm_ext = NULL;
        vol->bm_ext_cap = 0;
        vol->pending = NULL;
        vol->npending = vol->cappending = 0;
}

bool bitmap_test(const struct exfat_volume *vol, uint32_t c) {
        return test_bit(vol->bm, c - FAT_FIRST_CLUSTER);
}

static void mark_dirty(struct exfat_volume *vol, uint32_t first_bit, uint32_t last_bit) {
        for (uint32_t ch = first_bit / CHUNK_BITS; ch <= last_bit / CHUNK_BITS; ch++)
                vol->bm_dirty[ch >> 6] |= 1ull << (ch & 63);
}

void bitmap_set_range(struct exfat_volume *vol, uint32_t c, uint32_t len, bool used) {
        uint32_t i = c - FAT_FIRST_CLUSTER, end = i + len;

        if (len == 0)
                return;
        mark_dirty(vol, i, end - 1);
        while (i < end) {
                uint32_t bit = i & 63, n = 64 - bit;
                uint64_t mask;
                if (n > end - i)
                        n = end - i;
                mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
                if (used) {
                        vol->free_clusters -= n - (uint32_t) __builtin_popcountll(vol->bm[i >> 6] & mask);
                        vol->bm[i >> 6] |= mask;
                } else {
                        vol->free_clusters += (uint32_t) __builtin_popcountll(vol->bm[i >> 6] & mask);
                        vol->bm[i >> 6] &= ~mask;
                }
                i += n;
        }
}

/* Number of free clusters starting exactly at cluster c, up to max. */
uint32_t bitmap_free_run_at(struct exfat_volume *vol, uint32_t c, uint32_t max) {
        uint32_t i, n = 0;

        if (!cluster_valid(vol, c))
                return 0;
        i = c - FAT_FIRST_CLUSTER;
        while (n < max && i < vol->cluster_count) {
                uint64_t w = vol->bm[i >> 6] >> (i & 63);
                uint32_t avail = 64 - (i & 63), run;
                if (w == 0)
                        run = avail;
                else
                        run = (uint32_t) __builtin_ctzll(w);
                if (run > avail)
                        run = avail;
                if (run > vol->cluster_count - i)
                        run = vol->cluster_count - i;
                n += run;
                i += run;
                if (run < avail)
                        break;
        }
        return n < max ? n : max;
}

/* Next-fit search for a free run of want clusters, word at a time. Returns the first run that is
 * long enough, else the longest one seen. */
bool bitmap_find_run(struct exfat_volume *vol, uint32_t want, uint32_t *start, uint32_t *len) {
        uint32_t best_start = 0, best_len = 0;
        uint32_t hint = vol->alloc_hint < vol->cluster_count ? vol->alloc_hint : 0;
        uint32_t words = vol->bm_words;

        if (vol->free_clusters == 0)
                return false;
        for (uint32_t k = 0; k <= words; k++) {
                uint32_t wi = (hint >> 6) + k;
                uint64_t w;
                if (wi >= words)
                        wi -= words;
                w = vol->bm[wi];
                if (k == 0)
                        w |= (1ull << (hint & 63)) - 1; /* first pass starts at the hint */
                while (w != ~0ull) {
                        uint32_t bit = (uint32_t) __builtin_ctzll(~w);
                        uint32_t i = wi * 64 + bit, run;
                        if (i >= vol->cluster_count)
                                break;
                        run = bitmap_free_run_at(vol, i + FAT_FIRST_CLUSTER, want);
                        if (run >= want) {
                                *start = i + FAT_FIRST_CLUSTER;
                                *len = want;
                                return true;
                        }
                        if (run > best_len) {
                                best_len = run;
                                best_start = i + FAT_FIRST_CLUSTER;
                        }
                        if (bit + run >= 64)
                                break;
                        w |= ((run + bit >= 64) ? ~0ull : ((1ull << (bit + run)) - 1));
                }
        }
        if (best_len == 0)
                return false;
        *start = best_start;
        *len = best_len;
        return true;
}

int bitmap_flush(struct exfat_volume *vol) {
        int r;

        for (uint32_t wi = 0; wi < div_round_up(vol->bm_chunks, 64); wi++) {
                while (vol->bm_dirty[wi]) {
                        uint32_t ch = wi * 64 + (uint32_t) __builtin_ctzll(vol->bm_dirty[wi]);
                        uint64_t off = (uint64_t) ch * 4096, end = off + 4096;
                        if (end > vol->bm_bytes)
                                end = vol->bm_bytes;
                        /* Write the chunk piece by piece along the bitmap's clusters. */
                        while (off < end) {
                                uint32_t fcl = (uint32_t) (off >> vol->cluster_shift);
                                const struct extent *e = NULL;
                                uint64_t ext_end, n;
                                uint8_t tmp[4096];
                                for (uint32_t k = 0; k < vol->bm_next; k++)
                                        if (fcl >= vol->bm_ext[k].fcl && fcl < vol->bm_ext[k].fcl + vol->bm_ext[k].len) {
                                                e = &vol->bm_ext[k];
                                                break;
                                        }
                                if (!e)
                                        return -EIO;
                                ext_end = (uint64_t) (e->fcl + e->len) << vol->cluster_shift;
                                n = (ext_end < end ? ext_end : end) - off;
                                for (uint64_t b = 0; b < n; b += 8) {
                                        uint64_t v = htole64(vol->bm[(off + b) / 8]);
                                        memcpy(tmp + b, &v, 8);
                                }
                                r = dev_write(vol, tmp, (size_t) n,
                                              cluster_offset(vol, e->pcl) + (off - ((uint64_t) e->fcl << vol->cluster_shift)));
                                if (r < 0)
                                        return r;
                                off += n;
                        }
                        vol->bm_dirty[wi] &= vol->bm_dirty[wi] - 1;
                }
        }
        return 0;
}

int bitmap_defer_free(struct exfat_volume *vol, uint32_t c, uint32_t len) {
        if (len == 0)
                return 0;
        if (GREEDY_REALLOC_MIN(vol->pending, vol->cappending, vol->npending + 1, 64) < 0)
                return -ENOMEM;
        if (vol->npending > 0) {
                struct pending_free *last = &vol->pending[vol->npending - 1];
                if (last->start + last->len == c) {
                        last->len += len;
                        vol->pending_clusters += len;
                        return 0;
                }
        }
        vol->pending[vol->npending++] = (struct pending_free){ c, len };
        vol->pending_clusters += len;
        return 0;
}

void bitmap_apply_pending(struct exfat_volume *vol) {
        for (size_t i = 0; i < vol->npending; i++)
                bitmap_set_range(vol, vol->pending[i].start, vol->pending[i].len, false);
        vol->npending = 0;
        vol->pending_clusters = 0;
        if (vol->cappending > 1024) {
                free(vol->pending);
                vol->pending = NULL;
                vol->cappending = 0;
        }
}
