/* SPDX-License-Identifier: MIT */
#pragma once

#include <systemd/sd-bus.h>

/* exfatctl's exit codes: part of its interface (documented in --help and client/README.md). */
enum {
        EXFATCTL_EXIT_OK              = 0,
        EXFATCTL_EXIT_FAILURE         = 1,  /* anything not listed below */
        EXFATCTL_EXIT_USAGE           = 2,  /* bad command line, or the daemon refused an argument */
        EXFATCTL_EXIT_NOT_AUTHORIZED  = 3,
        EXFATCTL_EXIT_NOT_FOUND       = 4,  /* no such device, or not mounted */
        EXFATCTL_EXIT_BUSY            = 5,
        EXFATCTL_EXIT_NOT_EXFAT       = 6,
        EXFATCTL_EXIT_UNAVAILABLE     = 7,  /* system bus or exfat-mountd not reachable */
        EXFATCTL_EXIT_ALREADY_MOUNTED = 8,
        EXFATCTL_EXIT_DIRTY           = 9,
};

/* Exit code for a D-Bus error name (NULL or unknown names give EXFATCTL_EXIT_FAILURE). */
int error_name_to_exit(const char *name);

/* Exit code for a negative errno from connecting to / talking with the bus. */
int errno_to_exit(int error);

/* Prints one line to stderr for a failed call: "<Not authorized to|Cannot> VERB OBJECT: MESSAGE",
 * and returns the exit code. `error` may be unset, then `r` (-errno) describes the failure. */
int log_call_failed(const char *verb, const char *object, const sd_bus_error *error, int r);
