/* SPDX-License-Identifier: MIT */
/* Per-node operations: lookup/forget reference counting, attributes, open/release, fsync. */
#include "vol.h"
#include "device.h"
#include "chain.h"
#include "timestamp.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "file.h"
#include "namei.h"

int exfat_lookup(struct exfat_volume *vol, uint64_t parent, const char *name, struct exfat_stat *st) {
        struct exfat_node *dir, *n;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        int r;

        r = parse_existing_name(name, &nb);
        if (r < 0)
                return r;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &dir);
        if (r >= 0)
                r = dir_find(vol, dir, nb.u, nb.len, &rec, &es);
        if (r >= 0)
                r = node_from_set(vol, dir, rec, &es, &n);
        if (r >= 0) {
                n->nlookup++;
                node_lru_update(vol, n);
                if (st)
                        node_stat(vol, n, st);
        }
        node_trim(vol);
        pthread_mutex_unlock(&vol->lock);
        return r;
}

void exfat_forget(struct exfat_volume *vol, uint64_t ino, uint64_t nlookup) {
        struct exfat_node *n;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n && !n->is_root) {
                n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
                node_maybe_destroy(vol, n);
                node_trim(vol);
        }
        pthread_mutex_unlock(&vol->lock);
}

int exfat_getattr(struct exfat_volume *vol, uint64_t ino, struct exfat_stat *st) {
        struct exfat_node *n;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n)
                node_stat(vol, n, st);
        pthread_mutex_unlock(&vol->lock);
        return n ? 0 : -ENOENT;
}

int exfat_setattr(struct exfat_volume *vol, uint64_t ino, const struct exfat_setattr *sa, struct exfat_stat *st) {
        struct exfat_node *n;
        int r = 0;

        if (!sa)
                return -EINVAL;
        r = node_get(vol, ino, &n);
        if (r < 0)
                return r;
        if (sa->valid && vol->read_only) {
                r = -EROFS;
                goto out;
        }
        if ((sa->valid & EXFAT_SET_SIZE) && n->is_dir) {
                r = -EISDIR;
                goto out;
        }
        if (n->is_root && (sa->valid & ~EXFAT_SET_SIZE)) {
                /* The root directory has no entry to keep attributes or times in. */
                goto stat;
        }
        if (sa->valid & EXFAT_SET_SIZE) {
                r = file_truncate(vol, n, sa->size);
                if (r < 0)
                        goto out;
        }
        pthread_mutex_lock(&n->mtx);
        if (sa->valid & EXFAT_SET_ATTRIBUTES)
                n->attr = (uint16_t) ((n->attr & ~SETTABLE_ATTRS) | (sa->attributes & SETTABLE_ATTRS));
        if (sa->valid & EXFAT_SET_ATIME) {
                n->atime = sa->atime;
                time_round(&n->atime, true);
        }
        if (sa->valid & EXFAT_SET_MTIME) {
                n->mtime = sa->mtime;
                time_round(&n->mtime, false);
        }
        if (sa->valid & EXFAT_SET_CRTIME) {
                n->crtime = sa->crtime;
                time_round(&n->crtime, false);
        }
        pthread_mutex_unlock(&n->mtx);
stat:
        pthread_mutex_lock(&vol->lock);
        if (sa->valid)
                r = node_commit(vol, n);
        if (n->nheld)
                chain_release_held(vol, n);
        if (r >= 0 && sa->valid)
                r = vol_after_change(vol);
        pthread_mutex_unlock(&vol->lock);
out:
        if (r >= 0 && st)
                node_stat(vol, n, st);
        node_put(vol, n);
        return r;
}

int exfat_open(struct exfat_volume *vol, uint64_t ino) {
        struct exfat_node *n;
        int r = 0;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n) {
                n->nopen++;
                node_lru_update(vol, n);
        } else
                r = -ENOENT;
        pthread_mutex_unlock(&vol->lock);
        return r;
}

void exfat_release(struct exfat_volume *vol, uint64_t ino) {
        struct exfat_node *n;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n && n->nopen > 0) {
                n->nopen--;
                node_maybe_destroy(vol, n);
                node_trim(vol);
        }
        pthread_mutex_unlock(&vol->lock);
}

/* A failed device flush since this node last reported one: its data may be among what was lost,
 * whichever flush met the failure. Reported once per node, as the kernel reports a write-back error
 * once per open file. */
static int fsync_report(struct exfat_volume *vol, uint64_t ino) {
        uint32_t failures = __atomic_load_n(&vol->flush_failures, __ATOMIC_RELAXED);
        struct exfat_node *n;
        int r = 0;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n && n->flush_failures_seen != failures) {
                n->flush_failures_seen = failures;
                r = -EIO;
        }
        pthread_mutex_unlock(&vol->lock);
        return r;
}

int exfat_fsync(struct exfat_volume *vol, uint64_t ino, bool datasync) {
        struct exfat_node *n;
        int r;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (!n) {
                pthread_mutex_unlock(&vol->lock);
                return -ENOENT;
        }
        r = node_commit(vol, n);
        if (r >= 0)
                r = vol_writeback_locked(vol);
        pthread_mutex_unlock(&vol->lock);
        if (r < 0)
                return r;
        r = dev_flush(vol);
        int q = fsync_report(vol, ino); /* counts this flush's failure too */
        return q < 0 ? q : r;
}
