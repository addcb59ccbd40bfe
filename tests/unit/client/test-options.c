/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus-message.h"
#include "options.h"

static struct mount_options parse_ok(const char *arg) {
        struct mount_options o = {};
        const char *why = NULL;

        assert_int_equal(mount_options_parse(&o, arg, &why), 0);
        assert_null(why);
        return o;
}

static void parse_fails(const char *arg, const char *why_contains) {
        struct mount_options o = { .has_uid = true, .uid = 42 };
        const char *why = NULL;

        assert_int_equal(mount_options_parse(&o, arg, &why), -EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, why_contains));
        /* A rejected argument leaves earlier options alone. */
        assert_true(o.has_uid);
        assert_int_equal(o.uid, 42);
        assert_false(o.has_gid || o.has_dmask || o.has_fmask || o.has_noexec || o.has_sync || o.has_force);
}

static void test_numbers(void **state) {
        struct mount_options o = parse_ok("uid=1000,gid=100,dmask=077,fmask=0133");

        assert_true(o.has_uid && o.has_gid && o.has_dmask && o.has_fmask);
        assert_int_equal(o.uid, 1000);
        assert_int_equal(o.gid, 100);
        assert_int_equal(o.dmask, 077);
        assert_int_equal(o.fmask, 0133);
        assert_false(o.has_noexec || o.has_sync || o.has_force);

        o = parse_ok("dmask=0,fmask=777");
        assert_int_equal(o.dmask, 0);
        assert_int_equal(o.fmask, 0777);

        o = parse_ok("uid=0");
        assert_true(o.has_uid);
        assert_int_equal(o.uid, 0);
        o = parse_ok("uid=4294967294");
        assert_int_equal(o.uid, 4294967294u);
}

static void test_names(void **state) {
        /* root exists on every system this runs on. */
        struct mount_options o = parse_ok("uid=root,gid=root");

        assert_int_equal(o.uid, 0);
        assert_int_equal(o.gid, 0);
        parse_fails("uid=no-such-user-exfatctl", "uid=");
        parse_fails("gid=no-such-group-exfatctl", "gid=");
}

static void test_bad_numbers(void **state) {
        parse_fails("uid=-1", "uid=");
        parse_fails("uid=4294967295", "uid=");       /* (uid_t) -1 */
        parse_fails("uid=99999999999", "uid=");
        parse_fails("uid=", "uid=");
        parse_fails("uid", "uid=");
        parse_fails("gid= 5", "gid=");
        parse_fails("dmask=8", "dmask=");            /* not octal */
        parse_fails("dmask=01000", "dmask=");        /* beyond 0777 */
        parse_fails("fmask=0x12", "fmask=");
        parse_fails("fmask=", "fmask=");
        parse_fails("fmask=-0", "fmask=");
        parse_fails("dmask", "dmask=");
}

static void test_booleans(void **state) {
        struct mount_options o = parse_ok("noexec,sync,force");

        assert_true(o.has_noexec && o.noexec);
        assert_true(o.has_sync && o.sync);
        assert_true(o.has_force && o.force);

        o = parse_ok("noexec=no,sync=0,force=false");
        assert_true(o.has_noexec && !o.noexec);
        assert_true(o.has_sync && !o.sync);
        assert_true(o.has_force && !o.force);

        o = parse_ok("noexec=YES,sync=true,force=1");
        assert_true(o.noexec && o.sync && o.force);

        parse_fails("noexec=maybe", "noexec");
        parse_fails("sync=", "sync");
        parse_fails("force=2", "force");
}

static void test_unknown_and_empty(void **state) {
        parse_fails("bogus=1", "unknown option");
        parse_fails("ro", "unknown option");
        parse_fails("uid=5,exec", "unknown option");
        parse_fails("UID=5", "unknown option");
        parse_fails("", "empty");
        parse_fails("uid=5,", "empty");
        parse_fails(",uid=5", "empty");
        parse_fails("uid=5,,gid=5", "empty");
}

static void test_accumulates(void **state) {
        struct mount_options o = {};
        const char *why = NULL;

        assert_int_equal(mount_options_parse(&o, "uid=5", &why), 0);
        assert_int_equal(mount_options_parse(&o, "gid=6,noexec", &why), 0);
        assert_int_equal(mount_options_parse(&o, "uid=7", &why), 0);  /* later wins */
        assert_int_equal(o.uid, 7);
        assert_int_equal(o.gid, 6);
        assert_true(o.noexec);
}

/* The typed values must reach the message as the D-Bus types the daemon expects (u and b). */
static void test_append_types(void **state) {
        sd_bus *bus = NULL;
        sd_bus_message *m = NULL;
        struct mount_options o = parse_ok("uid=1000,dmask=027,noexec");
        const char *key;
        uint32_t u;
        int b, peer = -1;

        bus = test_bus_new(&peer);
        assert_non_null(bus);
        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                                        "org.exfat.Mountd1.Manager", "Mount"), 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        assert_int_equal(mount_options_append(&o, m), 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(test_message_rewind(m));

        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{sv}"), 1);
        assert_int_equal(sd_bus_message_read(m, "{sv}", &key, "u", &u), 1);
        assert_string_equal(key, "uid");
        assert_int_equal(u, 1000);
        assert_int_equal(sd_bus_message_read(m, "{sv}", &key, "u", &u), 1);
        assert_string_equal(key, "dmask");
        assert_int_equal(u, 027);
        assert_int_equal(sd_bus_message_read(m, "{sv}", &key, "b", &b), 1);
        assert_string_equal(key, "noexec");
        assert_true(b);
        assert_int_equal(sd_bus_message_at_end(m, 0), 1);

        sd_bus_message_unref(m);
        test_bus_free(bus, peer);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_bad_numbers),
                cmocka_unit_test(test_booleans),
                cmocka_unit_test(test_unknown_and_empty),
                cmocka_unit_test(test_accumulates),
                cmocka_unit_test(test_append_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
