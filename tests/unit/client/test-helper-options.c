/* SPDX-License-Identifier: MIT */
/* mount.exfat's option string: what udisks and mount(8) pass, mapped onto Mount's typed options,
 * and everything that must be refused rather than silently dropped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "helper-options.h"

static struct helper_options parse_ok(const char *s, bool sloppy) {
        struct helper_options h;
        const char *why = NULL;
        char bad[64];

        assert_int_equal(helper_options_parse(s, sloppy, &h, bad, sizeof(bad), &why), 0);
        assert_null(why);
        assert_string_equal(bad, "");
        return h;
}

static void parse_fails(const char *s, bool sloppy, const char *item, const char *why_contains) {
        struct helper_options h;
        const char *why = NULL;
        char bad[64];

        assert_int_equal(helper_options_parse(s, sloppy, &h, bad, sizeof(bad), &why), -EINVAL);
        assert_string_equal(bad, item);
        assert_non_null(why);
        if (!strstr(why, why_contains))
                fail_msg("'%s': reason '%s' lacks '%s'", s, why, why_contains);
}

/* Options libmount may pass on (util-linux's map has no "not for helpers" flag on them): ignored. */
static void test_libmount_leftovers(void **state) {
        (void) state;
        struct helper_options h = parse_ok("nousers,noowner,nogroup,users,owner,group,nouser", false);
        assert_false(h.read_only);
}

/* A leading zero would be octal to the kernel driver: refused, not read as decimal. */
static void test_id_leading_zero(void **state) {
        (void) state;
        parse_fails("uid=010", false, "uid=010", "leading zeros");
        parse_fails("gid=00", false, "gid=00", "leading zeros");
        parse_fails("uid=0x3e8", false, "uid=0x3e8", "decimal");
        struct helper_options h = parse_ok("uid=0,gid=100", false);
        assert_int_equal(h.mount.uid, 0);
        assert_int_equal(h.mount.gid, 100);
}

/* Exactly what udisks 2.9.4 passes for an exFAT filesystem. */
static void test_udisks_string(void **state) {
        struct helper_options h = parse_ok("rw,nodev,nosuid,uid=1001,gid=1002,iocharset=utf8,errors=remount-ro,"
                                           "uhelper=udisks2", false);
        (void) state;
        assert_false(h.read_only);
        assert_true(h.mount.has_uid);
        assert_int_equal(h.mount.uid, 1001);
        assert_true(h.mount.has_gid);
        assert_int_equal(h.mount.gid, 1002);
        assert_false(h.mount.has_dmask || h.mount.has_fmask || h.mount.has_noexec || h.mount.has_sync ||
                     h.mount.has_force);
}

static void test_kernel_style_options(void **state) {
        struct helper_options h;
        (void) state;

        h = parse_ok("ro,umask=027,noexec,sync", false);
        assert_true(h.read_only);
        assert_true(h.mount.has_dmask && h.mount.has_fmask);
        assert_int_equal(h.mount.dmask, 027);
        assert_int_equal(h.mount.fmask, 027);
        assert_true(h.mount.has_noexec && h.mount.noexec);
        assert_true(h.mount.has_sync && h.mount.sync);

        /* Later items win, as in the kernel's parser: umask then fmask, ro then rw. */
        h = parse_ok("ro,umask=022,fmask=0133,rw,exec,async", false);
        assert_false(h.read_only);
        assert_int_equal(h.mount.dmask, 022);
        assert_int_equal(h.mount.fmask, 0133);
        assert_true(h.mount.has_noexec && !h.mount.noexec);
        assert_true(h.mount.has_sync && !h.mount.sync);

        h = parse_ok("dmask=0,uid=0,gid=0", false);
        assert_true(h.mount.has_dmask);
        assert_int_equal(h.mount.dmask, 0);
        assert_false(h.mount.has_fmask);
        assert_true(h.mount.has_uid);
        assert_int_equal(h.mount.uid, 0);
}

static void test_userspace_options_ignored(void **state) {
        struct helper_options h = parse_ok("defaults,noauto,nofail,user,users,nouser,owner,group,_netdev,"
                                           "user=alice,helper=udisks2,comment=x,x-gvfs-show,iocharset=UTF-8,"
                                           "errors=continue,,", false);
        (void) state;
        assert_false(h.read_only);
        assert_false(h.mount.has_uid || h.mount.has_gid || h.mount.has_dmask || h.mount.has_noexec);
        h = parse_ok(NULL, false);
        assert_false(h.read_only);
        h = parse_ok("", false);
        assert_false(h.read_only);
}

static void test_refused(void **state) {
        (void) state;
        parse_fails("rw,suid", false, "suid", "nosuid,nodev");
        parse_fails("dev", true, "dev", "nosuid,nodev");
        parse_fails("rw,noatime", false, "noatime", "unknown");
        parse_fails("frobnicate=1", false, "frobnicate=1", "unknown");
        parse_fails("uid=alice", false, "uid=alice", "decimal");
        parse_fails("uid=-1", false, "uid=-1", "decimal");
        parse_fails("uid=4294967295", false, "uid=4294967295", "decimal");
        parse_fails("uid=99999999999999999999", false, "uid=99999999999999999999", "decimal");
        parse_fails("gid=1000x", false, "gid=1000x", "decimal");
        parse_fails("uid=", false, "uid=", "decimal");
        parse_fails("uid", false, "uid", "needs a value");
        parse_fails("umask=1000", false, "umask=1000", "octal");
        parse_fails("fmask=8", false, "fmask=8", "octal");
        parse_fails("dmask=-7", false, "dmask=-7", "octal");
        parse_fails("iocharset=iso8859-1", false, "iocharset=iso8859-1", "UTF-8");
        parse_fails("errors=ignore", false, "errors=ignore", "remount-ro");
        /* A comma inside a value cannot be carried: mount(8) quotes it, and the quote is refused. */
        parse_fails("rw,x-name=\"a,b\"", false, "x-name=\"a", "quoted");
        parse_fails("uid=1000,5", false, "5", "unknown");
        /* Bad values are refused even with -s. */
        parse_fails("uid=x", true, "uid=x", "decimal");
}

static void test_sloppy(void **state) {
        struct helper_options h = parse_ok("noatime,ro,frobnicate=1,relatime", true);
        (void) state;
        assert_true(h.read_only);
}

static void test_result_untouched_on_error(void **state) {
        struct helper_options h = { .read_only = true, .mount = { .has_uid = true, .uid = 7 } };
        const char *why;
        char bad[8];
        (void) state;

        assert_int_equal(helper_options_parse("rw,uid=1,bogus-option-longer-than-bad", false, &h, bad, sizeof(bad), &why),
                         -EINVAL);
        assert_true(h.read_only);
        assert_int_equal(h.mount.uid, 7);
        assert_string_equal(bad, "bogus-o"); /* truncated to the buffer */
}

static void test_exit_codes(void **state) {
        (void) state;
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_OK), 0);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_USAGE), 1);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_NOT_AUTHORIZED), 1);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_UNAVAILABLE), 2);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_NOT_EXFAT), 32);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_BUSY), 32);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_ALREADY_MOUNTED), 32);
        assert_int_equal(helper_exit_from_exfatctl(EXFATCTL_EXIT_FAILURE), 32);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_udisks_string),
                cmocka_unit_test(test_libmount_leftovers),
                cmocka_unit_test(test_id_leading_zero),
                cmocka_unit_test(test_kernel_style_options),
                cmocka_unit_test(test_userspace_options_ignored),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_sloppy),
                cmocka_unit_test(test_result_untouched_on_error),
                cmocka_unit_test(test_exit_codes),
        };
        return cmocka_run_group_tests_name("client/helper-options", tests, NULL, NULL);
}
