/* SPDX-License-Identifier: MIT */
/* Device objects read from a GetManagedObjects reply: only org.exfat.Mountd1.Device objects are
 * kept (not the manager, not mounts), sorted by device, unknown properties skipped, absent ones
 * unset; the same reply read again after a rewind gives the mounts (as list --all and info do);
 * sizes for humans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bus-message.h"
#include "device-info.h"
#include "mount-info.h"

static sd_bus_message *managed_objects(sd_bus *bus) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"), 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}") >= 0);
        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1", 1,
                                          "org.exfat.Mountd1.Manager", 1, "Version", "s", "0.1.0") >= 0);
        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1/devices/sdc1", 2,
                                          "org.freedesktop.DBus.Peer", 0,
                                          "org.exfat.Mountd1.Device", 8,
                                          "Device", "s", "/dev/sdc1",
                                          "Label", "s", "MY DISK",
                                          "Uuid", "s", "1234-ABCD",
                                          "Size", "t", (uint64_t) 64 << 30,
                                          "Removable", "b", 1,
                                          "Future", "(ii)", 1, 2,
                                          "Mount", "o", "/org/exfat/Mountd1/mount/dev_2fsdc1",
                                          "Dirty", "s", "clean") >= 0);
        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1/mount/dev_2fsdc1", 1,
                                          "org.exfat.Mountd1.Mount", 2,
                                          "Device", "s", "/dev/sdc1",
                                          "MountPoint", "s", "/run/media/alice/MY DISK") >= 0);
        assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", "/org/exfat/Mountd1/devices/loop0", 1,
                                          "org.exfat.Mountd1.Device", 2,
                                          "Device", "s", "/dev/loop0",
                                          "Mount", "o", "/") >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(test_message_rewind(m));
        return m;
}

static void test_list(void **state) {
        struct device_list l = {};
        struct mount_list mounts = {};
        int peer;
        sd_bus *bus = test_bus_new(&peer);
        assert_non_null(bus);
        sd_bus_message *m = managed_objects(bus);

        assert_int_equal(device_list_read(m, &l), 0);
        assert_int_equal(l.n, 2);
        /* Sorted by device. */
        assert_string_equal(l.items[0].device, "/dev/loop0");
        assert_string_equal(l.items[0].object, "/org/exfat/Mountd1/devices/loop0");
        assert_null(l.items[0].label);
        assert_false(l.items[0].has_size);
        assert_false(l.items[0].has_removable);
        assert_false(device_entry_mounted(&l.items[0]));

        struct device_entry *d = device_list_find(&l, "/dev/sdc1");
        assert_ptr_equal(d, &l.items[1]);
        assert_string_equal(d->label, "MY DISK");
        assert_string_equal(d->uuid, "1234-ABCD");
        assert_true(d->has_size);
        assert_true(d->size == (uint64_t) 64 << 30);
        assert_true(d->has_removable && d->removable);
        assert_string_equal(d->dirty, "clean");
        assert_true(device_entry_mounted(d));
        assert_null(device_list_find(&l, "/dev/sdc"));

        /* The same reply again, for the mounts. */
        assert_true(sd_bus_message_rewind(m, true) >= 0);
        assert_int_equal(mount_list_read(m, &mounts), 0);
        assert_int_equal(mounts.n, 1);
        assert_string_equal(mounts.items[0].mount_point, "/run/media/alice/MY DISK");

        mount_list_done(&mounts);
        device_list_done(&l);
        sd_bus_message_unref(m);
        test_bus_free(bus, peer);
}

/* A property with another type than documented is an error, not a misread. */
static void test_wrong_type(void **state) {
        struct device_list l = {};
        sd_bus_message *m = NULL;
        int peer;
        sd_bus *bus = test_bus_new(&peer);
        assert_non_null(bus);

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"), 0);
        assert_true(sd_bus_message_append(m, "a{oa{sa{sv}}}", 1, "/org/exfat/Mountd1/devices/x", 1,
                                          "org.exfat.Mountd1.Device", 1, "Size", "u", 5) >= 0);
        assert_true(test_message_rewind(m));
        assert_true(device_list_read(m, &l) < 0);
        device_list_done(&l);
        sd_bus_message_unref(m);
        test_bus_free(bus, peer);
}

static void check_size(uint64_t bytes, const char *want) {
        char buf[32];
        format_size(bytes, buf, sizeof(buf));
        assert_string_equal(buf, want);
}

static void test_format_size(void **state) {
        check_size(0, "0 B");
        check_size(1023, "1023 B");
        check_size(1024, "1.0 KiB");
        check_size(32 << 20, "32.0 MiB");
        check_size((uint64_t) 3 << 29, "1.5 GiB");
        check_size((uint64_t) 64 << 30, "64.0 GiB");
        check_size(UINT64_MAX, "16.0 EiB");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_wrong_type),
                cmocka_unit_test(test_format_size),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
