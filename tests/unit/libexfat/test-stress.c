/* SPDX-License-Identifier: MIT */
/* 20,000 files in one directory: create, look up, list, delete. Each phase has a time limit
 * that a per-operation directory scan (O(n^2) overall) would blow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

enum { N = 20000 };

static const struct fx_params params = { .size = 128ull << 20 };

static void phase_done(const char *what, double t0, double limit) {
        double dt = now_seconds() - t0;
        fprintf(stderr, "# %s: %.2f s\n", what, dt);
        if (dt > limit)
                fail_msg("%s took %.1f s (limit %.0f s): per-entry cost grows with the directory?", what, dt, limit);
}

static void test_many_files(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        char name[64];
        uint64_t d;
        double t0;
        uint32_t seed = 99;
        unsigned char *seen = calloc(N, 1);

        assert_non_null(seen);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "crowd");
        t0 = now_seconds();
        for (int i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "file-%05d.dat", i);
                int r = exfat_create(f->vol, d, name, 0, &st);
                if (r != 0)
                        fail_msg("create %s: %s", name, strerror(-r));
                exfat_forget(f->vol, st.ino, 1);
        }
        phase_done("create 20000", t0, 60);

        t0 = now_seconds();
        for (int i = 0; i < N; i++) {
                seed = seed * 1103515245u + 12345u;
                snprintf(name, sizeof(name), "FILE-%05u.DAT", (seed >> 8) % N); /* case-folded */
                int r = exfat_lookup(f->vol, d, name, &st);
                if (r != 0)
                        fail_msg("lookup %s: %s", name, strerror(-r));
                exfat_forget(f->vol, st.ino, 1);
        }
        assert_int_equal(exfat_lookup(f->vol, d, "file-20000.dat", &st), -ENOENT);
        phase_done("lookup 20000", t0, 30);

        t0 = now_seconds();
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, N);
        for (size_t i = 0; i < dl.n; i++) {
                int k;
                assert_int_equal(sscanf(dl.names[i], "file-%05d.dat", &k), 1);
                assert_true(k >= 0 && k < N && !seen[k]);
                seen[k] = 1;
        }
        dirlist_free(&dl);
        phase_done("readdir 20000", t0, 20);

        fx_remount(f); /* fsck of a 20000-entry directory, then a cold cache */
        d = fx_walk(f, "crowd");
        t0 = now_seconds();
        snprintf(name, sizeof(name), "file-%05d.dat", N - 1);
        assert_int_equal(exfat_lookup(f->vol, d, name, &st), 0);
        phase_done("cold lookup of the last entry", t0, 10);

        t0 = now_seconds();
        for (int i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "file-%05d.dat", (i * 7919) % N);
                int r = exfat_unlink(f->vol, d, name);
                if (r != 0)
                        fail_msg("unlink %s: %s", name, strerror(-r));
        }
        phase_done("unlink 20000", t0, 60);
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 0);
        dirlist_free(&dl);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "crowd"), 0);
        fx_remount(f);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "crowd", &st), -ENOENT);
        free(seen);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                FX_TEST("many_files", test_many_files, &params),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/stress", tests, NULL, NULL);
}
