/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "alloc-util.h"

static void test_mfree(void **state) {
        char *p = malloc(3);

        assert_non_null(p);
        p = mfree(p);
        assert_null(p);
}

static char *owned(void) {
        _cleanup_free_ char *p = malloc(16), *gone = malloc(16);

        assert_non_null(gone);
        /* gone is freed here; LeakSanitizer would report it otherwise */
        return TAKE_PTR(p);
}

static void test_cleanup_free_and_take(void **state) {
        char *p = owned();

        assert_non_null(p);
        free(p);
}

static void test_greedy_realloc_grows_by_doubling(void **state) {
        _cleanup_free_ int *a = NULL;
        size_t cap = 0;

        assert_int_equal(GREEDY_REALLOC(a, cap, 1), 0);
        assert_non_null(a);
        assert_int_equal(cap, GREEDY_MIN);
        assert_int_equal(GREEDY_REALLOC(a, cap, GREEDY_MIN), 0);
        assert_int_equal(cap, GREEDY_MIN);
        assert_int_equal(GREEDY_REALLOC(a, cap, GREEDY_MIN + 1), 0);
        assert_int_equal(cap, 2 * GREEDY_MIN);
        assert_int_equal(GREEDY_REALLOC(a, cap, 100), 0);
        assert_int_equal(cap, 128);
        for (int i = 0; i < 100; i++)
                a[i] = i; /* ASan: the room is there */
}

static void test_greedy_realloc_keeps_contents(void **state) {
        _cleanup_free_ uint64_t *a = NULL;
        uint32_t cap = 0, n = 0;

        for (uint64_t v = 0; v < 1000; v++) {
                assert_int_equal(GREEDY_REALLOC(a, cap, n + 1), 0);
                a[n++] = v * v;
        }
        assert_true(cap >= 1000 && cap < 2000);
        for (uint64_t v = 0; v < 1000; v++)
                assert_int_equal(a[v], v * v);
}

static void test_greedy_realloc_min(void **state) {
        _cleanup_free_ int *a = NULL;
        uint32_t cap = 0;

        assert_int_equal(GREEDY_REALLOC_MIN(a, cap, 1, 2), 0);
        assert_int_equal(cap, 2);
        assert_int_equal(GREEDY_REALLOC_MIN(a, cap, 3, 2), 0);
        assert_int_equal(cap, 4);
        /* a need beyond doubling is met at once */
        assert_int_equal(GREEDY_REALLOC_MIN(a, cap, 40, 2), 0);
        assert_int_equal(cap, 64);
}

static void test_greedy_realloc_small_cap_type(void **state) {
        _cleanup_free_ char *a = NULL;
        uint8_t cap = 0;

        /* doubling would pass 255: the capacity stops at what the type holds */
        assert_int_equal(GREEDY_REALLOC(a, cap, 200), 0);
        assert_true(cap >= 200);
        assert_int_equal(GREEDY_REALLOC(a, cap, 255), 0);
        assert_int_equal(cap, 255);
        assert_int_equal(GREEDY_REALLOC(a, cap, 256), -ENOMEM);
        assert_int_equal(cap, 255);
}

static void test_greedy_realloc_overflow(void **state) {
        _cleanup_free_ uint64_t *a = NULL;
        size_t cap = 0;

        assert_int_equal(GREEDY_REALLOC(a, cap, SIZE_MAX / 4), -ENOMEM);
        assert_null(a);
        assert_int_equal(cap, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mfree),
                cmocka_unit_test(test_cleanup_free_and_take),
                cmocka_unit_test(test_greedy_realloc_grows_by_doubling),
                cmocka_unit_test(test_greedy_realloc_keeps_contents),
                cmocka_unit_test(test_greedy_realloc_min),
                cmocka_unit_test(test_greedy_realloc_small_cap_type),
                cmocka_unit_test(test_greedy_realloc_overflow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
