/* SPDX-License-Identifier: MIT */
/*
 * umount.fuseblk.exfat: the helper umount(8) and udisks (through libmount) run for a mount of type
 * fuseblk.exfat. A plain umount(2) of a FUSE mount returns before the worker has written anything
 * out; this asks exfat-mountd instead, whose Unmount returns only once the worker has flushed,
 * cleared the volume's dirty flag and exited, so the device is safe to unplug when umount(8)
 * returns. A fuseblk.exfat mount the daemon does not know (another FUSE exFAT driver) is unmounted
 * with umount2(2) as umount(8) itself would.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "errors.h"
#include "exfatctl.h"
#include "helper-options.h"
#include "util.h"

#define NOT_MOUNTED_ERROR "org.exfat.Mountd1.Error.NotMounted"

static void usage(FILE *f) {
        fputs("Usage: umount.fuseblk.exfat DIR [-nlfvr] [-t TYPE]\n"
              "Unmounts an exfat-mountd mount through the daemon: returns once every byte is on the\n"
              "device. Run by umount(8) and udisks; see mount.exfat(8).\n"
              "  -l, -f  detach the mount even when it is busy (the worker still flushes before exiting)\n"
              "  -n, -v, -r  accepted\n", f);
}

/* Not ours: what umount(8) would have done without a helper. */
static int unmount_foreign(const char *target, bool detach) {
        if (umount2(target, detach ? MNT_DETACH : 0) < 0) {
                fprintf(stderr, "umount.fuseblk.exfat: %s: %s\n", target, strerror(errno));
                return HELPER_EXIT_FAIL;
        }
        return HELPER_EXIT_OK;
}

static int do_unmount(const char *target, bool detach, bool verbose) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const struct context c = { .ask_password = true };
        int r;

        r = bus_connect(&bus);
        if (r != 0)
                return helper_exit_from_exfatctl(r);
        r = manager_call_new(bus, "Unmount", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", target);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && detach)
                r = sd_bus_message_append(m, "{sv}", "force", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return helper_exit_from_exfatctl(log_call_failed("unmount", target, NULL, r));
        r = call_authorized(&c, bus, m, &error, &reply);
        if (r < 0 && sd_bus_error_has_name(&error, NOT_MOUNTED_ERROR))
                return unmount_foreign(target, detach);
        if (r < 0)
                return helper_exit_from_exfatctl(log_call_failed("unmount", target, &error, r));
        if (verbose)
                fprintf(stderr, "umount.fuseblk.exfat: %s unmounted, all data written\n", target);
        return HELPER_EXIT_OK;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        bool detach = false, verbose = false;
        int c;

        while ((c = getopt_long(argc, argv, "nlfvrt:N:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'l':
                case 'f':
                        detach = true;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'n':
                case 'r':
                case 't':
                        break;
                case 'N':
                        fprintf(stderr, "umount.fuseblk.exfat: -N (another mount namespace) is not supported\n");
                        return HELPER_EXIT_USAGE;
                case 'h':
                        usage(stdout);
                        return HELPER_EXIT_OK;
                default:
                        usage(stderr);
                        return HELPER_EXIT_USAGE;
                }
        }
        if (argc - optind != 1 || argv[optind][0] != '/') {
                usage(stderr);
                return HELPER_EXIT_USAGE;
        }
        return do_unmount(argv[optind], detach, verbose);
}
