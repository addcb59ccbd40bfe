/* SPDX-License-Identifier: MIT */
/* rename(2) semantics on exFAT: the entry set is rewritten under the new name (benign secondaries
 * travel with it) in the new place, then the old set is deleted, then a replaced target. */
#include "vol.h"
#include "cache.h"
#include "writeorder.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "namei.h"

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
        r = parse_existing_name(name, &on);
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
        /* Removals are written before insertions; a removal still pending from an earlier call could
         * sit in the block this insertion lands in, and the order would be lost: write it now. */
        pthread_mutex_lock(&vol->mlock);
        if (vol->cache.removal_blocks > 0)
                r = meta_flush(vol);
        pthread_mutex_unlock(&vol->mlock);
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
