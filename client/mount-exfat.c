/* SPDX-License-Identifier: MIT */
/*
 * mount.exfat: the helper mount(8) and udisks (through libmount) run for `-t exfat`. It maps the
 * option string onto Mount's typed options and asks exfat-mountd to mount DEVICE at exactly DIR;
 * the volume is then served by a sandboxed worker, not parsed by the kernel. It exits once the
 * mount is up and leaves no process behind. It is never setuid: run by a user (an fstab `user`
 * entry), it asks the daemon with that user's credentials and polkit decides, so it grants nothing
 * the daemon would not grant directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "exfatctl.h"
#include "helper-options.h"
#include "mount-info.h"
#include "util.h"

static void usage(FILE *f) {
        fputs("Usage: mount.exfat DEVICE DIR [-sfnv] [-o OPTIONS] [-t exfat]\n"
              "Mounts the exFAT volume on DEVICE at DIR through exfat-mountd (a sandboxed FUSE worker).\n"
              "Run by mount(8) and udisks; see mount.exfat(8).\n"
              "  -o OPTIONS  ro, rw, uid=N, gid=N, umask=OOO, dmask=OOO, fmask=OOO, exec, noexec,\n"
              "              sync, async; nosuid, nodev, iocharset=utf8, errors=... are accepted\n"
              "  -s          ignore unknown options instead of failing\n"
              "  -f          check everything, mount nothing\n"
              "  -n, -v      accepted (no mtab is written; -v prints what is asked)\n", f);
}

/* DIR must be an absolute path to a directory reached without symbolic links: mount(8) passes a
 * canonical path, so a link here means a caller steering the mount somewhere else. The daemon
 * checks again; this only gives the clear message early. */
static int check_target(const char *target, const char **why) {
        _cleanup_(closep) int fd = -1;
        char buf[4096];
        char *save = NULL, *comp;
        struct stat st;
        unsigned depth = 0;

        if (target[0] != '/') {
                *why = "must be an absolute path";
                return -EINVAL;
        }
        if (strlen(target) >= sizeof(buf)) {
                *why = "path too long";
                return -ENAMETOOLONG;
        }
        strcpy(buf, target);
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                *why = strerror(errno);
                return -errno;
        }
        for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                int next;
                if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
                        *why = "must not contain . or .. components";
                        return -EINVAL;
                }
                next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        *why = strerror(errno);
                        return -errno;
                }
                close(fd);
                fd = next;
                depth++;
                if (fstat(fd, &st) < 0) {
                        *why = strerror(errno);
                        return -errno;
                }
                if (S_ISLNK(st.st_mode)) {
                        *why = "is or passes through a symbolic link";
                        return -ELOOP;
                }
        }
        if (depth == 0) { /* "/", "//", ... */
                *why = "cannot mount over /";
                return -ENOTDIR;
        }
        if (!S_ISDIR(st.st_mode)) {
                *why = "not a directory";
                return -ENOTDIR;
        }
        return 0;
}

static int build_call(sd_bus *bus, const char *device, const char *target, const struct helper_options *h,
                      sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_call_new(bus, "Mount", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", device);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "mount-point", "s", target);
        if (r >= 0 && h->read_only)
                r = sd_bus_message_append(m, "{sv}", "read-only", "b", 1);
        if (r >= 0)
                r = mount_options_append(&h->mount, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = m;
        m = NULL;
        return 0;
}

static int do_mount(const char *device, const char *target, const struct helper_options *h, bool verbose) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const struct context c = { .ask_password = true };
        const char *object, *mount_point;
        int read_only = 0, r;

        r = bus_connect(&bus);
        if (r != 0)
                return helper_exit_from_exfatctl(r);
        r = build_call(bus, device, target, h, &m);
        if (r < 0)
                return helper_exit_from_exfatctl(log_call_failed("mount", device, NULL, r));
        r = call_authorized(&c, bus, m, &error, &reply);
        if (r < 0)
                return helper_exit_from_exfatctl(log_call_failed("mount", device, &error, r));
        r = sd_bus_message_read(reply, "os", &object, &mount_point);
        if (r < 0)
                return helper_exit_from_exfatctl(log_call_failed("mount", device, NULL, r));
        if (verbose)
                fprintf(stderr, "mount.exfat: %s mounted at %s (%s)\n", device, mount_point, object);
        if (!h->read_only &&
            sd_bus_get_property_trivial(bus, MOUNTD_SERVICE, object, MOUNTD_MOUNT, "ReadOnly", NULL, 'b',
                                        &read_only) >= 0 && read_only)
                fprintf(stderr, "mount.exfat: %s was mounted read-only: the device is write-protected, or the "
                                "volume is marked dirty (not cleanly unmounted; check it with fsck.exfat).\n", device);
        return HELPER_EXIT_OK;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *type = NULL, *why = NULL, *args[2];
        _cleanup_free_ char *optstr = NULL;
        bool sloppy = false, fake = false, verbose = false;
        struct helper_options h;
        size_t n_args = 0;
        char bad[256];
        int c;

        /* "-" first: the positional arguments come back in order wherever they stand (libmount
         * puts them before the options), also with POSIXLY_CORRECT set. */
        while ((c = getopt_long(argc, argv, "-o:t:N:sfnvh", longopts, NULL)) >= 0) {
                switch (c) {
                case 1:
                        if (n_args == 2) {
                                usage(stderr);
                                return HELPER_EXIT_USAGE;
                        }
                        args[n_args++] = optarg;
                        break;
                case 'o': {
                        /* Several -o add up, as with mount(8): none of them is dropped. */
                        char *joined = NULL;
                        if (asprintf(&joined, "%s%s%s", optstr ?: "", optstr ? "," : "", optarg) < 0) {
                                fprintf(stderr, "mount.exfat: out of memory\n");
                                return HELPER_EXIT_SYSERR;
                        }
                        free(optstr);
                        optstr = joined;
                        break;
                }
                case 't':
                        type = optarg;
                        break;
                case 's':
                        sloppy = true;
                        break;
                case 'f':
                        fake = true;
                        break;
                case 'n':
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'N':
                        fprintf(stderr, "mount.exfat: -N (another mount namespace) is not supported\n");
                        return HELPER_EXIT_USAGE;
                case 'h':
                        usage(stdout);
                        return HELPER_EXIT_OK;
                default:
                        usage(stderr);
                        return HELPER_EXIT_USAGE;
                }
        }
        for (; optind < argc; optind++) { /* after "--" */
                if (n_args == 2) {
                        usage(stderr);
                        return HELPER_EXIT_USAGE;
                }
                args[n_args++] = argv[optind];
        }
        if (n_args != 2) {
                usage(stderr);
                return HELPER_EXIT_USAGE;
        }
        if (type && strcmp(type, "exfat") != 0) {
                fprintf(stderr, "mount.exfat: cannot mount type '%s'; only exfat\n", type);
                return HELPER_EXIT_USAGE;
        }
        if (helper_options_parse(optstr, sloppy, &h, bad, sizeof(bad), &why) < 0) {
                fprintf(stderr, "mount.exfat: option '%s': %s\n", bad, why);
                return HELPER_EXIT_USAGE;
        }
        if (args[0][0] != '/') {
                fprintf(stderr, "mount.exfat: %s: the device must be an absolute path under /dev\n", args[0]);
                return HELPER_EXIT_USAGE;
        }
        if (check_target(args[1], &why) < 0) {
                fprintf(stderr, "mount.exfat: mount point %s: %s\n", args[1], why);
                return HELPER_EXIT_USAGE;
        }
        if (fake) {
                if (verbose)
                        fprintf(stderr, "mount.exfat: would mount %s at %s\n", args[0], args[1]);
                return HELPER_EXIT_OK;
        }
        return do_mount(args[0], args[1], &h, verbose);
}
