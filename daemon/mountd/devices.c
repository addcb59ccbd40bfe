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
#include "mountinfo.h"
#include "util.h"

#define REMOVABLE_CONFIG SYSCONFDIR "/exfat-mountd/removable-devices"

bool device_path_valid(const char *path) {
        size_t n = strnlen(path, DEVICE_PATH_MAX + 1);
        return n > 1 && n <= DEVICE_PATH_MAX && path[0] == '/';
}

/* The path inside /dev, without leading slashes; NULL for a path elsewhere. */
static const char *beneath_dev(const char *path) {
        if (strncmp(path, "/dev/", 5) != 0)
                return NULL;
        path += 5;
        path += strspn(path, "/");
        return *path ? path : NULL;
}

#define SYMLINKS_MAX 40

/* Moves the first component of *todo (a relative path) into c (NUL-terminated); false when none. */
static bool next_component(char *todo, char *c, size_t size) {
        size_t skip = strspn(todo, "/"), n = strcspn(todo + skip, "/");
        if (n == 0)
                return false;
        snprintf(c, size, "%.*s", (int) n, todo + skip);
        memmove(todo, todo + skip + n, strlen(todo + skip + n) + 1);
        return true;
}

/*
 * Resolves rel inside the filesystem of dir (an fd of /dev) the way RESOLVE_BENEATH|RESOLVE_NO_XDEV
 * would: one component at a time, symlinks followed by hand (relative ones only), ".." never above
 * dir, and a component on another filesystem refused before anything below it is looked up. Not
 * openat2() itself: systemd's RestrictSUIDSGID= (the daemon's unit has it) makes openat2 ENOSYS,
 * since seccomp cannot see the flags inside struct open_how. Returns the path relative to dir.
 */
static int resolve_beneath(int dir, const char *rel, char **ret) {
        char todo[2 * DEVICE_PATH_MAX + 2], done[DEVICE_PATH_MAX + 1] = "", c[NAME_MAX + 1];
        char cand[sizeof(done) + sizeof(c) + 1], target[DEVICE_PATH_MAX + 1];
        unsigned links = 0;
        struct stat top, st;

        if (fstat(dir, &top) < 0)
                return -errno;
        if (strlen(rel) >= sizeof(todo))
                return -ENAMETOOLONG;
        strcpy(todo, rel);
        while (next_component(todo, c, sizeof(c))) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        char *slash = strrchr(done, '/');
                        if (!*done)
                                return -EXDEV; /* above /dev */
                        if (slash)
                                *slash = 0;
                        else
                                *done = 0;
                        continue;
                }
                if ((size_t) snprintf(cand, sizeof(cand), "%s%s%s", done, *done ? "/" : "", c) >= sizeof(done))
                        return -ENAMETOOLONG;
                if (fstatat(dir, cand, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (st.st_dev != top.st_dev)
                        return -EXDEV; /* a mount point: /dev/shm, /dev/pts, one a caller made */
                if (S_ISLNK(st.st_mode)) {
                        ssize_t n;
                        if (++links > SYMLINKS_MAX)
                                return -ELOOP;
                        n = readlinkat(dir, cand, target, sizeof(target) - 1);
                        if (n < 0)
                                return -errno;
                        if (n == 0 || (size_t) n >= sizeof(target) - 1 || target[0] == '/')
                                return -EXDEV;
                        target[n] = 0;
                        if ((size_t) n + 1 + strlen(todo) >= sizeof(todo))
                                return -ENAMETOOLONG;
                        memmove(todo + n + 1, todo, strlen(todo) + 1);
                        memcpy(todo, target, (size_t) n);
                        todo[n] = '/';
                        continue;
                }
                strcpy(done, cand);
        }
        if (!*done)
                return -ENOENT;
        *ret = strdup(done);
        return *ret ? 0 : -ENOMEM;
}

int device_resolve(const char *path, char **ret_path, dev_t *ret_devnum) {
        _cleanup_close_ int dev_dir = -1;
        _cleanup_free_ char *rel = NULL;
        const char *start = beneath_dev(path);
        struct stat st;
        int r;

        if (!start)
                return -ENOENT;
        dev_dir = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dev_dir < 0)
                return -errno;
        /* Never leaves /dev's own filesystem (devtmpfs, in memory, root's): no lookup here can
         * wait for a FUSE server, one of our workers included. */
        r = resolve_beneath(dev_dir, start, &rel);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT;
        if (fstatat(dev_dir, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -ENOENT;
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        if (asprintf(ret_path, "/dev/%s", rel) < 0)
                return -ENOMEM;
        *ret_devnum = st.st_rdev;
        return 0;
}

static int uses_device(const struct mountinfo_entry *e, void *userdata) {
        return e->devnum == *(const dev_t *) userdata;
}

int mountinfo_has_device(const char *mountinfo, dev_t devnum) {
        return mountinfo_foreach(mountinfo, uses_device, &devnum);
}

int device_is_mounted(dev_t devnum) {
        return mountinfo_has_device(MOUNTINFO_SELF, devnum);
}

int device_open(const char *path, dev_t devnum, bool read_only, int *ret_claim_fd, int *ret_fd) {
        _cleanup_close_ int claim = -1, fd = -1;
        struct stat st;

        /* O_EXCL on a block device is the kernel's exclusive claim: EBUSY while it is mounted or
         * claimed, and as long as this fd stays open nobody else (udisks, the kernel driver) can
         * mount or claim it. */
        claim = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY);
        if (claim < 0)
                return -errno;
        fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* Both opens went by the path: both must still be the device the caller named. */
        if (fstat(claim, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devnum)
                return -ENODEV;
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devnum)
                return -ENODEV;
        *ret_claim_fd = TAKE_FD(claim);
        *ret_fd = TAKE_FD(fd);
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

/* The first line of dir/name, without its newline; false when unreadable or empty. */
static bool read_attr(const char *dir, const char *name, char *buf, size_t size) {
        char p[PATH_MAX];
        if ((size_t) snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
                return false;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, size - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return *buf != 0;
}

static bool listed_in_config(const char *config, const char *path) {
        _cleanup_fclose_ FILE *f = fopen(config, "re");
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

/* The sysfs directory of the whole disk devnum belongs to (a partition's parent), malloc'd. */
static char *disk_dir(const char *sysfs, dev_t devnum) {
        char link[PATH_MAX], partition[PATH_MAX];
        snprintf(link, sizeof(link), "%s/dev/block/%u:%u", sysfs, major(devnum), minor(devnum));
        char *dir = realpath(link, NULL);
        if (!dir)
                return NULL;
        snprintf(partition, sizeof(partition), "%s/partition", dir);
        if (access(partition, F_OK) == 0) {
                char *slash = strrchr(dir, '/');
                if (slash && slash != dir)
                        *slash = 0;
        }
        return dir;
}

/* What udev found out about the device: its data file has "E:ID_BUS=usb" for a USB disk (also one
 * whose kernel removable flag is 0, as most USB SSDs and card readers have). */
static bool udev_bus_is_usb(const char *udev_data, dev_t devnum) {
        char p[PATH_MAX], line[256];
        snprintf(p, sizeof(p), "%s/b%u:%u", udev_data, major(devnum), minor(devnum));
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strcmp(line, "E:ID_BUS=usb\n") == 0 || strcmp(line, "E:ID_BUS=usb") == 0)
                        return true;
        return false;
}

/* The subsystem of a sysfs device directory: the name its "subsystem" link points to. */
static bool subsystem_of(const char *dir, char *buf, size_t size) {
        char p[PATH_MAX], target[PATH_MAX];
        if ((size_t) snprintf(p, sizeof(p), "%s/subsystem", dir) >= sizeof(p))
                return false;
        ssize_t n = readlink(p, target, sizeof(target) - 1);
        if (n <= 0)
                return false;
        target[n] = 0;
        const char *slash = strrchr(target, '/'), *name = slash ? slash + 1 : target;
        if (strlen(name) >= size)
                return false;
        strcpy(buf, name);
        return true;
}

/* Walks up from the disk through its parent devices: a USB device among them makes it removable;
 * an MMC card is removable when it is an SD card, not when it is soldered-in eMMC ("MMC"). The
 * names in the path itself say nothing (a virtual device may be called "usb-anything"). */
static bool parent_bus_is_removable(const char *sysfs, const char *disk) {
        char dir[PATH_MAX], top[PATH_MAX], sub[64], type[16];
        snprintf(top, sizeof(top), "%s/devices", sysfs);
        snprintf(dir, sizeof(dir), "%s", disk);
        for (;;) {
                char *slash = strrchr(dir, '/');
                if (!slash)
                        return false;
                *slash = 0;
                if (strlen(dir) <= strlen(top) || strncmp(dir, top, strlen(top)) != 0)
                        return false;
                if (!subsystem_of(dir, sub, sizeof(sub)))
                        continue;
                if (strcmp(sub, "usb") == 0)
                        return true;
                if (strcmp(sub, "mmc") == 0)
                        return read_attr(dir, "type", type, sizeof(type)) && strcmp(type, "SD") == 0;
        }
}

bool device_is_removable_at(const struct removable_roots *roots, const char *path, dev_t devnum) {
        _cleanup_free_ char *disk = disk_dir(roots->sysfs, devnum);
        char flag[8], dev[32];
        unsigned maj, min;

        if (disk) {
                if (read_attr(disk, "removable", flag, sizeof(flag)) && strcmp(flag, "1") == 0)
                        return true;
                if (udev_bus_is_usb(roots->udev_data, devnum))
                        return true;
                /* A partition's udev data may be missing while its disk's is there. */
                if (read_attr(disk, "dev", dev, sizeof(dev)) && sscanf(dev, "%u:%u", &maj, &min) == 2 &&
                    makedev(maj, min) != devnum && udev_bus_is_usb(roots->udev_data, makedev(maj, min)))
                        return true;
                if (parent_bus_is_removable(roots->sysfs, disk))
                        return true;
        }
        return listed_in_config(roots->config, path);
}

bool device_is_removable(const char *path, dev_t devnum) {
        static const struct removable_roots real = {
                .sysfs = "/sys",
                .udev_data = "/run/udev/data",
                .config = REMOVABLE_CONFIG,
        };
        return device_is_removable_at(&real, path, devnum);
}
