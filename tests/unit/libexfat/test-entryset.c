/* SPDX-License-Identifier: MIT */
/* Entry-set checksums against the oracle's own implementation (image.c). Random sets drive the
 * running sum through 0xFFFF followed by a non-zero byte many times over: the case whose rotate
 * once overflowed int (caught by the sanitizer build, which runs this too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image.h"
#include "entryset.h"

static uint32_t xorshift(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

/* The running sum of the library's algorithm after each byte, as the oracle computes it. */
static unsigned count_wrap_points(const uint8_t *set, unsigned count) {
        unsigned hits = 0;
        uint16_t sum = 0;
        for (size_t i = 0; i < (size_t) count * ENTRY_SIZE; i++) {
                if (i == 2 || i == 3)
                        continue;
                if (sum == 0xFFFF && set[i] != 0)
                        hits++;
                sum = (uint16_t) (((sum & 1) ? 0x8000 : 0) + (sum >> 1) + set[i]);
        }
        return hits;
}

static void test_checksum_matches_oracle(void **state) {
        struct exfat_entry_generic e[ENTRY_SET_MAX];
        uint32_t seed = 0x2545F491;
        unsigned wraps = 0;

        for (unsigned round = 0; round < 200000; round++) {
                unsigned count = 2 + xorshift(&seed) % (ENTRY_SET_MAX - 1);
                uint8_t *p = (uint8_t *) e;
                for (size_t i = 0; i < (size_t) count * ENTRY_SIZE; i++)
                        p[i] = (uint8_t) xorshift(&seed);
                wraps += count_wrap_points(p, count);
                assert_int_equal(entry_set_checksum(e, count), img_set_checksum(p, (int) count));
        }
        /* The inputs must reach the case at all, or this proves nothing about it. */
        assert_true(wraps > 100);
}

/* All 0xFF bytes keep the sum at 0xFFFF-ish values: the worst case from the first byte on. */
static void test_checksum_all_ones(void **state) {
        struct exfat_entry_generic e[ENTRY_SET_MAX];
        memset(e, 0xFF, sizeof(e));
        for (unsigned count = 1; count <= ENTRY_SET_MAX; count++)
                assert_int_equal(entry_set_checksum(e, count), img_set_checksum((const uint8_t *) e, (int) count));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_checksum_matches_oracle),
                cmocka_unit_test(test_checksum_all_ones),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
