/* SPDX-License-Identifier: MIT */
/* Background write-back thread (writeback.c): start and stop. */
#pragma once


struct exfat_volume;

/* writeback.c */
int writeback_start(struct exfat_volume *vol);
void writeback_stop(struct exfat_volume *vol);
