/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The oracle side of the unit tests: makes images with mkfs.exfat in a temp directory, runs
 * fsck.exfat, and reads/patches on-disk structures with its own small parser. It shares no code
 * with libexfat on purpose, so a misreading of the spec in the library does not hide itself.
 * Functions return 0 / -errno; nothing here asserts (callers do).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_MAX_SET 19 /* primary + up to 18 secondaries */

struct img_geom {
        uint32_t sector_size;
        uint32_t cluster_size;
        uint64_t volume_length; /* sectors */
        uint32_t fat_offset;    /* sectors */
        uint32_t fat_length;    /* sectors */
        uint32_t heap_offset;   /* sectors */
        uint32_t cluster_count;
        uint32_t root_cluster;
        uint32_t serial;
        uint16_t revision;
        uint16_t flags;         /* VolumeFlags */
        uint8_t percent_in_use;
};

/* One directory entry set as found on disk. */
struct img_entry {
        int count;                       /* entries in the set (1 + SecondaryCount) */
        uint64_t offs[IMG_MAX_SET];      /* device offset of each entry */
        uint8_t set[IMG_MAX_SET * 32];   /* raw bytes */
        char name[256 * 4];              /* UTF-8 as stored (case preserved) */
        unsigned name_units;             /* NameLength */
        uint16_t attributes;
        uint8_t stream_flags;            /* GeneralSecondaryFlags of the stream */
        uint32_t first_cluster;
        uint64_t size;                   /* DataLength */
        uint64_t valid_size;             /* ValidDataLength */
};

/* ---- tools ------------------------------------------------------------------------------ */

/* Runs an exfatprogs tool (looked up in /usr/sbin, /sbin, then PATH) with the NULL-terminated
 * argv (argv[0] is the tool name). Returns its exit status, or -errno if it could not run. */
int img_run(const char *const *argv);
/* Same, with the tool's stdout and stderr in out (NUL-terminated, truncated to size - 1). */
int img_run_capture(const char *const *argv, char *out, size_t size);
/* fsck.exfat -n path; returns its exit status (0 = clean). */
int img_fsck(const char *path);
/* The same with fsck's output on stdout/stderr (for a failure's diagnosis). */
int img_fsck_show(const char *path);
/* Creates a sparse file of size bytes and formats it: mkfs.exfat <extra args...> path. */
int img_mkfs(const char *path, uint64_t size, const char *const *extra);
bool img_tool_available(const char *name);

/* ---- raw I/O ---------------------------------------------------------------------------- */

int img_pread(int fd, void *buf, size_t len, uint64_t off);
int img_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* ---- boot region ------------------------------------------------------------------------ */

/* Parses the main (backup = false) or backup boot sector, without validation. */
int img_geom_read(int fd, bool backup, struct img_geom *g);
uint32_t img_boot_checksum(const uint8_t *region, uint32_t sector_size);
/* Recomputes and writes the checksum sector of the main or backup region. */
int img_boot_fix_checksum(int fd, bool backup, uint32_t sector_size);
int img_volume_flags(int fd, uint8_t *flags);   /* byte 106 of sector 0 */
int img_set_volume_flags(int fd, uint8_t flags);
/* Rewrites a 512-byte-sector image (clusters >= 4 KiB, 4 KiB-aligned regions) as the same volume
 * with 4096-byte sectors. Both boot regions are rebuilt. */
int img_convert_to_4k(int fd);

/* ---- FAT, bitmap ------------------------------------------------------------------------ */

uint64_t img_cluster_offset(const struct img_geom *g, uint32_t cluster);
int img_fat_get(int fd, const struct img_geom *g, uint32_t cluster, uint32_t *value);
int img_fat_set(int fd, const struct img_geom *g, uint32_t cluster, uint32_t value);
/* Clears of the allocation bitmap among ClusterCount bits. */
int img_count_free(int fd, const struct img_geom *g, uint32_t *free_clusters);
/* The allocation bitmap read whole, for a test that looks at many clusters: each lookup of the
 * bitmap's place walks the root directory, which per cluster cost most of a test's time. */
struct img_bitmap {
        const struct img_geom *g;
        uint8_t *bits;          /* ClusterCount bits, as on disk */
        uint64_t offset;        /* device offset of the bitmap */
        size_t bytes;
};
int img_bitmap_read(int fd, const struct img_geom *g, struct img_bitmap *bm);
int img_bitmap_write(int fd, const struct img_bitmap *bm);
void img_bitmap_free(struct img_bitmap *bm);
int img_bitmap_test(const struct img_bitmap *bm, uint32_t cluster, bool *used); /* -ERANGE: no such cluster */
int img_bitmap_mark(struct img_bitmap *bm, uint32_t cluster, bool used);
/* One cluster's bit, read (or written) through the device. */
int img_bitmap_get(int fd, const struct img_geom *g, uint32_t cluster, bool *used);
int img_bitmap_set(int fd, const struct img_geom *g, uint32_t cluster, bool used);

/* ---- directories ------------------------------------------------------------------------ */

/* Offset of the first root entry of the given type (0x81, 0x82, 0x83, 0xA0...), -ENOENT if none. */
int img_root_entry(int fd, const struct img_geom *g, uint8_t type, uint64_t *off);
/* Finds a file entry set by exact (case-sensitive) UTF-8 path relative to the root, "a/b/c". */
int img_find(int fd, const struct img_geom *g, const char *path, struct img_entry *e);
/* Writes e->set back; recomputes SetChecksum first when fix_checksum. */
int img_entry_write(int fd, struct img_entry *e, bool fix_checksum);
uint16_t img_set_checksum(const uint8_t *set, int count);
/* Clusters of a stream, in order (follows the FAT unless NoFatChain). -ELOOP on a cycle,
 * -ERANGE on an out-of-range link. Returns the count through n. */
int img_clusters(int fd, const struct img_geom *g, uint32_t first, uint64_t size, bool nofatchain,
                 uint32_t *out, size_t max, size_t *n);
/* Reads a file's content (DataLength bytes; past ValidDataLength must be zeros, read as stored). */
int img_read_file(int fd, const struct img_geom *g, const struct img_entry *e, void *buf);
/* The label as stored in the root's 0x83 entry (UTF-8); "" when none. */
int img_label(int fd, const struct img_geom *g, char *buf, size_t size);
/* Puts a volume GUID entry (0xA0) in the first free root slot. */
int img_add_guid(int fd, const uint8_t guid[16]);
/* Puts any primary entry with SecondaryCount 0 (checksum filled in) in the first free root slot. */
int img_add_root_entry(int fd, const uint8_t entry[32]);

/* Walks every directory from the root and compares the clusters reachable from entries (files,
 * directories, bitmap, up-case, vendor allocations) with the allocation bitmap. */
struct img_accounting {
        uint32_t leaked;      /* marked in use but owned by nothing (fsck.exfat 1.2 does not check) */
        uint32_t unmarked;    /* owned but free in the bitmap */
        uint32_t crosslinked; /* owned twice (e.g. one file under two names) */
};
int img_account(int fd, const struct img_geom *g, struct img_accounting *a);

/* Decodes a DOS timestamp + 10 ms increment + UTC offset byte into seconds/ns since the epoch. */
void img_decode_time(uint32_t dos, uint8_t ten_ms, uint8_t utc_off, int64_t *sec, long *nsec);
