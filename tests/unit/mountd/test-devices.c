/* SPDX-License-Identifier: MIT */
/* mountinfo parsing: only a line's own major:minor field counts, however long the line is (a
 * user's FUSE mount chooses its fsname, and a line read in pieces made any device look mounted). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices.h"

static char path[64];

static int setup(void **state) {
        snprintf(path, sizeof(path), "/tmp/test-mountinfo-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

static int teardown(void **state) {
        unlink(path);
        return 0;
}

static void write_file(const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* A FUSE mount line whose fsname is long enough to put `piece` at byte `at` of the line. */
static char *long_fuse_line(size_t at, const char *piece, size_t total) {
        const char *head = "4242 25 0:45 / /home/bob/m rw,nosuid,nodev,relatime shared:1 - fuse.sshfs ";
        char *l = malloc(total + 2);
        assert_non_null(l);
        assert_true(strlen(head) < at && at + strlen(piece) + 40 < total);
        memset(l, 'x', total);
        memcpy(l, head, strlen(head));
        memcpy(l + at, piece, strlen(piece));
        memcpy(l + total - 30, " rw,user_id=1001,group_id=1001", 30);
        l[total] = '\n';
        l[total + 1] = 0;
        return l;
}

static void test_real_lines(void **state) {
        write_file("22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
                   "91 22 8:17 / /run/media/alice/STICK rw,nosuid,nodev shared:50 - fuseblk.exfat /dev/sdb1 rw\n");
        assert_int_equal(mountinfo_has_device(path, makedev(8, 17)), 1);
        assert_int_equal(mountinfo_has_device(path, makedev(259, 2)), 1);
        assert_int_equal(mountinfo_has_device(path, makedev(8, 16)), 0);
        assert_int_equal(mountinfo_has_device(path, makedev(17, 8)), 0);
}

/* The piece that starts where a 4096-byte read ended, and farther out. */
static void test_long_line_pieces(void **state) {
        static const size_t at[] = { 4095, 4096, 8190, 65535 };
        for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
                char *l = long_fuse_line(at[i], "1+2+8:16 / /x rw", at[i] + 200);
                write_file(l);
                free(l);
                assert_int_equal(mountinfo_has_device(path, makedev(8, 16)), 0);
                assert_int_equal(mountinfo_has_device(path, makedev(0, 45)), 1);
        }
}

/* After a long line, the next line is still read as a line of its own. */
static void test_line_after_long_line(void **state) {
        char *l = long_fuse_line(5000, "zzz", 9000);
        char *text = malloc(strlen(l) + 200);
        assert_non_null(text);
        strcpy(text, l);
        strcat(text, "95 22 8:33 / /media/x rw - vfat /dev/sdc1 rw\n");
        write_file(text);
        free(l);
        free(text);
        assert_int_equal(mountinfo_has_device(path, makedev(8, 33)), 1);
}

static void test_missing_file(void **state) {
        assert_int_equal(mountinfo_has_device("/nonexistent/mountinfo", makedev(8, 16)), -2);
}

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_real_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_line_pieces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_line_after_long_line, setup, teardown),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_resolve_outside_dev),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
