/* SPDX-License-Identifier: MIT */
/* The fd backend with an O_DIRECT fd for file data (exfat_device_init_fd_direct): contents at
 * unaligned offsets, sizes and buffers, zero-filled gaps, data writes racing metadata writes and
 * reads of neighbouring clusters through the page cache, and write-behind: data queued but not
 * yet written is waited for by readers of the device, a failed write reaches flush, and an idle
 * volume gives the queue's buffers back. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

static const struct fx_params unmounted = { .no_mount = true, .size = 64ull << 20 };

struct direct {
        int dfd;
        struct exfat_device dev;
};

/* Not on a test's stack: after a failed assertion the fixture's teardown still unmounts through it. */
static struct direct d;

/* Mounts f's image through a direct device; skips when the file system under TMPDIR has no O_DIRECT. */
static void direct_mount(struct fx *f) {
        d.dfd = open(f->path, O_RDWR | O_DIRECT | O_CLOEXEC);
        if (d.dfd < 0 && errno == EINVAL)
                skip();
        assert_true(d.dfd >= 0);
        assert_int_equal(exfat_device_init_fd_direct(&d.dev, f->fd, d.dfd), 0);
        assert_non_null(d.dev.ops->write_data);
        f->dev = &d.dev;
        fx_mount(f, false);
}

static void direct_done(struct fx *f) {
        fx_unmount_check(f);
        exfat_device_done(&d.dev);
        assert_null(d.dev.ops->write_data);
        close(d.dfd);
        f->dev = &f->fdev;
}

/* Ends a test that wrote one file: drops its reference, unmounts, and has the oracle read it back. */
static void direct_done_expect(struct fx *f, uint64_t ino, const char *name, const void *want, size_t size) {
        exfat_forget(f->vol, ino, 1);
        direct_done(f);
        fx_expect_oracle_content(f, name, want, size);
}

static void fill(uint8_t *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t) ((i * 131u + seed * 7u + (i >> 12)) & 0xff);
}

static void test_unaligned(void **state) {
        struct fx *f = *state;
        const size_t size = 3 * MiB + 777;
        /* offset, length: inside one page, across pages, page-aligned runs with ragged ends, past
         * the end of the file (the gap reads as zeros), overwrites. */
        static const struct { uint64_t off; size_t len; } ops[] = {
                { 0, 100 }, { 100, 5000 }, { 8192, 65536 }, { 4095, 8194 }, { 300000, MiB },
                { 2 * MiB + 1, MiB - 1 + 777 }, { 12345, 200000 }, { 0, 4096 }, { 1 * MiB, 4096 * 3 },
        };
        uint8_t *model, *src, *back;
        size_t longest = 0;
        uint64_t ino;

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                longest = ops[i].len > longest ? ops[i].len : longest;
        model = calloc(1, size);
        /* Room for the longest write at the farthest odd start below (src + 1 + 2 * 16). */
        src = malloc(longest + 1 + 2 * 16);
        back = malloc(size);
        assert_non_null(model);
        assert_non_null(src);
        assert_non_null(back);
        direct_mount(f);
        ino = fx_create(f, EXFAT_ROOT_INO, "data", NULL, 0);
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                /* An odd address: the backend must copy before writing directly. */
                uint8_t *p = src + 1 + (i % 3) * 16;
                fill(p, ops[i].len, (unsigned) i + 1);
                fx_write(f, ino, p, ops[i].len, ops[i].off);
                memcpy(model + ops[i].off, p, ops[i].len);
        }
        assert_int_equal(exfat_read(f->vol, ino, back, size, 0), (ssize_t) size);
        assert_memory_equal(back, model, size);
        direct_done_expect(f, ino, "data", model, size);
        free(model);
        free(src);
        free(back);
}

struct writer {
        struct fx *f;
        uint64_t ino;
        unsigned seed;
        uint8_t *model;
        size_t size;
};

static void *writer_main(void *arg) {
        struct writer *w = arg;
        uint8_t *buf = malloc(100 * KiB + 1);
        size_t chunk = 100 * KiB; /* not a multiple of the page: ragged ends go the buffered way */

        if (!buf)
                return (void *) (intptr_t) -ENOMEM;
        for (size_t off = 0; off < w->size; off += chunk) {
                size_t n = w->size - off < chunk ? w->size - off : chunk;
                fill(buf + 1, n, w->seed + (unsigned) (off / chunk));
                memcpy(w->model + off, buf + 1, n);
                if (exfat_write(w->f->vol, w->ino, buf + 1, n, off) != (ssize_t) n) {
                        free(buf);
                        return (void *) (intptr_t) -EIO;
                }
        }
        free(buf);
        return NULL;
}

/* Small clusters put directory blocks and file data side by side in the device's pages: metadata
 * written through the page cache while data goes around it must still read back right, during the
 * mount and from the image afterwards. */
static void test_racing_metadata(void **state) {
        struct fx *f = *state;
        struct writer w[2];
        pthread_t t[2];
        char name[32];
        uint8_t *back;

        direct_mount(f);
        for (int i = 0; i < 2; i++) {
                snprintf(name, sizeof(name), "big%d", i);
                w[i] = (struct writer) { .f = f, .seed = 17u * (unsigned) i + 3, .size = 6 * MiB + 4321 };
                w[i].model = malloc(w[i].size);
                assert_non_null(w[i].model);
                w[i].ino = fx_create(f, EXFAT_ROOT_INO, name, NULL, 0);
        }
        for (int i = 0; i < 2; i++)
                assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
        for (int i = 0; i < 400; i++) {
                struct exfat_stat st;
                snprintf(name, sizeof(name), "small-%03d", i);
                assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, name, EXFAT_ATTR_ARCHIVE, &st), 0);
                fx_write(f, st.ino, name, strlen(name), 0);
                exfat_forget(f->vol, st.ino, 1);
                if (i % 50 == 0)
                        assert_int_equal(exfat_sync(f->vol), 0);
        }
        for (int i = 0; i < 2; i++) {
                void *ret;
                assert_int_equal(pthread_join(t[i], &ret), 0);
                assert_null(ret);
        }
        for (int i = 0; i < 2; i++) {
                back = malloc(w[i].size);
                assert_non_null(back);
                assert_int_equal(exfat_read(f->vol, w[i].ino, back, w[i].size, 0), (ssize_t) w[i].size);
                assert_memory_equal(back, w[i].model, w[i].size);
                free(back);
                exfat_forget(f->vol, w[i].ino, 1);
        }
        direct_done(f);
        for (int i = 0; i < 2; i++) {
                snprintf(name, sizeof(name), "big%d", i);
                fx_expect_oracle_content(f, name, w[i].model, w[i].size);
                free(w[i].model);
        }
        fx_expect_oracle_content(f, "small-399", "small-399", 9);
}

struct device_reader {
        int fd;
        uint8_t *buf;
        size_t len;
};

/* Reads the extents from the device itself, as exfat-worker splices them. */
static int read_device(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct device_reader *r = ctx;
        size_t pos = 0;

        for (size_t i = 0; i < count; i++) {
                if (ext[i].dev_offset == EXFAT_EXTENT_ZERO)
                        memset(r->buf + pos, 0, ext[i].length);
                else if (pread(r->fd, r->buf + pos, ext[i].length, (off_t) ext[i].dev_offset) != (ssize_t) ext[i].length)
                        return -EIO;
                pos += ext[i].length;
        }
        r->len = pos;
        (void) total;
        return 0;
}

/* Each round rewrites 8 MiB (it all fits in the write-behind queue) and at once reads it back
 * from the device through exfat_read_extents: without the drain, the device may still have the
 * previous round. */
static void test_read_extents_after_write(void **state) {
        struct fx *f = *state;
        const size_t size = 8 * MiB;
        uint8_t *src = malloc(size), *back = malloc(size);
        struct device_reader r = { .fd = f->fd, .buf = back };

        assert_non_null(src);
        assert_non_null(back);
        direct_mount(f);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "rewritten", NULL, 0);
        for (unsigned round = 0; round < 8; round++) {
                fill(src, size, round + 100);
                fx_write(f, ino, src, size, 0);
                assert_int_equal(exfat_read_extents(f->vol, ino, 0, size, read_device, &r), 0);
                assert_int_equal(r.len, size);
                assert_memory_equal(back, src, size);
        }
        direct_done_expect(f, ino, "rewritten", src, size);
        free(src);
        free(back);
}

static long resident_kib(void) {
        long size = 0, pages = 0;
        FILE *statm = fopen("/proc/self/statm", "r");
        assert_non_null(statm);
        assert_int_equal(fscanf(statm, "%ld %ld", &size, &pages), 2);
        fclose(statm);
        return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A volume that goes quiet gives its write buffers back: 16 MiB written in one call take several
 * of the queue's 1 MiB buffers, and after the library's idle write-back (2 s after the last
 * change, on a 1 s tick) the process is back to about what it was before the write. */
static void test_idle_gives_buffers_back(void **state) {
        struct fx *f = *state;
        const size_t size = 16 * MiB;
        const char *sanitizer = getenv("EXFAT_SANITIZER");
        uint8_t *src;

        if (sanitizer && *sanitizer) {
                /* ASan keeps freed memory in quarantine and ignores malloc_trim(): resident memory
                 * says nothing about the library's buffers there. */
                print_message("skipped: resident memory is not measurable under -fsanitize=%s\n", sanitizer);
                skip();
        }
        src = malloc(size);
        assert_non_null(src);
        fill(src, size, 7);
        direct_mount(f);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "quiet", NULL, 0);
        malloc_trim(0); /* what the library trims later must be its buffers, not older garbage */
        long before = resident_kib();
        fx_write(f, ino, src, size, 0);
        long busy = resident_kib();
        sleep(4);
        long after = resident_kib();
        if (busy - before < 1024)
                fail_msg("writing 16 MiB took %ld KiB: the queue never held a buffer", busy - before);
        if (after > before + (busy - before) / 2)
                fail_msg("resident %ld KiB before the write, %ld KiB after it, still %ld KiB 4 s later", before, busy,
                         after);
        direct_done_expect(f, ino, "quiet", src, size);
        free(src);
}

/* The same 2 MiB rewritten 100 times in a row, each time with other bytes, without a drain in
 * between: the queue holds several of these writes at once, and four threads could write them in
 * any order; the last write must be what the device keeps, at every round. */
static void test_rewrites_keep_order(void **state) {
        struct fx *f = *state;
        const size_t size = 2 * MiB;
        uint8_t *src = malloc(size), *back = malloc(size);

        assert_non_null(src);
        assert_non_null(back);
        direct_mount(f);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "hot", NULL, 0);
        for (unsigned round = 0; round < 100; round++) {
                for (unsigned burst = 0; burst < 6; burst++) {
                        fill(src, size, round * 6 + burst);
                        fx_write(f, ino, src, size, 0);
                }
                assert_int_equal(exfat_read(f->vol, ino, back, size, 0), (ssize_t) size);
                assert_memory_equal(back, src, size);
        }
        direct_done_expect(f, ino, "hot", src, size);
        free(src);
        free(back);
}

/* A data write that fails on the device (here: a direct fd that cannot write) reaches the file's
 * fsync once, even when another flush met the failure first: here the idle write-back's (2 s after
 * the last change). A file open at the time hears of it too (the library cannot tell whose data
 * failed). Unmount then reports it and leaves the volume marked dirty. */
static void test_failed_write_reported(void **state) {
        struct fx *f = *state;
        const size_t size = 2 * MiB;
        uint8_t *src = malloc(size), flags;
        int rofd = open(f->path, O_RDONLY | O_DIRECT | O_CLOEXEC);

        assert_non_null(src);
        if (rofd < 0 && errno == EINVAL)
                skip();
        assert_true(rofd >= 0);
        assert_int_equal(exfat_device_init_fd_direct(&d.dev, f->fd, rofd), 0);
        d.dfd = rofd;
        f->dev = &d.dev;
        fx_mount(f, false);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "lost", NULL, 0);
        uint64_t other = fx_create(f, EXFAT_ROOT_INO, "other", "x", 1);
        assert_int_equal(exfat_fsync(f->vol, other, false), 0);
        fill(src, size, 7);
        /* Queued: the write itself succeeds, as write() does with the page cache. */
        assert_int_equal(exfat_write(f->vol, ino, src, size, 0), (ssize_t) size);
        sleep(4);
        assert_int_equal(exfat_fsync(f->vol, ino, false), -EIO);
        /* Reported once to each file. */
        assert_int_equal(exfat_fsync(f->vol, ino, false), 0);
        assert_int_equal(exfat_fsync(f->vol, other, false), -EIO);
        assert_int_equal(exfat_fsync(f->vol, other, false), 0);
        exfat_forget(f->vol, ino, 1);
        exfat_forget(f->vol, other, 1);
        assert_int_equal(exfat_unmount(f->vol), -EIO);
        f->vol = NULL;
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        assert_true(flags & 0x02); /* VolumeDirty */
        exfat_device_done(&d.dev);
        close(d.dfd);
        f->dev = &f->fdev;
        f->no_final_check = true;
        free(src);
}

static void test_no_direct_fd(void **state) {
        struct fx *f = *state;
        struct exfat_device dev;

        /* -1: the plain backend, nothing to release (done is a no-op). */
        assert_int_equal(exfat_device_init_fd_direct(&dev, f->fd, -1), 0);
        assert_null(dev.ops->write_data);
        exfat_device_done(&dev);
        assert_int_equal(exfat_device_init_fd_direct(&dev, -1, -1), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate_setup_teardown(test_unaligned, fx_setup, fx_teardown, (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_racing_metadata, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_read_extents_after_write, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_rewrites_keep_order, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_failed_write_reported, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_idle_gives_buffers_back, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
                cmocka_unit_test_prestate_setup_teardown(test_no_direct_fd, fx_setup, fx_teardown,
                                                         (void *) &unmounted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
