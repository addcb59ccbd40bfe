/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "json.h"

static void check(const char *in, const char *expected) {
        char *out = json_escape(in);

        assert_non_null(out);
        assert_string_equal(out, expected);
        free(out);
}

static void test_plain(void **state) {
        check("", "\"\"");
        check("MYDISK", "\"MYDISK\"");
        check("/run/media/alice/My Disk", "\"/run/media/alice/My Disk\"");
}

static void test_specials(void **state) {
        check("a\"b", "\"a\\\"b\"");
        check("back\\slash", "\"back\\\\slash\"");
        check("\"\\", "\"\\\"\\\\\"");
        check("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"");
        check("\b\f", "\"\\b\\f\"");
}

static void test_controls(void **state) {
        check("\x01", "\"\\u0001\"");
        check("a\x1f" "b", "\"a\\u001fb\"");
        check("\x7f", "\"\\u007f\"");
        check("\x1b[31m", "\"\\u001b[31m\"");
}

static void test_utf8_passes(void **state) {
        /* Non-ASCII text stays as UTF-8 bytes, which JSON allows. */
        check("Fotos \xc3\xa4\xe2\x82\xac \xf0\x9f\x98\x80", "\"Fotos \xc3\xa4\xe2\x82\xac \xf0\x9f\x98\x80\"");
        /* '/' needs no escape. */
        check("a/b", "\"a/b\"");
}

static void test_null(void **state) {
        check(NULL, "null");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_specials),
                cmocka_unit_test(test_controls),
                cmocka_unit_test(test_utf8_passes),
                cmocka_unit_test(test_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
