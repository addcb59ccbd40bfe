/* SPDX-License-Identifier: MIT */
/* Directory operations: mkdir/rmdir, unlink, rename in all its forms, readdir cookies. */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const struct fx_params cluster_32k = { .cluster = "32K", .size = 32ull << 20 };
static const struct fx_params cluster_4k_small = { .size = 16ull << 20 };

static void expect_missing(struct fx *f, uint64_t parent, const char *name) {
        struct exfat_stat st;
        int r = exfat_lookup(f->vol, parent, name, &st);
        if (r != -ENOENT)
                fail_msg("lookup of \"%s\" returned %d, expected -ENOENT", name, r);
}

static void test_mkdir_rmdir(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        uint64_t d, sub, before = fx_free_clusters(f);

        d = fx_mkdir(f, EXFAT_ROOT_INO, "d");
        assert_int_equal(exfat_getattr(f->vol, d, &st), 0);
        assert_true(EXFAT_IS_DIR(&st));
        assert_int_equal(st.nlink, 1);
        sub = fx_mkdir(f, d, "sub");
        fx_create(f, sub, "f", "x", 1);
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "d", &st), -EEXIST);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "d", 0, &st), -EEXIST);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "d"), -ENOTEMPTY);
        assert_int_equal(exfat_rmdir(f->vol, d, "sub"), -ENOTEMPTY);
        assert_int_equal(exfat_rmdir(f->vol, sub, "f"), -ENOTDIR);
        assert_int_equal(exfat_unlink(f->vol, d, "sub"), -EISDIR);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "nonexistent"), -ENOENT);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "nonexistent"), -ENOENT);
        assert_int_equal(exfat_lookup(f->vol, fx_walk(f, "d/sub/f"), "x", &st), -ENOTDIR);
        assert_int_equal(exfat_create(f->vol, fx_walk(f, "d/sub/f"), "x", 0, &st), -ENOTDIR);

        fx_remount(f);
        fx_expect_content(f, "d/sub/f", "x", 1);
        d = fx_walk(f, "d");
        sub = fx_walk(f, "d/sub");
        assert_int_equal(exfat_unlink(f->vol, sub, "f"), 0);
        assert_int_equal(exfat_rmdir(f->vol, d, "sub"), 0);
        expect_missing(f, d, "sub");
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "d"), 0);
        expect_missing(f, EXFAT_ROOT_INO, "d");
        assert_int_equal(fx_free_clusters(f), before);
        fx_remount(f);
        expect_missing(f, EXFAT_ROOT_INO, "d");
        assert_int_equal(fx_free_clusters(f), before);
}

/* A directory with enough entries to need several clusters (4 KiB holds 42 three-entry sets). */
static void test_directory_growth(void **state) {
        struct fx *f = *state;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "big");
        struct dirlist dl;
        char name[64];

        for (int i = 0; i < 300; i++) {
                snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name", i);
                fx_create(f, d, name, name, strlen(name));
        }
        /* root grows too */
        for (int i = 0; i < 150; i++) {
                snprintf(name, sizeof(name), "root-%03d", i);
                fx_create(f, EXFAT_ROOT_INO, name, NULL, 0);
        }
        fx_remount(f);
        d = fx_walk(f, "big");
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 300);
        dirlist_free(&dl);
        for (int i = 0; i < 300; i += 37) {
                char path[80];
                snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name", i);
                snprintf(path, sizeof(path), "big/%s", name);
                fx_expect_content(f, path, name, strlen(name));
        }
        /* delete every other one, then reuse the holes */
        for (int i = 0; i < 300; i += 2) {
                snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name", i);
                assert_int_equal(exfat_unlink(f->vol, d, name), 0);
        }
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "new-%03d", i);
                fx_create(f, d, name, name, strlen(name));
        }
        fx_unmount_check(f);
        /* the oracle finds entries past the first cluster, including sets that straddle it */
        fx_expect_oracle_content(f, "root-149", NULL, 0);
        fx_expect_oracle_content(f, "root-040", NULL, 0);
        fx_expect_oracle_content(f, "big/new-099", "new-099", 7);
        fx_mount(f, false);
        d = fx_walk(f, "big");
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 250);
        assert_true(dirlist_has(&dl, "new-099"));
        assert_true(dirlist_has(&dl, "entry-299-with-a-longer-name"));
        assert_false(dirlist_has(&dl, "entry-298-with-a-longer-name"));
        dirlist_free(&dl);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 151);
        dirlist_free(&dl);
}

/* Three-entry sets after the root's three system entries and a four-entry set: the 42nd file
 * set occupies entries 126-128 and straddles the first cluster boundary. */
static void test_set_straddles_cluster(void **state) {
        struct fx *f = *state;
        struct dirlist dl;
        char name[16];

        fx_mkdir(f, EXFAT_ROOT_INO, "dir-with-long-name-x"); /* 2 name entries: 4 entries */
        for (int i = 0; i < 60; i++) {
                snprintf(name, sizeof(name), "s%02d", i);
                fx_create(f, EXFAT_ROOT_INO, name, name, 3);
        }
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        if (dl.n != 61)
                fail_msg("readdir of the root listed %zu of 61 entries (last: %s)", dl.n,
                         dl.n ? dl.names[dl.n - 1] : "-");
        dirlist_free(&dl);
        fx_expect_content(f, "s40", "s40", 3);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "s40", "s40", 3);
        fx_expect_oracle_content(f, "s59", "s59", 3);
        fx_mount(f, false);
        fx_expect_content(f, "s40", "s40", 3);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 61);
        dirlist_free(&dl);
}

static void test_rename_same_dir(void **state) {
        struct fx *f = *state;

        fx_create(f, EXFAT_ROOT_INO, "old.txt", "content", 7);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "old.txt", EXFAT_ROOT_INO, "new.txt", 0), 0);
        expect_missing(f, EXFAT_ROOT_INO, "old.txt");
        fx_expect_content(f, "new.txt", "content", 7);
        /* a longer name needs more entries than the old set had */
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "new.txt", EXFAT_ROOT_INO,
                                      "a much longer name that needs three name entries.txt", 0), 0);
        /* case-only rename keeps the file and changes the stored case */
        fx_create(f, EXFAT_ROOT_INO, "lower", "l", 1);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "lower", EXFAT_ROOT_INO, "LOWER", 0), 0);
        /* renaming onto itself is a no-op */
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "LOWER", EXFAT_ROOT_INO, "LOWER", 0), 0);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "missing", EXFAT_ROOT_INO, "x", 0), -ENOENT);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "a much longer name that needs three name entries.txt", "content", 7);
        fx_expect_oracle_content(f, "LOWER", "l", 1);
        fx_mount(f, false);
        {
                struct dirlist dl;
                assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
                assert_int_equal(dl.n, 2);
                assert_true(dirlist_has(&dl, "LOWER"));
                dirlist_free(&dl);
        }
}

static void test_rename_across_dirs(void **state) {
        struct fx *f = *state;
        uint64_t a = fx_mkdir(f, EXFAT_ROOT_INO, "a");
        uint64_t b = fx_mkdir(f, EXFAT_ROOT_INO, "b");
        uint64_t sub = fx_mkdir(f, a, "sub");
        uint8_t data[10000];

        fill_pattern(data, sizeof(data), 7);
        fx_create(f, a, "file", data, sizeof(data));
        fx_create(f, sub, "deep", "deep", 4);
        assert_int_equal(exfat_rename(f->vol, a, "file", b, "moved", 0), 0);
        expect_missing(f, a, "file");
        fx_expect_content(f, "b/moved", data, sizeof(data));
        /* a directory with content moves as a whole */
        assert_int_equal(exfat_rename(f->vol, a, "sub", b, "sub2", 0), 0);
        fx_expect_content(f, "b/sub2/deep", "deep", 4);
        /* an inode number obtained before the move keeps working */
        assert_int_equal(exfat_rename(f->vol, b, "sub2", EXFAT_ROOT_INO, "top", 0), 0);
        fx_create(f, sub, "created-after-move", "c", 1);
        fx_remount(f);
        fx_expect_content(f, "b/moved", data, sizeof(data));
        fx_expect_content(f, "top/deep", "deep", 4);
        fx_expect_content(f, "top/created-after-move", "c", 1);
        expect_missing(f, fx_walk(f, "a"), "sub");
        expect_missing(f, fx_walk(f, "b"), "sub2");
}

static void test_rename_replace_file(void **state) {
        struct fx *f = *state;
        uint8_t big[40000];
        uint64_t before;

        fill_pattern(big, sizeof(big), 3);
        fx_create(f, EXFAT_ROOT_INO, "src", "new", 3);
        fx_create(f, EXFAT_ROOT_INO, "dst", big, sizeof(big));
        before = fx_free_clusters(f);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "src", EXFAT_ROOT_INO, "dst", 0), 0);
        expect_missing(f, EXFAT_ROOT_INO, "src");
        fx_expect_content(f, "dst", "new", 3);
        assert_int_equal(fx_free_clusters(f), before + 10); /* old dst's 10 clusters freed */
        /* NOREPLACE refuses an existing target, also one differing only by case */
        fx_create(f, EXFAT_ROOT_INO, "other", "o", 1);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "other", EXFAT_ROOT_INO, "dst",
                                      EXFAT_RENAME_NOREPLACE), -EEXIST);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "other", EXFAT_ROOT_INO, "DST",
                                      EXFAT_RENAME_NOREPLACE), -EEXIST);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "other", EXFAT_ROOT_INO, "free",
                                      EXFAT_RENAME_NOREPLACE), 0);
        fx_remount(f);
        fx_expect_content(f, "dst", "new", 3);
        fx_expect_content(f, "free", "o", 1);
        expect_missing(f, EXFAT_ROOT_INO, "other");
}

static void test_rename_directories(void **state) {
        struct fx *f = *state;
        uint64_t full = fx_mkdir(f, EXFAT_ROOT_INO, "full");
        uint64_t d, x;

        fx_create(f, full, "f", "f", 1);
        fx_mkdir(f, EXFAT_ROOT_INO, "empty");
        fx_mkdir(f, EXFAT_ROOT_INO, "nonempty");
        fx_create(f, fx_walk(f, "nonempty"), "g", "g", 1);
        fx_create(f, EXFAT_ROOT_INO, "plain", "p", 1);

        /* a directory over an empty directory */
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "full", EXFAT_ROOT_INO, "empty", 0), 0);
        fx_expect_content(f, "empty/f", "f", 1);
        expect_missing(f, EXFAT_ROOT_INO, "full");
        /* over a non-empty directory, a file over a directory, a directory over a file */
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "empty", EXFAT_ROOT_INO, "nonempty", 0), -ENOTEMPTY);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "plain", EXFAT_ROOT_INO, "nonempty", 0), -EISDIR);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "nonempty", EXFAT_ROOT_INO, "plain", 0), -ENOTDIR);

        /* into itself or its own descendant */
        d = fx_walk(f, "empty");
        x = fx_mkdir(f, d, "child");
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "empty", d, "self", 0), -EINVAL);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "empty", x, "loop", 0), -EINVAL);
        fx_remount(f);
        fx_expect_content(f, "empty/f", "f", 1);
        fx_expect_content(f, "nonempty/g", "g", 1);
        fx_expect_content(f, "plain", "p", 1);
        fx_walk(f, "empty/child");
}

/* Accept `limit` entries per call, then refuse one: the refused entry must come again when
 * resuming from the last accepted cookie. */
struct pager {
        size_t accepted, limit;
        uint64_t last_cookie;
        char **names;
        size_t n;
        char refused[64];
};

static int page_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct pager *p = ctx;
        if (p->accepted == p->limit) {
                snprintf(p->refused, sizeof(p->refused), "%s", name);
                return 1;
        }
        p->accepted++;
        p->names[p->n++] = strdup(name);
        p->last_cookie = next_cookie;
        return 0;
}

static void test_readdir_cookies(void **state) {
        struct fx *f = *state;
        enum { N = 100 };
        char name[32];
        char *names[N + 10];
        struct pager p = { .names = names };
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "many");
        int calls = 0;

        for (int i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "f%03d", i);
                fx_create(f, d, name, NULL, 0);
        }
        for (;;) {
                size_t before = p.n;
                p.accepted = 0;
                p.limit = 7;
                p.refused[0] = 0;
                assert_int_equal(exfat_readdir(f->vol, d, p.last_cookie, 0, page_cb, &p), 0);
                calls++;
                if (p.refused[0]) {
                        /* the next call starts with the refused entry */
                        assert_int_equal(p.n - before, 7);
                        struct pager q = { .names = (char *[1]) { 0 }, .limit = 1 };
                        assert_int_equal(exfat_readdir(f->vol, d, p.last_cookie, 0, page_cb, &q), 0);
                        assert_int_equal(q.n, 1);
                        assert_string_equal(q.names[0], p.refused);
                        free(q.names[0]);
                }
                if (p.n == before)
                        break;
                assert_true(p.n <= N);
                assert_true(calls < 100);
        }
        assert_int_equal(p.n, N);
        for (int i = 0; i < N; i++) {
                int hits = 0;
                snprintf(name, sizeof(name), "f%03d", i);
                for (size_t k = 0; k < p.n; k++)
                        hits += strcmp(p.names[k], name) == 0;
                if (hits != 1)
                        fail_msg("%s seen %d times across resumed readdir calls", name, hits);
        }
        for (size_t k = 0; k < p.n; k++)
                free(p.names[k]);

        /* a cookie stays usable after entries before it are removed */
        {
                struct dirlist dl;
                assert_int_equal(fx_readdir_all(f, d, &dl), 0);
                assert_int_equal(dl.n, N);
                uint64_t mid = dl.cookies[49]; /* resumes at entry 50 */
                char *first_after = strdup(dl.names[50]);
                for (int i = 0; i < 10; i++)
                        assert_int_equal(exfat_unlink(f->vol, d, dl.names[i]), 0);
                dirlist_free(&dl);
                struct pager q = { .names = (char *[1]) { 0 }, .limit = 1 };
                assert_int_equal(exfat_readdir(f->vol, d, mid, 0, page_cb, &q), 0);
                assert_int_equal(q.n, 1);
                assert_string_equal(q.names[0], first_after);
                free(q.names[0]);
                free(first_after);
        }
        /* readdir of a file is refused */
        {
                struct pager q = { .names = (char *[1]) { 0 }, .limit = 1 };
                uint64_t file = fx_walk(f, "many/f099");
                assert_int_equal(exfat_readdir(f->vol, file, 0, 0, page_cb, &q), -ENOTDIR);
        }
}

static int plus_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        uint64_t *inos = ctx;
        inos[inos[0]++ + 1] = st->ino;
        return 0;
}

/* READDIR_PLUS hands out lookup references: the numbers stay valid until forgotten. */
static void test_readdir_plus(void **state) {
        struct fx *f = *state;
        uint64_t inos[8] = { 0 };
        struct exfat_stat st;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "p");

        fx_create(f, d, "one", "1", 1);
        fx_create(f, d, "two", "22", 2);
        assert_int_equal(exfat_readdir(f->vol, d, 0, EXFAT_READDIR_PLUS, plus_cb, inos), 0);
        assert_int_equal(inos[0], 2);
        for (int i = 1; i <= 2; i++) {
                assert_int_equal(exfat_getattr(f->vol, inos[i], &st), 0);
                assert_true(st.size == 1 || st.size == 2);
                exfat_forget(f->vol, inos[i], 1);
        }
        /* getattr of the directory reports its cluster-multiple size */
        assert_int_equal(exfat_getattr(f->vol, d, &st), 0);
        assert_true(st.size >= 4096 && st.size % 4096 == 0);
        assert_int_equal(exfat_getattr(f->vol, EXFAT_ROOT_INO, &st), 0);
        assert_true(EXFAT_IS_DIR(&st));
}

struct listed {
        int n, limit;
        uint64_t cookie;
        struct {
                char name[32];
                struct exfat_stat st;
        } e[512];
};

/* Runs with the volume locked: only records; the test looks the names up afterwards. */
static int listed_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct listed *l = ctx;
        if (l->n == l->limit)
                return 1;
        l->cookie = next_cookie;
        assert_true(l->n < (int) (sizeof(l->e) / sizeof(l->e[0])));
        snprintf(l->e[l->n].name, sizeof(l->e[l->n].name), "%s", name);
        l->e[l->n++].st = *st;
        return 0;
}

/* Moves every entry of the directory at path one slot further, the first slot becoming an unused
 * entry: sets then cross 4 KiB block edges, as other implementations leave them (this library
 * never does). The directory's last slot must be unused. Runs on the unmounted image. */
static void shift_directory_entries(struct fx *f, const char *path) {
        uint32_t clusters[64];
        struct img_entry e;
        size_t n;

        assert_int_equal(img_find(f->fd, &f->g, path, &e), 0);
        assert_int_equal(img_clusters(f->fd, &f->g, e.first_cluster, e.size, e.stream_flags & 0x02, clusters, 64, &n), 0);
        uint8_t *buf = malloc(e.size);
        assert_non_null(buf);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(img_pread(f->fd, buf + i * f->g.cluster_size, f->g.cluster_size,
                                           img_cluster_offset(&f->g, clusters[i])), 0);
        assert_false(buf[e.size - 32] & 0x80);
        memmove(buf + 32, buf, e.size - 32);
        memset(buf, 0, 32);
        buf[0] = 0x05; /* a deleted file entry: free, and not the end of the directory */
        for (size_t i = 0; i < n; i++)
                assert_int_equal(img_pwrite(f->fd, buf + i * f->g.cluster_size, f->g.cluster_size,
                                            img_cluster_offset(&f->g, clusters[i])), 0);
        free(buf);
}

/* "f<size>", every fifth one long enough for a second name entry: sets of 3 and 4 slots. */
static void churn_name(char *buf, size_t size, int i) {
        snprintf(buf, size, i % 5 ? "f%d" : "f%d-and-a-longer-name", i);
}

/* readdir finds each entry's record by its position: after deletes and creates the index's
 * records are no longer in slot order (freed records are reused), and every entry must still come
 * with its own attributes; then again after a remount, with the directory's sets moved across
 * 4 KiB block edges. Each listing stops after a few entries and resumes from the cookie, so that
 * readdir's window of slots starts at various positions. */
static void test_readdir_attributes_after_churn(void **state) {
        struct fx *f = *state;
        enum { N = 300 };
        static char data[N + 200];
        char name[32];
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "churn");
        int live = N;

        for (int i = 0; i < N; i++) {
                churn_name(name, sizeof(name), i);   /* the name says the size */
                fx_create(f, d, name, data, (size_t) i);
        }
        for (int i = 0; i < N; i += 3) {
                churn_name(name, sizeof(name), i);
                assert_int_equal(exfat_unlink(f->vol, d, name), 0);
                live--;
        }
        for (int i = N; i < N + 150; i++) {
                churn_name(name, sizeof(name), i);
                fx_create(f, d, name, data, (size_t) i);
                live++;
        }
        for (int round = 0; round < 2; round++) {
                for (unsigned k = 0; k < 12; k++) {
                        unsigned flags = k & 1 ? EXFAT_READDIR_PLUS : 0;
                        static struct listed l;
                        l.n = 0;
                        l.limit = 1 + (int) k / 2;
                        assert_int_equal(exfat_readdir(f->vol, d, 0, flags, listed_cb, &l), 0);
                        l.limit = INT_MAX;
                        assert_int_equal(exfat_readdir(f->vol, d, l.cookie, flags, listed_cb, &l), 0);
                        assert_int_equal(l.n, live);
                        for (int i = 0; i < l.n; i++) {
                                const struct exfat_stat *st = &l.e[i].st;
                                struct exfat_stat by_name;
                                assert_int_equal(exfat_lookup(f->vol, d, l.e[i].name, &by_name), 0);
                                if (st->ino != by_name.ino || st->size != by_name.size ||
                                    st->size != strtoull(l.e[i].name + 1, NULL, 10))
                                        fail_msg("readdir lists %s as inode %llu, %llu bytes; lookup says "
                                                 "inode %llu, %llu bytes", l.e[i].name,
                                                 (unsigned long long) st->ino, (unsigned long long) st->size,
                                                 (unsigned long long) by_name.ino,
                                                 (unsigned long long) by_name.size);
                                /* the lookup's reference, and readdirplus's */
                                exfat_forget(f->vol, by_name.ino, flags ? 2 : 1);
                        }
                }
                fx_unmount_check(f);
                shift_directory_entries(f, "churn");
                fx_mount(f, false);
                d = fx_walk(f, "/churn");
        }
}

/* Benign secondary entries (0xE0 vendor extension) belong to the file: they survive writes and
 * renames, within and across directories. The test appends one to a set by hand. */
static void test_rename_keeps_benign_secondaries(void **state) {
        struct fx *f = *state;
        struct img_entry e;
        uint8_t vendor[32] = { 0xE0, 0x00 };
        bool found = false;

        fx_mkdir(f, EXFAT_ROOT_INO, "target");
        fx_create(f, EXFAT_ROOT_INO, "vendor", "payload", 7);
        fx_unmount_check(f);
        for (int i = 2; i < 18; i++)
                vendor[i] = (uint8_t) (0xA0 + i); /* VendorGuid */
        memcpy(vendor + 18, "vendor-data!!", 13);
        assert_int_equal(img_find(f->fd, &f->g, "vendor", &e), 0);
        assert_true(e.count == 3);
        {
                /* the slot after the last set of the root is free (0x00) */
                uint8_t next[32];
                assert_int_equal(img_pread(f->fd, next, 32, e.offs[2] + 32), 0);
                assert_int_equal(next[0], 0x00);
        }
        e.offs[3] = e.offs[2] + 32;
        memcpy(e.set + 3 * 32, vendor, 32);
        e.count = 4;
        e.set[1] = 3;
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        /* fsck.exfat 1.2 wants only name entries after the stream ("failed to get name dentry"),
         * so from here on the oracle is the test's own parser, not fsck */

        fx_mount(f, false);
        fx_expect_content(f, "vendor", "payload", 7);
        {
                uint64_t ino = fx_walk(f, "vendor");
                assert_int_equal(exfat_open(f->vol, ino), 0);
                fx_write(f, ino, "PAY", 3, 0);
                exfat_release(f->vol, ino);
        }
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "vendor", EXFAT_ROOT_INO, "renamed", 0), 0);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "renamed", fx_walk(f, "target"),
                                      "moved with a name long enough for two name entries", 0), 0);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_find(f->fd, &f->g, "target/moved with a name long enough for two name entries", &e), 0);
        for (int i = 2; i < e.count; i++)
                if (memcmp(e.set + i * 32, vendor, 32) == 0)
                        found = true;
        if (!found)
                fail_msg("the vendor extension entry was dropped (set of %d entries)", e.count);
        assert_int_equal(e.set[1], e.count - 1);
        {
                uint16_t sum;
                memcpy(&sum, e.set + 2, 2);
                assert_int_equal(img_set_checksum(e.set, e.count), le16toh(sum));
        }
        fx_expect_oracle_content(f, "target/moved with a name long enough for two name entries", "PAYload", 7);
        assert_int_equal(img_find(f->fd, &f->g, "vendor", &e), -ENOENT);
        f->no_final_check = true; /* fsck.exfat 1.2 rejects the vendor entry, see above */
        fx_mount(f, false);
        fx_expect_content(f, "target/moved with a name long enough for two name entries", "PAYload", 7);
}

static int count_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        (*(int *) ctx)++;
        return 0;
}

/* What FUSE can legally send after the fact: operations on a removed directory a process still
 * has as its cwd, stale or unknown inode numbers, bogus cookies, unbalanced release/forget. */
static void test_stale_and_bogus_requests(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "gone");
        uint64_t file;
        char buf[8];
        int r;

        fx_create(f, EXFAT_ROOT_INO, "a", "a", 1);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "gone"), 0);
        /* the removed directory's clusters are free: nothing may be written into them */
        r = exfat_create(f->vol, d, "x", 0, &st);
        if (r != -ENOENT)
                fail_msg("create in a removed directory returned %d, expected -ENOENT", r);
        r = exfat_mkdir(f->vol, d, "y", &st);
        assert_int_equal(r, -ENOENT);
        r = exfat_lookup(f->vol, d, "x", &st);
        assert_int_equal(r, -ENOENT);
        r = exfat_rename(f->vol, EXFAT_ROOT_INO, "a", d, "a", 0);
        assert_int_equal(r, -ENOENT);
        r = fx_readdir_all(f, d, &dl);
        dirlist_free(&dl);
        assert_true(r == 0 || r == -ENOENT);
        exfat_forget(f->vol, d, 1);

        /* unknown inode numbers */
        assert_true(exfat_getattr(f->vol, 987654321, &st) < 0);
        assert_true(exfat_open(f->vol, 987654321) < 0);
        assert_true(exfat_read(f->vol, 987654321, buf, sizeof(buf), 0) < 0);
        exfat_release(f->vol, 987654321);
        exfat_forget(f->vol, 987654321, 5);

        /* bogus cookies: past the end, in the middle of a set */
        {
                int count = 0;
                r = exfat_readdir(f->vol, EXFAT_ROOT_INO, UINT64_MAX, 0, count_cb, &count);
                assert_true(r == 0 || r == -EINVAL);
                assert_int_equal(count, 0);
                for (uint64_t c = 1; c < 12; c++) {
                        count = 0;
                        r = exfat_readdir(f->vol, EXFAT_ROOT_INO, c, 0, count_cb, &count);
                        assert_true(r == 0 || r == -EINVAL);
                        assert_true(count <= 1);
                }
        }

        /* a directory replaced by rename is gone as well, for whoever still holds it */
        {
                uint64_t old_e = fx_mkdir(f, EXFAT_ROOT_INO, "e");
                fx_mkdir(f, EXFAT_ROOT_INO, "src");
                assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "src", EXFAT_ROOT_INO, "e", 0), 0);
                r = exfat_create(f->vol, old_e, "x", 0, &st);
                if (r != -ENOENT)
                        fail_msg("create in a directory replaced by rename returned %d, expected -ENOENT", r);
                fx_create(f, fx_walk(f, "e"), "in-new-e", "n", 1);
                exfat_forget(f->vol, old_e, 1);
        }

        /* a file looked up, forgotten, then unlinked: its old number is dead */
        file = fx_walk(f, "a");
        exfat_forget(f->vol, file, 1);
        exfat_forget(f->vol, file, 1);  /* one too many */
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "a"), 0);
        (void) exfat_getattr(f->vol, file, &st);
        fx_remount(f);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "gone", &st), -ENOENT);
        fx_expect_content(f, "e/in-new-e", "n", 1);
}

/* A vendor allocation entry (0xE1) owns clusters: they move with the file on rename and are freed
 * with it on unlink. fsck.exfat 1.2 rejects such sets, so the oracle is the test's parser. */
static void test_vendor_allocation_entry(void **state) {
        struct fx *f = *state;
        struct img_entry e;
        uint8_t alloc[32] = { 0xE1, 0x01 }; /* AllocationPossible, FAT chain */
        uint32_t vc = f->g.cluster_count + 1; /* the last cluster of the heap */
        uint64_t before;
        bool used, found = false;

        f->no_final_check = true;
        fx_create(f, EXFAT_ROOT_INO, "owner", "owner", 5);
        fx_unmount_check(f);
        assert_int_equal(img_bitmap_get(f->fd, &f->g, vc, &used), 0);
        assert_false(used);
        assert_int_equal(img_bitmap_set(f->fd, &f->g, vc, true), 0);
        assert_int_equal(img_fat_set(f->fd, &f->g, vc, 0xFFFFFFFFu), 0);
        for (int i = 2; i < 18; i++)
                alloc[i] = (uint8_t) (0x10 + i);
        {
                uint32_t c = htole32(vc);
                uint64_t len = htole64(f->g.cluster_size);
                memcpy(alloc + 20, &c, 4);
                memcpy(alloc + 24, &len, 8);
        }
        assert_int_equal(img_find(f->fd, &f->g, "owner", &e), 0);
        e.offs[3] = e.offs[2] + 32;
        memcpy(e.set + 96, alloc, 32);
        e.count = 4;
        e.set[1] = 3;
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        fx_mount(f, false);
        before = fx_free_clusters(f);
        fx_expect_content(f, "owner", "owner", 5);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "owner", EXFAT_ROOT_INO, "renamed owner", 0), 0);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_find(f->fd, &f->g, "renamed owner", &e), 0);
        for (int i = 2; i < e.count; i++)
                found |= memcmp(e.set + i * 32, alloc, 32) == 0;
        if (!found)
                fail_msg("the vendor allocation entry was dropped by rename");
        assert_int_equal(img_bitmap_get(f->fd, &f->g, vc, &used), 0);
        assert_true(used);

        fx_mount(f, false);
        assert_int_equal(fx_free_clusters(f), before);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "renamed owner"), 0);
        /* the file's cluster and the vendor's cluster */
        assert_int_equal(fx_free_clusters(f), before + 2);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_bitmap_get(f->fd, &f->g, vc, &used), 0);
        assert_false(used);
        assert_int_equal(img_fsck(f->path), 0); /* the vendor entry is gone: fsck applies again */
}

/* truncate of a directory is refused */
static void test_setattr_size_on_directory(void **state) {
        struct fx *f = *state;
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 0 };
        struct exfat_stat st;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "d");

        assert_int_equal(exfat_setattr(f->vol, d, &sa, &st), -EISDIR);
        assert_int_equal(exfat_setattr(f->vol, EXFAT_ROOT_INO, &sa, &st), -EISDIR);
}

/* A 150-level directory chain with a tiny cache: the into-itself check must see ancestors that
 * are not cached, and nothing may recurse per level. */
static void test_deep_tree(void **state) {
        struct fx *f = *state;
        enum { DEPTH = 150 };
        uint64_t d = EXFAT_ROOT_INO, top = 0, bottom;
        char path[DEPTH * 4 + 8];
        size_t plen = 0;

        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        f->opts.cache_budget = 32 * 1024;
        fx_mount(f, false);
        for (int i = 0; i < DEPTH; i++) {
                uint64_t n = fx_mkdir(f, d, "d");
                if (i == 0)
                        top = n;
                else
                        exfat_forget(f->vol, d, 1);
                d = n;
                plen += (size_t) snprintf(path + plen, sizeof(path) - plen, "%sd", i ? "/" : "");
        }
        bottom = d;
        fx_create(f, bottom, "leaf", "leaf", 4);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "d", bottom, "loop", 0), -EINVAL);
        (void) top;
        fx_remount(f);
        bottom = fx_walk(f, path);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "d", bottom, "loop", 0), -EINVAL);
        /* the bottom directory moves to the root fine */
        {
                char parent[sizeof(path)];
                snprintf(parent, sizeof(parent), "%.*s", (int) (plen - 2), path);
                assert_int_equal(exfat_rename(f->vol, fx_walk(f, parent), "d", EXFAT_ROOT_INO, "bottom", 0), 0);
        }
        fx_remount(f);
        fx_expect_content(f, "bottom/leaf", "leaf", 4);
}

/* Directories growing over free space that holds old data (as on any used stick): the parts of a
 * new cluster that no entry has reached yet must read as end-of-directory, not as old bytes. */
static void test_growth_over_dirty_space(void **state) {
        struct fx *f = *state;
        uint8_t *junk = malloc(f->g.cluster_size);
        struct img_bitmap bm;
        char name[32];
        uint64_t d;

        assert_non_null(junk);
        memset(junk, 0xA5, f->g.cluster_size);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_bitmap_read(f->fd, &f->g, &bm), 0);
        for (uint32_t c = 2; c < f->g.cluster_count + 2; c++) {
                bool used;
                assert_int_equal(img_bitmap_test(&bm, c, &used), 0);
                if (!used)
                        assert_int_equal(img_pwrite(f->fd, junk, f->g.cluster_size, img_cluster_offset(&f->g, c)), 0);
        }
        img_bitmap_free(&bm);
        free(junk);
        fx_mount(f, false);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "d");
        for (int i = 0; i < 700; i++) {
                snprintf(name, sizeof(name), "f%03d", i);
                fx_create(f, d, name, NULL, 0);
                if (i % 2 == 0) {
                        snprintf(name, sizeof(name), "r%03d", i);
                        fx_create(f, EXFAT_ROOT_INO, name, NULL, 0);
                }
                if (i % 97 == 96 || i == 699) {
                        struct dirlist dl;
                        fx_remount(f);
                        d = fx_walk(f, "d");
                        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
                        assert_int_equal(dl.n, i + 1);
                        dirlist_free(&dl);
                }
        }
        fx_mkdir(f, d, "sub");
        fx_create(f, fx_walk(f, "d/sub"), "x", NULL, 0);
}

/* Bytes after the end-of-directory entry are not entries (the spec calls every later slot unused),
 * and a used stick or a hostile image has old ones there. Sets written past the end must carry the
 * end marker along, or those old bytes become part of the directory: broken sets and unknown
 * critical entries that made the next mount give -EIO for the root (fuzz finding 5). */
static void test_junk_after_end_of_directory(void **state) {
        struct fx *f = *state;
        uint8_t *root = malloc(f->g.cluster_size);
        uint64_t root_off = img_cluster_offset(&f->g, f->g.root_cluster);
        uint32_t nslots = f->g.cluster_size / 32, end = 0;
        struct dirlist dl;
        char name[64];

        assert_non_null(root);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_pread(f->fd, root, f->g.cluster_size, root_off), 0);
        while (end < nslots && root[end * 32] != 0)
                end++;
        assert_true(end + 8 < nslots);
        /* Old file sets (bad checksums, names of files long gone), unknown critical primaries and
         * stray stream extensions, as a stick that held other files has after a reformat. */
        fill_pattern(root + (end + 1) * 32, (nslots - end - 1) * 32, 0x5eed);
        for (uint32_t s = end + 1; s < nslots; s++) {
                static const uint8_t types[] = { 0x85, 0xC0, 0xC1, 0x8F, 0x85, 0xC0, 0xC1, 0xC1 };
                root[s * 32] = types[s % sizeof(types)];
                root[s * 32 + 1] = s % 8 == 0 ? 2 : root[s * 32 + 1];
        }
        assert_int_equal(img_pwrite(f->fd, root, f->g.cluster_size, root_off), 0);
        assert_int_equal(img_fsck(f->path), 0); /* the image is clean: junk past the end is allowed */

        fx_mount(f, false);
        for (int i = 0; i < 60; i++) {
                /* Names of 1 to 3 name entries: sets of 3 to 5 slots, some of them moved to the next
                 * block start, padding included. */
                snprintf(name, sizeof(name), "file-%02d%.*s", i, (i % 3) * 15, "-abcdefghijklmnopqrstuvwxyz-abcdefghij");
                fx_create(f, EXFAT_ROOT_INO, name, name, strlen(name));
                if (i % 20 == 19) {
                        fx_remount(f);
                        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
                        assert_int_equal(dl.n, i + 1);
                        dirlist_free(&dl);
                }
        }
        fx_mkdir(f, EXFAT_ROOT_INO, "dir");
        fx_remount(f);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 61);
        dirlist_free(&dl);
        for (int i = 0; i < 60; i++) {
                snprintf(name, sizeof(name), "file-%02d%.*s", i, (i % 3) * 15, "-abcdefghijklmnopqrstuvwxyz-abcdefghij");
                fx_expect_content(f, name, name, strlen(name));
        }
        free(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mkdir_rmdir, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_directory_growth, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_set_straddles_cluster, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_same_dir, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_across_dirs, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_replace_file, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_directories, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rename_keeps_benign_secondaries, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_readdir_cookies, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_readdir_plus, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_readdir_attributes_after_churn, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_stale_and_bogus_requests, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_vendor_allocation_entry, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_setattr_size_on_directory, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_deep_tree, fx_setup, fx_teardown),
                FX_TEST_DEFAULT(test_junk_after_end_of_directory),
                FX_TEST("growth_over_dirty_space_32k", test_growth_over_dirty_space, &cluster_32k),
                FX_TEST("growth_over_dirty_space_4k", test_growth_over_dirty_space, &cluster_4k_small),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/dir", tests, NULL, NULL);
}
