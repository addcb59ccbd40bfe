/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The label as a single path component: '/', quotes, backslashes and non-printable characters
 * become '_'; "." and ".." are not names. malloc'd, or NULL on ENOMEM. */
char *mountpoint_sanitize(const char *label);

/* Makes /run/media/USER (root 0750, ACL user:UID:r-x) and in it a new 0700 directory named after the
 * label, else the uuid, else "disk", with a numeric suffix when taken. */
int mountpoint_create_default(const char *user, uid_t uid, const char *label, const char *uuid, char **ret_path);

/* A caller-chosen mount point: an existing empty directory that is not a mount point, or a new one
 * (its parent must exist). *ret_created says whether we made it. */
int mountpoint_create_custom(const char *path, bool *ret_created);

/* True when path is a mount point (different device or mount id from its parent). */
bool mountpoint_is_mounted(const char *path);
