/* SPDX-License-Identifier: MIT */
#include "fusectl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mountpoints.h"
#include "readahead.h"
#include "mountinfo.h"
#include "util.h"

#define FUSECTL "/sys/fs/fuse/connections"
#define FUSE_TYPE "fuseblk.exfat"

int fuse_mount_device(const char *device, const char *mount_point, int fuse_fd, uid_t uid, gid_t gid,
                      bool read_only, bool noexec, bool sync) {
        char data[256];
        unsigned long flags = MS_NOSUID | MS_NODEV;

        if (read_only)
                flags |= MS_RDONLY;
        if (noexec)
                flags |= MS_NOEXEC;
        if (sync)
                flags |= MS_SYNCHRONOUS;
        snprintf(data, sizeof(data),
                 "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,default_permissions,blksize=4096,"
                 "max_read=%u",
                 fuse_fd, (unsigned) uid, (unsigned) gid, FUSE_MAX_READ);
        /* The target is the directory an fd opened without following symlinks names, not the
         * path: a parent swapped for a symlink meanwhile cannot redirect the mount. */
        _cleanup_close_ int target = -1;
        int r = mountpoint_open(mount_point, &target);
        if (r < 0)
                return r;
        char at[64];
        snprintf(at, sizeof(at), "/proc/self/fd/%d", target);
        if (mount(device, at, FUSE_TYPE, flags, data) < 0)
                return -errno;
        return 0;
}

int fuse_abort_connection(dev_t devnum) {
        char path[128];

        snprintf(path, sizeof(path), FUSECTL "/%llu/abort",
                 ((unsigned long long) major(devnum) << 20) | minor(devnum));
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                /* fusectl may simply not be mounted (systemd mounts it at boot; a box may not). */
                if (mount("fusectl", FUSECTL, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
                        return -errno;
        }
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, "1", 1) < 0)
                return -errno;
        return 0;
}

struct fuse_query {
        const char *path;
        dev_t devnum;
};

static int is_our_mount(const struct mountinfo_entry *e, void *userdata) {
        const struct fuse_query *q = userdata;
        return e->devnum == q->devnum && strcmp(e->fstype, FUSE_TYPE) == 0 && (!q->path || strcmp(e->mount_point, q->path) == 0);
}

bool mountinfo_has_fuse_mount(const char *mountinfo, const char *path, dev_t devnum) {
        struct fuse_query q = { path, devnum };
        return mountinfo_foreach(mountinfo, is_our_mount, &q) > 0;
}

bool fuse_mount_present(const char *path, dev_t devnum) {
        return mountinfo_has_fuse_mount(MOUNTINFO_SELF, path, devnum);
}

struct id_query {
        int id;
        dev_t devnum;
};

static int is_our_mount_id(const struct mountinfo_entry *e, void *userdata) {
        const struct id_query *q = userdata;
        if (e->id != q->id)
                return 0;
        return e->devnum == q->devnum && strcmp(e->fstype, FUSE_TYPE) == 0 ? 1 : -ENOENT;
}

int fuse_unmount(const char *path, dev_t devnum, int flags, bool sync_first) {
        _cleanup_close_ int parent = -1;
        const char *name;
        char at[64 + NAME_MAX];
        int parent_mnt;

        /* The path is a string from our table, and its parents may belong to the caller (a chosen
         * mount point in a home): reached without following any symlink, and checked to be the
         * root of our own mount of devnum, so that a parent renamed and replaced by a link to
         * someone else's mount makes this fail rather than unmount theirs. */
        int r = mountpoint_open_parent(path, &parent, &parent_mnt, &name);
        if (r < 0)
                return r;
        int mnt = mountpoint_child_mount(parent, parent_mnt, name);
        if (mnt < 0)
                return mnt;
        struct id_query q = { mnt, devnum };
        r = mountinfo_foreach(MOUNTINFO_SELF, is_our_mount_id, &q);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        if (sync_first) {
                /* Data first: once detached, nobody could wait for the flush any more. */
                _cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        (void) syncfs(fd);
        }
        /* By name in the parent we hold (no fd of the mount itself: it would keep it busy); the
         * name cannot be renamed away while it is a mount point. */
        snprintf(at, sizeof(at), "/proc/self/fd/%d/%s", parent, name);
        if (umount2(at, flags | UMOUNT_NOFOLLOW) < 0)
                return -errno;
        return 0;
}
