/* SPDX-License-Identifier: MIT */
/* mountinfo.c: one parser for every reader of mountinfo. Whole lines however long (a mount point
 * of 1,019 spaces is a 4 KiB field once escaped, and fusectl's 4096-byte read lost such a mount),
 * escapes undone, optional fields skipped, malformed lines refused. Its readers: whether a device is
 * mounted (devices.c: only a line's own major:minor field counts, however long the line is; a user's
 * FUSE mount chooses its fsname, and a line read in pieces made any device look mounted), and
 * whether our FUSE mount is there (fusectl.c). */
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
#include "fusectl.h"
#include "mountinfo.h"

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

static void test_parse_line(void **state) {
        char line[] = "36 35 98:0 / /run/media/alice/MY\\040STICK\\134x rw,nosuid shared:1 master:2 - fuseblk.exfat /dev/sdb1 rw\n";
        struct mountinfo_entry e;
        assert_int_equal(mountinfo_parse_line(line, &e), 0);
        assert_int_equal(e.id, 36);
        assert_true(e.devnum == makedev(98, 0));
        assert_string_equal(e.mount_point, "/run/media/alice/MY STICK\\x");
        assert_string_equal(e.fstype, "fuseblk.exfat");

        char none[] = "37 35 8:1 / /mnt rw - ext4 /dev/sda1 rw";
        assert_int_equal(mountinfo_parse_line(none, &e), 0);
        assert_string_equal(e.fstype, "ext4");
        assert_string_equal(e.mount_point, "/mnt");

        static const char *const bad[] = {
                "",
                "36 35 98:0 / /mnt rw shared:1\n",     /* no separator */
                "36 35 98:0 / /mnt rw -\n",            /* no type */
                "x 35 98:0 / /mnt rw - ext4 /dev/a rw\n",
                "36 35 98 / /mnt rw - ext4 /dev/a rw\n",
                "36 35 98:0x / /mnt rw - ext4 /dev/a rw\n",
                "36 35 98:0 /\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *copy = strdup(bad[i]);
                assert_non_null(copy);
                assert_int_equal(mountinfo_parse_line(copy, &e), -EBADMSG);
                free(copy);
        }
}

/* A mount point of 1,024 bytes (the longest the daemon takes), all spaces after /mnt/: a field of
 * 4,081 bytes in mountinfo, and its type beyond the first 4 KiB of the line. */
static void test_long_mount_point(void **state) {
        size_t spaces = 1019;
        char *mp = malloc(spaces + 32), *escaped = malloc(4 * spaces + 32), *text = malloc(4 * spaces + 256);
        assert_non_null(mp);
        assert_non_null(escaped);
        assert_non_null(text);
        strcpy(mp, "/mnt/");
        strcpy(escaped, "/mnt/");
        for (size_t i = 0; i < spaces; i++) {
                strcat(mp, " ");
                strcat(escaped, "\\040");
        }
        snprintf(text, 4 * spaces + 256,
                 "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                 "36 1 7:0 / %s rw,nosuid shared:7 - fuseblk.exfat /dev/loop0 rw\n"
                 "37 1 7:1 / /mnt/y rw - fuseblk.exfat /dev/loop1 rw\n", escaped);
        write_file(text);
        assert_true(strlen(text) > 4096);
        assert_true(mountinfo_has_fuse_mount(path, mp, makedev(7, 0)));
        assert_true(mountinfo_has_fuse_mount(path, NULL, makedev(7, 0)));
        assert_false(mountinfo_has_fuse_mount(path, "/mnt/y", makedev(7, 0)));
        assert_true(mountinfo_has_fuse_mount(path, "/mnt/y", makedev(7, 1)));
        /* Not ours: another type on that device. */
        assert_false(mountinfo_has_fuse_mount(path, "/", makedev(8, 1)));
        free(mp);
        free(escaped);
        free(text);
}

static int count(const struct mountinfo_entry *e, void *userdata) {
        (*(int *) userdata)++;
        return e->id == 3 ? 7 : 0;
}

static void test_foreach(void **state) {
        int n = 0;
        write_file("1 0 8:1 / / rw - ext4 /dev/sda1 rw\nnonsense\n2 1 8:2 / /a rw - ext4 /dev/sda2 rw\n"
                   "3 1 8:3 / /b rw - ext4 /dev/sda3 rw\n4 1 8:4 / /c rw - ext4 /dev/sda4 rw\n");
        assert_int_equal(mountinfo_foreach(path, count, &n), 7); /* stops at id 3, with its value */
        assert_int_equal(n, 3);                                  /* the nonsense line is skipped */
        assert_int_equal(mountinfo_foreach("/nonexistent/mountinfo", count, &n), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_real_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_line_pieces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_line_after_long_line, setup, teardown),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_parse_line),
                cmocka_unit_test_setup_teardown(test_long_mount_point, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
