/* SPDX-License-Identifier: MIT */
/* Write order (writeorder.c): meta_flush() writes the bitmap, the FAT, directory removals, the
 * other directory blocks, then the deferred frees; callers hold vol->mlock. */
#pragma once

struct exfat_volume;

int meta_flush(struct exfat_volume *vol); /* bitmap, FAT, directories, pending frees */
