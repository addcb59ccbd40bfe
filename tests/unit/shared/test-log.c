/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* stderr goes to a temporary file for the duration of one call. */
struct capture {
        FILE *file;
        int saved;
        char text[2 * LOG_LINE_MAX];
};

static void capture_start(struct capture *c) {
        c->file = tmpfile();
        assert_non_null(c->file);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        assert_true(c->saved >= 0);
        assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

static const char *capture_end(struct capture *c) {
        size_t n;

        fflush(stderr);
        assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
        close(c->saved);
        rewind(c->file);
        n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
        c->text[n] = '\0';
        fclose(c->file);
        return c->text;
}

static int teardown(void **state) {
        log_setup(false, NULL);
        log_set_max_level(LOG_INFO);
        return 0;
}

static void test_plain_line(void **state) {
        struct capture c;

        log_setup(false, NULL);
        capture_start(&c);
        log_info("hello %d", 42);
        assert_string_equal(capture_end(&c), "hello 42\n");
}

static void test_prefix_and_context(void **state) {
        struct capture c;

        log_setup(true, "exfat-worker");
        capture_start(&c);
        log_warning("disk %s", "sdb1");
        assert_string_equal(capture_end(&c), "<4>exfat-worker: disk sdb1\n");
}

static void test_errno_returns_negative(void **state) {
        struct capture c;
        char expected[256];
        int r;

        log_setup(true, NULL);
        capture_start(&c);
        r = log_error_errno(-EIO, "cannot read %s", "x");
        snprintf(expected, sizeof(expected), "<3>cannot read x: %s\n", strerror(EIO));
        assert_string_equal(capture_end(&c), expected);
        assert_int_equal(r, -EIO);
        /* a positive errno (as from pthread functions) gives the negative one too */
        capture_start(&c);
        assert_int_equal(log_warning_errno(ENOENT, "gone"), -ENOENT);
        capture_end(&c);
}

static void test_max_level(void **state) {
        struct capture c;

        log_setup(false, NULL);
        capture_start(&c);
        log_debug("hidden");
        /* returned even when not printed */
        assert_int_equal(log_debug_errno(-EPERM, "hidden"), -EPERM);
        assert_string_equal(capture_end(&c), "");
        log_set_max_level(LOG_DEBUG);
        assert_int_equal(log_get_max_level(), LOG_DEBUG);
        capture_start(&c);
        log_debug("shown");
        assert_string_equal(capture_end(&c), "shown\n");
}

static void test_long_message_is_cut(void **state) {
        struct capture c;
        char *big = malloc(3 * LOG_LINE_MAX);
        const char *out;

        assert_non_null(big);
        memset(big, 'a', 3 * LOG_LINE_MAX - 1);
        big[3 * LOG_LINE_MAX - 1] = '\0';
        log_setup(false, NULL);
        capture_start(&c);
        log_error("%s", big);
        out = capture_end(&c);
        assert_int_equal(strlen(out), LOG_LINE_MAX - 1 + 1); /* the cut message and its newline */
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_plain_line, teardown),
                cmocka_unit_test_teardown(test_prefix_and_context, teardown),
                cmocka_unit_test_teardown(test_errno_returns_negative, teardown),
                cmocka_unit_test_teardown(test_max_level, teardown),
                cmocka_unit_test_teardown(test_long_message_is_cut, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
