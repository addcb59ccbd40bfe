/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libexfat — a read/write exFAT implementation (Microsoft exFAT specification).
 *
 * Contract for every function below:
 *  - Returns 0 (or a non-negative count) on success and -errno on failure. Damaged on-disk
 *    metadata gives -EIO plus one log line through the volume's logger; never a crash.
 *  - The library never opens paths, never prints, keeps no globals. All device I/O goes through
 *    struct exfat_device, so tests can wrap it (inject errors, record writes).
 *  - All functions taking a struct exfat_volume are thread-safe (see "Locking" in volume.c).
 *  - Names are UTF-8 on this API and UTF-16 on disk; lookups are case-insensitive through the
 *    volume's own up-case table and case-preserving.
 *  - Nodes are addressed by 64-bit inode numbers the library assigns. A number stays valid while
 *    it holds lookup references (FUSE semantics: exfat_lookup/create/mkdir and readdir with
 *    EXFAT_READDIR_PLUS take one, exfat_forget drops them) or is open (exfat_open/exfat_release).
 *    EXFAT_ROOT_INO is always valid.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define EXFAT_ROOT_INO 1

#define EXFAT_NAME_MAX 255             /* UTF-16 units per file name */
#define EXFAT_NAME_MAX_UTF8 (255 * 3)  /* worst-case bytes of a name in UTF-8 */
#define EXFAT_LABEL_MAX 11             /* UTF-16 units in a volume label */
#define EXFAT_LABEL_MAX_UTF8 (11 * 3)

/* File attributes as stored on disk (FileAttributes field). */
#define EXFAT_ATTR_READ_ONLY 0x0001
#define EXFAT_ATTR_HIDDEN    0x0002
#define EXFAT_ATTR_SYSTEM    0x0004
#define EXFAT_ATTR_DIRECTORY 0x0010
#define EXFAT_ATTR_ARCHIVE   0x0020

/* ---- Device backend --------------------------------------------------------------------- */

struct exfat_dev_ops {
        /* Transfer exactly len bytes at offset; 0 or -errno (a short transfer is -EIO). */
        int (*read)(void *ctx, void *buf, size_t len, uint64_t offset);
        int (*write)(void *ctx, const void *buf, size_t len, uint64_t offset);
        /* Make everything written so far durable on the medium. */
        int (*flush)(void *ctx);
        /* Optional (NULL: write is used): file contents, same contract as write. The library
         * never reads back through a cache of its own what it wrote here, so a backend may
         * bypass the page cache (see exfat_device_init_fd_direct). */
        int (*write_data)(void *ctx, const void *buf, size_t len, uint64_t offset);
        /* Optional: a backend whose write_data may return before the device has the data (write-
         * behind) waits here until it has; reads through this backend and flush must wait
         * likewise, and flush reports a write that failed. The library calls it before handing
         * out extents that the caller reads from the device itself (exfat_read_extents). */
        int (*drain)(void *ctx);
        /* Optional: the volume has been quiet for a while (the library calls it after writing back
         * an idle read-write volume); a backend may give back memory it keeps for writing. */
        void (*idle)(void *ctx);
};

struct exfat_device {
        const struct exfat_dev_ops *ops;
        void *ctx;
        uint64_t size; /* bytes addressable through ops */
};

/* Backend over an open fd (block device or regular file): pread/pwrite/fdatasync.
 * The fd stays owned by the caller. Sets dev->size from the fd (BLKGETSIZE64 or st_size). */
int exfat_device_init_fd(struct exfat_device *dev, int fd);

/* Like exfat_device_init_fd, plus direct_fd: the same device opened with O_DIRECT (owned by the
 * caller, -1 for none). File data in page-aligned spans is then written through direct_fd, which
 * spares the copy into the page cache and its write-back (the device's cache is still flushed by
 * flush); the rest goes through fd, serialised against direct writes so that no page of the
 * device's page cache is dirtied while a direct write invalidates it. Direct writes are written
 * behind (up to 16 MiB queued for 4 threads; see drain): a failed one is reported by the next
 * flush (exfat_fsync and exfat_unmount say what the library makes of that). The queue's buffers
 * are given back when the volume goes idle (see idle). Allocates: release with exfat_device_done()
 * after the volume is unmounted. -ENOMEM, or as exfat_device_init_fd. */
int exfat_device_init_fd_direct(struct exfat_device *dev, int fd, int direct_fd);
/* Frees what exfat_device_init_fd_direct allocated; a no-op for other devices. */
void exfat_device_done(struct exfat_device *dev);

/* ---- Mount ------------------------------------------------------------------------------ */

enum exfat_log_level { EXFAT_LOG_ERR = 3, EXFAT_LOG_WARNING = 4, EXFAT_LOG_INFO = 6, EXFAT_LOG_DEBUG = 7 };
typedef void (*exfat_log_fn)(void *ctx, enum exfat_log_level level, const char *message);

struct exfat_options {
        bool read_only;
        bool sync;              /* write-through: each modifying call returns with its data and
                                 * metadata on the device and the device flushed */
        size_t cache_budget;    /* bytes for cached nodes and directory indexes; 0 = default (64 MiB) */
        exfat_log_fn log;       /* may be NULL: messages are dropped */
        void *log_ctx;
};

struct exfat_info {
        char label[EXFAT_LABEL_MAX_UTF8 + 1]; /* UTF-8, "" when the volume has none */
        uint32_t serial;                      /* VolumeSerialNumber */
        bool has_guid;
        uint8_t guid[16];                     /* volume GUID entry (0xA0), if present */
        bool dirty;                           /* VolumeDirty as found on the device at probe/mount */
        bool media_failure;
        uint16_t fs_revision;                 /* e.g. 0x0100 */
        uint32_t sector_size;
        uint32_t cluster_size;
        uint32_t cluster_count;
        uint32_t free_clusters;
        uint8_t percent_in_use;               /* 0..100, or 0xFF when not available */
        uint64_t volume_size;                 /* bytes (VolumeLength * sector size) */
};

/* Read-only look at a device: validates the boot region and the root directory's critical
 * entries and fills info. Does not write. -EINVAL (not exFAT), -EIO (damaged). */
int exfat_probe(const struct exfat_device *dev, const struct exfat_options *opts, struct exfat_info *info);

struct exfat_volume;

/* Mounts the volume. Read-write sets VolumeDirty on the device before returning; a volume found
 * dirty still mounts (the caller decides whether to allow that; exfat_info.dirty tells).
 * -EINVAL not exFAT, -EIO damaged, -EROFS read-write asked but the volume has unknown critical
 * entries or MediaFailure set. The device must outlive the volume. */
int exfat_mount(const struct exfat_device *dev, const struct exfat_options *opts, struct exfat_volume **ret);

/* Writes everything back, clears VolumeDirty (unless it was already set when mounted), flushes
 * the device, frees the volume. Returns the first error seen, -EIO also when a device flush failed
 * earlier in this mount (file data may be lost); the volume is freed regardless, and on error
 * VolumeDirty stays set on the device. */
int exfat_unmount(struct exfat_volume *vol);

/* Writes back all cached metadata and flushes the device; VolumeDirty stays set. */
int exfat_sync(struct exfat_volume *vol);

void exfat_get_info(struct exfat_volume *vol, struct exfat_info *info);

struct exfat_statfs {
        uint32_t cluster_size;
        uint64_t total_clusters;
        uint64_t free_clusters;
        uint32_t name_max;        /* EXFAT_NAME_MAX */
};
int exfat_statfs(struct exfat_volume *vol, struct exfat_statfs *st);

/* Label: UTF-8, at most 11 UTF-16 units (-ENAMETOOLONG), no control characters (-EINVAL).
 * "" removes the label. -EROFS on a read-only mount. */
int exfat_get_label(struct exfat_volume *vol, char *buf, size_t size);
int exfat_set_label(struct exfat_volume *vol, const char *label);

/* ---- Nodes ------------------------------------------------------------------------------ */

struct exfat_stat {
        uint64_t ino;
        uint16_t attributes;      /* EXFAT_ATTR_*; EXFAT_ATTR_DIRECTORY for directories */
        uint64_t size;            /* DataLength */
        uint64_t valid_size;      /* ValidDataLength (bytes beyond it read as zeros) */
        uint64_t allocated;       /* bytes of clusters allocated */
        uint32_t nlink;           /* 1 for files; 1 for directories (subdirectories are not counted) */
        struct timespec atime;    /* UTC; 2 s granularity on disk for atime */
        struct timespec mtime;    /* UTC; 10 ms granularity */
        struct timespec crtime;   /* UTC; 10 ms granularity */
};

#define EXFAT_IS_DIR(st) (((st)->attributes & EXFAT_ATTR_DIRECTORY) != 0)

/* Lookup takes one lookup reference on the returned node. -ENOENT, -ENOTDIR, -ENAMETOOLONG. */
int exfat_lookup(struct exfat_volume *vol, uint64_t parent, const char *name, struct exfat_stat *st);
void exfat_forget(struct exfat_volume *vol, uint64_t ino, uint64_t nlookup);
int exfat_getattr(struct exfat_volume *vol, uint64_t ino, struct exfat_stat *st);

#define EXFAT_SET_SIZE       (1u << 0)
#define EXFAT_SET_ATTRIBUTES (1u << 1) /* only READ_ONLY|HIDDEN|SYSTEM|ARCHIVE may change */
#define EXFAT_SET_ATIME      (1u << 2)
#define EXFAT_SET_MTIME      (1u << 3)
#define EXFAT_SET_CRTIME     (1u << 4)

struct exfat_setattr {
        unsigned valid;           /* EXFAT_SET_* */
        uint64_t size;            /* truncate up or down; the bytes added are zeros written to the
                                   * device, ValidDataLength follows when it was the old size */
        uint16_t attributes;
        struct timespec atime, mtime, crtime;
};
int exfat_setattr(struct exfat_volume *vol, uint64_t ino, const struct exfat_setattr *sa, struct exfat_stat *st);

/* Create a file / directory in parent; takes one lookup reference. Names: 1..255 UTF-16 units,
 * no U+0000-U+001F nor " * / : < > ? \ | (-EINVAL), not "." or "..". -EEXIST, -ENOSPC, -EROFS. */
int exfat_create(struct exfat_volume *vol, uint64_t parent, const char *name, uint16_t attributes, struct exfat_stat *st);
int exfat_mkdir(struct exfat_volume *vol, uint64_t parent, const char *name, struct exfat_stat *st);

/* Remove the name. A file still open keeps its clusters until its last exfat_release. */
int exfat_unlink(struct exfat_volume *vol, uint64_t parent, const char *name);
int exfat_rmdir(struct exfat_volume *vol, uint64_t parent, const char *name); /* -ENOTEMPTY */

#define EXFAT_RENAME_NOREPLACE (1u << 0)
/* Rename within or across directories; replaces an existing target like rename(2) (a file over a
 * file, an empty directory over a directory; -EISDIR/-ENOTDIR/-ENOTEMPTY otherwise; -EINVAL when
 * moving a directory into itself). Benign secondary entries travel with the file. */
int exfat_rename(struct exfat_volume *vol, uint64_t parent, const char *name, uint64_t newparent,
                 const char *newname, unsigned flags);

/* Open counts: an unlinked node keeps its data while open. */
int exfat_open(struct exfat_volume *vol, uint64_t ino);
void exfat_release(struct exfat_volume *vol, uint64_t ino);

/* Returns bytes read (short only at end of file) or -errno. -EISDIR for directories. */
ssize_t exfat_read(struct exfat_volume *vol, uint64_t ino, void *buf, size_t size, uint64_t offset);
/* Zero-copy reads: maps [offset, offset + size) of a file (clamped to its size) to where the bytes
 * are and calls fn once with the list, in file order, covering total bytes (0 at or past the end).
 * A device extent (dev_offset) is exactly the file's bytes at that place of the device (of
 * struct exfat_device, i.e. the fd's offset for the fd backend); EXFAT_EXTENT_ZERO marks bytes that
 * read as zeros (past ValidDataLength). The mapping holds while fn runs: the file's data is locked
 * against writes and truncation (its clusters cannot be freed or reused), so fn may read the
 * device ranges itself (splice them) and reply; fn must not call back into the library.
 * Returns fn's return value, or -errno (-EISDIR, -EIO on a damaged chain, -ENOMEM). */
#define EXFAT_EXTENT_ZERO UINT64_MAX
struct exfat_extent {
        uint64_t dev_offset;      /* or EXFAT_EXTENT_ZERO */
        uint64_t length;
};
typedef int (*exfat_extents_fn)(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total);
int exfat_read_extents(struct exfat_volume *vol, uint64_t ino, uint64_t offset, uint64_t size, exfat_extents_fn fn,
                       void *ctx);

/* Returns bytes written (all of size unless an error) or -errno (-ENOSPC, -EFBIG, -EROFS, -EIO).
 * Writing past the end grows the file; a gap becomes space past ValidDataLength (zeros). */
ssize_t exfat_write(struct exfat_volume *vol, uint64_t ino, const void *buf, size_t size, uint64_t offset);

/* Makes the node's data and directory entry (and, for a directory, its entries) durable, then
 * flushes the device. -EIO when this flush, or any other one since this node's last -EIO (or since
 * the node was loaded), failed: file data written behind may not have reached the device. */
int exfat_fsync(struct exfat_volume *vol, uint64_t ino, bool datasync);

/* Readdir: calls cb for each entry of directory ino from cookie on ("." and ".." are not
 * reported; cookie 0 starts at the beginning; next_cookie resumes after this entry).
 * cb returns 0 to accept and continue, 1 to refuse this entry and stop (e.g. buffer full).
 * With EXFAT_READDIR_PLUS each accepted entry takes one lookup reference.
 * cb must not call back into the library. */
#define EXFAT_READDIR_PLUS (1u << 0)
typedef int (*exfat_readdir_fn)(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie);
int exfat_readdir(struct exfat_volume *vol, uint64_t ino, uint64_t cookie, unsigned flags, exfat_readdir_fn cb, void *ctx);

/* ---- Error text ------------------------------------------------------------------------- */
/* Human description of the last reason exfat_probe/exfat_mount failed is sent to the logger. */
