/* SPDX-License-Identifier: MIT */
/* Through a wrapping device: injected I/O errors reach the caller as -EIO and leave a volume
 * that still unmounts cleanly; the write log shows a safe order and large I/O. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define MiB (1024ull * 1024)

static const struct fx_params wrapped = { .wrap = true };
static const struct fx_params wrapped_big = { .wrap = true, .size = 160 * MiB };
static const struct fx_params wrapped_unmounted = { .wrap = true, .no_mount = true };
static const struct fx_params wrapped_small = { .wrap = true, .size = 8 * MiB };
static const struct fx_params wrapped_small_unmounted = { .wrap = true, .size = 8 * MiB, .no_mount = true };
static const struct fx_params wrapped_small_4k_sectors = { .wrap = true, .size = 8 * MiB, .no_mount = true,
                                                             .sector_4k = true };
static const struct fx_params wrapped_small_direct = { .wrap = true, .size = 8 * MiB, .no_mount = true,
                                                         .direct = true };
static const struct fx_params wrapped_1g = { .wrap = true, .size = 1024 * MiB };

static void test_write_error_then_recovery(void **state) {
        struct fx *f = *state;
        uint8_t data[64 * 1024];
        uint64_t ino;
        ssize_t n;
        int r, r2;

        fill_pattern(data, sizeof(data), 21);
        fx_create(f, EXFAT_ROOT_INO, "before", data, sizeof(data));
        assert_int_equal(exfat_sync(f->vol), 0);

        ino = fx_create(f, EXFAT_ROOT_INO, "victim", NULL, 0);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        wrapdev_set_fail(&f->wrap, 0, -EIO, -EIO);
        /* write-back caches may accept the write; fsync must then report the failure */
        n = exfat_write(f->vol, ino, data, sizeof(data), 0);
        r = exfat_fsync(f->vol, ino, false);
        if (n != -EIO && r != -EIO)
                fail_msg("a failing device went unnoticed: write %zd, fsync %d", n, r);
        assert_true(f->wrap.failed_writes > 0 || n == -EIO);
        r2 = exfat_sync(f->vol);
        assert_int_equal(r2, -EIO);
        wrapdev_set_fail(&f->wrap, 0, 0, 0);
        {
                /* a write that reported failure did not extend the file over unwritten clusters */
                struct exfat_stat st;
                assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
                if (n == -EIO && st.valid_size != 0)
                        fail_msg("failed write left ValidDataLength %llu", (unsigned long long) st.valid_size);
        }

        /* the device works again: the volume keeps working and ends consistent */
        fx_write(f, ino, data, sizeof(data), 0);
        assert_int_equal(exfat_fsync(f->vol, ino, false), 0);
        exfat_release(f->vol, ino);
        fx_create(f, EXFAT_ROOT_INO, "after", "after", 5);
        fx_expect_content(f, "before", data, sizeof(data));
        fx_remount(f);
        fx_expect_content(f, "before", data, sizeof(data));
        fx_expect_content(f, "victim", data, sizeof(data));
        fx_expect_content(f, "after", "after", 5);
}

/* Errors in the middle of a burst of metadata changes: whatever made it to the device, once
 * the errors stop the next unmount leaves a volume fsck accepts. */
static void test_write_error_mid_metadata(void **state) {
        struct fx *f = *state;
        char name[32];
        int failures = 0;

        for (long budget = 0; budget < 40; budget += 3) {
                pthread_mutex_lock(&f->wrap.lock);
                f->wrap.writes_before_failure = budget;
                pthread_mutex_unlock(&f->wrap.lock);
                for (int i = 0; i < 20; i++) {
                        struct exfat_stat st;
                        snprintf(name, sizeof(name), "b%ld-%d", budget, i);
                        if (exfat_create(f->vol, EXFAT_ROOT_INO, name, 0, &st) < 0)
                                failures++;
                        else if (i % 4 == 0)
                                (void) exfat_unlink(f->vol, EXFAT_ROOT_INO, name);
                }
                if (exfat_sync(f->vol) < 0)
                        failures++;
                wrapdev_set_fail(&f->wrap, 0, 0, 0);
        }
        assert_true(failures > 0); /* the injection did bite */
        fx_remount(f);
        {
                struct dirlist dl;
                assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
                dirlist_free(&dl);
        }
}

static void test_read_error(void **state) {
        struct fx *f = *state;
        uint8_t data[32 * 1024], buf[sizeof(data)];
        struct exfat_stat st;
        ssize_t n;
        uint64_t ino;

        fill_pattern(data, sizeof(data), 22);
        fx_create(f, EXFAT_ROOT_INO, "file", data, sizeof(data));
        fx_mkdir(f, EXFAT_ROOT_INO, "dir");
        fx_remount(f); /* nothing cached */
        wrapdev_set_fail(&f->wrap, -EIO, 0, 0);
        /* either the lookup or the read has to touch the device */
        if (exfat_lookup(f->vol, EXFAT_ROOT_INO, "file", &st) == 0) {
                assert_int_equal(exfat_open(f->vol, st.ino), 0);
                n = exfat_read(f->vol, st.ino, buf, sizeof(buf), 0);
                assert_int_equal(n, -EIO);
                exfat_release(f->vol, st.ino);
        }
        wrapdev_set_fail(&f->wrap, 0, 0, 0);
        ino = fx_walk(f, "file");
        assert_int_equal(exfat_open(f->vol, ino), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, sizeof(buf), 0), sizeof(data));
        assert_memory_equal(buf, data, sizeof(data));
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
}

static void test_unmount_error_keeps_dirty(void **state) {
        struct fx *f = *state;
        uint8_t flags;
        int r;

        fx_create(f, EXFAT_ROOT_INO, "pending", "p", 1);
        wrapdev_set_fail(&f->wrap, 0, -EIO, -EIO);
        r = exfat_unmount(f->vol);
        f->vol = NULL;
        assert_int_equal(r, -EIO);
        wrapdev_set_fail(&f->wrap, 0, 0, 0);
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        assert_true(flags & 0x02);
}

enum region { R_BOOT, R_FAT, R_BITMAP, R_UPCASE, R_DIR, R_DATA };

struct layout {
        uint64_t fat_start, fat_end, heap;
        uint64_t bitmap_start, bitmap_end;
        uint64_t upcase_start, upcase_end;
        uint64_t root_start, root_end;
};

static void layout_read(struct fx *f, struct layout *l) {
        uint8_t e[32];
        uint64_t off, len;
        uint32_t c;

        l->fat_start = (uint64_t) f->g.fat_offset * f->g.sector_size;
        l->fat_end = l->fat_start + (uint64_t) f->g.fat_length * f->g.sector_size;
        l->heap = (uint64_t) f->g.heap_offset * f->g.sector_size;
        assert_int_equal(img_root_entry(f->fd, &f->g, 0x81, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        memcpy(&c, e + 20, 4);
        memcpy(&len, e + 24, 8);
        l->bitmap_start = img_cluster_offset(&f->g, le32toh(c));
        l->bitmap_end = l->bitmap_start + le64toh(len);
        assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        memcpy(&c, e + 20, 4);
        memcpy(&len, e + 24, 8);
        l->upcase_start = img_cluster_offset(&f->g, le32toh(c));
        l->upcase_end = l->upcase_start + le64toh(len);
        l->root_start = img_cluster_offset(&f->g, f->g.root_cluster);
        l->root_end = l->root_start + f->g.cluster_size; /* a fresh root has one cluster */
}

static enum region classify(const struct layout *l, uint64_t off) {
        if (off < l->fat_start)
                return R_BOOT;
        if (off < l->fat_end)
                return R_FAT;
        if (off >= l->bitmap_start && off < l->bitmap_end)
                return R_BITMAP;
        if (off >= l->upcase_start && off < l->upcase_end)
                return R_UPCASE;
        if (off >= l->root_start && off < l->root_end)
                return R_DIR;
        return R_DATA;
}

/* create + write + fsync: file data first, then FAT/bitmap, then the directory entry that
 * points at them, so a crash at any point leaves no entry referring to garbage. */
static void check_write_order(struct fx *f, bool fragmented) {
        struct layout l;
        uint8_t data[200 * 1024];
        uint64_t ino;
        long last_data = -1, first_alloc = -1, last_alloc = -1, last_dir = -1, fat_writes = 0;

        layout_read(f, &l);
        fill_pattern(data, sizeof(data), 23);
        /* a fragmented file needs FAT writes as well: put a one-cluster file in its way */
        fx_create(f, EXFAT_ROOT_INO, "first", "1", 1);
        if (fragmented) {
                /* free space made of one-cluster holes only: the file cannot be contiguous */
                char name[16];
                size_t rest;
                uint8_t *filler;
                for (int i = 0; i < 120; i++) {
                        snprintf(name, sizeof(name), "s%03d", i);
                        fx_create(f, EXFAT_ROOT_INO, name, "s", 1);
                }
                rest = (size_t) fx_free_clusters(f) * f->g.cluster_size;
                filler = calloc(1, rest);
                assert_non_null(filler);
                fx_create(f, EXFAT_ROOT_INO, "filler", filler, rest);
                free(filler);
                for (int i = 0; i < 120; i += 2) {
                        snprintf(name, sizeof(name), "s%03d", i);
                        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, name), 0);
                }
                assert_int_equal(fx_free_clusters(f), 60);
        }
        assert_int_equal(exfat_sync(f->vol), 0);

        wrapdev_record(&f->wrap, true);
        ino = fx_create(f, EXFAT_ROOT_INO, "ordered", NULL, 0);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        fx_write(f, ino, data, sizeof(data), 0);
        assert_int_equal(exfat_fsync(f->vol, ino, false), 0);
        exfat_release(f->vol, ino);
        wrapdev_record(&f->wrap, false);

        for (size_t i = 0; i < f->wrap.n_log; i++) {
                const struct wrapdev_rec *w = &f->wrap.log[i];
                if (w->op != WRAPDEV_WRITE)
                        continue;
                switch (classify(&l, w->offset)) {
                case R_DATA:
                        last_data = (long) i;
                        break;
                case R_FAT:
                        fat_writes++;
                        /* fall through */
                case R_BITMAP:
                        if (first_alloc < 0)
                                first_alloc = (long) i;
                        last_alloc = (long) i;
                        break;
                case R_DIR:
                        last_dir = (long) i;
                        break;
                case R_UPCASE:
                        fail_msg("write into the up-case table at %llu", (unsigned long long) w->offset);
                        break;
                case R_BOOT:
                        break;
                }
        }
        if (getenv("EXFAT_TEST_VERBOSE"))
                for (size_t i = 0; i < f->wrap.n_log; i++)
                        fprintf(stderr, "# %zu: %s %llu +%zu (region %d)\n", i,
                                f->wrap.log[i].op == WRAPDEV_FLUSH ? "flush" : "write",
                                (unsigned long long) f->wrap.log[i].offset, f->wrap.log[i].len,
                                classify(&l, f->wrap.log[i].offset));
        fprintf(stderr, "# %s: %zu log records, %ld FAT writes\n", fragmented ? "fragmented" : "contiguous",
                f->wrap.n_log, fat_writes);
        if (fragmented)
                assert_true(fat_writes > 0);
        assert_true(last_data >= 0);
        assert_true(first_alloc >= 0);
        assert_true(last_dir >= 0);
        if (last_data > first_alloc)
                fail_msg("file data (write #%ld) after allocation metadata (write #%ld)", last_data, first_alloc);
        if (last_alloc > last_dir)
                fail_msg("FAT/bitmap (write #%ld) after the directory entry (write #%ld)", last_alloc, last_dir);
        assert_int_equal(f->wrap.log[f->wrap.n_log - 1].op, WRAPDEV_FLUSH);
        /* what fsync promised is on the device now, readable without the library */
        fx_expect_oracle_content(f, "ordered", data, sizeof(data));
        fx_remount(f);
        fx_expect_content(f, "ordered", data, sizeof(data));
}

static void test_write_order(void **state) {
        check_write_order(*state, false);
}

static void test_write_order_fragmented(void **state) {
        check_write_order(*state, true);
}

/* A 64 MiB sequential write is issued as few large device writes, not one per cluster. */
static void test_large_sequential_io(void **state) {
        struct fx *f = *state;
        const size_t chunk = 1024 * 1024, total = 64 * MiB;
        uint8_t *buf = malloc(chunk);
        struct layout l;
        size_t data_writes = 0, max_len = 0;
        uint64_t data_bytes = 0, ino;
        double t0;

        assert_non_null(buf);
        layout_read(f, &l);
        ino = fx_create(f, EXFAT_ROOT_INO, "big", NULL, 0);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        wrapdev_record(&f->wrap, true);
        t0 = now_seconds();
        for (size_t off = 0; off < total; off += chunk) {
                fill_pattern(buf, 64, (uint32_t) (off / chunk));
                fx_write(f, ino, buf, chunk, off);
        }
        assert_int_equal(exfat_fsync(f->vol, ino, false), 0);
        wrapdev_record(&f->wrap, false);
        exfat_release(f->vol, ino);
        for (size_t i = 0; i < f->wrap.n_log; i++) {
                const struct wrapdev_rec *w = &f->wrap.log[i];
                if (w->op == WRAPDEV_WRITE && classify(&l, w->offset) == R_DATA) {
                        data_writes++;
                        data_bytes += w->len;
                        if (w->len > max_len)
                                max_len = w->len;
                }
        }
        fprintf(stderr, "# 64 MiB sequential: %zu data writes, %llu bytes, largest %zu, %.2f s\n", data_writes,
                (unsigned long long) data_bytes, max_len, now_seconds() - t0);
        assert_true(data_bytes >= total);
        if (data_writes > 512) /* 4 KiB clusters: one per cluster would be 16384 */
                fail_msg("64 MiB written as %zu device writes (average %llu bytes)", data_writes,
                         (unsigned long long) (data_bytes / data_writes));
        assert_true(max_len >= 128 * 1024);
        fx_unmount_check(f);
        free(buf);
}

/* Small changes cost small metadata writes: one new file on a 1 GiB volume (32 KiB bitmap, 1 MiB
 * FAT) must not rewrite the whole bitmap or FAT. */
static void test_metadata_writes_small(void **state) {
        struct fx *f = *state;
        struct layout l;
        uint8_t data[4096];
        uint64_t ino, bitmap_bytes = 0, fat_bytes = 0, dir_bytes = 0;

        layout_read(f, &l);
        memset(data, 7, sizeof(data));
        /* the log of the second round counts (recording restarts): the first warms the caches */
        for (int round = 0; round < 2; round++) {
                char name[16];
                snprintf(name, sizeof(name), "small%d", round);
                wrapdev_record(&f->wrap, true);
                ino = fx_create(f, EXFAT_ROOT_INO, name, NULL, 0);
                assert_int_equal(exfat_open(f->vol, ino), 0);
                fx_write(f, ino, data, sizeof(data), 0);
                assert_int_equal(exfat_fsync(f->vol, ino, false), 0);
                exfat_release(f->vol, ino);
                assert_int_equal(exfat_sync(f->vol), 0);
                wrapdev_record(&f->wrap, false);
        }
        for (size_t i = 0; i < f->wrap.n_log; i++) {
                const struct wrapdev_rec *w = &f->wrap.log[i];
                if (w->op != WRAPDEV_WRITE)
                        continue;
                switch (classify(&l, w->offset)) {
                case R_BITMAP:
                        bitmap_bytes += w->len;
                        break;
                case R_FAT:
                        fat_bytes += w->len;
                        break;
                case R_DIR:
                        dir_bytes += w->len;
                        break;
                default:
                        break;
                }
        }
        fprintf(stderr, "# one small file: bitmap %llu bytes, FAT %llu, directory %llu (bitmap is %llu)\n",
                (unsigned long long) bitmap_bytes, (unsigned long long) fat_bytes, (unsigned long long) dir_bytes,
                (unsigned long long) (l.bitmap_end - l.bitmap_start));
        if (bitmap_bytes > 8192)
                fail_msg("%llu bytes of bitmap written for one cluster", (unsigned long long) bitmap_bytes);
        if (fat_bytes > 8192)
                fail_msg("%llu bytes of FAT written for one contiguous file", (unsigned long long) fat_bytes);
        if (dir_bytes > 16384)
                fail_msg("%llu bytes of directory written for one entry set", (unsigned long long) dir_bytes);
        fx_unmount_check(f);
}

/* exfat_probe only reads. */
static void test_probe_does_not_write(void **state) {
        struct fx *f = *state;
        struct exfat_info info;

        wrapdev_set_fail(&f->wrap, 0, -EIO, -EIO);
        assert_int_equal(exfat_probe(f->dev, &f->opts, &info), 0);
        assert_int_equal(f->wrap.failed_writes, 0);
        wrapdev_set_fail(&f->wrap, 0, 0, 0);
}

/* Power cut after every possible number of writes of a small workload: whatever reached the
 * device must be a consistent volume (fsck clean, no cluster owned by an entry but free in the
 * bitmap). Clusters marked but owned by nothing are the accepted price of a cut. */
static void crash_workload(struct fx *f) {
        uint8_t data[50000];
        struct exfat_stat st;
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 5000 };
        uint64_t a, b, c, d;

        fill_pattern(data, sizeof(data), 99);
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "a", 0, &st);
        a = st.ino;
        (void) exfat_open(f->vol, a);
        (void) exfat_write(f->vol, a, data, 10000, 0);
        (void) exfat_fsync(f->vol, a, false);
        (void) exfat_mkdir(f->vol, EXFAT_ROOT_INO, "d", &st);
        d = st.ino;
        (void) exfat_create(f->vol, d, "b", 0, &st);
        b = st.ino;
        (void) exfat_open(f->vol, b);
        (void) exfat_write(f->vol, b, data, sizeof(data), 0);
        (void) exfat_fsync(f->vol, b, false);
        (void) exfat_rename(f->vol, EXFAT_ROOT_INO, "a", d, "a2", 0);
        (void) exfat_setattr(f->vol, b, &sa, &st);
        (void) exfat_fsync(f->vol, d, false);
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "c", 0, &st);
        c = st.ino;
        (void) exfat_open(f->vol, c);
        (void) exfat_write(f->vol, c, data, sizeof(data), 0);
        (void) exfat_write(f->vol, a, data, sizeof(data), 10000);
        exfat_release(f->vol, a);
        (void) exfat_unlink(f->vol, d, "a2");
        (void) exfat_set_label(f->vol, "CRASHED");
        /* the directory outgrows its first cluster */
        for (int i = 0; i < 50; i++) {
                char name[16];
                snprintf(name, sizeof(name), "many%02d", i);
                if (exfat_create(f->vol, d, name, 0, &st) == 0)
                        exfat_forget(f->vol, st.ino, 1);
        }
        (void) exfat_rmdir(f->vol, EXFAT_ROOT_INO, "d");
        (void) exfat_sync(f->vol);
        exfat_release(f->vol, b);
        exfat_release(f->vol, c);
}

/* Freed clusters reused at once: a truncated file's old clusters must not be handed to another
 * file (and written) before the truncation itself is on the device. */
static void reuse_workload(struct fx *f) {
        uint8_t data[80000];
        struct exfat_stat st;
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 0 };
        uint64_t x, y;

        fill_pattern(data, sizeof(data), 98);
        /* x in a subdirectory: syncing the root does not carry x's truncation */
        (void) exfat_mkdir(f->vol, EXFAT_ROOT_INO, "sub", &st);
        (void) exfat_create(f->vol, st.ino, "x", 0, &st);
        x = st.ino;
        (void) exfat_open(f->vol, x);
        (void) exfat_write(f->vol, x, data, sizeof(data), 0);
        (void) exfat_fsync(f->vol, x, false);
        (void) exfat_setattr(f->vol, x, &sa, &st);
        /* fill the rest of the volume so that y can only get x's old clusters */
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "fill", 0, &st);
        {
                uint8_t *big = calloc(1, 8u << 20);
                struct exfat_statfs sf;
                if (big && exfat_statfs(f->vol, &sf) == 0 && exfat_open(f->vol, st.ino) == 0) {
                        size_t n = (size_t) (sf.free_clusters > 20 ? sf.free_clusters - 20 : 0) * sf.cluster_size;
                        (void) exfat_write(f->vol, st.ino, big, n, 0);
                        (void) exfat_fsync(f->vol, st.ino, false);
                        exfat_release(f->vol, st.ino);
                }
                free(big);
        }
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "y", 0, &st);
        y = st.ino;
        (void) exfat_open(f->vol, y);
        (void) exfat_write(f->vol, y, data, sizeof(data), 0);
        (void) exfat_fsync(f->vol, y, false);
        exfat_release(f->vol, x);
        exfat_release(f->vol, y);
        (void) exfat_sync(f->vol);
}

/* A contiguous file blocked by a neighbour grows: NoFatChain becomes a FAT chain. The FAT links
 * must be on the device before an entry that drops NoFatChain. */
/* Directory-heavy: new directories (their clusters must be cleared before an entry points at
 * them), moves between parents, growth and removal. */
static void namespace_workload(struct fx *f) {
        struct exfat_stat st;
        uint64_t d[5];
        char name[16];

        for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "dir%d", i);
                d[i] = 0;
                if (exfat_mkdir(f->vol, i ? d[i - 1] : EXFAT_ROOT_INO, name, &st) == 0)
                        d[i] = st.ino;
        }
        (void) exfat_sync(f->vol);
        for (int i = 0; i < 60; i++) {
                snprintf(name, sizeof(name), "f%02d", i);
                if (d[1] && exfat_create(f->vol, d[1], name, 0, &st) == 0)
                        exfat_forget(f->vol, st.ino, 1);
        }
        if (d[0] && d[4])
                (void) exfat_rename(f->vol, d[3], "dir4", EXFAT_ROOT_INO, "moved4", 0);
        (void) exfat_fsync(f->vol, EXFAT_ROOT_INO, false);
        for (int i = 0; i < 60; i += 2) {
                snprintf(name, sizeof(name), "f%02d", i);
                if (d[1])
                        (void) exfat_unlink(f->vol, d[1], name);
        }
        if (d[2])
                (void) exfat_rmdir(f->vol, d[2], "dir3");
        (void) exfat_rename(f->vol, EXFAT_ROOT_INO, "moved4", d[1] ? d[1] : EXFAT_ROOT_INO, "back", 0);
        (void) exfat_sync(f->vol);
}

/* Renames between two directories far apart on the device (separate writes): a cut may lose the
 * name, never leave the file under both names (two entries owning the same clusters). */
static void distant_rename_workload(struct fx *f) {
        uint8_t data[20000];
        struct exfat_stat st;
        uint64_t src = 0, dst = 0, filler;

        fill_pattern(data, sizeof(data), 96);
        if (exfat_mkdir(f->vol, EXFAT_ROOT_INO, "src", &st) == 0)
                src = st.ino;
        if (exfat_create(f->vol, EXFAT_ROOT_INO, "spacer", 0, &st) == 0) {
                filler = st.ino;
                uint8_t *big = calloc(1, 1u << 20);
                if (big && exfat_open(f->vol, filler) == 0) {
                        (void) exfat_write(f->vol, filler, big, 1u << 20, 0);
                        exfat_release(f->vol, filler);
                }
                free(big);
        }
        if (exfat_mkdir(f->vol, EXFAT_ROOT_INO, "dst", &st) == 0)
                dst = st.ino;
        for (int i = 0; i < 3 && src; i++) {
                char name[8];
                snprintf(name, sizeof(name), "f%d", i);
                if (exfat_create(f->vol, src, name, 0, &st) == 0 && exfat_open(f->vol, st.ino) == 0) {
                        (void) exfat_write(f->vol, st.ino, data, sizeof(data), 0);
                        exfat_release(f->vol, st.ino);
                }
        }
        (void) exfat_sync(f->vol);
        if (src && dst) {
                (void) exfat_rename(f->vol, src, "f0", dst, "g0", 0);
                (void) exfat_sync(f->vol);
                (void) exfat_rename(f->vol, src, "f1", dst, "g1", 0);
                (void) exfat_rename(f->vol, dst, "g0", src, "back0", 0);
                (void) exfat_sync(f->vol);
                (void) exfat_rename(f->vol, src, "f2", dst, "g1", 0); /* replaces g1 */
                (void) exfat_sync(f->vol);
        }
}

/* What fsync promised: after `writes` device writes, "a" holds at least `len` bytes. */
static struct { unsigned long writes; uint64_t len; } promises[8];
static int n_promises;

static void promise(struct fx *f, int r, uint64_t len) {
        if (r == 0 && n_promises < 8) {
                promises[n_promises].writes = f->wrap.writes_seen;
                promises[n_promises].len = len;
                n_promises++;
        }
}

static void conversion_workload(struct fx *f) {
        uint8_t data[30000];
        struct exfat_stat st;
        uint64_t a, b;

        n_promises = 0;

        fill_pattern(data, sizeof(data), 97);
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "a", 0, &st);
        a = st.ino;
        (void) exfat_open(f->vol, a);
        (void) exfat_write(f->vol, a, data, sizeof(data), 0);
        promise(f, exfat_fsync(f->vol, a, false), sizeof(data));
        (void) exfat_create(f->vol, EXFAT_ROOT_INO, "b", 0, &st);
        b = st.ino;
        (void) exfat_open(f->vol, b);
        (void) exfat_write(f->vol, b, data, 5000, 0);
        (void) exfat_fsync(f->vol, b, false);
        for (int i = 1; i < 4; i++) {
                (void) exfat_write(f->vol, a, data, sizeof(data), (uint64_t) i * sizeof(data));
                (void) exfat_write(f->vol, b, data, 5000, (uint64_t) i * 5000);
                promise(f, exfat_fsync(f->vol, a, false), (uint64_t) (i + 1) * sizeof(data));
        }
        exfat_release(f->vol, a);
        exfat_release(f->vol, b);
        (void) exfat_sync(f->vol);
}

/* A file grows in two steps that no order makes atomic: the FAT link from its old last cluster,
 * then the entry with the new length. Cut in between, fsck finds a chain longer than the file and
 * truncates it; no data is lost. That and only that is accepted. */
static bool fsck_only_long_chains(const char *path) {
        const char *argv[] = { "fsck.exfat", "-n", path, NULL };
        char *out = malloc(65536), *line, *save = NULL;
        bool only = true;
        int errors = 0;

        assert_non_null(out);
        (void) img_run_capture(argv, out, 65536);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strstr(line, "ERROR")) {
                        errors++;
                        if (!strstr(line, "more clusters are allocated"))
                                only = false;
                }
        free(out);
        return only && errors > 0;
}

/* The dry run's promises hold at a cut after at least as many writes (same workload, same
 * write sequence). */
static bool check_promises(struct fx *f, unsigned long cut) {
        uint8_t data[30000], *buf;
        uint64_t want = 0;
        struct img_entry e;
        bool ok = true;

        for (int i = 0; i < n_promises; i++)
                if (promises[i].writes <= cut && promises[i].len > want)
                        want = promises[i].len;
        if (want == 0)
                return true;
        if (img_find(f->fd, &f->g, "a", &e) < 0 || e.size < want || e.valid_size < want)
                return false;
        buf = malloc(e.size);
        assert_non_null(buf);
        fill_pattern(data, sizeof(data), 97);
        if (img_read_file(f->fd, &f->g, &e, buf) < 0)
                ok = false;
        for (uint64_t off = 0; ok && off < want; off += sizeof(data))
                ok = memcmp(buf + off, data, sizeof(data)) == 0;
        free(buf);
        return ok;
}

static void power_cut(struct fx *f, void (*workload)(struct fx *f)) {
        const size_t img_size = 8u << 20;
        uint8_t *pristine = malloc(img_size);
        unsigned long total;
        int bad = 0, long_chain_points = 0;

        assert_non_null(pristine);
        /* free clusters hold junk: a new directory cluster that is not cleared shows it */
        {
                uint8_t junk[4096];
                struct img_bitmap bm;
                memset(junk, 0xA5, sizeof(junk));
                assert_int_equal(img_bitmap_read(f->fd, &f->g, &bm), 0);
                for (uint32_t c = 2; c < f->g.cluster_count + 2; c++) {
                        bool used;
                        assert_int_equal(img_bitmap_test(&bm, c, &used), 0);
                        if (!used)
                                assert_int_equal(img_pwrite(f->fd, junk, sizeof(junk), img_cluster_offset(&f->g, c)), 0);
                }
                img_bitmap_free(&bm);
        }
        assert_int_equal(img_pread(f->fd, pristine, img_size, 0), 0);
        /* a dry run counts the writes */
        fx_mount(f, false);
        f->wrap.writes_seen = 0;
        wrapdev_record(&f->wrap, true);
        workload(f);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        wrapdev_record(&f->wrap, false);
        total = f->wrap.writes_seen;
        if (getenv("EXFAT_TEST_VERBOSE")) {
                unsigned long k = 0;
                fprintf(stderr, "# write log of the dry run (%zu records)\n", f->wrap.n_log);
                for (size_t i = 0; i < f->wrap.n_log; i++)
                        if (f->wrap.log[i].op == WRAPDEV_WRITE)
                                fprintf(stderr, "# write %lu: offset 0x%llx, %zu bytes\n", k++,
                                        (unsigned long long) f->wrap.log[i].offset, f->wrap.log[i].len);
                        else
                                fprintf(stderr, "# flush\n");
        }
        fprintf(stderr, "# workload: %lu device writes\n", total);
        assert_true(total > 5);
        for (unsigned long cut = 0; cut <= total; cut++) {
                struct exfat_volume *vol = NULL;
                struct img_accounting acc;
                int r;

                assert_int_equal(img_pwrite(f->fd, pristine, img_size, 0), 0);
                assert_int_equal(exfat_mount(f->dev, &f->opts, &vol), 0);
                f->vol = vol;
                pthread_mutex_lock(&f->wrap.lock);
                f->wrap.writes_before_cut = (long) cut;
                f->wrap.writes_seen = 0;
                pthread_mutex_unlock(&f->wrap.lock);
                workload(f);
                (void) exfat_unmount(f->vol);
                f->vol = NULL;
                pthread_mutex_lock(&f->wrap.lock);
                f->wrap.writes_before_cut = -1;
                pthread_mutex_unlock(&f->wrap.lock);
                r = img_fsck(f->path);
                if (r != 0 && !fsck_only_long_chains(f->path)) {
                        fprintf(stderr, "power cut after %lu of %lu writes: fsck.exfat -n exited %d\n", cut, total, r);
                        if (bad++ == 0)
                                img_fsck_show(f->path);
                        continue;
                }
                if (r != 0)
                        long_chain_points++;
                fx_reload_geom(f);
                if (workload == conversion_workload && !check_promises(f, cut)) {
                        fprintf(stderr, "power cut after %lu of %lu writes: fsynced data of \"a\" lost\n", cut, total);
                        bad++;
                }
                r = img_account(f->fd, &f->g, &acc);
                if (r < 0 || acc.unmarked || acc.crosslinked) {
                        fprintf(stderr, "power cut after %lu of %lu writes: %u clusters owned but free, %u owned "
                                "twice (%d)\n", cut, total, acc.unmarked, acc.crosslinked, r);
                        bad++;
                }
        }
        free(pristine);
        fprintf(stderr, "# %d cut points left a FAT chain longer than its file (repairable)\n", long_chain_points);
        if (bad)
                fail_msg("%d of %lu power-cut points left an inconsistent volume", bad, total + 1);
        /* the last image is the complete run: it must mount and unmount cleanly */
        fx_mount(f, false);
}

static void test_power_cut(void **state) {
        power_cut(*state, crash_workload);
}

static void test_power_cut_cluster_reuse(void **state) {
        power_cut(*state, reuse_workload);
}

static void test_power_cut_chain_conversion(void **state) {
        power_cut(*state, conversion_workload);
}

static void test_power_cut_namespace(void **state) {
        power_cut(*state, namespace_workload);
}

static void test_power_cut_distant_rename(void **state) {
        power_cut(*state, distant_rename_workload);
}

/* With options.sync every call is written through on its own. */
static void test_power_cut_sync_option(void **state) {
        struct fx *f = *state;
        f->opts.sync = true;
        power_cut(f, crash_workload);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        power_cut(f, distant_rename_workload);
}

/* With options.sync a failing device fails the call itself; once it works again the volume is
 * consistent and the failed calls left either nothing or a complete result. */
static void test_sync_mode_write_error(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        uint8_t data[9000];
        uint64_t ino;
        int r;

        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        f->opts.sync = true;
        fx_mount(f, false);
        fill_pattern(data, sizeof(data), 5);
        ino = fx_create(f, EXFAT_ROOT_INO, "ok", data, sizeof(data));
        (void) ino;
        wrapdev_set_fail(&f->wrap, 0, -EIO, 0);
        r = exfat_create(f->vol, EXFAT_ROOT_INO, "fails", 0, &st);
        assert_int_equal(r, -EIO);
        r = exfat_mkdir(f->vol, EXFAT_ROOT_INO, "fails-too", &st);
        assert_int_equal(r, -EIO);
        r = exfat_rename(f->vol, EXFAT_ROOT_INO, "ok", EXFAT_ROOT_INO, "renamed", 0);
        assert_int_equal(r, -EIO);
        r = exfat_set_label(f->vol, "NOPE");
        assert_int_equal(r, -EIO);
        wrapdev_set_fail(&f->wrap, 0, 0, 0);
        fx_create(f, EXFAT_ROOT_INO, "later", "l", 1);
        fx_remount(f);
        fx_expect_content(f, "later", "l", 1);
        {
                struct dirlist dl;
                assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
                /* "ok" under one of its names, exactly once */
                assert_int_equal(dirlist_has(&dl, "ok") + dirlist_has(&dl, "renamed"), 1);
                fprintf(stderr, "# after the failed calls: fails %d, fails-too %d, renamed %d\n",
                        dirlist_has(&dl, "fails"), dirlist_has(&dl, "fails-too"), dirlist_has(&dl, "renamed"));
                dirlist_free(&dl);
        }
}

/* libexfat/README promises that metadata reaches the device within a few seconds of the last
 * change even when nobody syncs (a stick pulled without unmounting keeps recent work). */
static void test_background_write_back(void **state) {
        struct fx *f = *state;
        struct img_entry e;
        double t0 = now_seconds();
        int r = -ENOENT;

        fx_create(f, EXFAT_ROOT_INO, "unsynced", "data", 4);
        while (now_seconds() - t0 < 8) {
                r = img_find(f->fd, &f->g, "unsynced", &e);
                if (r == 0 && e.size == 4)
                        break;
                usleep(100 * 1000);
        }
        fprintf(stderr, "# entry on the device after %.1f s\n", now_seconds() - t0);
        if (r != 0 || e.size != 4)
                fail_msg("the new file's entry was not on the device 8 s after the change");
        fx_expect_oracle_content(f, "unsynced", "data", 4);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                FX_TEST("write_error_then_recovery", test_write_error_then_recovery, &wrapped),
                FX_TEST("write_error_mid_metadata", test_write_error_mid_metadata, &wrapped),
                FX_TEST("read_error", test_read_error, &wrapped),
                FX_TEST("sync_mode_write_error", test_sync_mode_write_error, &wrapped),
                FX_TEST("unmount_error_keeps_dirty", test_unmount_error_keeps_dirty, &wrapped),
                FX_TEST("probe_does_not_write", test_probe_does_not_write, &wrapped_unmounted),
                FX_TEST("write_order", test_write_order, &wrapped),
                FX_TEST("write_order_fragmented", test_write_order_fragmented, &wrapped_small),
                FX_TEST("large_sequential_io", test_large_sequential_io, &wrapped_big),
                FX_TEST("metadata_writes_small", test_metadata_writes_small, &wrapped_1g),
                FX_TEST("background_write_back", test_background_write_back, &wrapped),
                FX_TEST("power_cut", test_power_cut, &wrapped_small_unmounted),
                FX_TEST("power_cut_cluster_reuse", test_power_cut_cluster_reuse, &wrapped_small_unmounted),
                FX_TEST("power_cut_chain_conversion", test_power_cut_chain_conversion, &wrapped_small_unmounted),
                FX_TEST("power_cut_namespace", test_power_cut_namespace, &wrapped_small_unmounted),
                FX_TEST("power_cut_distant_rename", test_power_cut_distant_rename, &wrapped_small_unmounted),
                FX_TEST("power_cut_sync_option", test_power_cut_sync_option, &wrapped_small_unmounted),
                FX_TEST("power_cut_4k_sectors", test_power_cut, &wrapped_small_4k_sectors),
                FX_TEST("power_cut_direct_io", test_power_cut, &wrapped_small_direct),
                FX_TEST("power_cut_chain_conversion_direct_io", test_power_cut_chain_conversion, &wrapped_small_direct),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/device", tests, NULL, NULL);
}
