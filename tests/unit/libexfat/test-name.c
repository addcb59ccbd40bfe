/* SPDX-License-Identifier: MIT */
/* Names: UTF-8 <-> UTF-16 (accents, CJK, surrogate pairs), case-insensitive lookup with case
 * preservation, forbidden characters, length limits in UTF-16 units. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const char *const unicode_names[] = {
        "café crème.txt",
        "日本語のファイル名",
        "emoji😀🎉.txt",
        "Ελληνικά",
        "Ünïcödé ß",
        "mixed 中文 and 😀 and é",
};

static void test_unicode_names(void **state) {
        struct fx *f = *state;
        struct dirlist dl;
        size_t n = sizeof(unicode_names) / sizeof(unicode_names[0]);

        for (size_t i = 0; i < n; i++)
                fx_create(f, EXFAT_ROOT_INO, unicode_names[i], unicode_names[i], strlen(unicode_names[i]));
        fx_mkdir(f, EXFAT_ROOT_INO, "répertoire 目录");
        fx_create(f, fx_walk(f, "répertoire 目录"), "内部😀", "in", 2);

        fx_unmount_check(f);
        for (size_t i = 0; i < n; i++)
                fx_expect_oracle_content(f, unicode_names[i], unicode_names[i], strlen(unicode_names[i]));
        {
                /* "emoji" + 2 surrogate pairs + ".txt" = 5 + 4 + 4 units */
                struct img_entry e;
                assert_int_equal(img_find(f->fd, &f->g, "emoji😀🎉.txt", &e), 0);
                assert_int_equal(e.name_units, 13);
        }
        fx_expect_oracle_content(f, "répertoire 目录/内部😀", "in", 2);
        fx_mount(f, false);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, n + 1);
        for (size_t i = 0; i < n; i++)
                if (!dirlist_has(&dl, unicode_names[i]))
                        fail_msg("readdir lost \"%s\"", unicode_names[i]);
        dirlist_free(&dl);
        for (size_t i = 0; i < n; i++)
                fx_expect_content(f, unicode_names[i], unicode_names[i], strlen(unicode_names[i]));
        fx_expect_content(f, "répertoire 目录/内部😀", "in", 2);
}

static void test_case_insensitive(void **state) {
        struct fx *f = *state;
        struct exfat_stat st, st2;
        struct dirlist dl;
        uint64_t ino = fx_create(f, EXFAT_ROOT_INO, "MixedCase.Txt", "mc", 2);
        uint64_t ino2 = fx_create(f, EXFAT_ROOT_INO, "Été", "ete", 3);
        uint64_t ino3 = fx_create(f, EXFAT_ROOT_INO, "Привет Ωμέγα", "ru", 2);

        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "mixedcase.txt", &st), 0);
        assert_int_equal(st.ino, ino);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "MIXEDCASE.TXT", &st), 0);
        assert_int_equal(st.ino, ino);
        /* non-ASCII case folding comes from the volume's up-case table */
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "éTÉ", &st2), 0);
        assert_int_equal(st2.ino, ino2);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "ÉTÉ", &st2), 0);
        assert_int_equal(st2.ino, ino2);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "ПРИВЕТ ΩΜΈΓΑ", &st2), 0);
        assert_int_equal(st2.ino, ino3);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "привет ωμέγα", &st2), 0);
        assert_int_equal(st2.ino, ino3);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "MIXEDCASE.txt", 0, &st), -EEXIST);
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "été", &st), -EEXIST);

        fx_unmount_check(f);
        {
                struct img_entry e;
                assert_int_equal(img_find(f->fd, &f->g, "MixedCase.Txt", &e), 0); /* preserved */
                assert_int_equal(img_find(f->fd, &f->g, "Été", &e), 0);
        }
        fx_mount(f, false);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 3);
        assert_true(dirlist_has(&dl, "Привет Ωμέγα"));
        assert_true(dirlist_has(&dl, "MixedCase.Txt"));
        assert_true(dirlist_has(&dl, "Été"));
        dirlist_free(&dl);
        fx_expect_content(f, "mixedCASE.txt", "mc", 2);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "MIXEDCASE.TXT"), 0);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "MixedCase.Txt", &st), -ENOENT);
}

static void test_forbidden_characters(void **state) {
        struct fx *f = *state;
        static const char bad_chars[] = "\"*/:<>?\\|";
        struct exfat_stat st;
        struct dirlist dl;
        char name[8];

        for (const char *c = bad_chars; *c; c++) {
                snprintf(name, sizeof(name), "a%cb", *c);
                if (exfat_create(f->vol, EXFAT_ROOT_INO, name, 0, &st) != -EINVAL)
                        fail_msg("create of a name with '%c' did not fail with -EINVAL", *c);
                if (exfat_mkdir(f->vol, EXFAT_ROOT_INO, name, &st) != -EINVAL)
                        fail_msg("mkdir of a name with '%c' did not fail with -EINVAL", *c);
        }
        for (int c = 1; c < 0x20; c++) {
                snprintf(name, sizeof(name), "x%cy", c);
                if (exfat_create(f->vol, EXFAT_ROOT_INO, name, 0, &st) != -EINVAL)
                        fail_msg("create of a name with control character 0x%02x did not fail", c);
        }
        assert_true(exfat_create(f->vol, EXFAT_ROOT_INO, "", 0, &st) < 0);
        assert_true(exfat_create(f->vol, EXFAT_ROOT_INO, ".", 0, &st) < 0);
        assert_true(exfat_create(f->vol, EXFAT_ROOT_INO, "..", 0, &st) < 0);
        assert_true(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "..", &st) < 0);
        /* invalid UTF-8 cannot become UTF-16 */
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "bad\xff\xfe", 0, &st), -EINVAL);
        /* allowed: spaces, dots, leading dot, punctuation outside the forbidden set */
        fx_create(f, EXFAT_ROOT_INO, ".hidden", NULL, 0);
        fx_create(f, EXFAT_ROOT_INO, "a b+c,d;e=f[g]h#i%j&k'l(m)n{o}p~q!r@s$t^u`v.w", NULL, 0);
        fx_create(f, EXFAT_ROOT_INO, "...three dots", NULL, 0);
        /* rename to a bad name is refused too */
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, ".hidden", EXFAT_ROOT_INO, "a:b", 0), -EINVAL);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 3);
        dirlist_free(&dl);
        fx_remount(f);
        fx_walk(f, ".hidden");
        fx_walk(f, "...three dots");
}

static char *repeat(const char *unit, size_t count, const char *suffix) {
        size_t ul = strlen(unit), sl = suffix ? strlen(suffix) : 0;
        char *s = malloc(ul * count + sl + 1);
        assert_non_null(s);
        for (size_t i = 0; i < count; i++)
                memcpy(s + i * ul, unit, ul);
        if (sl)
                memcpy(s + ul * count, suffix, sl);
        s[ul * count + sl] = 0;
        return s;
}

static void test_name_length(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        char *n255 = repeat("a", 255, NULL);
        char *n256 = repeat("b", 256, NULL);
        char *e255 = repeat("😀", 127, "x");     /* 254 + 1 = 255 units, 509 bytes */
        char *e256 = repeat("😀", 128, NULL);    /* 256 units */
        char *c255 = repeat("中", 255, NULL);     /* 255 units, 765 bytes: EXFAT_NAME_MAX_UTF8 */
        struct img_entry e;

        fx_create(f, EXFAT_ROOT_INO, n255, "255", 3);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, n256, 0, &st), -ENAMETOOLONG);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, n256, &st), -ENAMETOOLONG);
        fx_create(f, EXFAT_ROOT_INO, e255, "e255", 4);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, e256, 0, &st), -ENAMETOOLONG);
        fx_mkdir(f, EXFAT_ROOT_INO, c255);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, n255, EXFAT_ROOT_INO, n256, 0), -ENAMETOOLONG);
        fx_unmount_check(f);
        assert_int_equal(img_find(f->fd, &f->g, n255, &e), 0);
        assert_int_equal(e.name_units, 255);
        assert_int_equal(e.count, 2 + 17); /* 255 units need 17 name entries */
        assert_int_equal(img_find(f->fd, &f->g, e255, &e), 0);
        assert_int_equal(e.name_units, 255);
        assert_int_equal(img_find(f->fd, &f->g, c255, &e), 0);
        fx_mount(f, false);
        fx_expect_content(f, n255, "255", 3);
        fx_expect_content(f, e255, "e255", 4);
        fx_walk(f, c255);
        free(n255);
        free(n256);
        free(e255);
        free(e256);
        free(c255);
}

/* Names of 15, 16, 30, 31 units sit on the boundaries of name entries. */
static void test_name_entry_boundaries(void **state) {
        struct fx *f = *state;
        static const size_t lens[] = { 1, 14, 15, 16, 29, 30, 31, 45, 46 };

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                char *n = repeat("n", lens[i], NULL);
                fx_create(f, EXFAT_ROOT_INO, n, n, lens[i]);
                free(n);
        }
        fx_remount(f);
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                char *n = repeat("n", lens[i], NULL);
                fx_expect_content(f, n, n, lens[i]);
                free(n);
        }
}

static uint32_t table_checksum(const uint8_t *p, size_t len) {
        uint32_t sum = 0;
        for (size_t i = 0; i < len; i++)
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + p[i];
        return sum;
}

/* A volume whose up-case table maps nothing (all identity): names differ by case there. The
 * library must fold through the volume's table, not a built-in one. */
static void test_volume_upcase_table_rules(void **state) {
        struct fx *f = *state;
        static const uint8_t identity[] = { 0xFF, 0xFF, 0xFF, 0xFF }; /* 65535 identity entries */
        struct exfat_stat st;
        struct dirlist dl;
        uint8_t e[32];
        uint64_t off, a, b;
        uint32_t first, sum;

        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        memcpy(&first, e + 20, 4);
        assert_int_equal(img_pwrite(f->fd, identity, sizeof(identity), img_cluster_offset(&f->g, le32toh(first))), 0);
        sum = htole32(table_checksum(identity, sizeof(identity)));
        memcpy(e + 4, &sum, 4);
        {
                uint64_t len = htole64(sizeof(identity));
                memcpy(e + 24, &len, 8);
        }
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        f->no_final_check = true; /* fsck.exfat hashes names with its own table */
        fx_mount(f, false);
        a = fx_create(f, EXFAT_ROOT_INO, "abc", "lower", 5);
        b = fx_create(f, EXFAT_ROOT_INO, "ABC", "upper", 5);
        assert_int_not_equal(a, b);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "Abc", &st), -ENOENT);
        fx_expect_content(f, "abc", "lower", 5);
        fx_expect_content(f, "ABC", "upper", 5);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        fx_mount(f, false);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 2);
        dirlist_free(&dl);
        fx_expect_content(f, "ABC", "upper", 5);
}

/* Names are stored as given: no Unicode normalization (NFC "é" and NFD "e" + U+0301 are two
 * names), DEL and other non-control characters above U+001F are allowed. */
static void test_no_normalization(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        uint64_t nfc = fx_create(f, EXFAT_ROOT_INO, "caf\xc3\xa9", "nfc", 3);
        uint64_t nfd = fx_create(f, EXFAT_ROOT_INO, "cafe\xcc\x81", "nfd", 3);

        assert_int_not_equal(nfc, nfd);
        fx_create(f, EXFAT_ROOT_INO, "del\x7f" "char", "del", 3);
        fx_create(f, EXFAT_ROOT_INO, "nbsp\xc2\xa0space", "nb", 2);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "CAFE\xcc\x81", &st), 0);
        assert_int_equal(st.ino, nfd);
        fx_remount(f);
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 4);
        assert_true(dirlist_has(&dl, "caf\xc3\xa9"));
        assert_true(dirlist_has(&dl, "cafe\xcc\x81"));
        assert_true(dirlist_has(&dl, "del\x7f" "char"));
        dirlist_free(&dl);
        fx_expect_content(f, "caf\xc3\xa9", "nfc", 3);
        fx_expect_content(f, "cafe\xcc\x81", "nfd", 3);
        fx_expect_content(f, "nbsp\xc2\xa0space", "nb", 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unicode_names, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_case_insensitive, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_forbidden_characters, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_name_length, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_name_entry_boundaries, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_volume_upcase_table_rules, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_no_normalization, fx_setup, fx_teardown),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/name", tests, NULL, NULL);
}
