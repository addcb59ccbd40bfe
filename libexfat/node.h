/* SPDX-License-Identifier: MIT */
/* Nodes (node.c): struct exfat_node, the node table and LRU, node from an entry set, stat,
 * commit, detach/destroy, memory accounting, get/put. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "exfat.h"
#include "list.h"

struct exfat_volume;
struct extent;
struct dir_index;
struct dir_rec;
struct entry_set;
struct pending_free;

struct exfat_node {
        uint64_t ino;
        struct exfat_node *hnext;
        struct list_node lru; /* in exfat_volume.node_lru while evictable */
        struct exfat_node *parent; /* holds parent->nchildren */
        uint32_t slot;             /* entry set position in parent */
        uint32_t rec;              /* index of its record in the parent's dir_index */
        uint8_t nslots;
        bool is_dir, unlinked, is_root;
        uint64_t nlookup;
        uint32_t nopen, busy, nchildren;
        uint32_t flush_failures_seen; /* vol->flush_failures when this node last reported them */

        pthread_rwlock_t io;
        pthread_mutex_t mtx;
        /* fields, under mtx (and under io for writers of size/clusters) */
        uint16_t attr;
        uint32_t first_cluster;
        bool contiguous;
        uint64_t size, valid_size;
        struct timespec atime, mtime, crtime;

        /* cluster map, under io (files) or vol->lock (directories) */
        struct extent *ext;
        uint32_t n_ext, cap_ext, nclusters;
        bool ext_valid;

        struct dir_index *dir; /* directories, under vol->lock */

        /* Clusters cut off by a truncation whose new size is not in the entry yet: they join the
         * volume's deferred frees only after node_commit() (under mlock). */
        bool hold_frees;
        struct pending_free *held;
        uint32_t nheld, capheld;
};

/* node.c */
int node_table_init(struct exfat_volume *vol);
void node_table_done(struct exfat_volume *vol);
struct exfat_node *node_new(struct exfat_volume *vol);
void node_free(struct exfat_volume *vol, struct exfat_node *n);
struct exfat_node *node_find(struct exfat_volume *vol, uint64_t ino);
int node_from_set(struct exfat_volume *vol, struct exfat_node *parent, struct dir_rec *rec,
                  const struct entry_set *es, struct exfat_node **ret);
void node_lru_update(struct exfat_volume *vol, struct exfat_node *n);
void node_trim(struct exfat_volume *vol);
void node_stat(struct exfat_volume *vol, struct exfat_node *n, struct exfat_stat *st);
int node_commit(struct exfat_volume *vol, struct exfat_node *n);
void node_detach(struct exfat_volume *vol, struct exfat_node *n);
int node_release_clusters(struct exfat_volume *vol, struct exfat_node *n);
void node_maybe_destroy(struct exfat_volume *vol, struct exfat_node *n);
void mem_account(struct exfat_volume *vol, ssize_t delta);
int node_get(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret); /* takes busy */
void node_put(struct exfat_volume *vol, struct exfat_node *n);
