/* SPDX-License-Identifier: MIT */
/* options_parse(): typed options only; unknown keys, wrong variant types and bad values give
 * InvalidArgument. mount_point_option_valid() and label_valid(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "errors.h"
#include "options.h"

static sd_bus *bus;
static int peer = -1;

static int setup(void **state) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return -1;
        /* sd-bus only builds messages on a started bus; nothing is ever sent. */
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                return -1;
        peer = fds[1];
        return 0;
}

static int teardown(void **state) {
        sd_bus_close_unref(bus);
        close(peer);
        return 0;
}

/* A sealed, rewound message holding one a{sv} built by the caller's append function. */
typedef int (*append_t)(sd_bus_message *m);

static int parse(append_t append, enum option_set set, struct mount_options *o, sd_bus_error *error) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                               "org.exfat.Mountd1.Manager", "Mount");
        assert_int_equal(r, 0);
        assert_true(append(m) >= 0);
        assert_int_equal(sd_bus_message_seal(m, 1, 0), 0);
        assert_int_equal(sd_bus_message_rewind(m, true), 1);
        r = options_parse(m, set, o, error);
        sd_bus_message_unref(m);
        return r;
}

static int append_empty(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 0);
}
static int append_all(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 10, "read-only", "b", 1, "mount-point", "s", "/mnt/usb-1",
                                     "uid", "u", 1000, "gid", "u", 100, "dmask", "u", 0077, "fmask", "u", 0177,
                                     "noexec", "b", 1, "sync", "b", 1, "force", "b", 1,
                                     "auth.no_user_interaction", "b", 1);
}
static int append_unknown(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "exec", "b", 1);
}
static int append_wrong_type(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "read-only", "s", "yes");
}
static int append_wrong_int(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "uid", "i", 5);
}
static int append_big_mask(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "fmask", "u", 01000);
}
static int append_newline(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "mount-point", "s", "/mnt/a\nuid=0");
}
static int append_dotdot(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "mount-point", "s", "/run/media/../../etc");
}
static int append_uid_minus_one(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "uid", "u", UINT32_MAX);
}
static int append_mp_twice(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 2, "mount-point", "s", "/mnt/a", "mount-point", "s", "/mnt/b");
}
static int append_force(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "force", "b", 1);
}
static int append_read_only(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "read-only", "b", 1);
}

static void test_defaults(void **state) {
        struct mount_options o;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        assert_int_equal(parse(append_empty, OPTIONS_MOUNT, &o, &e), 0);
        assert_false(o.read_only);
        assert_false(o.has_uid);
        assert_int_equal(o.dmask, 0022);
        assert_int_equal(o.fmask, 0133);
        assert_null(o.mount_point);
}

static void test_all_options(void **state) {
        struct mount_options o;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        assert_int_equal(parse(append_all, OPTIONS_MOUNT, &o, &e), 0);
        assert_true(o.read_only && o.noexec && o.sync && o.force && o.no_user_interaction);
        assert_true(o.has_uid && o.has_gid);
        assert_int_equal(o.uid, 1000);
        assert_int_equal(o.gid, 100);
        assert_int_equal(o.dmask, 0077);
        assert_int_equal(o.fmask, 0177);
        assert_string_equal(o.mount_point, "/mnt/usb-1");
        options_done(&o);
}

static void expect_invalid(append_t append, enum option_set set) {
        struct mount_options o;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        assert_true(parse(append, set, &o, &e) < 0);
        assert_true(sd_bus_error_has_name(&e, ERR_INVALID_ARGUMENT));
        assert_non_null(e.message);
        assert_null(o.mount_point);
        sd_bus_error_free(&e);
}

static void test_invalid(void **state) {
        expect_invalid(append_unknown, OPTIONS_MOUNT);
        expect_invalid(append_wrong_type, OPTIONS_MOUNT);
        expect_invalid(append_wrong_int, OPTIONS_MOUNT);
        expect_invalid(append_big_mask, OPTIONS_MOUNT);
        expect_invalid(append_newline, OPTIONS_MOUNT);
        expect_invalid(append_dotdot, OPTIONS_MOUNT);
        expect_invalid(append_uid_minus_one, OPTIONS_MOUNT);
        expect_invalid(append_mp_twice, OPTIONS_MOUNT);
}

static void test_sets(void **state) {
        struct mount_options o;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        /* Unmount takes force but not read-only; Label takes neither. */
        assert_int_equal(parse(append_force, OPTIONS_UNMOUNT, &o, &e), 0);
        assert_true(o.force);
        expect_invalid(append_read_only, OPTIONS_UNMOUNT);
        expect_invalid(append_force, OPTIONS_LABEL);
        assert_int_equal(parse(append_empty, OPTIONS_LABEL, &o, &e), 0);
}

static void test_mount_point_syntax(void **state) {
        assert_true(mount_point_option_valid("/mnt/usb"));
        assert_true(mount_point_option_valid("/media/x_y-z.1+@"));
        assert_true(mount_point_option_valid("/a/...b"));
        assert_false(mount_point_option_valid("/"));
        assert_false(mount_point_option_valid(""));
        assert_false(mount_point_option_valid("relative/x"));
        /* What udisks makes from labels: spaces, commas, quotes, any UTF-8. */
        assert_true(mount_point_option_valid("/media/alice/MY STICK"));
        assert_true(mount_point_option_valid("/media/alice/a,b"));
        assert_true(mount_point_option_valid("/media/alice/Fotos 2026 \xc3\xa9t\xc3\xa9"));
        assert_true(mount_point_option_valid("/a\\b"));
        assert_false(mount_point_option_valid("/a\tb"));
        assert_false(mount_point_option_valid("/a\x7f"));
        /* Text only: not UTF-8, an overlong form, a C1 control. */
        assert_false(mount_point_option_valid("/run/media/\xff\xff"));
        assert_false(mount_point_option_valid("/a\xc0\xaf"));
        assert_false(mount_point_option_valid("/a\xc2\x85"));
        assert_false(mount_point_option_valid("/a/../b"));
        assert_false(mount_point_option_valid("/a/.."));
        assert_false(mount_point_option_valid("/a/./b"));
        assert_false(mount_point_option_valid("/a//b"));
        assert_false(mount_point_option_valid("/a/"));
        assert_false(mount_point_option_valid("/a\nb"));
        assert_true(mount_point_option_valid("/\xc3\xa9"));
        char long_path[1100];
        memset(long_path, 'a', sizeof(long_path));
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = 0;
        assert_false(mount_point_option_valid(long_path));
}

static void test_labels(void **state) {
        assert_true(label_valid(""));
        assert_true(label_valid("USB"));
        assert_true(label_valid("ELEVEN_CHRS"));
        assert_false(label_valid("TWELVE_CHARS"));
        assert_true(label_valid("\xc3\x9c" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9" "_11c")); /* Ünïcødé_11c */
        /* Five emoji (two UTF-16 units each) and one letter: 11 units. Six emoji: 12. */
        assert_true(label_valid("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80x"));
        assert_false(label_valid("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"));
        const char *bad[] = { "a/b", "a\\b", "a:b", "a*b", "a?b", "a\"b", "a<b", "a>b", "a|b", "a\tb", "\x7f", "\xff", "\xc3" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(label_valid(bad[i]));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_all_options),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_sets),
                cmocka_unit_test(test_mount_point_syntax),
                cmocka_unit_test(test_labels),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
