/* SPDX-License-Identifier: MIT */
/* File data: read/write at offsets, ValidDataLength, truncate, large and fragmented files,
 * attributes, unlink of an open file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

static const struct fx_params big_volume = { .size = 256ull << 20 };
static const struct fx_params cluster_32k = { .cluster = "32K" };
static const struct fx_params small_volume = { .size = 8ull << 20 };
static const struct fx_params sparse_6g = { .size = 6ull << 30, .cluster = "1M" };

static void set_size(struct fx *f, uint64_t ino, uint64_t size) {
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = size };
        struct exfat_stat st;
        int r = exfat_setattr(f->vol, ino, &sa, &st);
        if (r != 0)
                fail_msg("truncate to %llu: %s", (unsigned long long) size, strerror(-r));
        assert_int_equal(st.size, size);
}

/* Leaves non-zero bytes in every free cluster, so that a file growing into them shows stale
 * data unless the library zero-fills what lies below ValidDataLength. */
static void dirty_free_space(struct fx *f) {
        size_t bytes = (size_t) fx_free_clusters(f) * f->g.cluster_size;
        uint8_t *junk = malloc(bytes);
        uint64_t ino;

        assert_non_null(junk);
        memset(junk, 0xA5, bytes);
        ino = fx_create(f, EXFAT_ROOT_INO, "junk", junk, bytes);
        assert_int_equal(fx_free_clusters(f), 0);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "junk"), 0);
        exfat_forget(f->vol, ino, 1);
        free(junk);
}

static void test_write_read_offsets(void **state) {
        struct fx *f = *state;
        enum { LEN = 50000 };
        uint8_t *shadow = calloc(1, LEN), *buf = malloc(LEN);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "offsets", NULL, 0);
        uint32_t seed = 42;
        size_t size = 0;
        struct exfat_stat st;

        assert_non_null(shadow);
        assert_non_null(buf);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        /* overlapping writes at odd offsets, including a gap past the end */
        for (int i = 0; i < 60; i++) {
                seed = seed * 1103515245u + 12345u;
                size_t off = (seed >> 8) % (LEN - 3000);
                size_t len = 1 + (seed >> 3) % 2999;
                uint8_t chunk[3000];
                fill_pattern(chunk, len, seed);
                fx_write(f, ino, chunk, len, off);
                memcpy(shadow + off, chunk, len);
                if (off + len > size)
                        size = off + len;
                if (i % 10 == 9) {
                        assert_int_equal(exfat_read(f->vol, ino, buf, LEN, 0), size);
                        assert_memory_equal(buf, shadow, size);
                }
        }
        /* reads at odd offsets/lengths, and past the end */
        assert_int_equal(exfat_read(f->vol, ino, buf, 100, size - 10), 10);
        assert_memory_equal(buf, shadow + size - 10, 10);
        assert_int_equal(exfat_read(f->vol, ino, buf, 100, size), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, 100, size + 5000), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, 4095, 4097), 4095);
        assert_memory_equal(buf, shadow + 4097, 4095);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, size);
        assert_true(st.allocated >= size && st.allocated % 4096 == 0);
        /* empty transfers change nothing, even far past the end */
        assert_int_equal(exfat_write(f->vol, ino, buf, 0, size + 100000), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, 0, 0), 0);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, size);
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "offsets", shadow, size);
        fx_mount(f, false);
        fx_expect_content(f, "offsets", shadow, size);
        free(shadow);
        free(buf);
}

/* Writing far past the end leaves a gap that reads as zeros (it lies past ValidDataLength or
 * is zero-filled on disk). */
static void test_sparse_gap(void **state) {
        struct fx *f = *state;
        uint64_t ino;
        uint8_t *want = calloc(1, 300 * KiB + 4);
        struct exfat_stat st;

        dirty_free_space(f);
        ino = fx_create(f, EXFAT_ROOT_INO, "gap", "head", 4);

        assert_non_null(want);
        memcpy(want, "head", 4);
        memcpy(want + 300 * KiB, "tail", 4);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        fx_write(f, ino, "tail", 4, 300 * KiB);
        exfat_release(f->vol, ino);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, 300 * KiB + 4);
        fx_expect_content(f, "gap", want, 300 * KiB + 4);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "gap", want, 300 * KiB + 4);
        fx_mount(f, false);
        fx_expect_content(f, "gap", want, 300 * KiB + 4);
        free(want);
}

static void test_truncate_up(void **state) {
        struct fx *f = *state;
        uint8_t head[100], *want = calloc(1, MiB);
        uint64_t ino;
        struct exfat_stat st;
        struct img_entry e;

        assert_non_null(want);
        dirty_free_space(f);
        fill_pattern(head, sizeof(head), 9);
        memcpy(want, head, sizeof(head));
        ino = fx_create(f, EXFAT_ROOT_INO, "grown", head, sizeof(head));
        set_size(f, ino, MiB);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, MiB);
        /* Growth writes zeros: the stored bytes are what any reader sees, VDL-aware or not. */
        assert_int_equal(st.valid_size, MiB);
        fx_expect_content(f, "grown", want, MiB);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, "grown", &e), 0);
        assert_int_equal(e.size, MiB);
        assert_int_equal(e.valid_size, MiB);
        fx_expect_oracle_content(f, "grown", want, MiB);
        fx_mount(f, false);
        fx_expect_content(f, "grown", want, MiB);
        /* a write in the middle moves VDL and zero-fills between */
        ino = fx_walk(f, "grown");
        assert_int_equal(exfat_open(f->vol, ino), 0);
        fx_write(f, ino, "mid", 3, 500 * KiB);
        exfat_release(f->vol, ino);
        memcpy(want + 500 * KiB, "mid", 3);
        fx_expect_content(f, "grown", want, MiB);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "grown", want, MiB);
        fx_mount(f, false);
        fx_expect_content(f, "grown", want, MiB);
        free(want);
}

/* A file another system preallocated (ValidDataLength below DataLength, stale bytes past it)
 * keeps its boundary when it grows: the growth itself is written as zeros, the old tail still
 * reads as zeros. */
static void test_truncate_up_preallocated(void **state) {
        struct fx *f = *state;
        const size_t pre = 256 * KiB, grown = MiB;
        uint8_t *data = malloc(pre), *want = calloc(1, grown), *raw = malloc(grown);
        struct img_entry e;
        uint64_t ino;

        assert_non_null(data);
        assert_non_null(want);
        assert_non_null(raw);
        dirty_free_space(f);
        fill_pattern(data, pre, 3);
        fx_create(f, EXFAT_ROOT_INO, "pre", data, pre);
        fx_unmount_check(f);
        fx_oracle_preallocate(f, "pre", pre, 100);
        fx_mount(f, false);
        ino = fx_walk(f, "pre");
        set_size(f, ino, grown);
        memcpy(want, data, 100);
        fx_expect_content(f, "pre", want, grown);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, "pre", &e), 0);
        assert_int_equal(e.size, grown);
        assert_int_equal(e.valid_size, 100);
        assert_int_equal(img_read_file(f->fd, &f->g, &e, raw), 0);
        assert_memory_equal(raw, data, pre);            /* the old tail, untouched */
        for (size_t i = pre; i < grown; i++)           /* the growth: zeros on the device */
                if (raw[i] != 0)
                        fail_msg("stored byte %zu of the growth is 0x%02x", i, raw[i]);
        fx_mount(f, false);
        fx_expect_content(f, "pre", want, grown);
        free(data);
        free(want);
        free(raw);
}

static void test_truncate_down(void **state) {
        struct fx *f = *state;
        size_t len = 200 * KiB;
        uint8_t *data = malloc(len);
        uint64_t ino, before;

        assert_non_null(data);
        fill_pattern(data, len, 5);
        ino = fx_create(f, EXFAT_ROOT_INO, "shrunk", data, len);
        before = fx_free_clusters(f);
        set_size(f, ino, 5000);
        assert_int_equal(fx_free_clusters(f), before + 50 - 2);
        fx_expect_content(f, "shrunk", data, 5000);
        /* growing again shows zeros, not the old bytes */
        set_size(f, ino, 9000);
        memset(data + 5000, 0, 4000);
        fx_expect_content(f, "shrunk", data, 9000);
        set_size(f, ino, 0);
        assert_int_equal(fx_free_clusters(f), before + 50);
        fx_expect_content(f, "shrunk", data, 0);
        set_size(f, ino, 4096);
        set_size(f, ino, 0);
        fx_remount(f);
        fx_expect_content(f, "shrunk", data, 0);
        {
                /* an empty file has no clusters and NoFatChain clear */
                struct img_entry e;
                fx_unmount_check(f);
                assert_int_equal(img_find(f->fd, &f->g, "shrunk", &e), 0);
                assert_int_equal(e.first_cluster, 0);
                assert_int_equal(e.stream_flags & 0x02, 0);
                fx_mount(f, false);
        }
        free(data);
}

/* 5 MiB written in odd-sized pieces, read back across cluster boundaries. */
static void test_large_file(void **state) {
        struct fx *f = *state;
        size_t len = 5 * MiB + 123;
        uint8_t *data = malloc(len), *buf = malloc(70000);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "large", NULL, 0);

        assert_non_null(data);
        assert_non_null(buf);
        fill_pattern(data, len, 11);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        for (size_t off = 0; off < len;) {
                size_t n = len - off < 65521 ? len - off : 65521;
                fx_write(f, ino, data + off, n, off);
                off += n;
        }
        for (uint64_t off = 4090; off < len; off += 999983) {
                ssize_t n = exfat_read(f->vol, ino, buf, 70000, off);
                size_t want = len - off < 70000 ? len - off : 70000;
                assert_int_equal(n, want);
                assert_memory_equal(buf, data + off, want);
        }
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "large", data, len);
        fx_mount(f, false);
        fx_expect_content(f, "large", data, len);
        free(data);
        free(buf);
}

static bool file_is_contiguous(struct fx *f, const char *path, struct img_entry *e) {
        size_t max = f->g.cluster_count, n;
        uint32_t *cl = calloc(max, sizeof(*cl));
        bool ok = true;

        assert_non_null(cl);
        assert_int_equal(img_find(f->fd, &f->g, path, e), 0);
        assert_int_equal(img_clusters(f->fd, &f->g, e->first_cluster, e->size, e->stream_flags & 2, cl, max, &n), 0);
        for (size_t i = 1; i < n; i++)
                if (cl[i] != cl[i - 1] + 1)
                        ok = false;
        free(cl);
        return ok;
}

/* A lone file appended to in small pieces stays in one run of clusters. */
static void test_contiguous_growth(void **state) {
        struct fx *f = *state;
        uint8_t chunk[6000], *all = malloc(60 * 6000);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "appended", NULL, 0);
        struct img_entry e;

        assert_non_null(all);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        for (int i = 0; i < 60; i++) {
                fill_pattern(chunk, sizeof(chunk), (uint32_t) i);
                fx_write(f, ino, chunk, sizeof(chunk), (uint64_t) i * sizeof(chunk));
                memcpy(all + i * sizeof(chunk), chunk, sizeof(chunk));
        }
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
        if (!file_is_contiguous(f, "appended", &e))
                fail_msg("a file grown alone on an empty volume is fragmented");
        if (!(e.stream_flags & 0x02))
                fail_msg("a contiguous file should be stored NoFatChain (flags 0x%02x)", e.stream_flags);
        fx_expect_oracle_content(f, "appended", all, 60 * sizeof(chunk));
        fx_mount(f, false);
        fx_expect_content(f, "appended", all, 60 * sizeof(chunk));
        free(all);
}

/* Interleaved appends to two files: at least one cannot stay contiguous, so a NoFatChain
 * stream must become a FAT chain with the right links. */
static void test_fragmentation(void **state) {
        struct fx *f = *state;
        enum { ROUNDS = 40 };
        size_t cs = f->g.cluster_size;
        uint8_t *a = malloc(ROUNDS * cs), *b = malloc(ROUNDS * cs);
        uint64_t ia = fx_create(f, EXFAT_ROOT_INO, "A", NULL, 0);
        uint64_t ib = fx_create(f, EXFAT_ROOT_INO, "B", NULL, 0);
        struct img_entry ea, eb;

        assert_non_null(a);
        assert_non_null(b);
        fill_pattern(a, ROUNDS * cs, 100);
        fill_pattern(b, ROUNDS * cs, 200);
        assert_int_equal(exfat_open(f->vol, ia), 0);
        assert_int_equal(exfat_open(f->vol, ib), 0);
        for (int i = 0; i < ROUNDS; i++) {
                fx_write(f, ia, a + i * cs, cs, (uint64_t) i * cs);
                fx_write(f, ib, b + i * cs, cs, (uint64_t) i * cs);
                if (i == ROUNDS / 2)
                        assert_int_equal(exfat_fsync(f->vol, ia, false), 0);
        }
        exfat_release(f->vol, ia);
        exfat_release(f->vol, ib);
        fx_expect_content(f, "A", a, ROUNDS * cs);
        fx_expect_content(f, "B", b, ROUNDS * cs);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "A", a, ROUNDS * cs);
        fx_expect_oracle_content(f, "B", b, ROUNDS * cs);
        {
                bool ca = file_is_contiguous(f, "A", &ea), cb = file_is_contiguous(f, "B", &eb);
                /* the oracle only trusts NoFatChain where the run really is contiguous */
                if (!ca)
                        assert_int_equal(ea.stream_flags & 0x02, 0);
                if (!cb)
                        assert_int_equal(eb.stream_flags & 0x02, 0);
        }
        fx_mount(f, false);
        fx_expect_content(f, "A", a, ROUNDS * cs);
        fx_expect_content(f, "B", b, ROUNDS * cs);
        /* shrinking a chained file frees the right clusters */
        set_size(f, fx_walk(f, "A"), 3 * cs + 1);
        fx_remount(f);
        fx_expect_content(f, "A", a, 3 * cs + 1);
        fx_expect_content(f, "B", b, ROUNDS * cs);
        free(a);
        free(b);
}

/* Write into a file that sits between two others, forcing it to grow around them. */
static void test_grow_between_neighbours(void **state) {
        struct fx *f = *state;
        size_t cs = f->g.cluster_size;
        uint8_t *data = malloc(10 * cs);
        uint64_t mid;

        assert_non_null(data);
        fill_pattern(data, 10 * cs, 77);
        fx_create(f, EXFAT_ROOT_INO, "left", data, cs);
        mid = fx_create(f, EXFAT_ROOT_INO, "middle", data, cs);
        fx_create(f, EXFAT_ROOT_INO, "right", data, cs);
        assert_int_equal(exfat_open(f->vol, mid), 0);
        fx_write(f, mid, data + cs, 9 * cs, cs);
        exfat_release(f->vol, mid);
        /* the same through truncate: "left" must also leave its NoFatChain run */
        set_size(f, fx_walk(f, "left"), 6 * cs);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "middle", data, 10 * cs);
        fx_expect_oracle_content(f, "right", data, cs);
        {
                uint8_t *want = calloc(1, 6 * cs);
                assert_non_null(want);
                memcpy(want, data, cs);
                fx_expect_oracle_content(f, "left", want, 6 * cs);
                fx_mount(f, false);
                fx_expect_content(f, "left", want, 6 * cs);
                free(want);
        }
        fx_expect_content(f, "middle", data, 10 * cs);
        /* shrink a chained file into its first run, then grow it again: zeros, not old bytes */
        set_size(f, fx_walk(f, "middle"), cs / 2);
        set_size(f, fx_walk(f, "middle"), 4 * cs);
        {
                uint8_t *want = calloc(1, 4 * cs);
                assert_non_null(want);
                memcpy(want, data, cs / 2);
                fx_expect_content(f, "middle", want, 4 * cs);
                fx_remount(f);
                fx_expect_content(f, "middle", want, 4 * cs);
                free(want);
        }
        free(data);
}

static void test_attributes(void **state) {
        struct fx *f = *state;
        struct exfat_setattr sa = { .valid = EXFAT_SET_ATTRIBUTES };
        struct exfat_stat st;
        struct img_entry e;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "attrs", "a", 1);
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "dir");

        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.attributes & EXFAT_ATTR_DIRECTORY, 0);
        assert_int_equal(st.nlink, 1);
        sa.attributes = EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM;
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
        assert_int_equal(st.attributes, EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM);
        sa.attributes = EXFAT_ATTR_HIDDEN | EXFAT_ATTR_ARCHIVE;
        assert_int_equal(exfat_setattr(f->vol, d, &sa, &st), 0);
        assert_true(EXFAT_IS_DIR(&st)); /* the directory bit is not the caller's to clear */
        assert_true(st.attributes & EXFAT_ATTR_HIDDEN);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, "attrs", &e), 0);
        assert_int_equal(e.attributes, EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM);
        assert_int_equal(img_find(f->fd, &f->g, "dir", &e), 0);
        assert_int_equal(e.attributes, EXFAT_ATTR_DIRECTORY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_ARCHIVE);
        fx_mount(f, false);
        assert_int_equal(exfat_getattr(f->vol, fx_walk(f, "attrs"), &st), 0);
        assert_int_equal(st.attributes, EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM);
        /* a file cannot be made a directory */
        sa.attributes = EXFAT_ATTR_DIRECTORY;
        assert_true(exfat_setattr(f->vol, fx_walk(f, "attrs"), &sa, &st) < 0 || !EXFAT_IS_DIR(&st));
        /* create passes the attributes through */
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "hidden", EXFAT_ATTR_HIDDEN, &st), 0);
        assert_true(st.attributes & EXFAT_ATTR_HIDDEN);
}

static void test_unlink_open_file(void **state) {
        struct fx *f = *state;
        size_t len = 100 * KiB;
        uint8_t *data = malloc(len), *buf = malloc(len);
        struct exfat_stat st;
        uint64_t ino, before;

        assert_non_null(data);
        assert_non_null(buf);
        fill_pattern(data, len, 13);
        ino = fx_create(f, EXFAT_ROOT_INO, "doomed", data, len);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        before = fx_free_clusters(f);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "doomed"), 0);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "doomed", &st), -ENOENT);
        /* the name is free for reuse while the old file lives on */
        fx_create(f, EXFAT_ROOT_INO, "doomed", "new", 3);
        assert_int_equal(exfat_read(f->vol, ino, buf, len, 0), len);
        assert_memory_equal(buf, data, len);
        fx_write(f, ino, "still writable", 14, 10);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, len);
        assert_true(fx_free_clusters(f) <= before); /* clusters still held */
        exfat_release(f->vol, ino);
        exfat_forget(f->vol, ino, 1);
        assert_int_equal(fx_free_clusters(f), before + 25 - 1);
        fx_remount(f);
        fx_expect_content(f, "doomed", "new", 3);
        free(data);
        free(buf);
}

static void test_read_directory_eisdir(void **state) {
        struct fx *f = *state;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "d");
        char buf[16];

        assert_int_equal(exfat_read(f->vol, d, buf, sizeof(buf), 0), -EISDIR);
        assert_int_equal(exfat_write(f->vol, d, buf, sizeof(buf), 0), -EISDIR);
        assert_int_equal(exfat_read(f->vol, EXFAT_ROOT_INO, buf, sizeof(buf), 0), -EISDIR);
}

/* A file larger than 4 GiB cannot exist on a small volume, but the size field is 64-bit:
 * writing at a huge offset must fail cleanly (-ENOSPC or -EFBIG), leaving the file intact. */
static void test_write_far_offset(void **state) {
        struct fx *f = *state;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "far", "x", 1);
        ssize_t n;

        assert_int_equal(exfat_open(f->vol, ino), 0);
        n = exfat_write(f->vol, ino, "y", 1, 1ull << 40);
        assert_true(n == -ENOSPC || n == -EFBIG);
        n = exfat_write(f->vol, ino, "y", 1, UINT64_MAX - 1);
        assert_true(n == -EFBIG || n == -EINVAL || n == -ENOSPC);
        exfat_release(f->vol, ino);
        fx_remount(f);
        fx_expect_content(f, "far", "x", 1);
}

/* Sizes above 4 GiB use the full 64-bit fields: a 5 GiB file on a sparse 6 GiB image, made as
 * Windows preallocates (clusters allocated, ValidDataLength 4: no 5 GiB of zeros written). */
static void test_size_above_4g(void **state) {
        struct fx *f = *state;
        const uint64_t big = 5ull << 30;
        struct exfat_stat st;
        struct img_entry e;
        uint8_t buf[4096], zero[4096] = { 0 };
        uint64_t ino;

        fx_create(f, EXFAT_ROOT_INO, "huge", "head", 4);
        fx_unmount_check(f);
        fx_oracle_preallocate(f, "huge", big, 4);
        fx_mount(f, false);
        ino = fx_walk(f, "huge");
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, big);
        assert_int_equal(st.valid_size, 4);
        assert_true(st.allocated >= big);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, sizeof(buf), 0), sizeof(buf));
        assert_memory_equal(buf, "head", 4);
        assert_memory_equal(buf + 4, zero, sizeof(buf) - 4);
        assert_int_equal(exfat_read(f->vol, ino, buf, sizeof(buf), big - 100), 100);
        assert_memory_equal(buf, zero, 100);
        assert_int_equal(exfat_read(f->vol, ino, buf, sizeof(buf), (4ull << 30) + 5), sizeof(buf));
        assert_memory_equal(buf, zero, sizeof(buf));
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, "huge", &e), 0);
        assert_int_equal(e.size, big);
        assert_int_equal(e.valid_size, 4);
        fx_mount(f, false);
        ino = fx_walk(f, "huge");
        /* Down, still above ValidDataLength: nothing to zero, the boundary stays. */
        set_size(f, ino, (4ull << 30) + 1);
        fx_remount(f);
        assert_int_equal(exfat_getattr(f->vol, fx_walk(f, "huge"), &st), 0);
        assert_int_equal(st.size, (4ull << 30) + 1);
        assert_int_equal(st.valid_size, 4);
}

/* rename over a target that is still open: the target's data lives until its release. */
static void test_rename_over_open_target(void **state) {
        struct fx *f = *state;
        uint8_t old_data[30000], buf[30000];
        uint64_t victim, before;

        fill_pattern(old_data, sizeof(old_data), 31);
        fx_create(f, EXFAT_ROOT_INO, "src", "fresh", 5);
        victim = fx_create(f, EXFAT_ROOT_INO, "dst", old_data, sizeof(old_data));
        assert_int_equal(exfat_open(f->vol, victim), 0);
        before = fx_free_clusters(f);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "src", EXFAT_ROOT_INO, "dst", 0), 0);
        fx_expect_content(f, "dst", "fresh", 5);
        fx_create(f, EXFAT_ROOT_INO, "newcomer", old_data + 7, 9000); /* may not take the old clusters */
        assert_int_equal(exfat_read(f->vol, victim, buf, sizeof(buf), 0), sizeof(buf));
        assert_memory_equal(buf, old_data, sizeof(buf));
        exfat_release(f->vol, victim);
        exfat_forget(f->vol, victim, 1);
        assert_int_equal(fx_free_clusters(f), before + 8 - 3);
        fx_remount(f);
        fx_expect_content(f, "dst", "fresh", 5);
        fx_expect_content(f, "newcomer", old_data + 7, 9000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_read_offsets, fx_setup, fx_teardown),
                FX_TEST("sparse_gap", test_sparse_gap, &small_volume),
                FX_TEST("truncate_up", test_truncate_up, &small_volume),
                FX_TEST("truncate_up_preallocated", test_truncate_up_preallocated, &small_volume),
                cmocka_unit_test_setup_teardown(test_truncate_down, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_large_file, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_contiguous_growth, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_fragmentation, fx_setup, fx_teardown),
                FX_TEST("fragmentation_32k", test_fragmentation, &cluster_32k),
                cmocka_unit_test_setup_teardown(test_grow_between_neighbours, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_attributes, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_unlink_open_file, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_over_open_target, fx_setup, fx_teardown),
                FX_TEST("size_above_4g", test_size_above_4g, &sparse_6g),
                cmocka_unit_test_setup_teardown(test_read_directory_eisdir, fx_setup, fx_teardown),
                FX_TEST("write_far_offset", test_write_far_offset, &big_volume),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/file", tests, NULL, NULL);
}
