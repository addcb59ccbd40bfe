/* SPDX-License-Identifier: MIT */
/* Device checks: device paths under /dev only; removable detection on fake sysfs and udev trees: the
 * kernel's flag and the buses, never names in the path (internal eMMC sits under ".../mmc0/...").
 * Whether a device is mounted (mountinfo_has_device) is tested with the parser, in test-mountinfo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices.h"

static void expect_resolve(const char *device, int want) {
        char *p = NULL;
        dev_t d;
        int r = device_resolve(device, &p, &d);
        if (r != want)
                fail_msg("device_resolve(%s) = %d, expected %d", device, r, want);
        free(p);
}

/* Device paths: /dev only, and nothing that leads out of /dev's own filesystem. The box test
 * test-mountd-paths covers block devices and symlinks under /dev. */
static void test_resolve_outside_dev(void **state) {
        char dir[] = "/dev/shm/test-devices-XXXXXX", inside[64];

        expect_resolve("/etc/passwd", -ENOENT);
        expect_resolve("/dev", -ENOENT);
        expect_resolve("/dev/", -ENOENT);
        expect_resolve("//dev/null", -ENOENT);
        expect_resolve("/dev/../etc/passwd", -ENOENT);
        expect_resolve("/dev/null/..", -ENOENT);
        expect_resolve("/dev/stdin", -ENOENT);           /* an absolute symlink, into /proc */
        expect_resolve("/dev/does-not-exist", -ENOENT);
        expect_resolve("/dev/null", -ENOTBLK);
        expect_resolve("/dev/./null", -ENOTBLK);
        if (mkdtemp(dir)) {
                /* /dev/shm is another filesystem (anyone may write there): never entered. */
                snprintf(inside, sizeof(inside), "%s/x", dir);
                expect_resolve(inside, -ENOENT);
                rmdir(dir);
        }
}

/* ---- removable detection on fake sysfs and udev trees ---- */

static char fake[64];
static struct removable_roots roots;
static char fake_sys[128], fake_udev[128], fake_config[128];

static void mkdirs(const char *rel) {
        char p[512], *c;
        snprintf(p, sizeof(p), "%s/%s", fake, rel);
        for (c = p + strlen(fake) + 1; (c = strchr(c, '/')); c++) {
                *c = 0;
                assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
                *c = '/';
        }
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void put(const char *rel, const char *text) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", fake, rel);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void link_to(const char *rel, const char *target) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", fake, rel);
        assert_int_equal(symlink(target, p), 0);
}

/* A disk at sys/devices/<disk_path> (its last component the disk's name) with partition 1, as the
 * kernel lays it out: /sys/dev/block/MAJ:MIN links, "dev", "partition", "removable". */
static void add_disk(const char *disk_path, unsigned maj, unsigned min, const char *removable) {
        char d[256], p[300], t[400], v[32];
        const char *name = strrchr(disk_path, '/') + 1;

        snprintf(d, sizeof(d), "sys/devices/%s", disk_path);
        mkdirs(d);
        snprintf(p, sizeof(p), "%s/removable", d);
        put(p, removable);
        snprintf(p, sizeof(p), "%s/dev", d);
        snprintf(v, sizeof(v), "%u:%u\n", maj, min);
        put(p, v);
        snprintf(p, sizeof(p), "%s/%s1", d, name);
        mkdirs(p);
        snprintf(p, sizeof(p), "%s/%s1/partition", d, name);
        put(p, "1\n");
        snprintf(p, sizeof(p), "%s/%s1/dev", d, name);
        snprintf(v, sizeof(v), "%u:%u\n", maj, min + 1);
        put(p, v);
        mkdirs("sys/dev/block");
        snprintf(p, sizeof(p), "sys/dev/block/%u:%u", maj, min);
        snprintf(t, sizeof(t), "../../devices/%s", disk_path);
        link_to(p, t);
        snprintf(p, sizeof(p), "sys/dev/block/%u:%u", maj, min + 1);
        snprintf(t, sizeof(t), "../../devices/%s/%s1", disk_path, name);
        link_to(p, t);
}

/* dev_path's "subsystem" link to sys/bus/<bus> (relative, as in sysfs). */
static void set_subsystem(const char *dev_path, const char *bus) {
        char p[300], t[400] = "";
        unsigned depth = 1; /* "devices" */
        for (const char *c = dev_path; *c; c++)
                depth += *c == '/';
        for (unsigned i = 0; i <= depth; i++)
                strcat(t, "../");
        strcat(t, "bus/");
        strcat(t, bus);
        snprintf(p, sizeof(p), "sys/devices/%s", dev_path);
        mkdirs(p);
        strcat(p, "/subsystem");
        link_to(p, t);
}

static int fake_setup(void **state) {
        snprintf(fake, sizeof(fake), "/tmp/test-removable-XXXXXX");
        if (!mkdtemp(fake))
                return -1;
        snprintf(fake_sys, sizeof(fake_sys), "%s/sys", fake);
        snprintf(fake_udev, sizeof(fake_udev), "%s/udev", fake);
        snprintf(fake_config, sizeof(fake_config), "%s/removable-devices", fake);
        roots = (struct removable_roots) { .sysfs = fake_sys, .udev_data = fake_udev, .config = fake_config };
        mkdirs("udev");
        mkdirs("sys/bus");
        return 0;
}

static int fake_teardown(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake);
        return system(cmd) == 0 ? 0 : -1;
}

#define EMMC "platform/soc/7e300000.mmc/mmc_host/mmc0/mmc0:0001"
#define SATA "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0"
#define USB "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0"

/* Soldered-in eMMC sits under a path full of "mmc" and says removable 0: not removable. */
static void test_emmc_not_removable(void **state) {
        set_subsystem(EMMC, "mmc");
        put("sys/devices/" EMMC "/type", "MMC\n");
        add_disk(EMMC "/block/mmcblk0", 179, 0, "0\n");
        assert_false(device_is_removable_at(&roots, "/dev/mmcblk0p1", makedev(179, 1)));
        assert_false(device_is_removable_at(&roots, "/dev/mmcblk0", makedev(179, 0)));
}

/* An SD card in the same slot is. */
static void test_sd_card_removable(void **state) {
        set_subsystem(EMMC, "mmc");
        put("sys/devices/" EMMC "/type", "SD\n");
        add_disk(EMMC "/block/mmcblk0", 179, 0, "0\n");
        assert_true(device_is_removable_at(&roots, "/dev/mmcblk0p1", makedev(179, 1)));
}

/* A USB disk that says removable 0 (most USB SSDs): its parent USB device, or udev, tells. */
static void test_usb_disk_by_parent(void **state) {
        set_subsystem("pci0000:00/0000:00:14.0", "pci");
        set_subsystem("pci0000:00/0000:00:14.0/usb2/2-1", "usb");
        set_subsystem("pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0", "usb");
        set_subsystem(USB, "scsi");
        add_disk(USB "/block/sdb", 8, 16, "0\n");
        assert_true(device_is_removable_at(&roots, "/dev/sdb1", makedev(8, 17)));
}

static void test_usb_disk_by_udev(void **state) {
        /* No usb parent visible (a bridge sysfs does not show as such): udev's ID_BUS decides. */
        set_subsystem(SATA, "scsi");
        add_disk(SATA "/block/sdb", 8, 16, "0\n");
        assert_false(device_is_removable_at(&roots, "/dev/sdb1", makedev(8, 17)));
        put("udev/b8:16", "S:disk/by-id/usb-Foo_Bar-0:0\nE:ID_BUS=usb\nE:ID_TYPE=disk\n");
        /* The partition has no data file of its own here: the disk's counts. */
        assert_true(device_is_removable_at(&roots, "/dev/sdb1", makedev(8, 17)));
}

/* An internal SATA disk: udev says ata, nothing in sysfs is usb or an SD card. */
static void test_sata_not_removable(void **state) {
        set_subsystem("pci0000:00/0000:00:1f.2", "pci");
        set_subsystem(SATA, "scsi");
        add_disk(SATA "/block/sda", 8, 0, "0\n");
        put("udev/b8:1", "E:ID_BUS=ata\nE:ID_TYPE=disk\n");
        assert_false(device_is_removable_at(&roots, "/dev/sda1", makedev(8, 1)));
}

/* The kernel's own flag is enough. */
static void test_kernel_flag(void **state) {
        set_subsystem(SATA, "scsi");
        add_disk(SATA "/block/sda", 8, 0, "1\n");
        assert_true(device_is_removable_at(&roots, "/dev/sda1", makedev(8, 1)));
}

/* Names are not buses: a virtual disk called usb... is not on USB. */
static void test_names_do_not_count(void **state) {
        add_disk("virtual/block/usbstick", 252, 0, "0\n");
        assert_false(device_is_removable_at(&roots, "/dev/usbstick1", makedev(252, 1)));
}

/* The config file lists paths or globs; a device sysfs does not know is removable only then. */
static void test_config(void **state) {
        set_subsystem(SATA, "scsi");
        add_disk(SATA "/block/sda", 8, 0, "0\n");
        assert_false(device_is_removable_at(&roots, "/dev/sda1", makedev(8, 1)));
        put("removable-devices", "# internal card reader\n  /dev/sda[0-9]\n");
        assert_true(device_is_removable_at(&roots, "/dev/sda1", makedev(8, 1)));
        assert_false(device_is_removable_at(&roots, "/dev/sdc", makedev(8, 32)));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve_outside_dev),
                cmocka_unit_test_setup_teardown(test_emmc_not_removable, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_sd_card_removable, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_usb_disk_by_parent, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_usb_disk_by_udev, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_sata_not_removable, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_flag, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_names_do_not_count, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_config, fake_setup, fake_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
