/* SPDX-License-Identifier: MIT */
/* Volume-wide operations: label, statfs, running out of space, sync. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const struct fx_params small_volume = { .size = 8ull << 20 };
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
        fx_remount(f);
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
        (void) ino;
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "syncdir", &(struct exfat_stat) {}), 0);
        assert_int_equal(img_find(f->fd, &f->g, "syncdir", &e), 0);
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "sync.txt", "abc", 3);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_label_set_get, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_label_buffer_small, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_label_without_entry, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_statfs_tracks_allocation, fx_setup, fx_teardown),
                FX_TEST("enospc", test_enospc, &small_volume),
                cmocka_unit_test_setup_teardown(test_sync_writes_back, fx_setup, fx_teardown),
                FX_TEST("sync_option", test_sync_option, &wrapped),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/volume", tests, NULL, NULL);
}
