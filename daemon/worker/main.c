/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "options.h"
#include "standalone.h"

static void help(void) {
        printf("Usage:\n"
               "  exfat-worker DEVICE MOUNTPOINT [-o OPTIONS]   mount an exFAT volume (foreground)\n"
               "  exfat-worker --service                        serve for exfat-mountd (stdin: its socket)\n"
               "\n"
               "Serves an exFAT volume through FUSE until it is unmounted, then flushes it and clears\n"
               "its dirty flag.\n"
               "\n"
               "Options:\n"
               "  -o OPTIONS      comma-separated mount options:\n"
               "                    ro, rw, uid=N, gid=N, umask=OCT, dmask=OCT, fmask=OCT, noexec,\n"
               "                    sync, force (write a volume marked dirty), allow_other (default\n"
               "                    for root), default_permissions (always), and the generic\n"
               "                    nosuid, nodev, noatime, relatime, dirsync, ...\n"
               "  -f              stay in the foreground (always the case)\n"
               "  --service       service mode for exfat-mountd\n"
               "  -h, --help      show this help\n"
               "  -V, --version   show the version\n");
}

static int run_service(void) {
        int type = 0;
        socklen_t len = sizeof(type);

        log_setup(true, "exfat-worker");
        if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
                log_error("--service needs a SOCK_SEQPACKET socket on stdin");
                return 1;
        }
        return link_run(STDIN_FILENO);
}

int main(int argc, char *argv[]) {
        static const struct option longopts[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "service", no_argument, NULL, 'S' },
                {}
        };
        struct worker_options o;
        bool service = false;
        int c;

        log_setup(false, "exfat-worker");
        options_init(&o);
        while ((c = getopt_long(argc, argv, "hVfo:", longopts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("exfat-worker %s\n", PACKAGE_VERSION);
                        return 0;
                case 'S':
                        service = true;
                        break;
                case 'f':
                        break;
                case 'o':
                        if (options_parse(&o, optarg) < 0)
                                return 1;
                        break;
                default:
                        fprintf(stderr, "Try 'exfat-worker --help'.\n");
                        return 1;
                }
        }

        if (service) {
                if (optind != argc) {
                        log_error("--service takes no other arguments");
                        return 1;
                }
                return run_service();
        }
        if (argc - optind != 2) {
                log_error("expected DEVICE and MOUNTPOINT (see --help)");
                return 1;
        }
        return standalone_run(argv[optind], argv[optind + 1], &o);
}
