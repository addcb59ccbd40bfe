/* SPDX-License-Identifier: MIT */
/* Creating and removing names: create, mkdir, unlink, rmdir. */
#include "vol.h"
#include "device.h"
#include "chain.h"
#include "timestamp.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "namei.h"

/* Fills the file and stream entries of a new set from a node's fields. */
static void fill_new_set(struct entry_set *es, const struct exfat_node *n) {
        struct exfat_entry_file *f = (struct exfat_entry_file *) &es->e[0];
        struct exfat_entry_stream *s = (struct exfat_entry_stream *) &es->e[1];
        uint32_t t;
        uint8_t cs, utc;

        f->attributes = htole16(n->attr);
        time_encode(&n->crtime, &t, &cs, &utc);
        f->create_time = htole32(t);
        f->create_10ms = cs;
        f->create_utc_offset = utc;
        time_encode(&n->mtime, &t, &cs, &utc);
        f->modify_time = htole32(t);
        f->modify_10ms = cs;
        f->modify_utc_offset = utc;
        time_encode(&n->atime, &t, &cs, &utc);
        f->access_time = htole32(t);
        f->access_utc_offset = utc;
        s->flags = SECONDARY_ALLOCATION_POSSIBLE | (n->size && n->contiguous ? SECONDARY_NO_FAT_CHAIN : 0);
        s->first_cluster = htole32(n->size ? n->first_cluster : 0);
        s->data_length = htole64(n->size);
        s->valid_data_length = htole64(n->valid_size);
        entry_set_seal(es);
}

static int do_create(struct exfat_volume *vol, uint64_t parent, const char *name, uint16_t attributes, bool is_dir,
                     struct exfat_stat *st) {
        struct exfat_node *dir, *n = NULL;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        struct timespec now;
        int r;

        r = parse_name(name, &nb);
        if (r < 0)
                return r;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &dir);
        if (r < 0)
                goto out;
        r = dir_find(vol, dir, nb.u, nb.len, &rec, &es);
        if (r >= 0)
                r = -EEXIST;
        if (r != -ENOENT)
                goto out;
        n = node_new(vol);
        if (!n) {
                r = -ENOMEM;
                goto out;
        }
        time_now_rounded(&now);
        n->is_dir = is_dir;
        n->attr = is_dir ? EXFAT_ATTR_DIRECTORY : (uint16_t) ((attributes & SETTABLE_ATTRS) | EXFAT_ATTR_ARCHIVE);
        n->mtime = n->crtime = now;
        n->atime = now;
        time_round(&n->atime, true);
        n->ext_valid = true;
        if (is_dir) {
                /* A directory starts with one zeroed cluster. */
                pthread_mutex_lock(&vol->mlock);
                r = chain_grow(vol, n, 1);
                if (r >= 0) {
                        /* Zeroed on the device before anything on disk can point at it. */
                        r = dev_zero(vol, cluster_offset(vol, n->first_cluster), vol->cluster_size);
                        if (r < 0)
                                (void) chain_shrink(vol, n, 0);
                }
                pthread_mutex_unlock(&vol->mlock);
                if (r < 0)
                        goto out;
                n->size = n->valid_size = vol->cluster_size;
        }
        r = entry_set_build(vol, &es, nb.u, nb.len, NULL);
        if (r < 0)
                goto undo;
        fill_new_set(&es, n);
        r = dir_insert(vol, dir, &es, &rec);
        if (r < 0)
                goto undo;
        n->parent = dir;
        n->slot = rec->slot;
        n->nslots = rec->nslots;
        n->rec = (uint32_t) (rec - dir->dir->recs);
        rec->node = n;
        dir->nchildren++;
        node_lru_update(vol, dir);
        n->nlookup = 1;
        node_lru_update(vol, n);
        if (st)
                node_stat(vol, n, st);
        touch_dir(vol, dir);
        r = vol_after_change(vol);
        n = NULL;
        goto out;
undo:
        if (n->nclusters) {
                pthread_mutex_lock(&vol->mlock);
                (void) chain_shrink(vol, n, 0);
                pthread_mutex_unlock(&vol->mlock);
        }
out:
        if (n)
                node_free(vol, n);
        node_trim(vol);
        pthread_mutex_unlock(&vol->lock);
        return r;
}

int exfat_create(struct exfat_volume *vol, uint64_t parent, const char *name, uint16_t attributes, struct exfat_stat *st) {
        return do_create(vol, parent, name, attributes, false, st);
}

int exfat_mkdir(struct exfat_volume *vol, uint64_t parent, const char *name, struct exfat_stat *st) {
        return do_create(vol, parent, name, 0, true, st);
}

/* unlink and rmdir: the same removal, told apart by the kind of node they accept. */
static int remove_name(struct exfat_volume *vol, uint64_t parent, const char *name, bool want_dir) {
        struct exfat_node *dir;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        int r;

        r = parse_existing_name(name, &nb);
        if (r < 0)
                return r;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &dir);
        if (r >= 0)
                r = dir_find(vol, dir, nb.u, nb.len, &rec, &es);
        if (r >= 0) {
                bool is_dir = le16toh(((struct exfat_entry_file *) &es.e[0])->attributes) & EXFAT_ATTR_DIRECTORY;
                if (is_dir != want_dir)
                        r = want_dir ? -ENOTDIR : -EISDIR;
        }
        if (r >= 0 && want_dir)
                r = check_empty_dir(vol, dir, rec, &es);
        if (r >= 0)
                r = remove_entry(vol, dir, rec, &es);
        if (r >= 0) {
                touch_dir(vol, dir);
                r = vol_after_change(vol);
        }
        pthread_mutex_unlock(&vol->lock);
        return r;
}

int exfat_unlink(struct exfat_volume *vol, uint64_t parent, const char *name) {
        return remove_name(vol, parent, name, false);
}

int exfat_rmdir(struct exfat_volume *vol, uint64_t parent, const char *name) {
        return remove_name(vol, parent, name, true);
}
