/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bus-message.h"
#include "mount-info.h"

/* A GetManagedObjects reply as the daemon sends it: the manager object (not a mount), two mounts
 * in non-sorted order, one with every property plus one exfatctl does not know, one with few. */
static sd_bus_message *managed_objects(sd_bus *bus, const char *device_type) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"), 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}") >= 0);

        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1", 1,
                                          "org.exfat.Mountd1.Manager", 1, "Version", "s", "0.1.0") >= 0);

        assert_true(sd_bus_message_open_container(m, 'e', "oa{sa{sv}}") >= 0);
        assert_true(sd_bus_message_append(m, "o", "/org/exfat/Mountd1/mount/sdb") >= 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sa{sv}}") >= 0);
        assert_true(sd_bus_message_append(m, "{sa{sv}}", "org.freedesktop.DBus.Properties", 0) >= 0);
        assert_true(sd_bus_message_open_container(m, 'e', "sa{sv}") >= 0);
        assert_true(sd_bus_message_append(m, "s", "org.exfat.Mountd1.Mount") >= 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        if (device_type[0] == 's')
                assert_true(sd_bus_message_append(m, "{sv}", "Device", "s", "/dev/sdb") >= 0);
        else
                assert_true(sd_bus_message_append(m, "{sv}", "Device", "u", 17) >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "MountPoint", "s", "/run/media/alice/B \"q\"") >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "Label", "s", "B \"q\"") >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "Uuid", "s", "1234-ABCD") >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "Owner", "u", 0) >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "ReadOnly", "b", 1) >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "FutureProperty", "(ii)", 1, 2) >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "Unit", "s", "exfat-worker@dev-sdb.service") >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "State", "s", "mounted") >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);

        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1/mount/loop0", 1,
                                          "org.exfat.Mountd1.Mount", 2,
                                          "Device", "s", "/dev/loop0",
                                          "Owner", "u", 4000000000u) >= 0);

        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(test_message_rewind(m));
        return m;
}

static void test_list(void **state) {
        struct mount_list l = {};
        sd_bus_message *m;
        sd_bus *bus;
        int peer = -1;

        bus = test_bus_new(&peer);
        assert_non_null(bus);
        m = managed_objects(bus, "s");

        assert_int_equal(mount_list_read(m, &l), 0);
        assert_int_equal(l.n, 2);

        /* Sorted by device. */
        assert_string_equal(l.items[0].object, "/org/exfat/Mountd1/mount/loop0");
        assert_string_equal(l.items[0].device, "/dev/loop0");
        assert_null(l.items[0].mount_point);
        assert_null(l.items[0].label);
        assert_false(l.items[0].read_only);
        assert_true(l.items[0].has_owner);
        assert_int_equal(l.items[0].owner, 4000000000u);
        /* No such user: the uid as text. */
        assert_string_equal(mount_info_owner_name(&l.items[0]), "4000000000");

        assert_string_equal(l.items[1].object, "/org/exfat/Mountd1/mount/sdb");
        assert_string_equal(l.items[1].device, "/dev/sdb");
        assert_string_equal(l.items[1].mount_point, "/run/media/alice/B \"q\"");
        assert_string_equal(l.items[1].label, "B \"q\"");
        assert_string_equal(l.items[1].uuid, "1234-ABCD");
        assert_string_equal(l.items[1].unit, "exfat-worker@dev-sdb.service");
        assert_string_equal(l.items[1].state, "mounted");
        assert_true(l.items[1].read_only);
        assert_string_equal(mount_info_owner_name(&l.items[1]), "root");

        mount_list_done(&l);
        assert_int_equal(l.n, 0);
        assert_null(l.items);
        sd_bus_message_unref(m);
        test_bus_free(bus, peer);
}

/* A property of the wrong type is an error, not a silent misreading. */
static void test_wrong_type(void **state) {
        struct mount_list l = {};
        sd_bus_message *m;
        sd_bus *bus;
        int peer = -1;

        bus = test_bus_new(&peer);
        assert_non_null(bus);
        m = managed_objects(bus, "u");

        assert_true(mount_list_read(m, &l) < 0);
        mount_list_done(&l);
        sd_bus_message_unref(m);
        test_bus_free(bus, peer);
}

static void test_no_owner(void **state) {
        struct mount_info i = {};

        assert_string_equal(mount_info_owner_name(&i), "");
        mount_info_done(&i);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_wrong_type),
                cmocka_unit_test(test_no_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
