/* SPDX-License-Identifier: MIT */
/* Timestamps: 10 ms fields round-trip, UTC offsets written and read, 2 s access time. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

#define T_1980 315532800LL          /* 1980-01-01T00:00:00Z */
#define T_2108 4354819200LL         /* 2108-01-01T00:00:00Z */

static void set_times(struct fx *f, uint64_t ino, unsigned valid, struct timespec at, struct timespec mt,
                      struct timespec ct, struct exfat_stat *st) {
        struct exfat_setattr sa = { .valid = valid, .atime = at, .mtime = mt, .crtime = ct };
        int r = exfat_setattr(f->vol, ino, &sa, st);
        if (r != 0)
                fail_msg("setattr times: %s", strerror(-r));
}

static void expect_ts(const char *what, struct timespec got, int64_t sec, long nsec) {
        if (got.tv_sec != sec || got.tv_nsec != nsec)
                fail_msg("%s: got %lld.%09ld, expected %lld.%09ld", what, (long long) got.tv_sec, got.tv_nsec,
                         (long long) sec, nsec);
}

static void check_round_trip(struct fx *f, const char *path) {
        struct exfat_stat st;
        uint64_t ino = fx_walk(f, path);

        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        expect_ts("mtime", st.mtime, 1700000001, 230000000);
        expect_ts("crtime", st.crtime, 1600000001, 990000000);
        if (st.atime.tv_sec < 1700000100 - 2 || st.atime.tv_sec > 1700000100)
                fail_msg("atime %lld not within 2 s of 1700000100", (long long) st.atime.tv_sec);
}

static void test_round_trip(void **state) {
        struct fx *f = *state;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "times", "t", 1);
        uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "dirtimes");
        struct exfat_stat st;
        struct img_entry e;
        const unsigned all = EXFAT_SET_ATIME | EXFAT_SET_MTIME | EXFAT_SET_CRTIME;
        /* odd second + 234.567891 ms: 10 ms field = 100 + 23 */
        struct timespec mt = { 1700000001, 234567891 }, ct = { 1600000001, 990000000 }, at = { 1700000100, 0 };

        set_times(f, ino, all, at, mt, ct, &st);
        expect_ts("mtime (setattr reply)", st.mtime, 1700000001, 230000000);
        set_times(f, d, all, at, mt, ct, &st);
        check_round_trip(f, "times");
        check_round_trip(f, "dirtimes");
        fx_unmount_check(f);

        /* on disk: UTC with offset 0 and the valid bit, 10 ms fields filled */
        assert_int_equal(img_find(f->fd, &f->g, "times", &e), 0);
        {
                uint32_t dos_m, dos_c;
                int64_t sec;
                long nsec;
                memcpy(&dos_c, e.set + 8, 4);
                memcpy(&dos_m, e.set + 12, 4);
                assert_int_equal(e.set[21], 123);  /* LastModified10msIncrement */
                assert_int_equal(e.set[20], 199);  /* Create10msIncrement */
                assert_int_equal(e.set[22], 0x80); /* CreateUtcOffset */
                assert_int_equal(e.set[23], 0x80); /* LastModifiedUtcOffset */
                assert_int_equal(e.set[24], 0x80); /* LastAccessedUtcOffset */
                img_decode_time(le32toh(dos_m), e.set[21], e.set[23], &sec, &nsec);
                assert_int_equal(sec, 1700000001);
                assert_int_equal(nsec, 230000000);
                img_decode_time(le32toh(dos_c), e.set[20], e.set[22], &sec, &nsec);
                assert_int_equal(sec, 1600000001);
        }
        fx_mount(f, false);
        check_round_trip(f, "times");
        check_round_trip(f, "dirtimes");
}

/* Other UTC offsets (as written by a camera or Windows in another zone) are honoured. */
static void test_read_utc_offsets(void **state) {
        struct fx *f = *state;
        struct exfat_setattr sa = { .valid = EXFAT_SET_MTIME | EXFAT_SET_CRTIME };
        struct exfat_stat st;
        struct img_entry e;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "zoned", "z", 1);
        /* 2023-11-14 22:13:20 UTC */
        sa.mtime = (struct timespec) { 1700000000, 0 };
        sa.crtime = sa.mtime;
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, "zoned", &e), 0);
        /* rewrite: same DOS fields, but claim they are local time at +01:00 (modified) and
         * -05:00 (created): UTC is then one hour earlier / five hours later */
        e.set[23] = 0x80 | 4;
        e.set[22] = 0x80 | (uint8_t) ((0x80 - 20) & 0x7F);
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        assert_int_equal(img_fsck(f->path), 0);
        fx_mount(f, false);
        assert_int_equal(exfat_getattr(f->vol, fx_walk(f, "zoned"), &st), 0);
        expect_ts("mtime at +01:00", st.mtime, 1700000000 - 3600, 0);
        expect_ts("crtime at -05:00", st.crtime, 1700000000 + 5 * 3600, 0);
}

static void test_new_and_modified_times(void **state) {
        struct fx *f = *state;
        time_t now = time(NULL);
        struct exfat_stat st;
        struct exfat_setattr sa = { .valid = EXFAT_SET_MTIME, .mtime = { 1000000000, 0 } };
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "fresh", NULL, 0);

        time_t after = time(NULL);

        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        /* 2 s DOS granularity below, a slow machine above */
        assert_true(st.crtime.tv_sec >= now - 2 && st.crtime.tv_sec <= after + 1);
        assert_true(st.mtime.tv_sec >= now - 2 && st.mtime.tv_sec <= after + 1);
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
        expect_ts("old mtime", st.mtime, 1000000000, 0);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        fx_write(f, ino, "w", 1, 0);
        exfat_release(f->vol, ino);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        if (st.mtime.tv_sec < now - 3)
                fail_msg("a write did not update mtime (%lld)", (long long) st.mtime.tv_sec);
        /* creating an entry updates the parent's mtime */
        {
                uint64_t d = fx_mkdir(f, EXFAT_ROOT_INO, "parent");
                assert_int_equal(exfat_setattr(f->vol, d, &sa, &st), 0);
                fx_create(f, d, "child", NULL, 0);
                assert_int_equal(exfat_getattr(f->vol, d, &st), 0);
                if (st.mtime.tv_sec < now - 3)
                        fail_msg("creating a child did not update the directory's mtime");
        }
        fx_remount(f);
}

static void test_out_of_range_years(void **state) {
        struct fx *f = *state;
        struct exfat_setattr sa = { .valid = EXFAT_SET_MTIME };
        struct exfat_stat st;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "ancient", NULL, 0);
        int r;

        sa.mtime = (struct timespec) { 0, 0 }; /* 1970: before exFAT's epoch */
        r = exfat_setattr(f->vol, ino, &sa, &st);
        if (r == 0) {
                assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
                assert_true(st.mtime.tv_sec >= T_1980 - 14 * 3600);
        }
        sa.mtime = (struct timespec) { T_2108 + 86400 * 400, 0 };
        r = exfat_setattr(f->vol, ino, &sa, &st);
        if (r == 0) {
                assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
                assert_true(st.mtime.tv_sec < T_2108);
        }
        sa.mtime = (struct timespec) { T_1980, 0 }; /* the first representable instant */
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
        fx_remount(f);
        assert_int_equal(exfat_getattr(f->vol, fx_walk(f, "ancient"), &st), 0);
        expect_ts("1980-01-01", st.mtime, T_1980, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_read_utc_offsets, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_new_and_modified_times, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_out_of_range_years, fx_setup, fx_teardown),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/time", tests, NULL, NULL);
}
