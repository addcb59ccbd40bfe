/* SPDX-License-Identifier: MIT */
/* From udev's strings to a Device object's properties: the label (udev's \xNN encoding decoded, but
 * never into control characters, NUL or invalid UTF-8, which D-Bus would refuse), the size (sysfs
 * sectors), the object path (any kernel name gives a valid, distinct path), and which properties
 * changed. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "device-info.h"

static void check_decode(const char *in, int want_r, const char *want) {
        char *out = NULL;
        assert_int_equal(udev_decode_string(in, &out), want_r);
        if (want_r == 0)
                assert_string_equal(out, want);
        else
                assert_null(out);
        free(out);
}

static void test_decode(void **state) {
        check_decode("MY\\x20DISK", 0, "MY DISK");
        check_decode("plain", 0, "plain");
        check_decode("", 0, "");
        check_decode("\\x2fa\\x5cb", 0, "/a\\b");
        check_decode("\\xc3\\x9c", 0, "\xc3\x9c");
        check_decode("end\\x2", -EINVAL, NULL);
        check_decode("bad\\xzz", -EINVAL, NULL);
        check_decode("nul\\x00", -EINVAL, NULL);
        /* A backslash not followed by x stays. */
        check_decode("a\\b", 0, "a\\b");
}

static void check_label(const char *enc, const char *plain, const char *want) {
        struct device_props p = { .devname = "/dev/sdb1", .fs_type = "exfat", .label_enc = enc, .label = plain };
        struct device_info i = {};
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_string_equal(i.label, want);
        device_info_done(&i);
}

static void test_label(void **state) {
        check_label("MY\\x20DISK", "MY_DISK", "MY DISK");
        check_label("\\xc3\\x9cber", "\xc3\x9c" "ber", "\xc3\x9c" "ber");
        /* Decoding into a control character or invalid UTF-8: udev's safe form instead. */
        check_label("a\\x0ab", "a_b", "a_b");
        check_label("\\xff\\xfe", "__", "__");
        check_label("x\\x00", "x_", "x_");
        check_label(NULL, "PLAIN", "PLAIN");
        check_label(NULL, NULL, "");
        check_label(NULL, "\x01", "");
}

static void test_props(void **state) {
        struct device_props p = {
                .devname = "/dev/loop3", .fs_type = "exfat", .uuid = "1234-ABCD", .size = "65536\n",
        };
        struct device_info i = {};

        assert_true(device_props_is_exfat(&p));
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_string_equal(i.node, "/dev/loop3");
        assert_string_equal(i.uuid, "1234-ABCD");
        assert_string_equal(i.label, "");
        assert_int_equal(i.size, 65536ULL * 512);
        device_info_done(&i);

        p.size = "12x";
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_int_equal(i.size, 0);
        device_info_done(&i);
        p.size = "-1";
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_int_equal(i.size, 0);
        device_info_done(&i);
        p.size = "99999999999999999999";
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_int_equal(i.size, 0);
        device_info_done(&i);
        p.size = NULL;
        p.uuid = "\x7f";
        assert_int_equal(device_info_from_props(&p, &i), 0);
        assert_string_equal(i.uuid, "");
        device_info_done(&i);

        p.fs_type = "vfat";
        assert_false(device_props_is_exfat(&p));
        p.fs_type = NULL;
        assert_false(device_props_is_exfat(&p));
        p.fs_type = "exfat2";
        assert_false(device_props_is_exfat(&p));

        p.devname = NULL;
        assert_int_equal(device_info_from_props(&p, &i), -EINVAL);
        p.devname = "/tmp/x";
        assert_int_equal(device_info_from_props(&p, &i), -EINVAL);
}

static void check_path(const char *sysname, const char *want) {
        char *path = NULL;
        assert_int_equal(device_object_path(sysname, &path), 0);
        assert_string_equal(path, want);
        assert_true(sd_bus_object_path_is_valid(path));
        free(path);
}

static void test_paths(void **state) {
        check_path("sdb1", "/org/exfat/Mountd1/devices/sdb1");
        check_path("loop0", "/org/exfat/Mountd1/devices/loop0");
        check_path("cciss!c0d0p1", "/org/exfat/Mountd1/devices/cciss_21c0d0p1");
        check_path("dm-0", "/org/exfat/Mountd1/devices/dm_2d0");
        check_path("a_b", "/org/exfat/Mountd1/devices/a_5fb");
        check_path("", "/org/exfat/Mountd1/devices/_");
}

static void test_diff(void **state) {
        struct device_info a = { .node = "/dev/x", .label = "A", .uuid = "1", .size = 1 };
        struct device_info b = a;

        assert_int_equal(device_info_diff(&a, &b), 0);
        b.label = "B";
        assert_int_equal(device_info_diff(&a, &b), DEVICE_PROP_LABEL);
        b.uuid = "2";
        b.size = 2;
        assert_int_equal(device_info_diff(&a, &b), DEVICE_PROP_LABEL | DEVICE_PROP_UUID | DEVICE_PROP_SIZE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode),
                cmocka_unit_test(test_label),
                cmocka_unit_test(test_props),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
