/* SPDX-License-Identifier: MIT */
#include "vol.h"
#include "device.h"
#include "cache.h"
#include "fat.h"

int fat_get(struct exfat_volume *vol, uint32_t c, uint32_t *next) {
        uint32_t v;
        int r;

        if (!cluster_valid(vol, c))
                return -EIO;
        r = cache_read(vol, BLOCK_FAT, vol->fat_offset + (uint64_t) c * 4, &v, 4);
        if (r < 0)
                return r;
        *next = le32toh(v);
        return 0;
}

int fat_set(struct exfat_volume *vol, uint32_t c, uint32_t next) {
        uint32_t v = htole32(next);

        if (!cluster_valid(vol, c))
                return -EIO;
        return cache_write(vol, BLOCK_FAT, vol->fat_offset + (uint64_t) c * 4, &v, 4);
}
