/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"

static void test_daemon_errors(void **state) {
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.NotAuthorized"), 3);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.NoSuchDevice"), 4);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.NotMounted"), 4);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.Busy"), 5);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.NotExfat"), 6);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.InvalidArgument"), 2);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.AlreadyMounted"), 8);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.Dirty"), 9);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.WorkerFailed"), 1);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.Failed"), 1);
}

static void test_bus_errors(void **state) {
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.ServiceUnknown"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.NameHasNoOwner"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.Spawn.ChildExited"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.Spawn.ServiceNotFound"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.systemd1.NoSuchUnit"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.TimedOut"), 7);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.AccessDenied"), 3);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), 3);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.InvalidArgs"), 2);
}

static void test_unknown(void **state) {
        assert_int_equal(error_name_to_exit(NULL), 1);
        assert_int_equal(error_name_to_exit(""), 1);
        assert_int_equal(error_name_to_exit("org.example.Whatever"), 1);
        /* Prefixes of known names are not the names. */
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.Busy2"), 1);
        assert_int_equal(error_name_to_exit("org.exfat.Mountd1.Error.NotAuthorizedX"), 1);
        assert_int_equal(error_name_to_exit("org.freedesktop.DBus.Error.NoReply"), 1);
}

static void test_errno(void **state) {
        assert_int_equal(errno_to_exit(-ENOENT), 7);
        assert_int_equal(errno_to_exit(-ECONNREFUSED), 7);
        assert_int_equal(errno_to_exit(-EACCES), 3);
        assert_int_equal(errno_to_exit(-EBUSY), 5);
        assert_int_equal(errno_to_exit(-ENOMEM), 1);
}

/* The exit codes are an interface: all distinct. */
static void test_distinct(void **state) {
        const int codes[] = {
                EXFATCTL_EXIT_OK, EXFATCTL_EXIT_FAILURE, EXFATCTL_EXIT_USAGE, EXFATCTL_EXIT_NOT_AUTHORIZED,
                EXFATCTL_EXIT_NOT_FOUND, EXFATCTL_EXIT_BUSY, EXFATCTL_EXIT_NOT_EXFAT,
                EXFATCTL_EXIT_UNAVAILABLE, EXFATCTL_EXIT_ALREADY_MOUNTED, EXFATCTL_EXIT_DIRTY,
        };

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                assert_int_equal(codes[i], (int) i);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_daemon_errors),
                cmocka_unit_test(test_bus_errors),
                cmocka_unit_test(test_unknown),
                cmocka_unit_test(test_errno),
                cmocka_unit_test(test_distinct),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
