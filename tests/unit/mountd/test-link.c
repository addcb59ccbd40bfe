/* SPDX-License-Identifier: MIT */
/* What the daemon accepts from an (untrusted) worker's PROBED and status messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "link.h"

static struct link_probed good(void) {
        struct link_probed p = { .status = 0, .serial = 0x1234ABCD, .volume_size = 64 << 20, .cluster_size = 4096 };
        strcpy(p.label, "GOOD");
        return p;
}

static void test_probed(void **state) {
        struct link_probed p = good();
        assert_int_equal(link_check_probed(&p, 64 << 20), 0);

        p = good();
        p.volume_size = (64 << 20) + 1;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.volume_size = 0;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        memset(p.label, 'A', sizeof(p.label)); /* no NUL */
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        strcpy(p.label, "bad\nlabel");
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        strcpy(p.label, "\xc3\x28");
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        /* Noncharacters: valid UTF-8, but sd-bus refuses to send them (a fuzz finding). */
        static const char *const nonchars[] = { "M\xf1\xbf\xbf\xbf", "\xef\xbf\xbe", "\xef\xbf\xbf",
                                                "\xef\xb7\x90", "\xef\xb7\xaf", "\xf4\x8f\xbf\xbf" };
        for (size_t i = 0; i < sizeof(nonchars) / sizeof(nonchars[0]); i++) {
                p = good();
                strcpy(p.label, nonchars[i]);
                assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        }
        /* Their neighbours are ordinary characters. */
        static const char *const fine[] = { "\xef\xb7\x8f", "\xef\xb7\xb0", "\xef\xbf\xbd", "\xf0\x9f\x98\x80" };
        for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
                p = good();
                strcpy(p.label, fine[i]);
                assert_int_equal(link_check_probed(&p, 64 << 20), 0);
        }
        p = good();
        p.cluster_size = 3000;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.cluster_size = 256;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.cluster_size = 64u << 20;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.dirty = 2;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.read_only = 255;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.status = 1;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);
        p = good();
        p.status = -5000;
        assert_int_equal(link_check_probed(&p, 64 << 20), -EBADMSG);

        /* A failed probe carries nothing else worth checking. */
        struct link_probed failed = { .status = -EINVAL };
        memset(failed.label, 'x', sizeof(failed.label));
        assert_int_equal(link_check_probed(&failed, 64 << 20), 0);
}

static void test_status(void **state) {
        assert_int_equal(link_check_status(0), 0);
        assert_int_equal(link_check_status(-EIO), 0);
        assert_int_equal(link_check_status(-4095), 0);
        assert_int_equal(link_check_status(-4096), -EBADMSG);
        assert_int_equal(link_check_status(1), -EBADMSG);
        assert_int_equal(link_check_status(INT32_MIN), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_probed),
                cmocka_unit_test(test_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
