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

/* A caller-chosen mount point (policy_mount_point_allowed() said yes): an existing empty directory
 * that is not a mount point, or a new one in an existing parent, never directly in "/". The path is
 * walked from "/" without following any symlink and without entering a FUSE or network file system
 * (mountinfo_mount_may_stall()). -ELOOP for a symlink on the way, -EXDEV for FUSE or a network file
 * system, -ENOTEMPTY, -EBUSY (a mount point), -EPERM (in "/"), other -errno. *ret_created says
 * whether we made it. */
int mountpoint_create_custom(const char *path, bool *ret_created);

/* An O_PATH fd of path (absolute, canonical), opened one component at a time from "/" with
 * O_NOFOLLOW and never through a FUSE or network file system: once open, no rename or symlink
 * swapped in for a parent changes what it names. Mount on it through /proc/self/fd/N. */
int mountpoint_open(const char *path, int *ret_fd);

/* The parent of path (absolute), opened as mountpoint_open() opens a path; *ret_mnt its mount id,
 * *ret_name the last component (pointing into path). */
int mountpoint_open_parent(const char *path, int *ret_fd, int *ret_mnt, const char **ret_name);

/* The mount id of the mount whose root is name in parent (on mount parent_mnt), asking nothing of
 * that mount's file system; -ENOENT when name is no mount root (a plain directory, a symlink). */
int mountpoint_child_mount(int parent, int parent_mnt, const char *name);

/* rmdir of path's last component in its parent reached without following a symlink anywhere: a
 * parent swapped for a symlink cannot make root remove a directory elsewhere. */
int mountpoint_remove(const char *path);

/* True when path is a mount point (different device or mount id from its parent). */
bool mountpoint_is_mounted(const char *path);

/* 1 when mount id (in mountinfo) is a file system whose lookups may wait on a FUSE server or a
 * network peer (fuse, fuseblk, fuse.*, nfs, nfs4, cifs, ceph, 9p, ...), 0 when not, -ENOENT when the
 * id is not there. A walk never enters one: the daemon's event loop would wait with it. */
int mountinfo_mount_may_stall(const char *mountinfo, int id);
