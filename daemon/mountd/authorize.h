/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* The polkit actions (polkit/org.exfat.mountd.policy); policy.h says which a Mount needs. */
#define ACTION_MOUNT "org.exfat.mountd.mount"                          /* a removable device */
#define ACTION_MOUNT_SYSTEM "org.exfat.mountd.mount-system"            /* a non-removable device */
#define ACTION_MOUNT_OTHER_OWNER "org.exfat.mountd.mount-other-owner"  /* files owned by another uid/gid */
#define ACTION_MOUNT_POINT "org.exfat.mountd.mount-point"              /* a mount point of one's choosing */
#define ACTION_UNMOUNT_OTHERS "org.exfat.mountd.unmount-others"
#define ACTION_LABEL "org.exfat.mountd.label"

/* result: 0 authorized; -EACCES not authorized (error says why); other -errno on failure. */
typedef void (*authorize_callback_t)(sd_bus_message *request, int result, const sd_bus_error *error, void *userdata);

/* Asks polkit whether the sender of request may do action on device (passed as the detail "device"). Never blocks: returns 1 when the answer
 * is known at once (uid 0 callers), 0 when callback will be called later, -errno on failure. The
 * check is interactive only when the caller allowed it and did not pass auth.no_user_interaction. */
int authorize_check(sd_bus_message *request, uid_t uid, const char *action, const char *device,
                    bool no_user_interaction, authorize_callback_t callback, void *userdata);

/* The caller's effective uid, from the bus (not from the message): a synchronous round trip to the
 * bus, so ask once per request and pass the uid to authorize_check(). -EPERM when the bus did not
 * vouch for it (see below). */
int authorize_caller_uid(sd_bus_message *request, uid_t *ret);

/* The effective uid of creds, only when the bus itself reported it: -EPERM when sd-bus filled it in
 * from /proc (augmented), which is racy and never good enough to authorize anything. */
int authorize_uid_from_creds(sd_bus_creds *creds, uid_t *ret);
