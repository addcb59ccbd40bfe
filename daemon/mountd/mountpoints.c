/* SPDX-License-Identifier: MIT */
#include "mountpoints.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"

#define MEDIA_ROOT "/run/media"

char *mountpoint_sanitize(const char *label) {
        char *s = strdup(label);
        if (!s)
                return NULL;
        for (unsigned char *c = (unsigned char *) s; *c; c++)
                if (*c < 0x20 || *c == 0x7f || strchr("/\"'\\", *c))
                        *c = '_';
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                memset(s, '_', strlen(s));
        return s;
}

/* The POSIX ACL xattr in the kernel's format (linux/posix_acl_xattr.h), written by hand so that the
 * daemon needs no libacl: owner rwx, the user r-x, group r-x, mask r-x, others nothing. */
struct acl_entry {
        uint16_t tag, perm;
        uint32_t id;
};

static int set_user_acl(const char *path, uid_t uid) {
        enum { USER_OBJ = 0x01, USER = 0x02, GROUP_OBJ = 0x04, MASK = 0x10, OTHER = 0x20 };
        struct {
                uint32_t version;
                struct acl_entry e[5];
        } __attribute__((packed)) acl = {
                .version = htole32(2),
                .e = {
                        { htole16(USER_OBJ), htole16(7), htole32(UINT32_MAX) },
                        { htole16(USER), htole16(5), htole32(uid) },
                        { htole16(GROUP_OBJ), htole16(5), htole32(UINT32_MAX) },
                        { htole16(MASK), htole16(5), htole32(UINT32_MAX) },
                        { htole16(OTHER), htole16(0), htole32(UINT32_MAX) },
                },
        };
        if (setxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0) < 0)
                return -errno;
        return 0;
}

static int make_dir(const char *path, mode_t mode) {
        struct stat st;
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        /* Someone else's directory (or a stale one with other rights) is taken over: only root may
         * write under /run/media anyway. */
        if (chown(path, 0, 0) < 0 || chmod(path, mode) < 0)
                return -errno;
        return 0;
}

int mountpoint_create_default(const char *user, uid_t uid, const char *label, const char *uuid, char **ret_path) {
        char dir[PATH_MAX], path[PATH_MAX];
        int r;

        r = make_dir(MEDIA_ROOT, 0755);
        if (r < 0)
                return r;
        snprintf(dir, sizeof(dir), MEDIA_ROOT "/%s", user);
        r = make_dir(dir, 0750);
        if (r < 0)
                return r;
        r = set_user_acl(dir, uid);
        if (r < 0)
                return r;

        _cleanup_free_ char *base = mountpoint_sanitize(label && *label ? label : uuid && *uuid ? uuid : "disk");
        if (!base)
                return -ENOMEM;
        for (unsigned i = 0; i < 1000; i++) {
                int n = i == 0 ? snprintf(path, sizeof(path), "%s/%s", dir, base)
                               : snprintf(path, sizeof(path), "%s/%s%u", dir, base, i);
                if (n < 0 || (size_t) n >= sizeof(path))
                        return -ENAMETOOLONG;
                if (mkdir(path, 0700) == 0) {
                        /* mkdir honours the umask; the mode must be exact. */
                        if (chmod(path, 0700) < 0) {
                                r = -errno;
                                rmdir(path);
                                return r;
                        }
                        *ret_path = strdup(path);
                        if (!*ret_path) {
                                rmdir(path);
                                return -ENOMEM;
                        }
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

bool mountpoint_is_mounted(const char *path) {
        struct stat a, b;
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s/..", path);
        if (stat(path, &a) < 0 || stat(parent, &b) < 0)
                return false;
        return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static int dir_is_empty(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;
        int r = 1;
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        r = 0;
                        break;
                }
        closedir(d);
        return r;
}

int mountpoint_create_custom(const char *path, bool *ret_created) {
        struct stat st;
        if (mkdir(path, 0700) == 0) {
                *ret_created = true;
                return 0;
        }
        if (errno != EEXIST)
                return -errno;
        /* lstat: a symlink planted there must not redirect the mount. */
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (mountpoint_is_mounted(path))
                return -EBUSY;
        int r = dir_is_empty(path);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOTEMPTY;
        *ret_created = false;
        return 0;
}
