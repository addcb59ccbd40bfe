/* SPDX-License-Identifier: MIT */
/* Volume-wide operations: label, statfs, running out of space, sync. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static const struct fx_params small_volume = { .size = 8ull << 20 };
/* 1541 clusters: the bitmap's last byte is partly beyond ClusterCount */
static const struct fx_params odd_volume = { .size = (8ull << 20) + 20 * 1024 };
static const struct fx_params wrapped = { .wrap = true };

static void expect_label(struct fx *f, const char *want) {
        char buf[EXFAT_LABEL_MAX_UTF8 + 1];
        struct exfat_info info;

        assert_int_equal(exfat_get_label(f->vol, buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
        exfat_get_info(f->vol, &info);
        assert_string_equal(info.label, want);
}

static void expect_oracle_label(struct fx *f, const char *want) {
        char buf[64];
        assert_int_equal(img_label(f->fd, &f->g, buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
}

static void test_label_set_get(void **state) {
        struct fx *f = *state;

        expect_label(f, "");
        assert_int_equal(exfat_set_label(f->vol, "MyDisk"), 0);
        expect_label(f, "MyDisk");
        fx_unmount_check(f);
        expect_oracle_label(f, "MyDisk");
        fx_mount(f, false);
        expect_label(f, "MyDisk");

        assert_int_equal(exfat_set_label(f->vol, "ABCDEFGHIJK"), 0); /* 11 units */
        expect_label(f, "ABCDEFGHIJK");
        assert_int_equal(exfat_set_label(f->vol, "ABCDEFGHIJKL"), -ENAMETOOLONG);
        expect_label(f, "ABCDEFGHIJK");
        assert_int_equal(exfat_set_label(f->vol, "日本語のラベル"), 0); /* 7 units, 21 bytes */
        expect_label(f, "日本語のラベル");
        /* 5 astral characters are 10 units (fits); 6 are 12 (does not) */
        assert_int_equal(exfat_set_label(f->vol, "😀😀😀😀😀"), 0);
        expect_label(f, "😀😀😀😀😀");
        assert_int_equal(exfat_set_label(f->vol, "😀😀😀😀😀😀"), -ENAMETOOLONG);
        assert_int_equal(exfat_set_label(f->vol, "😀😀😀😀😀A"), 0); /* exactly 11 units */
        assert_int_equal(exfat_set_label(f->vol, "bad\x01"), -EINVAL);
        assert_int_equal(exfat_set_label(f->vol, "bad\xff\xfe"), -EINVAL); /* not UTF-8 */
        assert_int_equal(exfat_set_label(f->vol, " A B "), 0); /* spaces are kept as they are */
        expect_label(f, " A B ");
        assert_int_equal(exfat_set_label(f->vol, "ÀÉÎÕÜ"), 0);
        fx_unmount_check(f);
        expect_oracle_label(f, "ÀÉÎÕÜ");
        fx_mount(f, false);
        expect_label(f, "ÀÉÎÕÜ");

        assert_int_equal(exfat_set_label(f->vol, ""), 0); /* removes it */
        expect_label(f, "");
        fx_unmount_check(f);
        expect_oracle_label(f, "");
        fx_mount(f, false);
        expect_label(f, "");
}

static void test_label_buffer_small(void **state) {
        struct fx *f = *state;
        char buf[4];
        int r;

        assert_int_equal(exfat_set_label(f->vol, "LONGLABEL"), 0);
        r = exfat_get_label(f->vol, buf, sizeof(buf));
        assert_true(r < 0); /* never a silent truncation */
        {
                char exact[10];
                assert_int_equal(exfat_get_label(f->vol, exact, sizeof(exact)), 0);
                assert_string_equal(exact, "LONGLABEL");
                assert_true(exfat_get_label(f->vol, exact, 9) < 0);
        }
}

static void test_statfs_tracks_allocation(void **state) {
        struct fx *f = *state;
        struct exfat_statfs st;
        uint32_t oracle_free;
        uint64_t before, ino;
        size_t len = 10 * 4096 + 1; /* 11 clusters */
        uint8_t *data = calloc(1, len);

        assert_non_null(data);
        assert_int_equal(exfat_statfs(f->vol, &st), 0);
        assert_int_equal(st.cluster_size, 4096);
        assert_int_equal(st.total_clusters, f->g.cluster_count);
        assert_int_equal(st.name_max, EXFAT_NAME_MAX);
        assert_int_equal(img_count_free(f->fd, &f->g, &oracle_free), 0);
        assert_int_equal(st.free_clusters, oracle_free);
        before = st.free_clusters;

        ino = fx_create(f, EXFAT_ROOT_INO, "eleven", data, len);
        assert_int_equal(fx_free_clusters(f), before - 11);
        fx_mkdir(f, EXFAT_ROOT_INO, "dir"); /* a directory owns one cluster */
        assert_int_equal(fx_free_clusters(f), before - 12);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "eleven"), 0);
        exfat_forget(f->vol, ino, 1);
        assert_int_equal(fx_free_clusters(f), before - 1);
        fx_unmount_check(f);
        assert_int_equal(img_count_free(f->fd, &f->g, &oracle_free), 0);
        assert_int_equal(oracle_free, before - 1);
        fx_mount(f, false);
        assert_int_equal(fx_free_clusters(f), before - 1);
        free(data);
}

/* Fill an 8 MiB volume in cluster-sized writes: exactly the free clusters fit, the next write
 * is -ENOSPC, and after an unlink the space is back. */
static void test_enospc(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        uint8_t chunk[4096];
        uint64_t free_before = fx_free_clusters(f), written = 0, ino;
        ssize_t n;

        memset(chunk, 0xAB, sizeof(chunk));
        ino = fx_create(f, EXFAT_ROOT_INO, "filler", NULL, 0);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        for (;;) {
                n = exfat_write(f->vol, ino, chunk, sizeof(chunk), written);
                if (n < 0)
                        break;
                assert_int_equal(n, sizeof(chunk));
                written += (uint64_t) n;
                if (written > (16ull << 20))
                        fail_msg("wrote more than the volume holds");
        }
        assert_int_equal(n, -ENOSPC);
        assert_int_equal(written, free_before * 4096);
        assert_int_equal(fx_free_clusters(f), 0);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(st.size, written); /* a failed write does not change the size */
        /* a new directory needs a cluster */
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "nospace", &st), -ENOSPC);
        exfat_release(f->vol, ino);
        fx_unmount_check(f);
        {
                /* PercentInUse tracks allocation (or says "not available") */
                uint8_t pct;
                assert_int_equal(img_pread(f->fd, &pct, 1, 112), 0);
                if (pct != 100 && pct != 0xFF)
                        fail_msg("PercentInUse %u on a full volume", pct);
        }
        fx_mount(f, false);
        assert_int_equal(fx_free_clusters(f), 0);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "filler"), 0);
        assert_int_equal(fx_free_clusters(f), free_before);
        fx_create(f, EXFAT_ROOT_INO, "after", "ok", 2);
        fx_unmount_check(f);
        {
                uint8_t pct;
                assert_int_equal(img_pread(f->fd, &pct, 1, 112), 0);
                if (pct > 1 && pct != 0xFF)
                        fail_msg("PercentInUse %u on an almost empty volume", pct);
        }
        fx_mount(f, false);
        fx_expect_content(f, "after", "ok", 2);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "nospace", &st), -ENOENT);
}

/* exfat_sync writes everything back but leaves the volume marked dirty; an oracle reading the
 * image right after sync sees the file. */
static void test_sync_writes_back(void **state) {
        struct fx *f = *state;
        struct img_entry e;
        uint8_t flags;

        fx_create(f, EXFAT_ROOT_INO, "synced.txt", "synced data", 11);
        assert_int_equal(exfat_sync(f->vol), 0);
        assert_int_equal(img_find(f->fd, &f->g, "synced.txt", &e), 0);
        assert_int_equal(e.size, 11);
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        assert_true(flags & 0x02);
        /* the device was flushed as part of sync */
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "synced.txt", "synced data", 11);
}

/* With options.sync every modifying call is on the device when it returns. */
static void test_sync_option(void **state) {
        struct fx *f = *state;
        struct img_entry e;
        uint64_t ino;
        unsigned long flushes = 0;

        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        f->opts.sync = true;
        fx_mount(f, false);
        wrapdev_record(&f->wrap, true);
        ino = fx_create(f, EXFAT_ROOT_INO, "sync.txt", "abc", 3);
        for (size_t i = 0; i < f->wrap.n_log; i++)
                flushes += f->wrap.log[i].op == WRAPDEV_FLUSH;
        wrapdev_record(&f->wrap, false);
        assert_true(flushes > 0);
        assert_int_equal(img_find(f->fd, &f->g, "sync.txt", &e), 0);
        assert_int_equal(e.size, 3);
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "syncdir", &(struct exfat_stat) {}), 0);
        assert_int_equal(img_find(f->fd, &f->g, "syncdir", &e), 0);
        {
                /* each call is on the device when it returns: the oracle reads it mid-mount */
                uint8_t data[10000];
                struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 5000 };
                struct exfat_stat st;
                uint32_t free_now, free_lib;

                fill_pattern(data, sizeof(data), 5);
                assert_int_equal(exfat_open(f->vol, ino), 0);
                fx_write(f, ino, data, sizeof(data), 0);
                fx_expect_oracle_content(f, "sync.txt", data, sizeof(data));
                assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
                fx_expect_oracle_content(f, "sync.txt", data, 5000);
                exfat_release(f->vol, ino);
                assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "sync.txt", fx_walk(f, "syncdir"), "moved", 0), 0);
                fx_expect_oracle_content(f, "syncdir/moved", data, 5000);
                assert_int_equal(img_find(f->fd, &f->g, "sync.txt", &e), -ENOENT);
                assert_int_equal(exfat_set_label(f->vol, "SYNCED"), 0);
                {
                        char label[64];
                        assert_int_equal(img_label(f->fd, &f->g, label, sizeof(label)), 0);
                        assert_string_equal(label, "SYNCED");
                }
                assert_int_equal(exfat_unlink(f->vol, fx_walk(f, "syncdir"), "moved"), 0);
                assert_int_equal(img_find(f->fd, &f->g, "syncdir/moved", &e), -ENOENT);
                free_lib = (uint32_t) fx_free_clusters(f);
                assert_int_equal(img_count_free(f->fd, &f->g, &free_now), 0);
                assert_int_equal(free_now, free_lib); /* the bitmap is written through too */
        }
        fx_unmount_check(f);
}

/* A volume whose root has no label entry at all (older formatters): setting a label must add
 * one without disturbing the other root entries. */
static void test_label_without_entry(void **state) {
        struct fx *f = *state;
        uint64_t off;
        uint8_t type = 0x03; /* the 0x83 entry, marked unused */

        fx_create(f, EXFAT_ROOT_INO, "keep", "k", 1);
        fx_unmount_check(f);
        assert_int_equal(img_root_entry(f->fd, &f->g, 0x83, &off), 0);
        assert_int_equal(img_pwrite(f->fd, &type, 1, off), 0);
        assert_int_equal(img_fsck(f->path), 0);
        fx_mount(f, false);
        expect_label(f, "");
        assert_int_equal(exfat_set_label(f->vol, "ADDED"), 0);
        expect_label(f, "ADDED");
        fx_unmount_check(f);
        expect_oracle_label(f, "ADDED");
        fx_expect_oracle_content(f, "keep", "k", 1);
        fx_mount(f, false);
        expect_label(f, "ADDED");
}

/* A label written into a free run shorter than any file's entry set (root slot 0, an unused
 * 0x03 entry as Windows leaves it) once left the root's free-slot hint at UINT32_MAX: the next
 * create read the slot bitmap far out of bounds. Files made afterwards must land and survive. */
static void test_label_in_short_run_then_create(void **state) {
        struct fx *f = *state;
        uint64_t off;
        uint8_t type = 0x03;
        char name[32];

        fx_unmount_check(f);
        assert_int_equal(img_root_entry(f->fd, &f->g, 0x83, &off), 0);
        assert_int_equal(img_pwrite(f->fd, &type, 1, off), 0);
        assert_int_equal(img_fsck(f->path), 0);
        fx_mount(f, false);
        assert_int_equal(exfat_set_label(f->vol, "STICK"), 0);
        for (int i = 0; i < 40; i++) {
                snprintf(name, sizeof(name), "after-label-%d", i);
                fx_create(f, EXFAT_ROOT_INO, name, name, strlen(name));
        }
        assert_int_equal(exfat_set_label(f->vol, "STICK2"), 0);
        fx_create(f, EXFAT_ROOT_INO, "last", "L", 1);
        fx_unmount_check(f);
        expect_oracle_label(f, "STICK2");
        for (int i = 0; i < 40; i++) {
                snprintf(name, sizeof(name), "after-label-%d", i);
                fx_expect_oracle_content(f, name, name, strlen(name));
        }
        fx_expect_oracle_content(f, "last", "L", 1);
        fx_mount(f, false);
        expect_label(f, "STICK2");
}

/* Fills all free space with one file; returns its inode. */
static uint64_t fill_volume(struct fx *f, const char *name) {
        size_t bytes = (size_t) fx_free_clusters(f) * f->g.cluster_size;
        uint8_t *junk = calloc(1, bytes ? bytes : 1);
        uint64_t ino;

        assert_non_null(junk);
        ino = fx_create(f, EXFAT_ROOT_INO, name, junk, bytes);
        free(junk);
        assert_int_equal(fx_free_clusters(f), 0);
        return ino;
}

/* On a full volume, operations that need a new directory cluster fail with -ENOSPC and change
 * nothing: a rename to a longer name must not lose the file. */
static void test_full_volume_directory_growth(void **state) {
        struct fx *f = *state;
        char name[64];
        struct exfat_stat st;
        struct dirlist dl;
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "d");
        int i, r, created;

        /* fill d's first cluster exactly: 3-entry sets, 42 fit, 2 slots left */
        for (i = 0; i < 42; i++) {
                snprintf(name, sizeof(name), "f%02d", i);
                fx_create(f, d, name, NULL, 0);
        }
        fill_volume(f, "filler");
        r = exfat_create(f->vol, d, "one-more", 0, &st);
        assert_int_equal(r, -ENOSPC);
        r = exfat_mkdir(f->vol, d, "dir-more", &st);
        assert_int_equal(r, -ENOSPC);
        /* f00 -> a 40-unit name needs 5 entries: the set cannot stay where it was */
        r = exfat_rename(f->vol, d, "f00", d, "a-name-of-forty-characters-for-3-entries", 0);
        assert_true(r == 0 || r == -ENOSPC);
        created = r == 0;
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 42);
        assert_true(dirlist_has(&dl, created ? "a-name-of-forty-characters-for-3-entries" : "f00"));
        dirlist_free(&dl);
        fx_remount(f);
        d = fx_walk(f, "d");
        assert_int_equal(fx_readdir_all(f, d, &dl), 0);
        assert_int_equal(dl.n, 42);
        dirlist_free(&dl);
        /* space is back: the directory grows */
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "filler"), 0);
        fx_create(f, d, "one-more", "1", 1);
}

/* A write larger than the free space: -ENOSPC, and no cluster leaks (free + allocated adds up). */
static void test_enospc_large_write(void **state) {
        struct fx *f = *state;
        uint64_t before, ino;
        size_t len;
        uint8_t *buf;
        struct exfat_stat st;
        ssize_t n;

        /* ballast, so that the write fits the volume but not its free space (a file larger than
         * the whole volume may get -EFBIG instead) */
        buf = calloc(1, 2u << 20);
        assert_non_null(buf);
        fx_create(f, EXFAT_ROOT_INO, "ballast", buf, 2u << 20);
        free(buf);
        ino = fx_create(f, EXFAT_ROOT_INO, "big", "x", 1);
        before = fx_free_clusters(f) + 1;
        len = (size_t) (before + 10) * f->g.cluster_size;
        assert_true(before + 10 < f->g.cluster_count);
        buf = calloc(1, len);
        assert_non_null(buf);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        n = exfat_write(f->vol, ino, buf, len, 0);
        if (n != -ENOSPC && !(n > 0 && (size_t) n < len))
                fail_msg("write of %zu bytes with %llu clusters free returned %zd", len,
                         (unsigned long long) before, n);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        assert_int_equal(fx_free_clusters(f) + st.allocated / f->g.cluster_size, before);
        assert_true(st.size <= st.allocated);
        exfat_release(f->vol, ino);
        fx_remount(f);
        assert_int_equal(exfat_getattr(f->vol, fx_walk(f, "big"), &st), 0);
        assert_int_equal(fx_free_clusters(f) + st.allocated / f->g.cluster_size, before);
        free(buf);
}

/* FUSE may still hold open files when the volume goes away: unmount writes everything back. */
static void test_unmount_with_open_files(void **state) {
        struct fx *f = *state;
        uint8_t data[20000];
        struct exfat_stat st;

        uint32_t free_before, free_after;

        fill_pattern(data, sizeof(data), 17);
        assert_int_equal(img_count_free(f->fd, &f->g, &free_before), 0);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "open-at-unmount", 0, &st), 0);
        assert_int_equal(exfat_open(f->vol, st.ino), 0);
        fx_write(f, st.ino, data, sizeof(data), 0);
        /* and an unlinked file still open: its clusters must not leak past the unmount */
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "orphan", 0, &st), 0);
        assert_int_equal(exfat_open(f->vol, st.ino), 0);
        fx_write(f, st.ino, data, sizeof(data), 0);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "orphan"), 0);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "open-at-unmount", data, sizeof(data));
        assert_int_equal(img_count_free(f->fd, &f->g, &free_after), 0);
        if (free_after != free_before - 5)
                fail_msg("free clusters %u after unmount, expected %u (the orphan's clusters leaked?)", free_after,
                         free_before - 5);
        fx_mount(f, false);
        fx_expect_content(f, "open-at-unmount", data, sizeof(data));
}

/* The library keeps no globals: two volumes mounted at once do not see each other. */
static void test_two_volumes(void **state) {
        struct fx *f = *state;
        const char *extra[] = { "-c", "32K", "-L", "SECOND", NULL };
        char path2[sizeof(f->path) + 8];
        struct exfat_device dev2;
        struct exfat_volume *vol2 = NULL;
        struct exfat_stat st;
        struct exfat_statfs sf;
        char label[EXFAT_LABEL_MAX_UTF8 + 1];
        int fd2;

        snprintf(path2, sizeof(path2), "%s.two", f->path);
        assert_int_equal(img_mkfs(path2, 32ull << 20, extra), 0);
        fd2 = open(path2, O_RDWR | O_CLOEXEC);
        assert_true(fd2 >= 0);
        assert_int_equal(exfat_device_init_fd(&dev2, fd2), 0);
        assert_int_equal(exfat_mount(&dev2, &f->opts, &vol2), 0);

        fx_create(f, EXFAT_ROOT_INO, "same-name", "one", 3);
        assert_int_equal(exfat_lookup(vol2, EXFAT_ROOT_INO, "same-name", &st), -ENOENT);
        assert_int_equal(exfat_create(vol2, EXFAT_ROOT_INO, "same-name", 0, &st), 0);
        assert_int_equal(exfat_open(vol2, st.ino), 0);
        assert_int_equal(exfat_write(vol2, st.ino, "second", 6, 0), 6);
        exfat_release(vol2, st.ino);
        assert_int_equal(exfat_get_label(vol2, label, sizeof(label)), 0);
        assert_string_equal(label, "SECOND");
        assert_int_equal(exfat_statfs(vol2, &sf), 0);
        assert_int_equal(sf.cluster_size, 32768);
        fx_expect_content(f, "same-name", "one", 3);
        assert_int_equal(exfat_unmount(vol2), 0);
        close(fd2);
        assert_int_equal(img_fsck(path2), 0);
        fx_remount(f);
        fx_expect_content(f, "same-name", "one", 3);
        unlink(path2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_label_set_get, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_label_buffer_small, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_label_without_entry, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_label_in_short_run_then_create, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_statfs_tracks_allocation, fx_setup, fx_teardown),
                FX_TEST("enospc", test_enospc, &small_volume),
                FX_TEST("enospc_odd_cluster_count", test_enospc, &odd_volume),
                FX_TEST("full_volume_directory_growth", test_full_volume_directory_growth, &small_volume),
                FX_TEST("enospc_large_write", test_enospc_large_write, &small_volume),
                cmocka_unit_test_setup_teardown(test_unmount_with_open_files, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_two_volumes, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_sync_writes_back, fx_setup, fx_teardown),
                FX_TEST("sync_option", test_sync_option, &wrapped),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/volume", tests, NULL, NULL);
}
