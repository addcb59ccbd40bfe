/* SPDX-License-Identifier: MIT */
/* Namespace operations: lookup, create, mkdir, unlink, rmdir, rename, readdir, open/release,
 * getattr/setattr, fsync. All run under vol->lock. */
#include "internal.h"

#define SETTABLE_ATTRS (EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM | EXFAT_ATTR_ARCHIVE)

struct name_buf {
        uint16_t u[EXFAT_NAME_MAX];
        size_t len;
};

static int parse_name(const char *name, struct name_buf *nb) {
        int r;
        if (!name)
                return -EINVAL;
        r = utf8_to_utf16(name, nb->u, EXFAT_NAME_MAX, &nb->len);
        if (r < 0)
                return r;
        return name_validate(nb->u, nb->len);
}

static int get_dir(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret) {
        struct exfat_node *n = node_find(vol, ino);
        if (!n || n->unlinked)
                return -ENOENT;
        if (!n->is_dir)
                return -ENOTDIR;
        *ret = n;
        return 0;
}

static void touch_dir(struct exfat_volume *vol, struct exfat_node *dir) {
        if (dir->is_root)
                return;
        pthread_mutex_lock(&dir->mtx);
        time_now_rounded(&dir->mtime);
        pthread_mutex_unlock(&dir->mtx);
        (void) node_commit(vol, dir);
}

int exfat_lookup(struct exfat_volume *vol, uint64_t parent, const char *name, struct exfat_stat *st) {
        struct exfat_node *dir, *n;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        int r;

        r = parse_name(name, &nb);
        if (r == -EINVAL)
                r = -ENOENT; /* such a name cannot exist */
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
        if (r >= 0 && sa->valid)
                r = vol_after_change(vol);
        pthread_mutex_unlock(&vol->lock);
out:
        if (r >= 0 && st)
                node_stat(vol, n, st);
        node_put(vol, n);
        return r;
}

/* Fills the file and stream entries of a new set from a node's fields. */
static void fill_new_set(struct exfat_volume *vol, struct entry_set *es, const struct exfat_node *n) {
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
        (void) vol;
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
                        r = cache_zero(vol, BLOCK_DIR, cluster_offset(vol, n->first_cluster), vol->cluster_size);
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
        fill_new_set(vol, &es, n);
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

/* Frees clusters owned by benign vendor allocation entries of a set. mlock held. */
static int free_vendor_clusters(struct exfat_volume *vol, const struct entry_set *es) {
        unsigned first = 2 + (es->name_len + ENTRY_NAME_UNITS - 1) / ENTRY_NAME_UNITS;
        for (unsigned i = first; i < es->count; i++) {
                const struct exfat_entry_alloc *a = (const struct exfat_entry_alloc *) &es->e[i];
                if (a->type != ENTRY_VENDOR_ALLOC || !(a->flags & SECONDARY_ALLOCATION_POSSIBLE))
                        continue;
                int r = chain_walk_free(vol, le32toh(a->first_cluster), le64toh(a->data_length),
                                        (a->flags & SECONDARY_NO_FAT_CHAIN) != 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Removes the entry set `rec` (already read into es) from dir and disposes of its node. */
static int remove_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec,
                        const struct entry_set *es) {
        struct exfat_node *n = rec->node;
        int r;

        r = dir_remove(vol, dir, rec);
        if (r < 0)
                return r;
        pthread_mutex_lock(&vol->mlock);
        r = free_vendor_clusters(vol, es);
        pthread_mutex_unlock(&vol->mlock);
        if (r < 0)
                vol_warn(vol, "could not free a vendor allocation entry's clusters");
        if (n) {
                node_detach(vol, n);
                n->unlinked = true;
                dir_index_free(vol, n);
                if (n->nopen == 0 && n->busy == 0)
                        r = node_release_clusters(vol, n);
                else
                        r = 0;
                node_maybe_destroy(vol, n);
        } else {
                const struct exfat_entry_stream *s = (const struct exfat_entry_stream *) &es->e[1];
                uint64_t size = le64toh(s->data_length);
                pthread_mutex_lock(&vol->mlock);
                r = chain_walk_free(vol, le32toh(s->first_cluster), size, (s->flags & SECONDARY_NO_FAT_CHAIN) != 0);
                pthread_mutex_unlock(&vol->mlock);
        }
        return r;
}

int exfat_unlink(struct exfat_volume *vol, uint64_t parent, const char *name) {
        struct exfat_node *dir;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        int r;

        r = parse_name(name, &nb);
        if (r == -EINVAL)
                r = -ENOENT;
        if (r < 0)
                return r;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &dir);
        if (r >= 0)
                r = dir_find(vol, dir, nb.u, nb.len, &rec, &es);
        if (r >= 0 && (le16toh(((struct exfat_entry_file *) &es.e[0])->attributes) & EXFAT_ATTR_DIRECTORY))
                r = -EISDIR;
        if (r >= 0)
                r = remove_entry(vol, dir, rec, &es);
        if (r >= 0) {
                touch_dir(vol, dir);
                r = vol_after_change(vol);
        }
        pthread_mutex_unlock(&vol->lock);
        return r;
}

/* Gets the node of a directory entry (creating it if needed) and checks that it is empty. */
static int check_empty_dir(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec,
                           const struct entry_set *es) {
        struct exfat_node *n;
        int r;

        r = node_from_set(vol, dir, rec, es, &n);
        if (r < 0)
                return r;
        n->busy++;
        r = dir_load(vol, n);
        if (r >= 0 && n->dir->used > 0)
                r = -ENOTEMPTY;
        n->busy--;
        return r;
}

int exfat_rmdir(struct exfat_volume *vol, uint64_t parent, const char *name) {
        struct exfat_node *dir;
        struct dir_rec *rec;
        struct entry_set es;
        struct name_buf nb;
        int r;

        r = parse_name(name, &nb);
        if (r == -EINVAL)
                r = -ENOENT;
        if (r < 0)
                return r;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &dir);
        if (r >= 0)
                r = dir_find(vol, dir, nb.u, nb.len, &rec, &es);
        if (r >= 0 && !(le16toh(((struct exfat_entry_file *) &es.e[0])->attributes) & EXFAT_ATTR_DIRECTORY))
                r = -ENOTDIR;
        if (r >= 0)
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

int exfat_rename(struct exfat_volume *vol, uint64_t parent, const char *name, uint64_t newparent,
                 const char *newname, unsigned flags) {
        struct exfat_node *od, *nd, *n;
        struct dir_rec *srec, *drec = NULL, *nrec;
        struct entry_set ses, des, nes;
        struct name_buf on, nn;
        uint32_t srec_i, drec_i = 0;
        bool replace = false;
        int r;

        if (flags & ~EXFAT_RENAME_NOREPLACE)
                return -EINVAL;
        r = parse_name(name, &on);
        if (r == -EINVAL)
                r = -ENOENT;
        if (r < 0)
                return r;
        r = parse_name(newname, &nn);
        if (r < 0)
                return r;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, parent, &od);
        if (r < 0)
                goto out;
        r = get_dir(vol, newparent, &nd);
        if (r < 0)
                goto out;
        r = dir_find(vol, od, on.u, on.len, &srec, &ses);
        if (r < 0)
                goto out;
        r = node_from_set(vol, od, srec, &ses, &n);
        if (r < 0)
                goto out;
        n->busy++;
        if (n->is_dir)
                for (struct exfat_node *p = nd; p; p = p->parent)
                        if (p == n) {
                                r = -EINVAL;
                                goto out_busy;
                        }
        r = dir_load(vol, nd);
        if (r < 0)
                goto out_busy;
        r = dir_find(vol, nd, nn.u, nn.len, &drec, &des);
        if (r == -ENOENT) {
                drec = NULL;
                r = 0;
        }
        if (r < 0)
                goto out_busy;
        if (drec && drec->node == n) {
                /* The same entry under another spelling: rewrite its name, unless it is identical. */
                if (ses.name_len == nn.len && memcmp(ses.name, nn.u, nn.len * 2) == 0)
                        goto out_busy;
                drec = NULL;
        }
        if (drec) {
                bool dst_dir = (le16toh(((struct exfat_entry_file *) &des.e[0])->attributes) & EXFAT_ATTR_DIRECTORY) != 0;
                if (flags & EXFAT_RENAME_NOREPLACE) {
                        r = -EEXIST;
                        goto out_busy;
                }
                if (n->is_dir && !dst_dir) {
                        r = -ENOTDIR;
                        goto out_busy;
                }
                if (!n->is_dir && dst_dir) {
                        r = -EISDIR;
                        goto out_busy;
                }
                if (dst_dir) {
                        r = check_empty_dir(vol, nd, drec, &des);
                        if (r < 0)
                                goto out_busy;
                }
                replace = true;
                drec_i = (uint32_t) (drec - nd->dir->recs);
        }
        /* The set carries the node's current fields and its benign secondaries to the new place. */
        r = node_commit(vol, n);
        if (r >= 0)
                r = dir_read_set(vol, od, n->slot, &ses);
        if (r >= 0)
                r = entry_set_build(vol, &nes, nn.u, nn.len, &ses);
        if (r < 0)
                goto out_busy;
        srec_i = n->rec;
        r = dir_insert(vol, nd, &nes, &nrec);
        if (r < 0)
                goto out_busy;
        r = dir_remove(vol, od, &od->dir->recs[srec_i]);
        if (r < 0) {
                /* Roll back the insert so that the name is not there twice. */
                (void) dir_remove(vol, nd, nrec);
                goto out_busy;
        }
        if (od != nd) {
                od->nchildren--;
                nd->nchildren++;
                n->parent = nd;
                node_lru_update(vol, od);
                node_lru_update(vol, nd);
        }
        n->slot = nrec->slot;
        n->nslots = nrec->nslots;
        n->rec = (uint32_t) (nrec - nd->dir->recs);
        nrec->node = n;
        if (replace) {
                struct dir_rec *d = &nd->dir->recs[drec_i];
                r = remove_entry(vol, nd, d, &des);
        }
        touch_dir(vol, od);
        if (nd != od)
                touch_dir(vol, nd);
        if (r >= 0)
                r = vol_after_change(vol);
out_busy:
        n->busy--;
        node_lru_update(vol, n);
out:
        node_trim(vol);
        pthread_mutex_unlock(&vol->lock);
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
                r = vol_sync_locked(vol);
        pthread_mutex_unlock(&vol->lock);
        return r;
}

int exfat_readdir(struct exfat_volume *vol, uint64_t ino, uint64_t cookie, unsigned flags, exfat_readdir_fn cb,
                  void *ctx) {
        struct exfat_node *dir;
        char name[EXFAT_NAME_MAX_UTF8 + 1];
        int r;

        if (!cb)
                return -EINVAL;
        pthread_mutex_lock(&vol->lock);
        r = get_dir(vol, ino, &dir);
        if (r >= 0)
                r = dir_load(vol, dir);
        if (r < 0)
                goto out;
        dir->busy++;
        for (uint64_t slot = cookie; slot < dir->dir->nslots;) {
                struct exfat_entry_generic e;
                struct entry_set es;
                struct dir_rec *rec;
                struct exfat_node *n;
                struct exfat_stat st;

                if (slot >= dir->dir->end)
                        break;
                r = dir_read_slots(vol, dir, (uint32_t) slot, &e, 1);
                if (r < 0)
                        break;
                if (e.type == ENTRY_END)
                        break;
                if (e.type != ENTRY_FILE) {
                        slot++;
                        continue;
                }
                r = dir_read_set(vol, dir, (uint32_t) slot, &es);
                if (r < 0)
                        break;
                rec = dir_rec_by_slot(vol, dir, &es, (uint32_t) slot);
                if (!rec) {
                        slot++;
                        continue;
                }
                r = node_from_set(vol, dir, rec, &es, &n);
                if (r < 0)
                        break;
                node_stat(vol, n, &st);
                if (utf16_to_utf8(es.name, es.name_len, name, sizeof(name)) < 0) {
                        slot += es.count;
                        continue;
                }
                r = cb(ctx, name, &st, slot + es.count);
                if (r != 0) {
                        r = 0;
                        break;
                }
                if (flags & EXFAT_READDIR_PLUS) {
                        n->nlookup++;
                        node_lru_update(vol, n);
                }
                slot += es.count;
        }
        dir->busy--;
        node_lru_update(vol, dir);
out:
        node_trim(vol);
        pthread_mutex_unlock(&vol->lock);
        return r;
}
