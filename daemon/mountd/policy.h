/* SPDX-License-Identifier: MIT */
#pragma once

/* Which polkit actions a Mount needs, where a caller may choose to mount, and who a uid is. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "options.h"

#define POLICY_ACTIONS_MAX 3

#define MOUNT_POINT_PREFIXES_CONFIG SYSCONFDIR "/exfat-mountd/mount-point-prefixes"

/* What the daemon needs to know of a uid: the name for /run/media/$NAME (the uid in decimal when
 * there is no passwd entry or its name is unusable as a path component), the primary group (the
 * uid when there is no entry) and the home directory (NULL: none, or not a usable absolute path).
 * Asks NSS, which may block for as long as a directory service likes: never call it on the event
 * loop. */
struct user_record {
        char *name;
        gid_t gid;
        char *home;
};

int policy_lookup_user(uid_t uid, struct user_record *ret);
void user_record_done(struct user_record *u);

/* The actions a Mount of device needs, in the order polkit is asked, into actions[POLICY_ACTIONS_MAX]:
 * ACTION_MOUNT for a removable device, else ACTION_MOUNT_SYSTEM; ACTION_MOUNT_OTHER_OWNER when the uid
 * or gid options name someone other than the caller; ACTION_MOUNT_POINT for a chosen mount point,
 * which must also pass policy_mount_point_allowed() with the caller's name and home directory
 * (caller_home NULL for none) and the config file. Returns their number, or -errno with error set
 * (InvalidArgument for a mount point refused, for every caller, root included). */
int policy_mount(const char *device, dev_t devnum, const struct mount_options *o, uid_t caller, gid_t caller_gid,
                 const char *caller_name, const char *caller_home, const char **actions, sd_bus_error *error);

/* Whether a caller whose home is home (NULL: none) may choose mount_point (syntax already checked by
 * mount_point_option_valid()): strictly beneath one of the prefixes of config (one absolute path per
 * line, "~" for the caller's home, '#' comments; absent: /run/media, /media, /mnt and ~), and not in
 * or above a system directory (/etc, /usr, /var, ...) whatever the config says. Lexical only: the
 * file system is not looked at (mountpoint_create_custom() does that, without following symlinks).
 * Under /run/media and /media, only strictly beneath the user's own directory (/run/media/USER/x;
 * user NULL, for root: anyone's), whatever the config says.
 * 0, -EPERM (not under a prefix, or the config is unreadable), -EACCES (a system directory) or
 * -EXDEV (a media directory itself, or another user's). */
int policy_mount_point_allowed(const char *mount_point, const char *user, const char *home, const char *config);
