/* SPDX-License-Identifier: MIT */
/* Cluster chains (chain.c) as extent lists: load, map, grow, shrink, free, held frees. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct exfat_volume;
struct exfat_node;

/* ---- in-memory cluster map of a chain ---- */
struct extent {
        uint32_t fcl; /* first file cluster index of the run */
        uint32_t pcl; /* first device cluster */
        uint32_t len;
};

/* chain.c */
int chain_load(struct exfat_volume *vol, struct exfat_node *n);
int chain_map(const struct exfat_node *n, uint32_t fcl, uint32_t *pcl, uint32_t *run);
int chain_grow(struct exfat_volume *vol, struct exfat_node *n, uint32_t add); /* mlock */
int chain_shrink(struct exfat_volume *vol, struct exfat_node *n, uint32_t keep); /* mlock */
int chain_walk_free(struct exfat_volume *vol, uint32_t first, uint64_t size, bool contiguous); /* mlock */
void chain_release_held(struct exfat_volume *vol, struct exfat_node *n); /* takes mlock */
