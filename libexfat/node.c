/* SPDX-License-Identifier: MIT */
/* In-memory nodes. Inode numbers come from a counter; a hash table maps them to nodes. A node
 * with no lookup references, not open, not in use and without cached children sits on an LRU list
 * and is evicted (with its directory index) when the cache budget is exceeded. */
#include "vol.h"
#include "chain.h"
#include "timestamp.h"
#include "entryset.h"
#include "dir.h"
#include "node.h"

/* Cluster maps change under node->io, everything else under vol->lock: hence atomic. */
void mem_account(struct exfat_volume *vol, ssize_t delta) {
        __atomic_add_fetch(&vol->mem, (size_t) delta, __ATOMIC_RELAXED);
}

static size_t ino_bucket(const struct exfat_volume *vol, uint64_t ino) {
        return (size_t) ((ino * 0x9E3779B97F4A7C15ull) >> 20) & (vol->nnode_buckets - 1);
}

int node_table_init(struct exfat_volume *vol) {
        vol->nnode_buckets = 1024;
        vol->nodes = calloc(vol->nnode_buckets, sizeof(*vol->nodes));
        if (!vol->nodes)
                return -ENOMEM;
        vol->next_ino = EXFAT_ROOT_INO;
        return 0;
}

static void table_insert(struct exfat_volume *vol, struct exfat_node *n) {
        size_t b = ino_bucket(vol, n->ino);
        n->hnext = vol->nodes[b];
        vol->nodes[b] = n;
        vol->nnodes++;
}

static void table_grow(struct exfat_volume *vol) {
        size_t old = vol->nnode_buckets;
        struct exfat_node **ob = vol->nodes, **nb = calloc(old * 2, sizeof(*nb));
        if (!nb)
                return; /* keep the smaller table: slower, still correct */
        vol->nodes = nb;
        vol->nnode_buckets = old * 2;
        vol->nnodes = 0;
        for (size_t i = 0; i < old; i++)
                for (struct exfat_node *n = ob[i], *next; n; n = next) {
                        next = n->hnext;
                        table_insert(vol, n);
                }
        mem_account(vol, (ssize_t) (old * sizeof(*nb)));
        free(ob);
}

struct exfat_node *node_find(struct exfat_volume *vol, uint64_t ino) {
        for (struct exfat_node *n = vol->nodes[ino_bucket(vol, ino)]; n; n = n->hnext)
                if (n->ino == ino)
                        return n;
        return NULL;
}

struct exfat_node *node_new(struct exfat_volume *vol) {
        struct exfat_node *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        pthread_rwlock_init(&n->io, NULL);
        pthread_mutex_init(&n->mtx, NULL);
        n->ino = vol->next_ino++;
        /* Like a file opened after a write-back error: earlier failures are not this node's. */
        n->flush_failures_seen = __atomic_load_n(&vol->flush_failures, __ATOMIC_RELAXED);
        if (vol->nnodes >= vol->nnode_buckets)
                table_grow(vol);
        table_insert(vol, n);
        mem_account(vol, sizeof(*n));
        return n;
}

void node_free(struct exfat_volume *vol, struct exfat_node *n) {
        struct exfat_node **pp = &vol->nodes[ino_bucket(vol, n->ino)];
        while (*pp && *pp != n)
                pp = &(*pp)->hnext;
        if (*pp) {
                *pp = n->hnext;
                vol->nnodes--;
        }
        list_remove(&n->lru);
        dir_index_free(vol, n);
        mem_account(vol, -(ssize_t) (sizeof(*n) + n->cap_ext * sizeof(struct extent)));
        free(n->ext);
        if (n->nheld)
                chain_release_held(vol, n);
        pthread_rwlock_destroy(&n->io);
        pthread_mutex_destroy(&n->mtx);
        free(n);
}

void node_table_done(struct exfat_volume *vol) {
        for (size_t i = 0; i < vol->nnode_buckets; i++)
                while (vol->nodes[i])
                        node_free(vol, vol->nodes[i]);
        free(vol->nodes);
        vol->nodes = NULL;
}

static bool evictable(const struct exfat_node *n) {
        return !n->is_root && !n->unlinked && n->nlookup == 0 && n->nopen == 0 && n->busy == 0 && n->nchildren == 0;
}

void node_lru_update(struct exfat_volume *vol, struct exfat_node *n) {
        if (evictable(n))
                list_move_front(&vol->node_lru, &n->lru);
        else
                list_remove(&n->lru);
}

/* Detaches n from its parent's record and its parent's child count. */
void node_detach(struct exfat_volume *vol, struct exfat_node *n) {
        struct exfat_node *p = n->parent;
        if (!p)
                return;
        if (p->dir && n->rec < p->dir->nrecs && p->dir->recs[n->rec].node == n)
                p->dir->recs[n->rec].node = NULL;
        n->parent = NULL;
        p->nchildren--;
        node_lru_update(vol, p);
}

void node_trim(struct exfat_volume *vol) {
        struct exfat_node *n;

        /* Not a list walk: detaching a node can move its parent in the list. */
        while (__atomic_load_n(&vol->mem, __ATOMIC_RELAXED) > vol->budget &&
               (n = list_last(&vol->node_lru, struct exfat_node, lru))) {
                node_detach(vol, n);
                node_free(vol, n);
        }
        dir_index_trim(vol);
}

int node_from_set(struct exfat_volume *vol, struct exfat_node *parent, struct dir_rec *rec,
                  const struct entry_set *es, struct exfat_node **ret) {
        const struct exfat_entry_file *f = (const struct exfat_entry_file *) &es->e[0];
        const struct exfat_entry_stream *s = (const struct exfat_entry_stream *) &es->e[1];
        struct exfat_node *n;

        if (rec->node) {
                *ret = rec->node;
                return 0;
        }
        n = node_new(vol);
        if (!n)
                return -ENOMEM;
        n->attr = le16toh(f->attributes);
        n->is_dir = (n->attr & EXFAT_ATTR_DIRECTORY) != 0;
        n->size = le64toh(s->data_length);
        n->valid_size = le64toh(s->valid_data_length);
        n->first_cluster = n->size ? le32toh(s->first_cluster) : 0;
        n->contiguous = n->size && (s->flags & SECONDARY_NO_FAT_CHAIN);
        time_decode(le32toh(f->create_time), f->create_10ms, f->create_utc_offset, &n->crtime);
        time_decode(le32toh(f->modify_time), f->modify_10ms, f->modify_utc_offset, &n->mtime);
        time_decode(le32toh(f->access_time), 0, f->access_utc_offset, &n->atime);
        n->parent = parent;
        n->slot = rec->slot;
        n->nslots = rec->nslots;
        n->rec = (uint32_t) (rec - parent->dir->recs);
        parent->nchildren++;
        node_lru_update(vol, parent);
        rec->node = n;
        node_lru_update(vol, n);
        *ret = n;
        return 0;
}

void node_stat(struct exfat_volume *vol, struct exfat_node *n, struct exfat_stat *st) {
        pthread_mutex_lock(&n->mtx);
        st->ino = n->ino;
        st->attributes = n->is_root ? EXFAT_ATTR_DIRECTORY : n->attr;
        st->size = n->size;
        st->valid_size = n->valid_size;
        st->allocated = div_round_up(n->size, vol->cluster_size) << vol->cluster_shift;
        st->nlink = 1;
        st->atime = n->atime;
        st->mtime = n->mtime;
        st->crtime = n->crtime;
        pthread_mutex_unlock(&n->mtx);
}

/* Writes the node's fields into its entry set (in the cache). vol->lock held. */
int node_commit(struct exfat_volume *vol, struct exfat_node *n) {
        struct entry_set es;
        struct exfat_entry_file *f = (struct exfat_entry_file *) &es.e[0];
        struct exfat_entry_stream *s = (struct exfat_entry_stream *) &es.e[1];
        struct exfat_node copy;
        int r;

        if (n->is_root || n->unlinked || !n->parent || vol->read_only)
                return 0;
        pthread_mutex_lock(&n->mtx);
        copy.attr = n->attr;
        copy.first_cluster = n->first_cluster;
        copy.contiguous = n->contiguous;
        copy.size = n->size;
        copy.valid_size = n->valid_size;
        copy.atime = n->atime;
        copy.mtime = n->mtime;
        copy.crtime = n->crtime;
        pthread_mutex_unlock(&n->mtx);

        r = dir_read_set(vol, n->parent, n->slot, &es);
        if (r < 0)
                return r;
        f->attributes = htole16(copy.attr);
        {
                uint32_t ct, mt, at;
                uint8_t c10, m10, a10, cu, mu, au;
                time_encode(&copy.crtime, &ct, &c10, &cu);
                time_encode(&copy.mtime, &mt, &m10, &mu);
                time_encode(&copy.atime, &at, &a10, &au);
                (void) a10; /* last access has no 10 ms field: 2 s granularity */
                f->create_time = htole32(ct);
                f->modify_time = htole32(mt);
                f->access_time = htole32(at);
                f->create_10ms = c10;
                f->modify_10ms = m10;
                f->create_utc_offset = cu;
                f->modify_utc_offset = mu;
                f->access_utc_offset = au;
        }
        s->flags = SECONDARY_ALLOCATION_POSSIBLE | (copy.size && copy.contiguous ? SECONDARY_NO_FAT_CHAIN : 0);
        s->first_cluster = htole32(copy.size ? copy.first_cluster : 0);
        s->data_length = htole64(copy.size);
        s->valid_data_length = htole64(copy.valid_size);
        entry_set_seal(&es);
        return dir_write_set(vol, n->parent, n->slot, &es);
}

/* Frees the node's clusters (deferred until its entry's deletion is on disk). vol->lock held. */
int node_release_clusters(struct exfat_volume *vol, struct exfat_node *n) {
        int r;

        pthread_rwlock_wrlock(&n->io);
        r = chain_load(vol, n);
        if (r >= 0) {
                pthread_mutex_lock(&vol->mlock);
                r = chain_shrink(vol, n, 0);
                pthread_mutex_unlock(&vol->mlock);
        }
        if (r >= 0) {
                pthread_mutex_lock(&n->mtx);
                n->size = n->valid_size = 0;
                pthread_mutex_unlock(&n->mtx);
        }
        pthread_rwlock_unlock(&n->io);
        return r;
}

void node_maybe_destroy(struct exfat_volume *vol, struct exfat_node *n) {
        if (n->unlinked && n->nlookup == 0 && n->nopen == 0 && n->busy == 0) {
                if (n->nclusters || n->size)
                        (void) node_release_clusters(vol, n);
                node_free(vol, n);
                return;
        }
        node_lru_update(vol, n);
}

int node_get(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret) {
        struct exfat_node *n;

        pthread_mutex_lock(&vol->lock);
        n = node_find(vol, ino);
        if (n) {
                n->busy++;
                node_lru_update(vol, n);
        }
        pthread_mutex_unlock(&vol->lock);
        if (!n)
                return -ENOENT;
        *ret = n;
        return 0;
}

void node_put(struct exfat_volume *vol, struct exfat_node *n) {
        pthread_mutex_lock(&vol->lock);
        n->busy--;
        node_maybe_destroy(vol, n);
        pthread_mutex_unlock(&vol->lock);
}
