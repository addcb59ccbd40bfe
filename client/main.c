/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "exfatctl.h"
#include "util.h"

enum {
        OPT_NO_ASK_PASSWORD = 0x100,
        OPT_VERSION,
        OPT_JSON,
};

/* Which options a command accepts, so that "list --force" is an error rather than ignored. */
enum {
        ALLOW_READ_ONLY   = 1 << 0,
        ALLOW_MOUNT_POINT = 1 << 1,
        ALLOW_OPTIONS     = 1 << 2,
        ALLOW_FORCE       = 1 << 3,
        ALLOW_JSON        = 1 << 4,
        NEEDS_AUTH        = 1 << 5,  /* calls polkit-checked methods: --no-ask-password matters */
        ALLOW_ALL         = 1 << 6,
};

static const char exit_status_help[] =
        "Exit status:\n"
        "  0  success\n"
        "  1  failure (worker failed, daemon error, ...)\n"
        "  2  usage error, or the daemon refused an argument (InvalidArgument)\n"
        "  3  not authorized (polkit said no)\n"
        "  4  no such device, or not mounted\n"
        "  5  device or mount busy\n"
        "  6  not an exFAT volume\n"
        "  7  exfat-mountd or the system bus is not available\n"
        "  8  already mounted\n"
        "  9  volume is dirty\n";

static const struct command {
        const char *name;
        int (*run)(const struct context *c, int argc, char **argv);
        unsigned allowed;
        const char *usage;
        const char *help;
} commands[] = {
        { "mount", cmd_mount, ALLOW_READ_ONLY | ALLOW_MOUNT_POINT | ALLOW_OPTIONS | NEEDS_AUTH,
          "mount DEVICE [--read-only] [--mount-point DIR] [-o KEY=VALUE]...",
          "Mounts the exFAT volume on DEVICE for you, by default at /run/media/$USER/LABEL.\n\n"
          "  -r, --read-only        mount read-only\n"
          "  -m, --mount-point DIR  mount at DIR (needs the mount-point authorization)\n"
          "  -o KEY[=VALUE][,...]   typed mount options, repeatable:\n"
          "                           uid=USER|N, gid=GROUP|N   owner of the files\n"
          "                           dmask=OCTAL, fmask=OCTAL  permission masks (default 0022, 0133)\n"
          "                           noexec, sync              booleans (=yes/no, bare means yes)\n"
          "                           force                     mount a dirty volume read-write\n" },
        { "unmount", cmd_unmount, ALLOW_FORCE | NEEDS_AUTH,
          "unmount DEVICE|DIR [--force]",
          "Unmounts a volume mounted by exfat-mountd. Returns once all data is on the device and it is\n"
          "safe to unplug.\n\n"
          "  -f, --force  detach the mount even if files on it are in use\n" },
        { "label", cmd_label, NEEDS_AUTH,
          "label DEVICE LABEL",
          "Sets the volume label of DEVICE, mounted or not (at most 11 characters; \"\" clears it).\n" },
        { "list", cmd_list, ALLOW_JSON | ALLOW_ALL,
          "list [--all] [--json]",
          "Lists the mounts of exfat-mountd: device, mount point, label, uuid, owner, ro/rw, state.\n\n"
          "  -a, --all  also the exFAT devices it has not mounted (state \"unmounted\"; needs udev)\n"
          "  --json     print a JSON array of objects (device, mount_point, label, uuid, owner,\n"
          "             owner_uid, access, read_only, state, unit, object)\n" },
        { "info", cmd_info, ALLOW_JSON,
          "info DEVICE [--json]",
          "Shows what exfat-mountd knows about an exFAT device: label, uuid, size, removable, dirty\n"
          "flag (known while it is mounted), and if mounted where, owner, access and worker unit.\n\n"
          "  --json  print one JSON object (device, label, uuid, size, removable, dirty, state,\n"
          "          mount_point, owner, owner_uid, access, read_only, unit, object, mount_object)\n" },
        { "monitor", cmd_monitor, 0,
          "monitor",
          "Prints one line for each mount appearing or going away, and for each exFAT device\n"
          "appearing or going away (udev), until interrupted.\n" },
};

static const struct command *find_command(const char *name) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static void help_general(void) {
        printf("Usage: exfatctl [--no-ask-password] COMMAND [ARGS]...\n\n"
               "Mounts and unmounts exFAT volumes through exfat-mountd.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                printf("  exfatctl %s\n", commands[i].usage);
        printf("\nOptions:\n"
               "  --no-ask-password  never ask for a password; fail if authorization needs one\n"
               "  -h, --help         show this help (COMMAND --help: help for COMMAND)\n"
               "  --version          show the version\n\n"
               "When authorization needs a password and stdin is a terminal, a text agent (pkttyagent)\n"
               "asks for it.\n\n%s", exit_status_help);
}

static void help_command(const struct command *cmd) {
        printf("Usage: exfatctl %s\n\n%s\n", cmd->usage, cmd->help);
        if (cmd->allowed & NEEDS_AUTH)
                printf("  --no-ask-password  never ask for a password; fail if authorization needs one\n\n");
        fputs(exit_status_help, stdout);
}

static int usage_error(const char *fmt, const char *arg) {
        fputs("exfatctl: ", stderr);
        fprintf(stderr, fmt, arg);
        fputs(" (see exfatctl --help)\n", stderr);
        return EXFATCTL_EXIT_USAGE;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h' },
                { "version",         no_argument,       NULL, OPT_VERSION },
                { "no-ask-password", no_argument,       NULL, OPT_NO_ASK_PASSWORD },
                { "read-only",       no_argument,       NULL, 'r' },
                { "mount-point",     required_argument, NULL, 'm' },
                { "force",           no_argument,       NULL, 'f' },
                { "json",            no_argument,       NULL, OPT_JSON },
                { "all",             no_argument,       NULL, 'a' },
                {}
        };
        struct context c = { .ask_password = true };
        const struct command *cmd;
        unsigned used = 0;
        bool help = false;
        const char *why;
        _cleanup_(freep) char *mount_point = NULL;
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":hrm:fo:a", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help = true;
                        break;
                case OPT_VERSION:
                        printf("exfatctl %s\n", PACKAGE_VERSION);
                        return EXFATCTL_EXIT_OK;
                case OPT_NO_ASK_PASSWORD:
                        c.ask_password = false;
                        break;
                case 'r':
                        c.read_only = true;
                        used |= ALLOW_READ_ONLY;
                        break;
                case 'm':
                        free(mount_point);
                        mount_point = path_make_absolute_cwd(optarg);
                        if (!mount_point)
                                return usage_error("out of memory for %s", optarg);
                        c.mount_point = mount_point;
                        used |= ALLOW_MOUNT_POINT;
                        break;
                case 'f':
                        c.force = true;
                        used |= ALLOW_FORCE;
                        break;
                case 'o':
                        if (mount_options_parse(&c.mount_options, optarg, &why) < 0) {
                                fprintf(stderr, "exfatctl: -o %s: %s\n", optarg, why);
                                return EXFATCTL_EXIT_USAGE;
                        }
                        used |= ALLOW_OPTIONS;
                        break;
                case OPT_JSON:
                        c.json = true;
                        used |= ALLOW_JSON;
                        break;
                case 'a':
                        c.all = true;
                        used |= ALLOW_ALL;
                        break;
                case ':':
                        return usage_error("%s needs an argument", argv[optind - 1]);
                default:
                        return usage_error("unknown option %s", argv[optind - 1]);
                }

        if (optind >= argc) {
                if (help) {
                        help_general();
                        return EXFATCTL_EXIT_OK;
                }
                return usage_error("%s", "no command given");
        }

        /* "exfatctl help [COMMAND]" reads naturally too. */
        if (strcmp(argv[optind], "help") == 0) {
                if (optind + 1 >= argc) {
                        help_general();
                        return EXFATCTL_EXIT_OK;
                }
                cmd = find_command(argv[optind + 1]);
                if (!cmd)
                        return usage_error("unknown command \"%s\"", argv[optind + 1]);
                help_command(cmd);
                return EXFATCTL_EXIT_OK;
        }

        cmd = find_command(argv[optind]);
        if (!cmd)
                return usage_error("unknown command \"%s\"", argv[optind]);
        if (help) {
                help_command(cmd);
                return EXFATCTL_EXIT_OK;
        }
        if (used & ~cmd->allowed)
                return usage_error("an option given does not apply to \"%s\"", cmd->name);

        return cmd->run(&c, argc - optind - 1, argv + optind + 1);
}
