/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

#define MOUNTD_ERROR "org.exfat.Mountd1.Error."

static const struct {
        const char *name;
        int exit_code;
} error_table[] = {
        { MOUNTD_ERROR "NotAuthorized",                              EXFATCTL_EXIT_NOT_AUTHORIZED },
        /* The bus policy refusing us, or the daemon wanting a password we said we would not type. */
        { "org.freedesktop.DBus.Error.AccessDenied",                 EXFATCTL_EXIT_NOT_AUTHORIZED },
        { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", EXFATCTL_EXIT_NOT_AUTHORIZED },
        { MOUNTD_ERROR "NoSuchDevice",                               EXFATCTL_EXIT_NOT_FOUND },
        { MOUNTD_ERROR "NotMounted",                                 EXFATCTL_EXIT_NOT_FOUND },
        { MOUNTD_ERROR "Busy",                                       EXFATCTL_EXIT_BUSY },
        { MOUNTD_ERROR "NotExfat",                                   EXFATCTL_EXIT_NOT_EXFAT },
        { MOUNTD_ERROR "InvalidArgument",                            EXFATCTL_EXIT_USAGE },
        { "org.freedesktop.DBus.Error.InvalidArgs",                  EXFATCTL_EXIT_USAGE },
        { MOUNTD_ERROR "AlreadyMounted",                             EXFATCTL_EXIT_ALREADY_MOUNTED },
        { MOUNTD_ERROR "Dirty",                                      EXFATCTL_EXIT_DIRTY },
        { MOUNTD_ERROR "WorkerFailed",                               EXFATCTL_EXIT_FAILURE },
        { MOUNTD_ERROR "Failed",                                     EXFATCTL_EXIT_FAILURE },
        /* Nobody owns the name and it cannot be activated. */
        { "org.freedesktop.DBus.Error.ServiceUnknown",               EXFATCTL_EXIT_UNAVAILABLE },
        { "org.freedesktop.DBus.Error.NameHasNoOwner",               EXFATCTL_EXIT_UNAVAILABLE },
        { "org.freedesktop.DBus.Error.NoServer",                     EXFATCTL_EXIT_UNAVAILABLE },
        { "org.freedesktop.DBus.Error.Disconnected",                 EXFATCTL_EXIT_UNAVAILABLE },
        { "org.freedesktop.DBus.Error.FileNotFound",                 EXFATCTL_EXIT_UNAVAILABLE },
        /* Only the bus sends this one: the daemon was started but never took its name. */
        { "org.freedesktop.DBus.Error.TimedOut",                     EXFATCTL_EXIT_UNAVAILABLE },
};

/* Activation failures come with a family of names: dbus-daemon's own spawn errors, and whatever
 * systemd answered when asked to start the unit (NoSuchUnit, UnitMasked, ...). */
static const char *const unavailable_prefixes[] = {
        "org.freedesktop.DBus.Error.Spawn.",
        "org.freedesktop.systemd1.",
};

int error_name_to_exit(const char *name) {
        if (!name)
                return EXFATCTL_EXIT_FAILURE;

        for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
                if (strcmp(name, error_table[i].name) == 0)
                        return error_table[i].exit_code;

        for (size_t i = 0; i < sizeof(unavailable_prefixes) / sizeof(unavailable_prefixes[0]); i++)
                if (strncmp(name, unavailable_prefixes[i], strlen(unavailable_prefixes[i])) == 0)
                        return EXFATCTL_EXIT_UNAVAILABLE;

        return EXFATCTL_EXIT_FAILURE;
}

int errno_to_exit(int error) {
        switch (error < 0 ? -error : error) {
        case ENOENT:        /* no socket at the bus address */
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case EHOSTUNREACH:
                return EXFATCTL_EXIT_UNAVAILABLE;
        case EACCES:
        case EPERM:
                return EXFATCTL_EXIT_NOT_AUTHORIZED;
        case EBUSY:
                return EXFATCTL_EXIT_BUSY;
        case EINVAL:
                return EXFATCTL_EXIT_USAGE;
        default:
                return EXFATCTL_EXIT_FAILURE;
        }
}

int log_call_failed(const char *verb, const char *object, const sd_bus_error *error, int r) {
        const char *name = error && sd_bus_error_is_set(error) ? error->name : NULL;
        int code = name ? error_name_to_exit(name) : errno_to_exit(r);
        const char *message = name ? (error->message && *error->message ? error->message : name)
                                   : strerror(r < 0 ? -r : r);

        if (code == EXFATCTL_EXIT_NOT_AUTHORIZED)
                fprintf(stderr, "Not authorized to %s %s: %s\n", verb, object, message);
        else if (code == EXFATCTL_EXIT_UNAVAILABLE)
                fprintf(stderr, "Cannot %s %s: exfat-mountd is not available: %s\n", verb, object, message);
        else
                fprintf(stderr, "Cannot %s %s: %s\n", verb, object, message);

        return code;
}
