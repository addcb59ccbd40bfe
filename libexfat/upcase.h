/* SPDX-License-Identifier: MIT */
/* Up-case table (upcase.c): load and checksum; upcase() maps one UTF-16 unit. */
#pragma once

#include "vol.h"

/* upcase.c */
int upcase_load(struct exfat_volume *vol, uint32_t first_cluster, uint64_t length, uint32_t checksum);
static inline uint16_t upcase(const struct exfat_volume *vol, uint16_t c) { return vol->upcase[c]; }
