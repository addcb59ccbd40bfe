/* SPDX-License-Identifier: MIT */
/* Cluster chains of files and directories. A node keeps its chain as a list of extents, built with
 * one walk of the FAT (bounded by the cluster count) and kept up to date as the chain grows or
 * shrinks. A chain stays NoFatChain (contiguous, no FAT writes) for as long as it can. */
#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "cache.h"
#include "writeorder.h"
#include "fat.h"
#include "bitmap.h"
#include "chain.h"
#include "node.h"

static int ext_append(struct exfat_volume *vol, struct exfat_node *n, uint32_t pcl, uint32_t len) {
        struct extent *last = n->n_ext ? &n->ext[n->n_ext - 1] : NULL;

        if (last && last->pcl + last->len == pcl) {
                last->len += len;
        } else {
                uint32_t had = n->cap_ext;
                if (GREEDY_REALLOC_MIN(n->ext, n->cap_ext, n->n_ext + 1, 2) < 0)
                        return -ENOMEM;
                mem_account(vol, (ssize_t) ((n->cap_ext - had) * sizeof(*n->ext)));
                n->ext[n->n_ext++] = (struct extent){ .fcl = n->nclusters, .pcl = pcl, .len = len };
        }
        n->nclusters += len;
        return 0;
}

static void ext_reset(struct exfat_volume *vol, struct exfat_node *n) {
        mem_account(vol, -(ssize_t) (n->cap_ext * sizeof(struct extent)));
        free(n->ext);
        n->ext = NULL;
        n->n_ext = n->cap_ext = 0;
        n->nclusters = 0;
}

static int cmp_pcl(const void *a, const void *b) {
        const struct extent *x = a, *y = b;
        return x->pcl < y->pcl ? -1 : x->pcl > y->pcl;
}

/* A chain that visits a cluster twice is a cycle (or a cross-link within the file). */
static bool chain_overlaps(const struct exfat_node *n) {
        _cleanup_free_ struct extent *e = NULL;
        bool bad = false;

        if (n->n_ext < 2)
                return false;
        e = malloc(n->n_ext * sizeof(*e));
        if (!e)
                return false;
        memcpy(e, n->ext, n->n_ext * sizeof(*e));
        qsort(e, n->n_ext, sizeof(*e), cmp_pcl);
        for (uint32_t i = 0; i + 1 < n->n_ext && !bad; i++)
                bad = e[i].pcl + e[i].len > e[i + 1].pcl;
        return bad;
}

int chain_load(struct exfat_volume *vol, struct exfat_node *n) {
        uint32_t want, c;
        int r = 0;

        if (n->ext_valid)
                return 0;
        ext_reset(vol, n);
        if (n->is_root) {
                want = EXFAT_DIR_MAX_SIZE >> vol->cluster_shift;
                if (want > vol->cluster_count)
                        want = vol->cluster_count;
        } else {
                uint64_t w = div_round_up(n->size, vol->cluster_size);
                if (w > vol->cluster_count)
                        goto bad;
                want = (uint32_t) w;
        }
        if (want == 0) {
                n->ext_valid = true;
                return 0;
        }
        if (!cluster_valid(vol, n->first_cluster))
                goto bad;
        if (n->contiguous) {
                if (n->first_cluster - FAT_FIRST_CLUSTER + (uint64_t) want > vol->cluster_count)
                        goto bad;
                r = ext_append(vol, n, n->first_cluster, want);
                if (r < 0)
                        return r;
                n->ext_valid = true;
                return 0;
        }
        pthread_mutex_lock(&vol->mlock);
        c = n->first_cluster;
        /* Bounded by the cluster count: a cycle cannot make this loop forever. */
        for (uint32_t i = 0; i < want; i++) {
                uint32_t next;
                if (!cluster_valid(vol, c)) {
                        if (n->is_root && c == FAT_EOC && i > 0)
                                break;
                        r = -EIO;
                        break;
                }
                r = ext_append(vol, n, c, 1);
                if (r < 0)
                        break;
                r = fat_get(vol, c, &next);
                if (r < 0)
                        break;
                c = next;
                if (i + 1 == want && n->is_root && c != FAT_EOC) {
                        r = -EIO; /* longer than the volume: a cycle */
                        break;
                }
        }
        pthread_mutex_unlock(&vol->mlock);
        if (r == -EIO || (r >= 0 && chain_overlaps(n)))
                goto bad;
        if (r < 0)
                return r;
        if (n->is_root)
                n->size = n->valid_size = (uint64_t) n->nclusters << vol->cluster_shift;
        n->ext_valid = true;
        return 0;
bad:
        ext_reset(vol, n);
        vol_err(vol, "cluster chain of inode %llu (first cluster %u, %llu bytes) is damaged",
                (unsigned long long) n->ino, n->first_cluster, (unsigned long long) n->size);
        return -EIO;
}

/* Device cluster of file cluster fcl, and how many clusters follow contiguously (incl. itself). */
int chain_map(const struct exfat_node *n, uint32_t fcl, uint32_t *pcl, uint32_t *run) {
        uint32_t lo = 0, hi = n->n_ext;

        while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                const struct extent *e = &n->ext[mid];
                if (fcl < e->fcl)
                        hi = mid;
                else if (fcl >= e->fcl + e->len)
                        lo = mid + 1;
                else {
                        *pcl = e->pcl + (fcl - e->fcl);
                        *run = e->len - (fcl - e->fcl);
                        return 0;
                }
        }
        return -EIO;
}

/* Writes FAT links for clusters [pcl, pcl+len) ending in `tail`. */
static int fat_link_run(struct exfat_volume *vol, uint32_t pcl, uint32_t len, uint32_t tail) {
        for (uint32_t i = 0; i < len; i++) {
                int r = fat_set(vol, pcl + i, i + 1 < len ? pcl + i + 1 : tail);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The layout fields are read by node_commit() under node->mtx, without the io lock. */
static void set_layout(struct exfat_node *n, uint32_t first, bool contiguous) {
        pthread_mutex_lock(&n->mtx);
        n->first_cluster = first;
        n->contiguous = contiguous;
        pthread_mutex_unlock(&n->mtx);
}

/* Turns a NoFatChain chain into a FAT chain: from now on it is fragmented. */
static int chain_to_fat(struct exfat_volume *vol, struct exfat_node *n) {
        for (uint32_t i = 0; i < n->n_ext; i++) {
                const struct extent *e = &n->ext[i];
                int r = fat_link_run(vol, e->pcl, e->len, i + 1 < n->n_ext ? n->ext[i + 1].pcl : FAT_EOC);
                if (r < 0)
                        return r;
        }
        set_layout(n, n->first_cluster, false);
        return 0;
}

/* Caller holds mlock and the node's io lock (or vol->lock for directories). On failure the chain
 * is back to its old length. */
int chain_grow(struct exfat_volume *vol, struct exfat_node *n, uint32_t add) {
        uint32_t old = n->nclusters, old_first = n->first_cluster;
        bool old_contig = n->contiguous;
        int r = 0;

        if (add == 0)
                return 0;
        if (add > vol->free_clusters) {
                if (vol->pending_clusters > 0 && add <= vol->free_clusters + vol->pending_clusters) {
                        r = meta_flush(vol);
                        if (r < 0)
                                return r;
                }
                if (add > vol->free_clusters)
                        return -ENOSPC;
        }
        while (add > 0) {
                uint32_t start = 0, len = 0;
                if (n->nclusters > 0) {
                        const struct extent *last = &n->ext[n->n_ext - 1];
                        start = last->pcl + last->len;
                        len = bitmap_free_run_at(vol, start, add);
                }
                if (len == 0) {
                        if (!bitmap_find_run(vol, add, &start, &len)) {
                                r = -ENOSPC;
                                goto fail;
                        }
                        if (n->nclusters == 0) {
                                set_layout(n, start, !n->is_root);
                        } else if (n->contiguous) {
                                r = chain_to_fat(vol, n);
                                if (r < 0)
                                        goto fail;
                        }
                }
                bitmap_set_range(vol, start, len, true);
                if (!n->contiguous) {
                        /* Link the previous tail to this run, then the run itself. */
                        if (n->nclusters > 0) {
                                const struct extent *last = &n->ext[n->n_ext - 1];
                                r = fat_set(vol, last->pcl + last->len - 1, start);
                        }
                        if (r >= 0)
                                r = fat_link_run(vol, start, len, FAT_EOC);
                        if (r < 0) {
                                bitmap_set_range(vol, start, len, false);
                                goto fail;
                        }
                }
                r = ext_append(vol, n, start, len);
                if (r < 0) {
                        bitmap_set_range(vol, start, len, false);
                        goto fail;
                }
                vol->alloc_hint = start + len - FAT_FIRST_CLUSTER;
                add -= len;
        }
        return 0;
fail:
        if (n->nclusters > old) {
                /* Undo: hand the new clusters back at once (nothing on disk refers to them). */
                uint32_t keep = old;
                for (uint32_t i = 0; i < n->n_ext; i++) {
                        struct extent *e = &n->ext[i];
                        if (e->fcl + e->len <= keep)
                                continue;
                        uint32_t skip = keep > e->fcl ? keep - e->fcl : 0;
                        bitmap_set_range(vol, e->pcl + skip, e->len - skip, false);
                }
                while (n->n_ext > 0 && n->ext[n->n_ext - 1].fcl >= keep)
                        n->n_ext--;
                if (n->n_ext > 0) {
                        struct extent *e = &n->ext[n->n_ext - 1];
                        if (e->fcl + e->len > keep)
                                e->len = keep - e->fcl;
                }
                n->nclusters = keep;
                if (!n->contiguous && keep > 0) {
                        const struct extent *e = &n->ext[n->n_ext - 1];
                        (void) fat_set(vol, e->pcl + e->len - 1, FAT_EOC);
                }
        }
        if (old == 0) {
                set_layout(n, old_first, old_contig);
        }
        return r;
}

static int hold_free(struct exfat_volume *vol, struct exfat_node *n, uint32_t c, uint32_t len) {
        uint32_t had = n->capheld;

        if (GREEDY_REALLOC_MIN(n->held, n->capheld, n->nheld + 1, 4) < 0)
                return -ENOMEM;
        mem_account(vol, (ssize_t) ((n->capheld - had) * sizeof(*n->held)));
        n->held[n->nheld++] = (struct pending_free){ c, len };
        return 0;
}

void chain_release_held(struct exfat_volume *vol, struct exfat_node *n) {
        pthread_mutex_lock(&vol->mlock);
        for (uint32_t i = 0; i < n->nheld; i++)
                if (bitmap_defer_free(vol, n->held[i].start, n->held[i].len) < 0)
                        vol_warn(vol, "out of memory: %u clusters leaked until the next mount", n->held[i].len);
        pthread_mutex_unlock(&vol->mlock);
        mem_account(vol, -(ssize_t) (n->capheld * sizeof(struct pending_free)));
        free(n->held);
        n->held = NULL;
        n->nheld = n->capheld = 0;
}

/* Caller holds mlock. Releases clusters beyond `keep`; they become reusable after the next
 * metadata flush (and, for a truncation, only once the node's new size is committed). */
int chain_shrink(struct exfat_volume *vol, struct exfat_node *n, uint32_t keep) {
        int r;

        if (keep >= n->nclusters)
                return 0;
        for (uint32_t i = 0; i < n->n_ext; i++) {
                struct extent *e = &n->ext[i];
                uint32_t skip;
                if (e->fcl + e->len <= keep)
                        continue;
                skip = keep > e->fcl ? keep - e->fcl : 0;
                if (n->is_dir)
                        cache_drop_range(vol, cluster_offset(vol, e->pcl + skip),
                                         (uint64_t) (e->len - skip) << vol->cluster_shift);
                if (n->hold_frees)
                        r = hold_free(vol, n, e->pcl + skip, e->len - skip);
                else
                        r = bitmap_defer_free(vol, e->pcl + skip, e->len - skip);
                if (r < 0)
                        return r;
        }
        while (n->n_ext > 0 && n->ext[n->n_ext - 1].fcl >= keep)
                n->n_ext--;
        if (n->n_ext > 0) {
                struct extent *e = &n->ext[n->n_ext - 1];
                if (e->fcl + e->len > keep)
                        e->len = keep - e->fcl;
        }
        n->nclusters = keep;
        if (keep == 0) {
                set_layout(n, 0, false);
        } else if (!n->contiguous) {
                const struct extent *e = &n->ext[n->n_ext - 1];
                r = fat_set(vol, e->pcl + e->len - 1, FAT_EOC);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Frees a chain not attached to a node (e.g. a vendor allocation entry's clusters). */
int chain_walk_free(struct exfat_volume *vol, uint32_t first, uint64_t size, bool contiguous) {
        uint64_t want = div_round_up(size, vol->cluster_size);
        uint32_t c = first;

        if (want == 0)
                return 0;
        if (want > vol->cluster_count || !cluster_valid(vol, first))
                return -EIO;
        if (contiguous) {
                if (first - FAT_FIRST_CLUSTER + want > vol->cluster_count)
                        return -EIO;
                return bitmap_defer_free(vol, first, (uint32_t) want);
        }
        for (uint64_t i = 0; i < want; i++) {
                uint32_t next;
                int r;
                if (!cluster_valid(vol, c))
                        return -EIO;
                r = fat_get(vol, c, &next);
                if (r < 0)
                        return r;
                r = bitmap_defer_free(vol, c, 1);
                if (r < 0)
                        return r;
                c = next;
        }
        return 0;
}
