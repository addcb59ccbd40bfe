/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "macro.h"

static int cleanups;

static void count_cleanup(int *p) {
        if (*p)
                cleanups++;
}

static void test_cleanup_runs_at_scope_end(void **state) {
        cleanups = 0;
        {
                _cleanup_(count_cleanup) int a = 1;
                _cleanup_(count_cleanup) int b = 0;
                (void) a;
                (void) b;
                assert_int_equal(cleanups, 0);
        }
        assert_int_equal(cleanups, 1);
}

static void test_take_ptr(void **state) {
        int x = 5;
        int *p = &x, *q;

        q = TAKE_PTR(p);
        assert_null(p);
        assert_ptr_equal(q, &x);
        q = TAKE_PTR(p);
        assert_null(q);
}

static void test_take_fd(void **state) {
        int fd = 7, got;

        got = TAKE_FD(fd);
        assert_int_equal(got, 7);
        assert_true(fd < 0);
}

static void test_elementsof(void **state) {
        int a[7];
        const char *s[] = { "x", "y" };

        assert_int_equal(ELEMENTSOF(a), 7);
        assert_int_equal(ELEMENTSOF(s), 2);
}

struct outer {
        int before;
        struct { int x; } inner;
};

static void test_container_of(void **state) {
        struct outer o;

        assert_ptr_equal(container_of(&o.inner, struct outer, inner), &o);
}

static void test_min_max_evaluate_once(void **state) {
        int i = 0;

        assert_int_equal(MIN(i++, 10), 0);
        assert_int_equal(i, 1);
        assert_int_equal(MAX(i++, -3), 1);
        assert_int_equal(i, 2);
        assert_int_equal(MIN(3u, 2u), 2u);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cleanup_runs_at_scope_end),
                cmocka_unit_test(test_take_ptr),
                cmocka_unit_test(test_take_fd),
                cmocka_unit_test(test_elementsof),
                cmocka_unit_test(test_container_of),
                cmocka_unit_test(test_min_max_evaluate_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
