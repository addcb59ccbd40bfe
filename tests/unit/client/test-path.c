/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "path.h"

static void check(const char *in, const char *expected) {
        char *out = path_make_absolute_cwd(in);

        assert_non_null(out);
        assert_string_equal(out, expected);
        free(out);
}

static void test_absolute(void **state) {
        check("/dev/loop0", "/dev/loop0");
        check("/run/media/alice/X/", "/run/media/alice/X");
        check("/run/media/alice/X///", "/run/media/alice/X");
        check("/", "/");
        /* Symlinks in absolute paths are the daemon's business (it resolves devices itself). */
        check("/dev/disk/by-label/X", "/dev/disk/by-label/X");
}

static void test_relative(void **state) {
        char dir[] = "/tmp/exfatctl-path-XXXXXX";

        assert_non_null(mkdtemp(dir));
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(mkdir("sub", 0700), 0);

        {
                char want[64];

                snprintf(want, sizeof(want), "%s/sub", dir);
                check("sub", want);
                check("sub/", want);
                check("./sub", want);
                check("sub/../sub", want);
                /* Not existing: joined, not resolved. */
                snprintf(want, sizeof(want), "%s/missing", dir);
                check("missing", want);
                check("missing/", want);
                check(".", dir);
        }

        assert_int_equal(rmdir("sub"), 0);
        assert_int_equal(chdir("/"), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absolute),
                cmocka_unit_test(test_relative),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
