/* SPDX-License-Identifier: MIT */
/*
 * Mount, sync, unmount, info.
 *
 * Locking:
 *   vol->lock (mutex) serialises the namespace: lookups, readdir, create/unlink/rename, the node
 *     table, directory indexes and directory contents. These are CPU work on cached metadata; no
 *     file data is read or written under it.
 *   node->io (rwlock) guards one file's data and cluster map: reads take it shared (several threads
 *     read one file at once, each at its own offset: there is no cursor), writes and truncation take
 *     it exclusive. Writers to different files proceed in parallel.
 *   vol->mlock (mutex) guards the allocator (in-memory bitmap, FAT) and the metadata block cache;
 *     it is held only for short metadata operations.
 *   node->mtx (mutex) guards a node's attribute fields (size, times, attributes) so that getattr
 *     never waits for file I/O. Nothing else is taken while holding it.
 *   Order: vol->lock -> node->io -> vol->mlock -> node->mtx. File I/O drops node->io before it
 *   takes vol->lock to record the new size in the directory entry.
 */
#include <sys/random.h>

#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "boot.h"
#include "cache.h"
#include "bitmap.h"
#include "chain.h"
#include "upcase.h"
#include "name.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "writeback.h"
#include "writeorder.h"

static int root_scan(struct exfat_volume *vol, uint32_t *bm_cluster, uint64_t *bm_len, uint32_t *up_cluster,
                     uint64_t *up_len, uint32_t *up_sum) {
        struct exfat_node *root = vol->root;
        uint32_t nslots = (uint32_t) (((uint64_t) root->nclusters << vol->cluster_shift) / ENTRY_SIZE);
        bool have_bm = false, have_up = false;
        int r;

        for (uint32_t slot = 0; slot < nslots; slot++) {
                struct exfat_entry_generic e;
                r = dir_read_slots(vol, root, slot, &e, 1);
                if (r < 0)
                        return r;
                if (e.type == ENTRY_END)
                        break;
                if (!(e.type & ENTRY_IN_USE) || (e.type & ENTRY_SECONDARY))
                        continue;
                switch (e.type) {
                case ENTRY_BITMAP: {
                        const struct exfat_entry_alloc *a = (const void *) &e;
                        if ((a->flags & 1) == 0 && !have_bm) {
                                *bm_cluster = le32toh(a->first_cluster);
                                *bm_len = le64toh(a->data_length);
                                have_bm = true;
                        }
                        break;
                }
                case ENTRY_UPCASE: {
                        const struct exfat_entry_upcase *u = (const void *) &e;
                        if (!have_up) {
                                *up_cluster = le32toh(u->first_cluster);
                                *up_len = le64toh(u->data_length);
                                *up_sum = le32toh(u->table_checksum);
                                have_up = true;
                        }
                        break;
                }
                case ENTRY_LABEL: {
                        const struct exfat_entry_label *l = (const void *) &e;
                        if (l->char_count > EXFAT_LABEL_MAX) {
                                vol_err(vol, "volume label entry claims %u characters", l->char_count);
                                return -EIO;
                        }
                        vol->label_len = l->char_count;
                        for (unsigned i = 0; i < l->char_count; i++)
                                vol->label[i] = le16toh(l->label[i]);
                        vol->label_slot = slot;
                        break;
                }
                case ENTRY_GUID: {
                        const struct exfat_entry_guid *g = (const void *) &e;
                        if (entry_set_checksum(&e, 1) == le16toh(g->set_checksum) && g->secondary_count == 0) {
                                memcpy(vol->guid, g->guid, 16);
                                vol->has_guid = true;
                        } else
                                vol_warn(vol, "ignoring volume GUID entry with a bad checksum");
                        break;
                }
                case ENTRY_FILE:
                        slot += e.data[0];
                        break;
                default:
                        if (!(e.type & ENTRY_BENIGN)) {
                                vol->unknown_critical = true;
                                vol_warn(vol, "unknown critical directory entry 0x%02x in the root directory", e.type);
                        } else
                                slot += e.data[0]; /* benign primary: skip its secondaries */
                        break;
                }
        }
        if (!have_bm || !have_up) {
                vol_err(vol, "root directory lacks the %s entry", have_bm ? "up-case table" : "allocation bitmap");
                return -EIO;
        }
        return 0;
}

/* The clusters of the bitmap, the up-case table and the root directory must be marked in use,
 * or the allocator would hand them out. A volume where they are not is repaired in memory. */
static void check_system_clusters(struct exfat_volume *vol, uint32_t up_cluster, uint64_t up_len) {
        struct exfat_node up = { .first_cluster = up_cluster, .size = up_len };
        const struct exfat_node *chains[] = { vol->root, &up };
        bool fixed = false;

        if (chain_load(vol, &up) < 0)
                return;
        for (uint32_t i = 0; i < vol->bm_next; i++)
                for (uint32_t k = 0; k < vol->bm_ext[i].len; k++)
                        if (!bitmap_test(vol, vol->bm_ext[i].pcl + k)) {
                                bitmap_set_range(vol, vol->bm_ext[i].pcl + k, 1, true);
                                fixed = true;
                        }
        for (unsigned c = 0; c < 2; c++)
                for (uint32_t i = 0; i < chains[c]->n_ext; i++)
                        for (uint32_t k = 0; k < chains[c]->ext[i].len; k++)
                                if (!bitmap_test(vol, chains[c]->ext[i].pcl + k)) {
                                        bitmap_set_range(vol, chains[c]->ext[i].pcl + k, 1, true);
                                        fixed = true;
                                }
        mem_account(vol, -(ssize_t) (up.cap_ext * sizeof(struct extent)));
        free(up.ext);
        if (fixed)
                vol_warn(vol, "allocation bitmap did not mark the system clusters in use; corrected");
}

static uint8_t percent_in_use(const struct exfat_volume *vol) {
        uint64_t used = vol->cluster_count - vol->free_clusters - vol->pending_clusters;
        return (uint8_t) (used * 100 / vol->cluster_count);
}

static void volume_free(struct exfat_volume *vol) {
        if (vol->nodes)
                node_table_done(vol);
        cache_done(vol);
        bitmap_done(vol);
        free(vol->upcase);
        free(vol->boot0);
        free(vol->boot_backup);
        pthread_mutex_destroy(&vol->lock);
        pthread_mutex_destroy(&vol->mlock);
        free(vol);
}

int exfat_mount(const struct exfat_device *dev, const struct exfat_options *opts, struct exfat_volume **ret) {
        struct exfat_volume *vol;
        uint32_t bm_cluster = 0, up_cluster = 0, up_sum = 0;
        uint64_t bm_len = 0, up_len = 0;
        size_t climit;
        int r;

        if (!dev || !dev->ops || !dev->ops->read || !opts || !ret)
                return -EINVAL;
        vol = calloc(1, sizeof(*vol));
        if (!vol)
                return -ENOMEM;
        list_init(&vol->node_lru);
        list_init(&vol->index_lru);
        list_init(&vol->cache.lru);
        vol->dev = dev;
        vol->opts = *opts;
        vol->read_only = opts->read_only || !dev->ops->write;
        vol->budget = opts->cache_budget ? opts->cache_budget : DEFAULT_CACHE_BUDGET;
        vol->label_slot = -1;
        if (getrandom(&vol->hash_seed, sizeof(vol->hash_seed), GRND_NONBLOCK) != sizeof(vol->hash_seed))
                vol->hash_seed = (uint32_t) monotonic_now_ns() ^ (uint32_t) (uintptr_t) vol;
        pthread_mutex_init(&vol->lock, NULL);
        pthread_mutex_init(&vol->mlock, NULL);

        r = boot_load(vol);
        if (r < 0)
                goto fail;
        if (vol->two_fats && !vol->read_only) {
                /* Keeping a second FAT in step is TexFAT's business, which we do not implement. */
                vol_err(vol, "volume has two FATs (TexFAT); refusing to mount read-write");
                r = -EROFS;
                goto fail;
        }
        if (vol->media_failure && !vol->read_only) {
                vol_err(vol, "volume has MediaFailure set; refusing to mount read-write");
                r = -EROFS;
                goto fail;
        }
        climit = vol->budget / 4;
        if (climit > 16u << 20)
                climit = 16u << 20;
        if (climit < 1u << 20)
                climit = 1u << 20;
        r = cache_init(vol, climit, meta_flush);
        if (r < 0)
                goto fail;
        r = node_table_init(vol);
        if (r < 0)
                goto fail;
        vol->root = node_new(vol);
        if (!vol->root) {
                r = -ENOMEM;
                goto fail;
        }
        vol->root->is_root = vol->root->is_dir = true;
        vol->root->attr = EXFAT_ATTR_DIRECTORY;
        vol->root->first_cluster = vol->root_cluster;
        r = chain_load(vol, vol->root);
        if (r < 0)
                goto fail;
        r = root_scan(vol, &bm_cluster, &bm_len, &up_cluster, &up_len, &up_sum);
        if (r < 0)
                goto fail;
        r = upcase_load(vol, up_cluster, up_len, up_sum);
        if (r < 0)
                goto fail;
        r = bitmap_load(vol, bm_cluster, bm_len);
        if (r < 0)
                goto fail;
        check_system_clusters(vol, up_cluster, up_len);
        if (vol->unknown_critical && !vol->read_only) {
                vol_err(vol, "unknown critical entries in the root directory; refusing to mount read-write");
                r = -EROFS;
                goto fail;
        }
        if (!vol->read_only) {
                r = boot_restore(vol);
                if (r >= 0)
                        r = boot_write_flags(vol, vol->volume_flags | VOLUME_FLAG_DIRTY, percent_in_use(vol));
                if (r >= 0)
                        r = dev_flush(vol);
                if (r >= 0)
                        r = writeback_start(vol);
                if (r < 0)
                        goto fail;
        }
        *ret = vol;
        return 0;
fail:
        vol->read_only = true; /* nothing more reaches the device */
        volume_free(vol);
        return r;
}

/* Everything cached goes to the device, in order. vol->lock held. */
int vol_writeback_locked(struct exfat_volume *vol) {
        int r;

        if (vol->read_only)
                return 0;
        pthread_mutex_lock(&vol->mlock);
        r = meta_flush(vol);
        if (r >= 0 && percent_in_use(vol) != vol->percent_in_use)
                r = boot_write_flags(vol, vol->volume_flags, percent_in_use(vol));
        pthread_mutex_unlock(&vol->mlock);
        return r;
}

int vol_sync_locked(struct exfat_volume *vol) {
        int r = vol_writeback_locked(vol);
        return r < 0 ? r : dev_flush(vol);
}

#define WRITEBACK_INTERVAL_NS (5ull * 1000000000)
#define PENDING_FREE_MAX 65536

uint64_t monotonic_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/* Called at the end of every modifying call, vol->lock held. With the sync option everything goes
 * to the device now. Otherwise metadata is written back at most every few seconds while the volume
 * is being changed (a drive pulled without unmounting loses little), and whenever the list of
 * deferred frees grows long. */
int vol_after_change(struct exfat_volume *vol) {
        uint64_t now;
        size_t npending;
        int r;

        if (vol->opts.sync)
                return vol_sync_locked(vol);
        now = monotonic_now_ns();
        __atomic_store_n(&vol->last_change, now, __ATOMIC_RELAXED);
        if (vol->last_writeback == 0)
                vol->last_writeback = now;
        pthread_mutex_lock(&vol->mlock);
        npending = vol->npending;
        pthread_mutex_unlock(&vol->mlock);
        if (now - vol->last_writeback < WRITEBACK_INTERVAL_NS && npending < PENDING_FREE_MAX)
                return 0;
        r = vol_writeback_locked(vol);
        vol->last_writeback = now;
        if (r >= 0)
                __atomic_store_n(&vol->last_change, 0, __ATOMIC_RELAXED);
        return r;
}

int exfat_sync(struct exfat_volume *vol) {
        int r;
        pthread_mutex_lock(&vol->lock);
        r = vol_writeback_locked(vol);
        vol->last_writeback = monotonic_now_ns();
        if (r >= 0)
                __atomic_store_n(&vol->last_change, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&vol->lock);
        /* The device flush can take long: the namespace stays usable meanwhile. */
        return r < 0 ? r : dev_flush(vol);
}

int exfat_unmount(struct exfat_volume *vol) {
        int r = 0;

        if (!vol)
                return -EINVAL;
        writeback_stop(vol);
        if (!vol->read_only) {
                pthread_mutex_lock(&vol->lock);
                /* Files unlinked while open die with the mount: their clusters go back now. */
                for (size_t b = 0; b < vol->nnode_buckets; b++)
                        for (struct exfat_node *n = vol->nodes[b]; n; n = n->hnext)
                                if (n->unlinked && (n->nclusters || n->size)) {
                                        int q = node_release_clusters(vol, n);
                                        if (q < 0 && r >= 0)
                                                r = q;
                                }
                if (r >= 0)
                        r = vol_sync_locked(vol);
                bool lost = __atomic_load_n(&vol->flush_failures, __ATOMIC_RELAXED) > 0;
                if (r >= 0 && lost)
                        r = -EIO;
                if (r >= 0 && !vol->was_dirty) {
                        pthread_mutex_lock(&vol->mlock);
                        r = boot_write_flags(vol, (uint16_t) (vol->volume_flags & ~VOLUME_FLAG_DIRTY), percent_in_use(vol));
                        if (r >= 0)
                                r = dev_flush(vol);
                        pthread_mutex_unlock(&vol->mlock);
                }
                pthread_mutex_unlock(&vol->lock);
                if (r < 0)
                        vol_err(vol, lost ? "unmount: file data failed to reach the device during this mount, "
                                            "volume left marked dirty"
                                          : "unmount: write-back failed, volume left marked dirty");
        }
        vol->read_only = true;
        volume_free(vol);
        return r;
}

void exfat_get_info(struct exfat_volume *vol, struct exfat_info *info) {
        memset(info, 0, sizeof(*info));
        pthread_mutex_lock(&vol->lock);
        if (utf16_to_utf8(vol->label, vol->label_len, info->label, sizeof(info->label)) < 0)
                info->label[0] = 0;
        pthread_mutex_unlock(&vol->lock);
        info->serial = vol->serial;
        info->has_guid = vol->has_guid;
        memcpy(info->guid, vol->guid, 16);
        info->dirty = vol->was_dirty;
        info->media_failure = vol->media_failure;
        info->fs_revision = vol->fs_revision;
        info->sector_size = vol->sector_size;
        info->cluster_size = vol->cluster_size;
        info->cluster_count = vol->cluster_count;
        pthread_mutex_lock(&vol->mlock);
        info->free_clusters = vol->free_clusters + vol->pending_clusters;
        info->percent_in_use = percent_in_use(vol);
        pthread_mutex_unlock(&vol->mlock);
        info->volume_size = vol->volume_length;
}

int exfat_statfs(struct exfat_volume *vol, struct exfat_statfs *st) {
        if (!vol || !st)
                return -EINVAL;
        st->cluster_size = vol->cluster_size;
        st->total_clusters = vol->cluster_count;
        pthread_mutex_lock(&vol->mlock);
        st->free_clusters = vol->free_clusters + vol->pending_clusters;
        pthread_mutex_unlock(&vol->mlock);
        st->name_max = EXFAT_NAME_MAX;
        return 0;
}

int exfat_probe(const struct exfat_device *dev, const struct exfat_options *opts, struct exfat_info *info) {
        struct exfat_options o = opts ? *opts : (struct exfat_options){ 0 };
        struct exfat_volume *vol;
        int r;

        if (!info)
                return -EINVAL;
        o.read_only = true;
        r = exfat_mount(dev, &o, &vol);
        if (r < 0)
                return r;
        exfat_get_info(vol, info);
        return exfat_unmount(vol);
}
