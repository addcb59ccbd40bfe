/* SPDX-License-Identifier: MIT */
/* FAT entries (fat.c, under vol->mlock): get/set through the block cache. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct exfat_volume;

/* fat.c (mlock) */
int fat_get(struct exfat_volume *vol, uint32_t c, uint32_t *next);
int fat_set(struct exfat_volume *vol, uint32_t c, uint32_t next);
