/* SPDX-License-Identifier: MIT */
/* File data (file.c): file_truncate() for callers outside file.c. */
#pragma once

#include <stdint.h>

struct exfat_volume;
struct exfat_node;

/* file.c */
int file_truncate(struct exfat_volume *vol, struct exfat_node *n, uint64_t size);
