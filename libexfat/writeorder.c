/* SPDX-License-Identifier: MIT */
/* The write-order policy: which metadata reaches the device first, so that a power cut at any
 * moment leaves a volume that at worst leaks clusters. The block cache (cache.c) only stores and
 * writes blocks; this unit orders the bitmap, the FAT and the directory blocks, and applies the
 * frees deferred until no entry on disk points at the clusters any more. */
#include "vol.h"
#include "bitmap.h"
#include "cache.h"
#include "writeorder.h"

int meta_flush(struct exfat_volume *vol) {
        int r;

        if (vol->read_only)
                return 0;
        /* The bitmap first: it only gains bits here (frees are deferred), so a crash right after
         * it leaks clusters at worst, while every FAT link written next is already covered. */
        r = bitmap_flush(vol);
        if (r < 0)
                return r;
        r = cache_flush_kind(vol, BLOCK_FAT);
        if (r < 0)
                return r;
        /* Directory entries only once the clusters they point at are recorded; removals first. */
        r = cache_flush_kind(vol, BLOCK_DIR_REMOVAL);
        if (r < 0)
                return r;
        r = cache_flush_kind(vol, BLOCK_DIR);
        if (r < 0)
                return r;
        if (vol->npending > 0) {
                /* Freed clusters become reusable only once no entry on disk points at them. */
                bitmap_apply_pending(vol);
                r = bitmap_flush(vol);
                if (r < 0)
                        return r;
        }
        return 0;
}
