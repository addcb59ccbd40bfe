/* SPDX-License-Identifier: MIT */
/* Readdir: cookies are slot positions in the directory, so a listing resumes exactly where it
 * stopped, whatever happened to the directory meanwhile. */
#include "vol.h"
#include "name.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"
#include "namei.h"

int exfat_readdir(struct exfat_volume *vol, uint64_t ino, uint64_t cookie, unsigned flags, exfat_readdir_fn cb,
                  void *ctx) {
        struct exfat_node *dir;
        char name[EXFAT_NAME_MAX_UTF8 + 1];
        struct dir_cursor cur = { 0 };
        uint32_t hint = 0; /* the record after the last one found */
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
                const struct exfat_entry_generic *e;
                struct entry_set es;
                struct dir_rec *rec;
                struct exfat_node *n;
                struct exfat_stat st;

                if (slot >= dir->dir->end)
                        break;
                r = dir_cursor_entry(vol, dir, &cur, (uint32_t) slot, &e);
                if (r < 0)
                        break;
                if (e->type == ENTRY_END)
                        break;
                if (e->type != ENTRY_FILE) {
                        slot++;
                        continue;
                }
                /* A set with a record was verified when scanned or written: its sums need no second
                 * look on every listing. */
                rec = dir_rec_by_slot(vol, dir, NULL, (uint32_t) slot, &hint);
                bool known = rec && rec->nslots == 1u + e->data[0];
                r = dir_cursor_set(vol, dir, &cur, (uint32_t) slot, known, &es);
                if (r < 0)
                        break;
                if (!known)
                        rec = dir_rec_by_slot(vol, dir, &es, (uint32_t) slot, &hint);
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
