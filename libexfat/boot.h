/* SPDX-License-Identifier: MIT */
/* Boot region (boot.c): load and validate, restore from backup, VolumeFlags/PercentInUse, checksum. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct exfat_volume;

/* boot.c */
int boot_load(struct exfat_volume *vol);
int boot_restore(struct exfat_volume *vol);
int boot_write_flags(struct exfat_volume *vol, uint16_t flags, uint8_t percent);
uint32_t boot_checksum(const uint8_t *region, uint32_t sector_size);
