/* SPDX-License-Identifier: MIT */
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define REMOVABLE_CONFIG SYSCONFDIR "/exfat-mountd/removable-devices"

bool device_path_valid(const char *path) {
        size_t n = strnlen(path, DEVICE_PATH_MAX + 1);
        return n > 1 && n <= DEVICE_PATH_MAX && path[0] == '/';
}

int device_resolve(const char *path, char **ret_path, dev_t *ret_devnum) {
        _cleanup_free_ char *p = realpath(path, NULL);
        struct stat st;

        if (!p)
                return errno == ENOMEM ? -ENOMEM : -ENOENT;
        if (stat(p, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        *ret_devnum = st.st_rdev;
        *ret_path = TAKE_PTR(p);
        return 0;
}

int mountinfo_has_device(const char *mountinfo, dev_t devnum) {
        _cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return -errno;
        /* Whole lines: a mount's fields (a FUSE fsname, a path) are the mounter's to choose, and a
         * line read in pieces would let a piece start with something like "1 2 8:16". */
        errno = 0;
        while (getline(&line, &size, f) >= 0) {
                unsigned maj, min;
                int end = 0;
                /* id parent major:minor root ... */
                if (sscanf(line, "%*u %*u %u:%u %n", &maj, &min, &end) == 2 && end > 0 &&
                    makedev(maj, min) == devnum)
                        return 1;
        }
        return errno == ENOMEM ? -ENOMEM : 0;
}

int device_is_mounted(dev_t devnum) {
        return mountinfo_has_device("/proc/self/mountinfo", devnum);
}

int device_open(const char *path, dev_t devnum, bool read_only, int *ret_fd) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        close(fd);

        fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devnum) {
                close(fd);
                return -ENODEV;
        }
        *ret_fd = fd;
        return 0;
}

int device_reopen_direct(int fd) {
        char path[64];
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -1;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        return open(path, (flags & O_ACCMODE) | O_DIRECT | O_CLOEXEC | O_NOCTTY);
}

static bool read_flag(const char *dir, const char *name) {
        char p[PATH_MAX], buf[8] = "";
        if ((size_t) snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
                return false;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        return n > 0 && buf[0] == '1';
}

static bool listed_in_config(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(REMOVABLE_CONFIG, "re");
        char line[PATH_MAX];

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = 0;
                char *l = line + strspn(line, " \t");
                if (*l != '/')
                        continue;
                if (fnmatch(l, path, FNM_PATHNAME) == 0)
                        return true;
                _cleanup_free_ char *resolved = realpath(l, NULL);
                if (resolved && strcmp(resolved, path) == 0)
                        return true;
        }
        return false;
}

bool device_is_removable(const char *path, dev_t devnum) {
        char link[64];
        snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        _cleanup_free_ char *sys = realpath(link, NULL);
        if (sys) {
                /* A partition's own directory has no "removable"; its disk is the parent. */
                char disk[PATH_MAX], partition[PATH_MAX];
                snprintf(disk, sizeof(disk), "%s", sys);
                snprintf(partition, sizeof(partition), "%s/partition", sys);
                if (access(partition, F_OK) == 0) {
                        char *slash = strrchr(disk, '/');
                        if (slash)
                                *slash = 0;
                }
                if (read_flag(disk, "removable"))
                        return true;
                if (strstr(disk, "/usb") || strstr(disk, "/mmc"))
                        return true;
        }
        return listed_in_config(path);
}
