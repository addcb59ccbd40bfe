/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* The typed Mount options a user may give with -o KEY[=VALUE] (see the Mount method in
 * dbus/org.exfat.Mountd1.xml). Only keys that were given are sent: the daemon picks the defaults. */
struct mount_options {
        bool has_uid, has_gid, has_dmask, has_fmask, has_noexec, has_sync, has_force;
        uint32_t uid, gid, dmask, fmask;
        bool noexec, sync, force;
};

/* Parses one -o argument: a comma-separated list of KEY=VALUE or bare boolean KEYs into `o`; a later
 * key replaces an earlier one. uid/gid take a number or a user/group name, dmask/fmask an octal mask
 * up to 0777, booleans 1/0/yes/no/true/false (a bare key means true). Returns 0, or -EINVAL with a
 * static description of the problem in *ret_why. */
int mount_options_parse(struct mount_options *o, const char *arg, const char **ret_why);

/* Appends the given options as "{sv}" entries to an open a{sv} container of `m`. */
int mount_options_append(const struct mount_options *o, sd_bus_message *m);
