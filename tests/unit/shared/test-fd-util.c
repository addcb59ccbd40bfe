/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>

#include "fd-util.h"

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static void test_safe_close(void **state) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        errno = 42;
        fd = safe_close(fd);
        assert_int_equal(fd, -EBADF);
        assert_int_equal(errno, 42); /* kept for the caller's report */
        assert_int_equal(safe_close(-1), -EBADF);
}

static void test_cleanup_close(void **state) {
        int copy;
        {
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                _cleanup_close_ int none = -1;
                (void) none;
                assert_true(fd >= 0);
                copy = fd;
                assert_true(fd_is_open(copy));
        }
        assert_false(fd_is_open(copy));
}

static void test_cleanup_close_take(void **state) {
        int kept;
        {
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                kept = TAKE_FD(fd);
        }
        assert_true(fd_is_open(kept));
        safe_close(kept);
}

static void test_cleanup_fclose(void **state) {
        _cleanup_fclose_ FILE *none = NULL;
        _cleanup_fclose_ FILE *f = fopen("/dev/null", "re");

        (void) none;
        assert_non_null(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_safe_close),
                cmocka_unit_test(test_cleanup_close),
                cmocka_unit_test(test_cleanup_close_take),
                cmocka_unit_test(test_cleanup_fclose),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
