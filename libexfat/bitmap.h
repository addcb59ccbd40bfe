/* SPDX-License-Identifier: MIT */
/* Allocation bitmap (bitmap.c, under vol->mlock): load, test/set, free-run search, dirty-chunk
 * write-back, deferred frees (struct pending_free). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct exfat_volume;

struct pending_free {
        uint32_t start, len;
};

/* bitmap.c (mlock) */
int bitmap_load(struct exfat_volume *vol, uint32_t first_cluster, uint64_t length);
void bitmap_done(struct exfat_volume *vol);
bool bitmap_test(const struct exfat_volume *vol, uint32_t c);
void bitmap_set_range(struct exfat_volume *vol, uint32_t c, uint32_t len, bool used);
uint32_t bitmap_free_run_at(struct exfat_volume *vol, uint32_t c, uint32_t max);
bool bitmap_find_run(struct exfat_volume *vol, uint32_t want, uint32_t *start, uint32_t *len);
int bitmap_flush(struct exfat_volume *vol);
int bitmap_defer_free(struct exfat_volume *vol, uint32_t c, uint32_t len);
void bitmap_apply_pending(struct exfat_volume *vol);
