/* SPDX-License-Identifier: MIT */
/* Where a caller may choose to mount (policy_mount_point_allowed()): strictly beneath a configured
 * prefix (default /run/media, /media, /mnt and the caller's home), never in or above a system
 * directory whatever the configuration says; and which polkit actions a Mount needs. */
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

#include "authorize.h"
#include "policy.h"

static char config[64];

static int setup(void **state) {
        snprintf(config, sizeof(config), "/tmp/test-policy-XXXXXX");
        int fd = mkstemp(config);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

static int teardown(void **state) {
        unlink(config);
        return 0;
}

static void write_config(const char *text) {
        FILE *f = fopen(config, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

#define NO_CONFIG "/nonexistent/exfat-mountd/mount-point-prefixes"

static void test_default_prefixes(void **state) {
        const char *home = "/home/alice";

        assert_int_equal(policy_mount_point_allowed("/mnt/x", "alice", home, NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/mnt/a/b c", "alice", home, NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/media/alice/STICK", "alice", home, NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/run/media/alice/STICK", "alice", home, NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/home/alice/x", "alice", home, NO_CONFIG), 0);
        /* The prefixes themselves are not mount points of anybody's choosing. */
        assert_int_equal(policy_mount_point_allowed("/mnt", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/run/media", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/home/alice", "alice", home, NO_CONFIG), -EPERM);
        /* A prefix is a whole component: /mntx is not under /mnt, /home/alicex not under ~. */
        assert_int_equal(policy_mount_point_allowed("/mntx/y", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/home/alicex/y", "alice", home, NO_CONFIG), -EPERM);
        /* Someone else's home, a new directory in "/", anywhere else. */
        assert_int_equal(policy_mount_point_allowed("/home/bob/x", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/x", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/run/alice-mnt", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/tmp/x", "alice", home, NO_CONFIG), -EPERM);
}

static void test_media_directories(void **state) {
        const char *home = "/home/alice";

        /* Another user's media directory, or anything in it: refused, for any config. */
        assert_int_equal(policy_mount_point_allowed("/run/media/bob", "alice", home, NO_CONFIG), -EXDEV);
        assert_int_equal(policy_mount_point_allowed("/run/media/bob/x", "alice", home, NO_CONFIG), -EXDEV);
        assert_int_equal(policy_mount_point_allowed("/media/bob/STICK", "alice", home, NO_CONFIG), -EXDEV);
        assert_int_equal(policy_mount_point_allowed("/run/media/alicex/y", "alice", home, NO_CONFIG), -EXDEV);
        assert_int_equal(policy_mount_point_allowed("/run/media/ali/y", "alice", home, NO_CONFIG), -EXDEV);
        /* Her own media directory itself: the next default mount would go inside the mount. */
        assert_int_equal(policy_mount_point_allowed("/run/media/alice", "alice", home, NO_CONFIG), -EXDEV);
        assert_int_equal(policy_mount_point_allowed("/media/alice", "alice", home, NO_CONFIG), -EXDEV);
        /* Beneath her own: fine. */
        assert_int_equal(policy_mount_point_allowed("/run/media/alice/STICK", "alice", home, NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/media/alice/a/b", "alice", home, NO_CONFIG), 0);
        /* Root (udisks' mount helper mounts for alice): anyone's, but never a media directory itself. */
        assert_int_equal(policy_mount_point_allowed("/media/alice/STICK", NULL, "/root", NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/run/media/bob/x", NULL, "/root", NO_CONFIG), 0);
        assert_int_equal(policy_mount_point_allowed("/media/bob", NULL, "/root", NO_CONFIG), -EXDEV);
        /* Not a media tree: the rule does not apply. */
        assert_int_equal(policy_mount_point_allowed("/mediax/bob/x", "alice", home, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/mnt/bob/x", "alice", home, NO_CONFIG), 0);
}

static void test_system_directories(void **state) {
        /* Refused as system directories even though nothing allows them anyway... */
        assert_int_equal(policy_mount_point_allowed("/usr/local/bin", "alice", "/home/alice", NO_CONFIG), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/etc/udev/rules.d", "alice", "/home/alice", NO_CONFIG), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/etc", "alice", "/home/alice", NO_CONFIG), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/var/lib/x", "alice", "/home/alice", NO_CONFIG), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/run/systemd/system", "alice", "/home/alice", NO_CONFIG), -EACCES);
        /* ... above one (a mount there would hide it) ... */
        assert_int_equal(policy_mount_point_allowed("/run", "alice", "/home/alice", NO_CONFIG), -EACCES);
        /* ... and when the caller's home is one (a system user's), "~" covers nothing. */
        assert_int_equal(policy_mount_point_allowed("/var/lib/colord/x", "alice", "/var/lib/colord", NO_CONFIG), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/usrx/y", "alice", "/home/alice", NO_CONFIG), -EPERM);
}

static void test_home(void **state) {
        /* No home, or "/" as home: "~" allows nothing. */
        assert_int_equal(policy_mount_point_allowed("/home/alice/x", "alice", NULL, NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/x", "alice", "/", NO_CONFIG), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/srv/alice/x", "alice", "/srv/alice", NO_CONFIG), 0);
        /* A home that is not canonical is not used. */
        assert_int_equal(policy_mount_point_allowed("/home/alice/x", "alice", "/home/../home/alice", NO_CONFIG), -EPERM);
}

static void test_config(void **state) {
        write_config("# chosen mount points\n"
                     "\n"
                     "  /srv/disks/  \n"
                     "/data/My Disks\n"
                     "/etc\n"          /* a system directory stays refused */
                     "/\n");           /* and "/" allows nothing */
        /* Only what the file lists: the defaults are gone. */
        assert_int_equal(policy_mount_point_allowed("/srv/disks/a", "alice", "/home/alice", config), 0);
        assert_int_equal(policy_mount_point_allowed("/data/My Disks/a", "alice", "/home/alice", config), 0);
        assert_int_equal(policy_mount_point_allowed("/srv/disks", "alice", "/home/alice", config), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/mnt/x", "alice", "/home/alice", config), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/home/alice/x", "alice", "/home/alice", config), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/etc/x", "alice", "/home/alice", config), -EACCES);
        assert_int_equal(policy_mount_point_allowed("/x", "alice", "/home/alice", config), -EPERM);

        write_config("~\n/mnt\n");
        assert_int_equal(policy_mount_point_allowed("/home/alice/x", "alice", "/home/alice", config), 0);
        assert_int_equal(policy_mount_point_allowed("/home/bob/x", "alice", "/home/alice", config), -EPERM);
        assert_int_equal(policy_mount_point_allowed("/mnt/x", "alice", "/home/alice", config), 0);
        assert_int_equal(policy_mount_point_allowed("/media/alice/x", "alice", "/home/alice", config), -EPERM);

        /* An empty file allows nothing. */
        write_config("");
        assert_int_equal(policy_mount_point_allowed("/mnt/x", "alice", "/home/alice", config), -EPERM);
}

static void test_unreadable_config(void **state) {
        /* A directory where the file should be: fail closed, not back to the defaults. */
        assert_int_equal(policy_mount_point_allowed("/mnt/x", "alice", "/home/alice", "/tmp"), -EPERM);
}

static void test_lookup_user(void **state) {
        struct user_record u;

        assert_int_equal(policy_lookup_user(0, &u), 0);
        assert_string_equal(u.name, "root");
        assert_int_equal(u.gid, 0);
        assert_non_null(u.home);
        assert_true(u.home[0] == '/');
        user_record_done(&u);
        assert_null(u.name);

        /* No passwd entry: the uid names the directory and the group. */
        assert_int_equal(policy_lookup_user(2147480001u, &u), 0);
        assert_string_equal(u.name, "2147480001");
        assert_int_equal(u.gid, 2147480001u);
        assert_null(u.home);
        user_record_done(&u);
}

static void test_actions(void **state) {
        const char *actions[POLICY_ACTIONS_MAX] = {};
        struct mount_options o = {};
        sd_bus_error error = SD_BUS_ERROR_NULL;

        /* A device that is no block device at all is not removable: mount-system. */
        assert_int_equal(policy_mount("/dev/null", 0, &o, 1000, 1000, "alice", "/home/alice", actions, &error), 1);
        assert_string_equal(actions[0], ACTION_MOUNT_SYSTEM);

        o.has_uid = true;
        o.uid = 1000;
        assert_int_equal(policy_mount("/dev/null", 0, &o, 1000, 1000, "alice", "/home/alice", actions, &error), 1);
        o.uid = 1001;
        assert_int_equal(policy_mount("/dev/null", 0, &o, 1000, 1000, "alice", "/home/alice", actions, &error), 2);
        assert_string_equal(actions[1], ACTION_MOUNT_OTHER_OWNER);
        o.has_uid = false;
        o.has_gid = true;
        o.gid = 0;
        assert_int_equal(policy_mount("/dev/null", 0, &o, 1000, 1000, "alice", "/home/alice", actions, &error), 2);
        assert_string_equal(actions[1], ACTION_MOUNT_OTHER_OWNER);
        o.has_gid = false;

        o.mount_point = (char *) "/home/alice/x";
        assert_int_equal(policy_mount("/dev/null", 0, &o, 1000, 1000, "alice", "/home/alice", actions, &error), 2);
        assert_string_equal(actions[1], ACTION_MOUNT_POINT);

        /* Refused for root too, before polkit is asked anything. */
        o.mount_point = (char *) "/etc/udev/rules.d";
        assert_true(policy_mount("/dev/null", 0, &o, 0, 0, "root", "/root", actions, &error) < 0);
        assert_string_equal(error.name, "org.exfat.Mountd1.Error.InvalidArgument");
        sd_bus_error_free(&error);
        o.mount_point = (char *) "/x";
        assert_true(policy_mount("/dev/null", 0, &o, 0, 0, "root", "/root", actions, &error) < 0);
        assert_string_equal(error.name, "org.exfat.Mountd1.Error.InvalidArgument");
        sd_bus_error_free(&error);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_prefixes),
                cmocka_unit_test(test_media_directories),
                cmocka_unit_test(test_system_directories),
                cmocka_unit_test(test_home),
                cmocka_unit_test_setup_teardown(test_config, setup, teardown),
                cmocka_unit_test(test_unreadable_config),
                cmocka_unit_test(test_lookup_user),
                cmocka_unit_test(test_actions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
