/* SPDX-License-Identifier: MIT */
#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "boot.h"

uint32_t boot_checksum(const uint8_t *region, uint32_t sector_size) {
        uint32_t sum = 0;

        for (uint32_t i = 0; i < 11 * sector_size; i++) {
                /* VolumeFlags and PercentInUse change without re-checksumming. */
                if (i == 106 || i == 107 || i == 112)
                        continue;
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + region[i];
        }
        return sum;
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* Checks one boot region (12 sectors at region_sector). Returns 0, -EINVAL (not exFAT) or -EIO. */
static int check_region(struct exfat_volume *vol, uint64_t region_index, uint8_t **ret, unsigned *ret_shift,
                        const char **why) {
        struct exfat_boot_sector bs;
        unsigned shift;
        uint32_t ssz, sum;
        _cleanup_free_ uint8_t *buf = NULL;
        int r;

        r = dev_read(vol, &bs, sizeof(bs), 0);
        if (r < 0)
                return r;
        if (region_index == 0) {
                if (memcmp(bs.fs_name, "EXFAT   ", 8) != 0) {
                        *why = "no exFAT signature";
                        return -EINVAL;
                }
                shift = bs.bytes_per_sector_shift;
        } else {
                /* The main sector 0 may be garbage: try each legal sector size for the backup. */
                shift = *ret_shift;
        }
        if (shift < 9 || shift > 12) {
                *why = "bad BytesPerSectorShift";
                return -EIO;
        }
        ssz = 1u << shift;
        if ((uint64_t) 24 * ssz > vol->dev->size) {
                *why = "device too small";
                return -EINVAL;
        }
        buf = malloc((size_t) BOOT_REGION_SECTORS * ssz);
        if (!buf)
                return -ENOMEM;
        r = dev_read(vol, buf, (size_t) BOOT_REGION_SECTORS * ssz, region_index * BOOT_REGION_SECTORS * ssz);
        if (r < 0)
                return r;
        memcpy(&bs, buf, sizeof(bs));
        if (memcmp(bs.fs_name, "EXFAT   ", 8) != 0) {
                *why = "no exFAT signature";
                return -EINVAL;
        }
        if (!all_zero(bs.must_be_zero, sizeof(bs.must_be_zero)) || le16toh(bs.boot_signature) != BOOT_SIGNATURE ||
            bs.bytes_per_sector_shift != shift) {
                *why = "malformed boot sector";
                return -EIO;
        }
        for (unsigned s = 1; s <= 8; s++) {
                const uint8_t *p = buf + (size_t) s * ssz + ssz - 4;
                if (p[0] != 0 || p[1] != 0 || p[2] != 0x55 || p[3] != 0xAA) {
                        *why = "bad extended boot signature";
                        return -EIO;
                }
        }
        sum = boot_checksum(buf, ssz);
        for (uint32_t i = 0; i < ssz / 4; i++) {
                uint32_t v;
                memcpy(&v, buf + 11 * (size_t) ssz + i * 4, 4);
                if (le32toh(v) != sum) {
                        *why = "boot checksum mismatch";
                        return -EIO;
                }
        }
        *ret = buf;
        buf = NULL;
        *ret_shift = shift;
        return 0;
}

static int parse_geometry(struct exfat_volume *vol, const uint8_t *region) {
        struct exfat_boot_sector bs;
        uint64_t vol_sectors, fat_off, fat_len, heap_off, need;
        uint32_t cc;

        memcpy(&bs, region, sizeof(bs));
        vol->sector_shift = bs.bytes_per_sector_shift;
        vol->sector_size = 1u << vol->sector_shift;
        if (bs.sectors_per_cluster_shift > 25 - vol->sector_shift) {
                vol_err(vol, "cluster size 2^%u sectors too large", bs.sectors_per_cluster_shift);
                return -EIO;
        }
        vol->cluster_shift = vol->sector_shift + bs.sectors_per_cluster_shift;
        vol->cluster_size = 1u << vol->cluster_shift;
        if (bs.number_of_fats != 1 && bs.number_of_fats != 2) {
                vol_err(vol, "NumberOfFats %u invalid", bs.number_of_fats);
                return -EIO;
        }
        vol_sectors = le64toh(bs.volume_length);
        fat_off = le32toh(bs.fat_offset);
        fat_len = le32toh(bs.fat_length);
        heap_off = le32toh(bs.cluster_heap_offset);
        cc = le32toh(bs.cluster_count);
        if (vol_sectors >> (64 - vol->sector_shift)) {
                vol_err(vol, "VolumeLength out of range");
                return -EIO;
        }
        if (fat_off < 24 || fat_len == 0 || cc == 0 || cc > EXFAT_MAX_CLUSTER_COUNT ||
            heap_off < fat_off + fat_len * bs.number_of_fats || heap_off > vol_sectors ||
            ((uint64_t) cc << bs.sectors_per_cluster_shift) > vol_sectors - heap_off) {
                vol_err(vol, "inconsistent volume geometry (FAT %llu+%llu, heap %llu, %u clusters, %llu sectors)",
                        (unsigned long long) fat_off, (unsigned long long) fat_len, (unsigned long long) heap_off,
                        cc, (unsigned long long) vol_sectors);
                return -EIO;
        }
        need = ((uint64_t) cc + 2) * 4;
        if ((fat_len << vol->sector_shift) < need) {
                vol_err(vol, "FAT too small for %u clusters", cc);
                return -EIO;
        }
        vol->volume_length = vol_sectors << vol->sector_shift;
        if (vol->volume_length > vol->dev->size) {
                /* Only the part the clusters use has to exist. */
                uint64_t used = (heap_off << vol->sector_shift) + ((uint64_t) cc << vol->cluster_shift);
                if (used > vol->dev->size) {
                        vol_err(vol, "device (%llu bytes) smaller than the volume (%llu bytes)",
                                (unsigned long long) vol->dev->size, (unsigned long long) vol->volume_length);
                        return -EIO;
                }
        }
        vol->fat_offset = fat_off << vol->sector_shift;
        /* FAT blocks end on a sector boundary, within the FAT region. */
        vol->fat_bytes = (need + vol->sector_size - 1) & ~(uint64_t) (vol->sector_size - 1);
        vol->heap_offset = heap_off << vol->sector_shift;
        vol->cluster_count = cc;
        vol->root_cluster = le32toh(bs.first_cluster_of_root);
        if (!cluster_valid(vol, vol->root_cluster)) {
                vol_err(vol, "root directory cluster %u out of range", vol->root_cluster);
                return -EIO;
        }
        vol->serial = le32toh(bs.volume_serial);
        vol->fs_revision = le16toh(bs.fs_revision);
        if ((vol->fs_revision >> 8) != 1) {
                vol_err(vol, "unsupported exFAT revision %u.%u", vol->fs_revision >> 8, vol->fs_revision & 0xff);
                return -EINVAL;
        }
        vol->volume_flags = le16toh(bs.volume_flags);
        vol->percent_in_use = bs.percent_in_use;
        vol->was_dirty = (vol->volume_flags & VOLUME_FLAG_DIRTY) != 0;
        vol->media_failure = (vol->volume_flags & VOLUME_FLAG_MEDIA_FAILURE) != 0;
        if (bs.number_of_fats == 2 && (vol->volume_flags & VOLUME_FLAG_ACTIVE_FAT)) {
                /* TexFAT's second FAT is out of scope. */
                vol_err(vol, "second FAT active (TexFAT) not supported");
                return -EINVAL;
        }
        vol->two_fats = bs.number_of_fats == 2;
        return 0;
}

int boot_load(struct exfat_volume *vol) {
        _cleanup_free_ uint8_t *region = NULL;
        const char *why = "unknown", *why_backup = "unknown";
        unsigned shift = 0;
        bool from_backup = false;
        int r;

        if (vol->dev->size < 24 * 512) {
                vol_err(vol, "device too small for exFAT");
                return -EINVAL;
        }
        r = check_region(vol, 0, &region, &shift, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                int rb = -EIO;
                for (shift = 9; shift <= 12 && rb < 0; shift++) {
                        unsigned s = shift;
                        rb = check_region(vol, 1, &region, &s, &why_backup);
                        if (rb == 0)
                                shift = s;
                        if (rb == -ENOMEM)
                                return rb;
                }
                if (rb < 0) {
                        if (r == -EINVAL)
                                vol_err(vol, "not an exFAT volume: %s", why);
                        else
                                vol_err(vol, "main boot region damaged (%s), backup unusable (%s)", why, why_backup);
                        return r;
                }
                vol_warn(vol, "main boot region damaged (%s); using the backup boot region", why);
                from_backup = true;
        }
        r = parse_geometry(vol, region);
        if (r < 0)
                return r;
        vol->boot0 = malloc(vol->sector_size);
        if (!vol->boot0)
                return -ENOMEM;
        memcpy(vol->boot0, region, vol->sector_size);
        if (from_backup) {
                /* Restored over the main region by boot_restore() once the mount is known to be
                 * read-write. */
                vol->boot_backup = region;
                region = NULL;
        }
        return 0;
}

int boot_restore(struct exfat_volume *vol) {
        int r;

        if (!vol->boot_backup || vol->read_only)
                return 0;
        r = dev_write(vol, vol->boot_backup, (size_t) BOOT_REGION_SECTORS * vol->sector_size, 0);
        if (r < 0)
                return r;
        vol_warn(vol, "main boot region restored from the backup");
        free(vol->boot_backup);
        vol->boot_backup = NULL;
        return 0;
}

int boot_write_flags(struct exfat_volume *vol, uint16_t flags, uint8_t percent) {
        uint16_t le = htole16(flags);
        int r;

        if (vol->read_only)
                return 0;
        memcpy(vol->boot0 + BOOT_OFF_VOLUME_FLAGS, &le, 2);
        vol->boot0[BOOT_OFF_PERCENT_IN_USE] = percent;
        r = dev_write(vol, vol->boot0, vol->sector_size, 0);
        if (r < 0)
                return r;
        vol->volume_flags = flags;
        vol->percent_in_use = percent;
        return 0;
}
