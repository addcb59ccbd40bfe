/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Mounts a fuseblk filesystem served through fuse_fd on mount_point, opened with mountpoint_open()
 * (no symlink followed, no FUSE entered). Flags and data come only from typed, validated values:
 * never from caller strings. */
int fuse_mount_device(const char *device, const char *mount_point, int fuse_fd, uid_t uid, gid_t gid,
                      bool read_only, bool noexec, bool sync);

/* Aborts the FUSE connection of a fuseblk mount of devnum through fusectl, so that no syscall
 * waits for a worker any more. Mounts fusectl when nobody did. */
int fuse_abort_connection(dev_t devnum);

/* Unmounts (umount2 flags) our fuseblk.exfat mount of devnum whose root is path, syncing it first
 * when asked. Reaches it without following a symlink anywhere and checks that the mount found there
 * is ours: -ENOENT when it is not, -ELOOP for a symlink on the way, else umount2's -errno. */
int fuse_unmount(const char *path, dev_t devnum, int flags, bool sync_first);

/* True when mountinfo shows a fuseblk.exfat mount of devnum at path. */
bool fuse_mount_present(const char *path, dev_t devnum);
/* The same for a mountinfo file; path NULL: anywhere. */
bool mountinfo_has_fuse_mount(const char *mountinfo, const char *path, dev_t devnum);
