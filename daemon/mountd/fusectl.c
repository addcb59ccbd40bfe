/* SPDX-License-Identifier: MIT */
#include "fusectl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mountpoints.h"
#include "readahead.h"
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

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *o = s;
        for (char *c = s; *c; c++) {
                if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[2] <= '7' && c[3] >= '0' && c[3] <= '7') {
                        *o++ = (char) (((c[1] - '0') << 6) | ((c[2] - '0') << 3) | (c[3] - '0'));
                        c += 3;
                } else
                        *o++ = *c;
        }
        *o = 0;
}

bool fuse_mount_present(const char *path, dev_t devnum) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f)) {
                unsigned maj, min;
                char mp[4096], type[64];
                /* id parent maj:min root mountpoint options ... - fstype source superopts */
                if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) != 3)
                        continue;
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(sep, " - %63s", type) != 1)
                        continue;
                unescape_octal(mp);
                if (makedev(maj, min) == devnum && strcmp(mp, path) == 0 && strcmp(type, FUSE_TYPE) == 0)
                        return true;
        }
        return false;
}
