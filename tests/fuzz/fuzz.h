/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared parts of the libFuzzer harnesses (tests/fuzz/README.md): an exfat_dev_ops over a memory
 * buffer, the checksum repair applied to mutated images, and the bounded tree walk that reads
 * everything a volume holds. Harnesses abort() on a finding; everything else is quiet.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exfat.h"

/* Bounds that keep one input fast (a few milliseconds). */
#define FUZZ_MAX_DEPTH 8
#define FUZZ_MAX_ENTRIES 512      /* directory entries visited per walk */
#define FUZZ_MAX_DIR_NAMES 128    /* names taken from one directory */
#define FUZZ_MAX_READ (256u << 10) /* bytes read from all files per walk */
#define FUZZ_MAX_DEVICE (8u << 20)

/* ---- memory device ---------------------------------------------------------------------- */

struct memdev {
        uint8_t *data;
        size_t size;
        bool read_only;   /* a write is a finding (a read-only mount must never write) */
        bool fail_writes; /* writes fail with -EIO (a device that went away) */
        uint64_t writes;
};

/* Points dev at m (both owned by the caller). */
void memdev_init(struct exfat_device *dev, struct memdev *m);

/* The device of an input. Inputs carry an image without its trailing zeros (mkfs.exfat images are
 * mostly zeros: a 1 MiB volume is a 30-300 KiB input): the device is the given bytes followed by
 * zeros up to the volume's length as its boot sector states it (at most FUZZ_MAX_DEVICE), or just
 * the given bytes. The buffer is reused from input to input (fresh allocations of megabytes cost
 * more than the rest of a run); m->data points into it until the next call. */
void memdev_load(struct memdev *m, const uint8_t *image, size_t size);

/* ---- checksum repair -------------------------------------------------------------------- */

/* Recomputes, in place, what a mutation would otherwise make the library refuse at once: the
 * checksum sectors of both boot regions, the up-case table's TableChecksum, and the NameHash and
 * SetChecksum of every entry set reachable from the root (bounded). Written from the exFAT
 * specification, sharing nothing with libexfat. Never fails; damage it cannot make sense of is
 * left alone. */
void fuzz_repair_image(uint8_t *img, size_t size);

/* Fills every cluster the allocation bitmap calls free with junk, as a used stick holds deleted
 * data there: the library must never show those bytes (a new directory cluster is zeroed before
 * use, bytes past ValidDataLength read as zeros). Only with a bitmap in one contiguous run. */
void fuzz_poison_free(uint8_t *img, size_t size);

/* ---- walk ------------------------------------------------------------------------------- */

struct walk_stats {
        unsigned entries;
        unsigned dirs;
        unsigned files;
        uint64_t bytes;
};

/* Lists every directory from the root (readdir in pages, lookup and getattr of each name), reads
 * every file twice (exfat_read, and exfat_read_extents resolved against dev_data) and compares the
 * two; aborts when they differ or when the library contradicts itself (a size past the allocation,
 * an extent outside the device). Errors from damage are fine and end that branch. */
void fuzz_walk(struct exfat_volume *vol, const uint8_t *dev_data, uint64_t dev_size, struct walk_stats *st);

/* Reads a whole file of the given size into buf (exfat_read in irregular pieces). 0 or -errno. */
int fuzz_read_file(struct exfat_volume *vol, uint64_t ino, uint8_t *buf, uint64_t size);

/* Aborts with a message on stderr (a finding). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- worker mount options (worker-options.c) ---------------------------------------------- */

/* Runs daemon/worker/options.c over n "-o" lists and aborts when what it accepted breaks its
 * contract (masks, ids, only whitelisted flags for the kernel). */
void fuzz_worker_options(const char *const *lists, size_t n);
