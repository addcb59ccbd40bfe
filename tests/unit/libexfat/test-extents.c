/* SPDX-License-Identifier: MIT */
/* exfat_read_extents: the device ranges it reports hold exactly what exfat_read returns, for
 * contiguous and fragmented files, across ValidDataLength, at the end of the file; and the
 * mapping stays put while the callback runs (a truncation waits). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

struct gather {
        struct fx *f;
        uint8_t *out;
        uint64_t total;
        size_t count;
        size_t zeros;
};

/* Rebuilds the bytes from the extents by reading the image file directly. */
static int gather_cb(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct gather *g = ctx;
        uint64_t at = 0;

        g->total = total;
        g->count = count;
        for (size_t i = 0; i < count; i++) {
                if (ext[i].length == 0)
                        return -EBADMSG;
                if (ext[i].dev_offset == EXFAT_EXTENT_ZERO) {
                        memset(g->out + at, 0, (size_t) ext[i].length);
                        g->zeros++;
                } else if (img_pread(g->f->fd, g->out + at, (size_t) ext[i].length, ext[i].dev_offset) < 0)
                        return -EIO;
                at += ext[i].length;
        }
        return at == total ? 7 : -ERANGE; /* fn's value is passed through */
}

static void fill(uint8_t *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t) ((i * 31u + seed + (i >> 9)) & 0xff) | 1u;
}

/* Every window [off, off + len) gives the same bytes through extents as through exfat_read. */
static void expect_windows(struct fx *f, uint64_t ino, uint64_t fsize) {
        static const uint64_t lens[] = { 1, 511, 4096, 4097, 65536, 300000, MiB };
        uint8_t *want = malloc(MiB), *got = malloc(MiB);

        assert_non_null(want);
        assert_non_null(got);
        for (uint64_t off = 0; off < fsize + 5000; off += 4096 * 7 + 13) {
                for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
                        struct gather g = { .f = f, .out = got };
                        ssize_t n = exfat_read(f->vol, ino, want, lens[k], off);
                        assert_true(n >= 0);
                        memset(got, 0xEE, MiB);
                        assert_int_equal(exfat_read_extents(f->vol, ino, off, lens[k], gather_cb, &g), 7);
                        assert_int_equal(g.total, (uint64_t) n);
                        assert_memory_equal(got, want, (size_t) n);
                        if (n == 0)
                                assert_int_equal(g.count, 0);
                }
        }
        free(want);
        free(got);
}

/* A file left by another system with ValidDataLength below DataLength (Windows' SetFileValidData):
 * the stored bytes past it are old data, and must come back as zeros. */
static void test_contiguous_and_vdl(void **state) {
        struct fx *f = *state;
        size_t len = 2 * MiB + 100, valid = 700 * KiB + 3;
        uint8_t *data = malloc(len);
        struct exfat_stat st;
        uint64_t ino;

        assert_non_null(data);
        fill(data, len, 1);
        fx_create(f, EXFAT_ROOT_INO, "f", data, len);
        fx_unmount_check(f);
        fx_oracle_preallocate(f, "f", len, valid);
        fx_mount(f, false);
        ino = fx_walk(f, "f");
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.valid_size, valid);
        assert_int_equal(st.size, len);
        expect_windows(f, ino, st.size);

        struct gather g = { .f = f, .out = malloc(MiB) };
        assert_non_null(g.out);
        assert_int_equal(exfat_read_extents(f->vol, ino, 600 * KiB, MiB, gather_cb, &g), 7);
        assert_int_equal(g.zeros, 1); /* one zero extent, after one device extent (contiguous file) */
        assert_int_equal(g.count, 2);
        assert_memory_equal(g.out, data + 600 * KiB, valid - 600 * KiB);
        for (size_t i = valid - 600 * KiB; i < MiB; i++)
                assert_int_equal(g.out[i], 0);
        free(g.out);
        exfat_forget(f->vol, ino, 1);
        free(data);
}

/* Two files written in turns: each is a chain of many runs. */
static void test_fragmented(void **state) {
        struct fx *f = *state;
        uint8_t *a = malloc(MiB), *b = malloc(MiB);
        uint64_t ia, ib;

        assert_non_null(a);
        assert_non_null(b);
        fill(a, MiB, 2);
        fill(b, MiB, 3);
        ia = fx_create(f, EXFAT_ROOT_INO, "a", NULL, 0);
        ib = fx_create(f, EXFAT_ROOT_INO, "b", NULL, 0);
        for (size_t off = 0; off < MiB; off += 8 * KiB) {
                fx_write(f, ia, a + off, 8 * KiB, off);
                fx_write(f, ib, b + off, 8 * KiB, off);
        }
        expect_windows(f, ia, MiB);
        expect_windows(f, ib, MiB);

        struct gather g = { .f = f, .out = malloc(MiB) };
        assert_non_null(g.out);
        assert_int_equal(exfat_read_extents(f->vol, ia, 0, MiB, gather_cb, &g), 7);
        assert_true(g.count > 16); /* really fragmented: the test covers the run walk */
        assert_memory_equal(g.out, a, MiB);
        free(g.out);
        exfat_forget(f->vol, ia, 1);
        exfat_forget(f->vol, ib, 1);
        free(a);
        free(b);
}

static void test_errors(void **state) {
        struct fx *f = *state;
        struct gather g = { .f = f };
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "d");

        assert_int_equal(exfat_read_extents(f->vol, d, 0, 10, gather_cb, &g), -EISDIR);
        assert_int_equal(exfat_read_extents(f->vol, 987654321, 0, 10, gather_cb, &g), -ENOENT);
        assert_int_equal(exfat_read_extents(f->vol, EXFAT_ROOT_INO, 0, 10, NULL, NULL), -EINVAL);
        exfat_forget(f->vol, d, 1);
}

struct pin {
        struct fx *f;
        uint64_t ino;
        pthread_t thread;
        int stage;          /* 2: truncation returned */
        int seen;           /* stage as the callback saw it at its end */
        pthread_mutex_t m;
        pthread_cond_t c;
};

static void *truncate_main(void *arg) {
        struct pin *p = arg;
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 0 };
        struct exfat_stat st;
        int r = exfat_setattr(p->f->vol, p->ino, &sa, &st);

        pthread_mutex_lock(&p->m);
        p->stage = 2;
        pthread_cond_broadcast(&p->c);
        pthread_mutex_unlock(&p->m);
        return (void *) (intptr_t) r;
}

static int pin_cb(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct pin *p = ctx;
        struct timespec until;
        int stage;

        if (pthread_create(&p->thread, NULL, truncate_main, p) != 0)
                return -EAGAIN;
        /* Give the truncation time to run, if it were not held off. */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&p->m);
        while (p->stage != 2 && pthread_cond_timedwait(&p->c, &p->m, &until) == 0)
                ;
        stage = p->stage;
        pthread_mutex_unlock(&p->m);
        p->seen = stage; /* 2: it finished under us (wrong), 0: it waited */
        return 0;
}

static void test_pins_mapping(void **state) {
        struct fx *f = *state;
        uint8_t data[64 * 1024];
        struct pin p = { .f = f, .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER };
        struct exfat_stat st;

        fill(data, sizeof(data), 4);
        p.ino = fx_create(f, EXFAT_ROOT_INO, "pinned", data, sizeof(data));
        assert_int_equal(exfat_read_extents(f->vol, p.ino, 0, sizeof(data), pin_cb, &p), 0);
        /* Once the callback returned, the truncation goes through. */
        void *ret;
        assert_int_equal(pthread_join(p.thread, &ret), 0);
        assert_null(ret);
        assert_int_equal(p.seen, 0);
        assert_int_equal(p.stage, 2);
        assert_int_equal(exfat_getattr(f->vol, p.ino, &st), 0);
        assert_int_equal(st.size, 0);
        exfat_forget(f->vol, p.ino, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_contiguous_and_vdl, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_fragmented, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_pins_mapping, fx_setup, fx_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
