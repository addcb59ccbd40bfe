/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "options.h"

/*
 * The option string mount(8) and udisks hand to mount.exfat ("-o rw,nosuid,uid=1000,..."),
 * mapped onto Mount's typed options. Kernel-style names: ro/rw, uid, gid, umask (both masks),
 * dmask, fmask, exec/noexec, sync/async. Accepted and ignored: nosuid and nodev (exfat-mountd
 * always mounts so), iocharset=utf8 (names are always UTF-8), errors=continue|remount-ro|panic
 * (a worker never panics the kernel), and the options libmount keeps for itself (defaults, auto,
 * noauto, nofail, user[=NAME], users, nouser, owner, group, _netdev, uhelper=, helper=,
 * comment=, x-*). Anything else, suid and dev included, is refused: a mount that silently drops
 * what was asked for is worse than no mount.
 */
struct helper_options {
        bool read_only;
        struct mount_options mount;     /* only the keys that were given */
};

/* Parses `optstr` (may be NULL or empty). With `sloppy` (mount -s), unknown options are skipped
 * instead of refused; options with bad values are refused either way. Returns 0, or -EINVAL with
 * the offending item copied into bad[bad_size] and a static reason in *ret_why. */
int helper_options_parse(const char *optstr, bool sloppy, struct helper_options *ret,
                         char *bad, size_t bad_size, const char **ret_why);

/* mount(8)'s helper exit statuses (see mount(8), "RETURN CODES"). */
enum {
        HELPER_EXIT_OK     = 0,
        HELPER_EXIT_USAGE  = 1,  /* incorrect invocation or permissions */
        HELPER_EXIT_SYSERR = 2,  /* system error: here, the bus or the daemon not reachable */
        HELPER_EXIT_FAIL   = 32, /* mount (or unmount) failure */
};

/* The helper status for an exfatctl exit code (errors.h) describing the same failure. */
int helper_exit_from_exfatctl(int exfatctl_exit);
