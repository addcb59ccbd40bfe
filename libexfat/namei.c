/* SPDX-License-Identifier: MIT */
/* Helpers shared by the namespace operations: name parsing, directory resolution, removing an
 * entry with everything it owns. All run under vol->lock. */
#include "vol.h"
#include "vlog.h"
#include "chain.h"
#include "name.h"
#include "timestamp.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "namei.h"

int parse_name(const char *name, struct name_buf *nb) {
        int r;
        if (!name)
                return -EINVAL;
        r = utf8_to_utf16(name, nb->u, EXFAT_NAME_MAX, &nb->len);
        if (r < 0)
                return r;
        return name_validate(nb->u, nb->len);
}

int parse_existing_name(const char *name, struct name_buf *nb) {
        int r;
        if (!name)
                return -EINVAL;
        r = utf8_to_utf16(name, nb->u, EXFAT_NAME_MAX, &nb->len);
        if (r >= 0)
                r = name_validate_stored(nb->u, nb->len);
        return r == -EINVAL ? -ENOENT : r; /* such a name cannot exist */
}

int get_dir(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret) {
        struct exfat_node *n = node_find(vol, ino);
        if (!n || n->unlinked)
                return -ENOENT;
        if (!n->is_dir)
                return -ENOTDIR;
        *ret = n;
        return 0;
}

void touch_dir(struct exfat_volume *vol, struct exfat_node *dir) {
        if (dir->is_root)
                return;
        pthread_mutex_lock(&dir->mtx);
        time_now_rounded(&dir->mtime);
        pthread_mutex_unlock(&dir->mtx);
        (void) node_commit(vol, dir);
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
int remove_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec,
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

/* Gets the node of a directory entry (creating it if needed) and checks that it is empty. */
int check_empty_dir(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec,
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
