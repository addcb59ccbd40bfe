/* SPDX-License-Identifier: MIT */
/* Unit names escaped like systemd-escape --path, and mount point names sanitised like udisks2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mountpoints.h"
#include "units.h"

static void check_unit(const char *device, const char *want) {
        char *name = NULL;
        assert_int_equal(units_worker_name(device, &name), 0);
        assert_string_equal(name, want);
        free(name);
}

static void test_unit_names(void **state) {
        /* Expected values from `systemd-escape --path`. */
        check_unit("/dev/loop0", "exfat-worker@dev-loop0.service");
        check_unit("/dev/sdb1", "exfat-worker@dev-sdb1.service");
        check_unit("/dev/disk/by-label/My-Disk", "exfat-worker@dev-disk-by\\x2dlabel-My\\x2dDisk.service");
        check_unit("/dev/mapper/a b", "exfat-worker@dev-mapper-a\\x20b.service");
        check_unit("/.hidden/x.y", "exfat-worker@\\x2ehidden-x.y.service");
        check_unit("//dev//", "exfat-worker@dev.service");
        char *name = NULL;
        assert_int_equal(units_worker_name("/", &name), -22);
        assert_null(name);
}

static void check_sanitize(const char *label, const char *want) {
        char *s = mountpoint_sanitize(label);
        assert_non_null(s);
        assert_string_equal(s, want);
        free(s);
}

static void test_sanitize(void **state) {
        check_sanitize("USB STICK", "USB STICK");
        check_sanitize("a/b", "a_b");
        check_sanitize("it's \"q\"", "it_s _q_");
        check_sanitize("back\\slash", "back_slash");
        check_sanitize("tab\there", "tab_here");
        check_sanitize("del\x7f", "del_");
        check_sanitize(".", "_");
        check_sanitize("..", "__");
        check_sanitize("...", "...");
        check_sanitize("\xc3\x9c" "ber", "\xc3\x9c" "ber");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_names),
                cmocka_unit_test(test_sanitize),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
