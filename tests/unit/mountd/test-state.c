/* SPDX-License-Identifier: MIT */
/* The state file's records as text and back (state.c): what a restarted daemon reads must be what
 * the previous one wrote, whatever bytes a mount point or label holds, and older versions still
 * read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "state.h"

static struct mount_record sample(void) {
        return (struct mount_record) {
                .devnum = makedev(7, 3),
                .owner = 1001,
                .gid = 1002,
                .mounted_by = 1003,
                .read_only = true,
                .created_mount_point = true,
                .dirty = false,
                .established = true,
                .device = "/dev/loop3",
                /* Spaces, a percent sign, UTF-8 and a leading dash must survive. */
                .mount_point = "/media/alice/MY DISK 100%",
                .label = "-Ünïcode",
                .uuid = "1234-ABCD",
                .unit = "exfat-worker@dev-loop3.service",
                .fdname = "worker-7-3",
                .new_label = "NEW LABEL",
        };
}

static FILE *written(const struct mount_record *r, size_t n) {
        FILE *f = tmpfile();
        assert_non_null(f);
        assert_int_equal(state_write(f, r, n), 0);
        rewind(f);
        return f;
}

static void test_round_trip(void **state) {
        struct mount_record in[2] = { sample(), sample() }, *out;
        size_t n;

        in[1].devnum = makedev(8, 17);
        in[1].established = false;
        in[1].read_only = false;
        in[1].new_label = NULL;
        in[1].label = "";
        FILE *f = written(in, 2);
        assert_int_equal(state_read(f, &out, &n), 0);
        fclose(f);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(out[i].devnum, in[i].devnum);
                assert_int_equal(out[i].owner, 1001);
                assert_int_equal(out[i].gid, 1002);
                assert_int_equal(out[i].mounted_by, 1003);
                assert_int_equal(out[i].read_only, in[i].read_only);
                assert_int_equal(out[i].created_mount_point, true);
                assert_int_equal(out[i].dirty, false);
                assert_int_equal(out[i].established, in[i].established);
                assert_string_equal(out[i].device, in[i].device);
                assert_string_equal(out[i].mount_point, in[i].mount_point);
                assert_string_equal(out[i].label, in[i].label);
                assert_string_equal(out[i].uuid, in[i].uuid);
                assert_string_equal(out[i].unit, in[i].unit);
                assert_string_equal(out[i].fdname, in[i].fdname);
                mount_record_done(&out[i]);
        }
        free(out);
}

static void test_relabel_in_flight(void **state) {
        struct mount_record in = sample(), out;
        char line[1024];

        FILE *f = written(&in, 1);
        assert_non_null(fgets(line, sizeof(line), f)); /* the version */
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        assert_int_equal(state_parse_line(line, &out), 0);
        assert_string_equal(out.new_label, "NEW LABEL");
        mount_record_done(&out);

        in.new_label = NULL;
        f = written(&in, 1);
        assert_non_null(fgets(line, sizeof(line), f));
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        assert_int_equal(state_parse_line(line, &out), 0);
        assert_null(out.new_label); /* none, not "" */
        mount_record_done(&out);
}

static void test_version_2_and_bad_lines(void **state) {
        static const char text[] =
                "exfat-mountd-state-2\n"
                "7:3 1001 1001 1001 0 1 0 1 /dev/loop3 /run/media/alice/A A 1234-ABCD exfat-worker@dev-loop3.service worker-7-3\n"
                "garbage\n"
                "7:4 1001 1001 1001 0 1 0 1 /dev/loop4\n"
                "7:5 1001 1001 1001 0 1 0 1 /dev/loop5 /run/media/alice/B - - exfat-worker@dev-loop5.service worker-7-5\n";
        struct mount_record *out;
        size_t n;

        FILE *f = fmemopen((void *) text, sizeof(text) - 1, "r");
        assert_non_null(f);
        assert_int_equal(state_read(f, &out, &n), 0);
        fclose(f);
        assert_int_equal(n, 2); /* the malformed lines are skipped */
        assert_string_equal(out[0].mount_point, "/run/media/alice/A");
        assert_null(out[0].new_label);
        assert_string_equal(out[1].label, "");
        assert_string_equal(out[1].uuid, "");
        for (size_t i = 0; i < n; i++)
                mount_record_done(&out[i]);
        free(out);

        static const char unknown[] = "exfat-mountd-state-9\n7:3 1 1 1 0 1 0 1 /dev/loop3 /x - - u f\n";
        f = fmemopen((void *) unknown, sizeof(unknown) - 1, "r");
        assert_int_equal(state_read(f, &out, &n), 0);
        fclose(f);
        assert_int_equal(n, 0);
        assert_null(out);
}

static void test_write_file(void **state) {
        char dir[] = "/tmp/test-state.XXXXXX", path[64];
        struct mount_record in = sample(), *out;
        size_t n;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/sub/mounts", dir);
        assert_int_equal(state_write_file(path, &in, 1), 0); /* makes its directory */
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(state_read(f, &out, &n), 0);
        fclose(f);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].mount_point, in.mount_point);
        mount_record_done(&out[0]);
        free(out);
        assert_int_equal(state_write_file(path, NULL, 0), 0);
        f = fopen(path, "re");
        assert_int_equal(state_read(f, &out, &n), 0);
        fclose(f);
        assert_int_equal(n, 0);
        free(out);
        assert_int_equal(unlink(path), 0);
        snprintf(path, sizeof(path), "%s/sub", dir);
        assert_int_equal(rmdir(path), 0); /* no temporary file left behind */
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        log_set_max_level(LOG_CRIT);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_relabel_in_flight),
                cmocka_unit_test(test_version_2_and_bad_lines),
                cmocka_unit_test(test_write_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
