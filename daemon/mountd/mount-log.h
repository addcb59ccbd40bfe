/* SPDX-License-Identifier: MIT */
#pragma once

/* The events of a Mount's life that an administrator looks for, each logged once with fields:
 * MESSAGE_ID (one per kind, explained in exfat-mountd.catalog), DEVICE=, MOUNT_POINT=, UNIT=,
 * OWNER_UID=, ERRNO=. Under systemd they go to the journal with sd_journal_send(), so that
 * `journalctl MESSAGE_ID=...` or `journalctl DEVICE=/dev/sdb1` finds them; elsewhere they are
 * plain log lines. */

#include <stdbool.h>
#include <sys/types.h>

typedef enum MountEvent {
        MOUNT_EVENT_MOUNTED,
        MOUNT_EVENT_UNMOUNTED,
        MOUNT_EVENT_REFUSED,     /* polkit said no */
        MOUNT_EVENT_FAILED,      /* a mount, label or unmount failed: the worker, the device, the kernel */
        MOUNT_EVENT_ABORTED,     /* a worker cut off: it died, hung or broke the protocol */
        MOUNT_EVENT_RELABELLED,
        _MOUNT_EVENT_MAX,
} MountEvent;

/* The MESSAGE_ID of an event: 32 hex digits, as in the catalog. */
const char *mount_event_id(MountEvent e);

/* Structured entries go to the journal (set by main() when stderr is the journal). */
void mount_log_use_journal(bool b);

struct mount_log_fields {
        const char *device;
        const char *mount_point; /* NULL or "": none */
        const char *unit;
        uid_t owner;             /* (uid_t) -1: none */
        int error;               /* -errno or 0 */
};

/* Logs the event once, at a priority that suits its kind; the message is printf-formatted. */
void mount_log_event(MountEvent e, const struct mount_log_fields *f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
