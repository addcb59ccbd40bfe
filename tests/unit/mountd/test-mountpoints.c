/* SPDX-License-Identifier: MIT */
/* The walk to a mount point never enters a file system whose lookups may wait on a FUSE server or a
 * network peer: which mountinfo types count (an NFS home whose server is down would hold the
 * daemon's event loop as a stalled worker would). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "mountpoints.h"

static char path[64];

static int setup(void **state) {
        snprintf(path, sizeof(path), "/tmp/test-mountpoints-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
                return -1;
        FILE *f = fdopen(fd, "we");
        if (!f)
                return -1;
        fputs("22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
              "30 22 0:26 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755\n"
              "40 22 0:40 / /home/alice rw,relatime shared:20 - nfs4 server:/home/alice rw,vers=4.2\n"
              "41 22 0:41 / /home/bob rw,relatime shared:21 - nfs server:/home/bob rw,vers=3\n"
              "42 22 0:42 / /srv/share rw,relatime shared:22 - cifs //server/share rw\n"
              "43 30 0:43 / /run/media/alice/STICK rw,nosuid,nodev shared:23 - fuseblk.exfat /dev/sdb1 rw\n"
              "44 22 0:44 / /home/carol/remote rw shared:24 - fuse.sshfs carol@host: rw\n"
              "45 22 0:45 / /mnt/f rw shared:25 - fuse /dev/fuse rw\n"
              "46 22 0:46 / /mnt/blk rw shared:26 - fuseblk /dev/sdc1 rw\n"
              "47 22 0:47 / /sys/fs/fuse/connections rw shared:27 - fusectl fusectl rw\n"
              "48 22 0:48 / /mnt/9p rw shared:28 - 9p hostshare rw\n"
              "49 22 0:49 / /mnt/nfsd rw shared:29 - nfsd nfsd rw\n"
              "50 22 0:50 / /mnt/ceph rw shared:30 - ceph 10.0.0.1:/ rw\n"
              "51 22 0:51 / /mnt/auto rw shared:31 - autofs auto.misc rw,fd=7,pgrp=1,timeout=300,indirect\n",
              f);
        return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state) {
        unlink(path);
        return 0;
}

static void test_local(void **state) {
        assert_int_equal(mountinfo_mount_may_stall(path, 22), 0);
        assert_int_equal(mountinfo_mount_may_stall(path, 30), 0);
        /* fusectl is the kernel's own, and nfsd the NFS server's control file system. */
        assert_int_equal(mountinfo_mount_may_stall(path, 47), 0);
        assert_int_equal(mountinfo_mount_may_stall(path, 49), 0);
}

static void test_fuse(void **state) {
        assert_int_equal(mountinfo_mount_may_stall(path, 43), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 44), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 45), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 46), 1);
}

static void test_network(void **state) {
        assert_int_equal(mountinfo_mount_may_stall(path, 40), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 41), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 42), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 48), 1);
        assert_int_equal(mountinfo_mount_may_stall(path, 50), 1);
        /* A lookup in an autofs directory waits for the automounter, and then for what it mounts. */
        assert_int_equal(mountinfo_mount_may_stall(path, 51), 1);
}

static void test_missing(void **state) {
        assert_int_equal(mountinfo_mount_may_stall(path, 4242), -ENOENT);
        assert_int_equal(mountinfo_mount_may_stall("/nonexistent/mountinfo", 22), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_local, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fuse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_network, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
