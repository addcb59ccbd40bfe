/* SPDX-License-Identifier: MIT */
/* The caller's uid is taken only from credentials the bus vouched for: a uid sd-bus read from /proc
 * after the fact (augmented) may belong to whatever the sender's pid runs now. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "authorize.h"

static void test_augmented_euid_refused(void **state) {
        sd_bus_creds *creds = NULL;
        uid_t uid = 4242;

        /* Credentials of a pid are read from /proc: every field is augmented. */
        assert_int_equal(sd_bus_creds_new_from_pid(&creds, getpid(), SD_BUS_CREDS_EUID), 0);
        assert_true(sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID);
        assert_int_equal(authorize_uid_from_creds(creds, &uid), -EPERM);
        assert_int_equal(uid, 4242);
        sd_bus_creds_unref(creds);
}

static void test_missing_euid(void **state) {
        sd_bus_creds *creds = NULL;
        uid_t uid;

        /* Credentials without the field at all: no uid, whatever the caller's. */
        assert_int_equal(sd_bus_creds_new_from_pid(&creds, getpid(), SD_BUS_CREDS_PID), 0);
        assert_true(authorize_uid_from_creds(creds, &uid) < 0);
        sd_bus_creds_unref(creds);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_augmented_euid_refused),
                cmocka_unit_test(test_missing_euid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
