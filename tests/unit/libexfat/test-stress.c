/* SPDX-License-Identifier: MIT */
/* 20,000 files in one directory: create, look up, list, delete. Each phase has a time limit
 * that a per-operation directory scan (O(n^2) overall) would blow. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

enum { N = 20000, BATCH = 2000 };

static const struct fx_params params = { .size = 128ull << 20 };

static void phase_done(const char *what, double t0, double limit) {
        double dt = now_seconds() - t0;
        fprintf(stderr, "# %s: %.2f s\n", what, dt);
        if (dt > limit)
                fail_msg("%s took %.1f s (limit %.0f s): per-entry cost grows with the directory?", what, dt, limit);
}

/* A batch of operations in a crowded directory may not cost much more than the same batch in a
 * nearly empty one (a scan per operation makes it about 19 times slower at 20,000 entries).
 * Measured in CPU time, so that other load on the machine does not count. */
static double cpu_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_scaling(const char *what, double sparse, double crowded) {
        fprintf(stderr, "# %s: %d ops %.3f s sparse, %.3f s crowded\n", what, BATCH, sparse, crowded);
        if (crowded > 4 * sparse + 0.03)
                fail_msg("%s: %d ops took %.2f s crowded vs %.2f s sparse: cost grows with the directory",
                         what, BATCH, crowded, sparse);
}

static void test_many_files(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        char name[64];
        uint64_t d;
        double t0, batch_start = 0, first_batch = 0, last_batch = 0;
        uint32_t seed = 99;
        unsigned char *seen = calloc(N, 1);

        assert_non_null(seen);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "crowd");
        t0 = now_seconds();
        for (int i = 0; i < N; i++) {
                if (i % BATCH == 0)
                        batch_start = cpu_seconds();
                snprintf(name, sizeof(name), "file-%05d.dat", i);
                int r = exfat_create(f->vol, d, name, 0, &st);
                if (r != 0)
                        fail_msg("create %s: %s", name, strerror(-r));
                exfat_forget(f->vol, st.ino, 1);
                if (i == BATCH - 1)
                        first_batch = cpu_seconds() - batch_start;
        }
        last_batch = cpu_seconds() - batch_start;
        phase_done("create 20000", t0, 60);
        check_scaling("create", first_batch, last_batch);

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
                if (i % BATCH == 0)
                        batch_start = cpu_seconds();
                /* from the end backwards: a linear scan from the start would be slowest first */
                snprintf(name, sizeof(name), "file-%05d.dat", N - 1 - i);
                int r = exfat_unlink(f->vol, d, name);
                if (r != 0)
                        fail_msg("unlink %s: %s", name, strerror(-r));
                if (i == BATCH - 1)
                        first_batch = cpu_seconds() - batch_start;
        }
        last_batch = cpu_seconds() - batch_start;
        phase_done("unlink 20000", t0, 60);
        check_scaling("unlink (crowded batch vs. sparse batch)", last_batch, first_batch);
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 0);
        dirlist_free(&dl);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "crowd"), 0);
        fx_remount(f);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "crowd", &st), -ENOENT);
        free(seen);
}

/* With a tiny cache budget every node and directory index is evicted and reloaded many times:
 * results must not change. */
static void test_small_cache_budget(void **state) {
        struct fx *f = *state;
        enum { DIRS = 20, FILES = 150 };
        char name[64], path[96];
        struct exfat_stat st;
        struct dirlist dl;

        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        f->opts.cache_budget = 64 * 1024;
        fx_mount(f, false);
        for (int d = 0; d < DIRS; d++) {
                snprintf(name, sizeof(name), "dir-%02d", d);
                uint64_t dino = fx_mkdir(f, EXFAT_ROOT_INO, name);
                for (int i = 0; i < FILES; i++) {
                        snprintf(name, sizeof(name), "file-%02d-%03d", d, i);
                        int r = exfat_create(f->vol, dino, name, 0, &st);
                        if (r != 0)
                                fail_msg("create %s: %s", name, strerror(-r));
                        assert_int_equal(exfat_open(f->vol, st.ino), 0);
                        fx_write(f, st.ino, name, strlen(name), 0);
                        exfat_release(f->vol, st.ino);
                        exfat_forget(f->vol, st.ino, 1);
                }
                exfat_forget(f->vol, dino, 1);
        }
        for (int d = 0; d < DIRS; d++)
                for (int i = 0; i < FILES; i += 7) {
                        snprintf(name, sizeof(name), "file-%02d-%03d", d, i);
                        snprintf(path, sizeof(path), "dir-%02d/%s", d, name);
                        fx_expect_content(f, path, name, strlen(name));
                }
        for (int d = 0; d < DIRS; d++) {
                snprintf(name, sizeof(name), "dir-%02d", d);
                assert_int_equal(fx_readdir_all(f, fx_walk(f, name), &dl), 0);
                assert_int_equal(dl.n, FILES);
                dirlist_free(&dl);
        }
        fx_remount(f);
        fx_expect_content(f, "dir-19/file-19-149", "file-19-149", 11);
}

/* Several threads at once on one volume: private directories plus one shared file that all
 * read. Threads only count failures (cmocka's asserts are not thread-safe). */
struct worker {
        struct fx *f;
        int id;
        const uint8_t *shared;
        size_t shared_len;
        int errors;
        char first_error[160];
};

static void worker_fail(struct worker *w, const char *what, long v) {
        if (w->errors++ == 0)
                snprintf(w->first_error, sizeof(w->first_error), "thread %d: %s (%ld)", w->id, what, v);
}

static void *worker_main(void *arg) {
        struct worker *w = arg;
        struct exfat_volume *vol = w->f->vol;
        struct exfat_stat st;
        uint8_t buf[16384], back[16384];
        char name[32];
        uint64_t dir, shared_ino;
        int r;

        snprintf(name, sizeof(name), "t%d", w->id);
        if ((r = exfat_mkdir(vol, EXFAT_ROOT_INO, name, &st)) != 0) {
                worker_fail(w, "mkdir", r);
                return NULL;
        }
        dir = st.ino;
        if ((r = exfat_lookup(vol, EXFAT_ROOT_INO, "shared", &st)) != 0) {
                worker_fail(w, "lookup shared", r);
                return NULL;
        }
        shared_ino = st.ino;
        exfat_open(vol, shared_ino);
        for (int i = 0; i < 150; i++) {
                size_t len = 1000 + (size_t) ((i * 7919 + w->id * 104729) % 15000);
                uint64_t off = (uint64_t) ((i * 31 + w->id) % 1000) * 997;
                ssize_t n;

                snprintf(name, sizeof(name), "f%03d", i);
                if ((r = exfat_create(vol, dir, name, 0, &st)) != 0) {
                        worker_fail(w, "create", r);
                        continue;
                }
                fill_pattern(buf, len, (uint32_t) (w->id * 1000 + i));
                exfat_open(vol, st.ino);
                if ((n = exfat_write(vol, st.ino, buf, len, 0)) != (ssize_t) len)
                        worker_fail(w, "write", n);
                if ((n = exfat_read(vol, st.ino, back, sizeof(back), 0)) != (ssize_t) len ||
                    memcmp(buf, back, len) != 0)
                        worker_fail(w, "read back", n);
                exfat_release(vol, st.ino);
                exfat_forget(vol, st.ino, 1);
                if ((n = exfat_read(vol, shared_ino, back, 4096, off)) != 4096 ||
                    memcmp(back, w->shared + off, 4096) != 0)
                        worker_fail(w, "shared read", n);
                if (i % 3 == 0 && (r = exfat_unlink(vol, dir, name)) != 0)
                        worker_fail(w, "unlink", r);
        }
        exfat_release(vol, shared_ino);
        exfat_forget(vol, shared_ino, 1);
        exfat_forget(vol, dir, 1);
        return NULL;
}

static void test_concurrent_threads(void **state) {
        struct fx *f = *state;
        enum { THREADS = 4 };
        const size_t shared_len = 1024 * 1024;
        uint8_t *shared = malloc(shared_len);
        struct worker w[THREADS];
        pthread_t t[THREADS];
        struct dirlist dl;
        char name[16];
        double t0 = now_seconds();

        assert_non_null(shared);
        fill_pattern(shared, shared_len, 4242);
        fx_create(f, EXFAT_ROOT_INO, "shared", shared, shared_len);
        for (int i = 0; i < THREADS; i++) {
                w[i] = (struct worker) { .f = f, .id = i, .shared = shared, .shared_len = shared_len };
                assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        fprintf(stderr, "# %d threads: %.2f s\n", THREADS, now_seconds() - t0);
        for (int i = 0; i < THREADS; i++)
                if (w[i].errors)
                        fail_msg("%d errors, first: %s", w[i].errors, w[i].first_error);
        fx_remount(f);
        for (int i = 0; i < THREADS; i++) {
                snprintf(name, sizeof(name), "t%d", i);
                assert_int_equal(fx_readdir_all(f, fx_walk(f, name), &dl), 0);
                assert_int_equal(dl.n, 100);
                dirlist_free(&dl);
        }
        fx_expect_content(f, "shared", shared, shared_len);
        free(shared);
}

/* Threads writing disjoint regions of one file, each starting beyond the current end: the
 * zero-fill of one thread's gap must not wipe what another thread just wrote there. */
struct region_writer {
        struct fx *f;
        uint64_t ino;
        int id;
        int errors;
        long first_error;
};

enum { REGION = 64 * 1024, PIECE = 4096, REGIONS = 4 };

static void *region_main(void *arg) {
        struct region_writer *w = arg;
        uint8_t buf[PIECE];

        /* back to front, so every thread keeps writing past the end for a while */
        for (int k = REGION / PIECE - 1; k >= 0; k--) {
                uint64_t off = (uint64_t) w->id * REGION + (uint64_t) k * PIECE;
                fill_pattern(buf, PIECE, (uint32_t) (off / PIECE) + 1);
                ssize_t n = exfat_write(w->f->vol, w->ino, buf, PIECE, off);
                if (n != PIECE && w->errors++ == 0)
                        w->first_error = (long) n;
        }
        return NULL;
}

static void test_concurrent_writers_one_file(void **state) {
        struct fx *f = *state;
        struct region_writer w[REGIONS];
        pthread_t t[REGIONS];
        uint8_t *want = malloc(REGION * REGIONS);
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "common", NULL, 0);

        assert_non_null(want);
        for (size_t off = 0; off < REGION * REGIONS; off += PIECE)
                fill_pattern(want + off, PIECE, (uint32_t) (off / PIECE) + 1);
        for (int round = 0; round < 5; round++) {
                struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 0 };
                struct exfat_stat st;
                assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
                assert_int_equal(exfat_open(f->vol, ino), 0);
                for (int i = 0; i < REGIONS; i++) {
                        w[i] = (struct region_writer) { .f = f, .ino = ino, .id = i };
                        assert_int_equal(pthread_create(&t[i], NULL, region_main, &w[i]), 0);
                }
                for (int i = 0; i < REGIONS; i++)
                        pthread_join(t[i], NULL);
                exfat_release(f->vol, ino);
                for (int i = 0; i < REGIONS; i++)
                        if (w[i].errors)
                                fail_msg("thread %d: %d failed writes, first returned %ld", i, w[i].errors,
                                         w[i].first_error);
                fx_expect_content(f, "common", want, REGION * REGIONS);
        }
        fx_remount(f);
        fx_expect_content(f, "common", want, REGION * REGIONS);
        free(want);
}

/* Threads racing on the same names in one directory: create, write, rename, unlink, readdir,
 * lookup, truncate, sync. Results vary; the volume must stay consistent (fsck) and no call may
 * fail with anything but the expected races (-ENOENT, -EEXIST). */
struct mixer {
        struct fx *f;
        uint64_t dir;
        int id;
        int bad;
        long bad_value;
        char bad_op[16];
};

static int count_entries(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        (*(int *) ctx)++;
        return 0;
}

static void mixer_bad(struct mixer *m, const char *op, long v) {
        if (m->bad++ == 0) {
                snprintf(m->bad_op, sizeof(m->bad_op), "%s", op);
                m->bad_value = v;
        }
}

static void *mixer_main(void *arg) {
        struct mixer *m = arg;
        struct exfat_volume *vol = m->f->vol;
        uint32_t seed = 1234u + (uint32_t) m->id;
        uint8_t buf[8192];
        char a[16], b[16];

        memset(buf, m->id, sizeof(buf));
        for (int i = 0; i < 600; i++) {
                struct exfat_stat st;
                int r, op;

                seed = seed * 1103515245u + 12345u;
                op = (int) ((seed >> 16) % 8);
                snprintf(a, sizeof(a), "n%u", (seed >> 8) % 12);
                snprintf(b, sizeof(b), "N%u", (seed >> 4) % 12); /* case-folds onto the a names */
                switch (op) {
                case 0:
                case 1:
                        r = exfat_create(vol, m->dir, a, 0, &st);
                        if (r == 0) {
                                if (exfat_open(vol, st.ino) == 0) {
                                        ssize_t n = exfat_write(vol, st.ino, buf, 1 + (seed % sizeof(buf)), seed % 5000);
                                        if (n < 0)
                                                mixer_bad(m, "write", n);
                                        exfat_release(vol, st.ino);
                                }
                                exfat_forget(vol, st.ino, 1);
                        } else if (r != -EEXIST)
                                mixer_bad(m, "create", r);
                        break;
                case 2:
                        r = exfat_unlink(vol, m->dir, a);
                        if (r != 0 && r != -ENOENT && r != -EISDIR)
                                mixer_bad(m, "unlink", r);
                        break;
                case 3:
                        r = exfat_rename(vol, m->dir, a, m->dir, b, (seed & 1) ? EXFAT_RENAME_NOREPLACE : 0);
                        if (r != 0 && r != -ENOENT && r != -EEXIST && r != -EISDIR && r != -ENOTDIR &&
                            r != -ENOTEMPTY)
                                mixer_bad(m, "rename", r);
                        break;
                case 4: {
                        int count = 0;
                        r = exfat_readdir(vol, m->dir, 0, 0, count_entries, &count);
                        if (r != 0 || count > 12)
                                mixer_bad(m, "readdir", r ? r : count);
                        break;
                }
                case 5:
                        r = exfat_lookup(vol, m->dir, a, &st);
                        if (r == 0) {
                                struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = seed % 20000 };
                                if (!EXFAT_IS_DIR(&st)) {
                                        r = exfat_setattr(vol, st.ino, &sa, &st);
                                        if (r != 0)
                                                mixer_bad(m, "truncate", r);
                                }
                                exfat_forget(vol, st.ino, 1);
                        } else if (r != -ENOENT)
                                mixer_bad(m, "lookup", r);
                        break;
                case 6:
                        r = exfat_mkdir(vol, m->dir, a, &st);
                        if (r == 0)
                                exfat_forget(vol, st.ino, 1);
                        else if (r != -EEXIST)
                                mixer_bad(m, "mkdir", r);
                        r = exfat_rmdir(vol, m->dir, b);
                        if (r != 0 && r != -ENOENT && r != -ENOTDIR && r != -ENOTEMPTY)
                                mixer_bad(m, "rmdir", r);
                        break;
                case 7:
                        if (i % 50 == 0 && (r = exfat_sync(vol)) != 0)
                                mixer_bad(m, "sync", r);
                        break;
                }
        }
        return NULL;
}

static void test_racing_on_one_directory(void **state) {
        struct fx *f = *state;
        enum { THREADS = 4 };
        struct mixer m[THREADS];
        pthread_t t[THREADS];
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "arena");

        for (int i = 0; i < THREADS; i++) {
                m[i] = (struct mixer) { .f = f, .dir = d, .id = i };
                assert_int_equal(pthread_create(&t[i], NULL, mixer_main, &m[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        for (int i = 0; i < THREADS; i++)
                if (m[i].bad)
                        fail_msg("thread %d: %d unexpected results, first %s -> %ld", i, m[i].bad, m[i].bad_op,
                                 m[i].bad_value);
        fx_remount(f);
        {
                struct dirlist dl;
                assert_int_equal(fx_readdir_all(f, fx_walk(f, "arena"), &dl), 0);
                assert_true(dl.n <= 12);
                dirlist_free(&dl);
        }
}

/* readdir in pages while other directories push this one's index out of a tiny cache: every
 * name still comes exactly once. */
struct page {
        char (*names)[32];
        size_t n, limit, taken;
        uint64_t cookie;
};

static int page_take(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct page *p = ctx;
        if (p->taken == p->limit)
                return 1;
        snprintf(p->names[p->n++], 32, "%s", name);
        p->taken++;
        p->cookie = next_cookie;
        return 0;
}

static void test_paged_readdir_under_eviction(void **state) {
        struct fx *f = *state;
        enum { FILES = 300, OTHERS = 8 };
        char name[32];
        struct page p = { .names = calloc(FILES + 1, 32) };
        uint64_t d, other[OTHERS];
        unsigned char seen[FILES] = { 0 };

        assert_non_null(p.names);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        f->opts.cache_budget = 16 * 1024;
        fx_mount(f, false);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "paged");
        for (int i = 0; i < FILES; i++) {
                struct exfat_stat st;
                snprintf(name, sizeof(name), "p%03d", i);
                assert_int_equal(exfat_create(f->vol, d, name, 0, &st), 0);
                exfat_forget(f->vol, st.ino, 1);
        }
        for (int k = 0; k < OTHERS; k++) {
                snprintf(name, sizeof(name), "other%d", k);
                other[k] = fx_mkdir(f, EXFAT_ROOT_INO, name);
                for (int i = 0; i < 100; i++) {
                        struct exfat_stat st;
                        snprintf(name, sizeof(name), "o%03d", i);
                        assert_int_equal(exfat_create(f->vol, other[k], name, 0, &st), 0);
                        exfat_forget(f->vol, st.ino, 1);
                }
        }
        for (int round = 0; round < 1000; round++) {
                size_t before = p.n;
                p.taken = 0;
                p.limit = 7;
                assert_int_equal(exfat_readdir(f->vol, d, p.cookie, 0, page_take, &p), 0);
                if (p.n == before)
                        break;
                /* churn: look up names in the other directories */
                for (int k = 0; k < OTHERS; k++) {
                        struct exfat_stat st;
                        snprintf(name, sizeof(name), "o%03d", (round * 13 + k) % 100);
                        assert_int_equal(exfat_lookup(f->vol, other[k], name, &st), 0);
                        exfat_forget(f->vol, st.ino, 1);
                }
                assert_true(p.n <= FILES);
        }
        assert_int_equal(p.n, FILES);
        for (size_t i = 0; i < p.n; i++) {
                int k;
                assert_int_equal(sscanf(p.names[i], "p%03d", &k), 1);
                if (seen[k]++)
                        fail_msg("%s listed twice", p.names[i]);
        }
        free(p.names);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                FX_TEST("many_files", test_many_files, &params),
                cmocka_unit_test_setup_teardown(test_small_cache_budget, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_threads, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_writers_one_file, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_racing_on_one_directory, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_paged_readdir_under_eviction, fx_setup, fx_teardown),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/stress", tests, NULL, NULL);
}
