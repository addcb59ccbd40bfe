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

#include "mountinfo.h"
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

/* The mount an fd lies on, from fdinfo: no question to the file system itself. */
static int mount_id_of(int fd) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        char line[256];
        int id;
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "mnt_id: %d", &id) == 1)
                        return id;
        return -EIO;
}

/* File system types whose lookups may wait on something other than the local kernel: a FUSE server
 * (one of our own workers, or a user's sshfs), a network peer (an NFS home whose server is down) or
 * the automounter (a lookup in an autofs directory triggers a mount, often an NFS one). */
static const char *const network_types[] = {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "afs", "virtiofs", "autofs",
        "glusterfs", "lustre", "ocfs2", "gfs2", "orangefs", "coda",
};

static bool type_may_stall(const char *type) {
        /* fuse, fuseblk and their subtypes (fuse.sshfs, fuseblk.exfat); not fusectl. */
        if (strcmp(type, "fuse") == 0 || strcmp(type, "fuseblk") == 0 || strncmp(type, "fuse.", 5) == 0 ||
            strncmp(type, "fuseblk.", 8) == 0)
                return true;
        for (size_t i = 0; i < sizeof(network_types) / sizeof(network_types[0]); i++)
                if (strcmp(type, network_types[i]) == 0)
                        return true;
        return false;
}

struct stall_query {
        int id;
        int result;
};

static int stall_check(const struct mountinfo_entry *e, void *userdata) {
        struct stall_query *q = userdata;
        if (e->id != q->id)
                return 0;
        q->result = type_may_stall(e->fstype);
        return 1;
}

int mountinfo_mount_may_stall(const char *mountinfo, int id) {
        struct stall_query q = { .id = id, .result = -ENOENT };
        int r = mountinfo_foreach(mountinfo, stall_check, &q);
        return r < 0 ? r : q.result;
}

/* One step of a walk: name in dir (on mount dir_mnt), never a symlink, never into FUSE or a network
 * file system, a directory. */
static int step(int dir, int dir_mnt, const char *name, int *ret_fd, int *ret_mnt) {
        struct stat st;
        int mnt, r;

        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        /* O_PATH|O_NOFOLLOW: a symlink is opened as itself, and refused below. */
        _cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        mnt = mount_id_of(fd);
        if (mnt < 0)
                return mnt;
        if (mnt != dir_mnt) {
                /* Checked before fstat(): even a stat of a FUSE or NFS inode may wait for its server. */
                r = mountinfo_mount_may_stall(MOUNTINFO_SELF, mnt);
                if (r != 0)
                        return r < 0 ? r : -EXDEV;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        *ret_fd = TAKE_FD(fd);
        *ret_mnt = mnt;
        return 0;
}

/* Opens the first len bytes of path (absolute) from "/", one component at a time, through steps. */
static int walk(const char *path, size_t len, int *ret_fd, int *ret_mnt) {
        _cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char name[NAME_MAX + 1];
        int mnt, r;

        if (fd < 0)
                return -errno;
        if (path[0] != '/')
                return -EINVAL;
        mnt = mount_id_of(fd);
        if (mnt < 0)
                return mnt;
        for (size_t at = 1; at < len;) {
                size_t n = strcspn(path + at, "/");
                if (n > len - at)
                        n = len - at;
                if (n == 0 || n > NAME_MAX)
                        return -EINVAL;
                memcpy(name, path + at, n);
                name[n] = 0;
                int next;
                r = step(fd, mnt, name, &next, &mnt);
                if (r < 0)
                        return r;
                closep(&fd);
                fd = next;
                at += n + 1;
        }
        *ret_fd = TAKE_FD(fd);
        if (ret_mnt)
                *ret_mnt = mnt;
        return 0;
}

int mountpoint_open(const char *path, int *ret_fd) {
        return walk(path, strlen(path), ret_fd, NULL);
}

int mountpoint_open_parent(const char *path, int *ret_fd, int *ret_mnt, const char **ret_name) {
        const char *slash = strrchr(path, '/');

        if (path[0] != '/' || !slash || !slash[1])
                return -EINVAL;
        int r = walk(path, slash == path ? 1 : (size_t) (slash - path), ret_fd, ret_mnt);
        if (r < 0)
                return r;
        *ret_name = slash + 1;
        return 0;
}

int mountpoint_child_mount(int parent, int parent_mnt, const char *name) {
        /* O_PATH|O_NOFOLLOW asks nothing of the file system mounted there (no FUSE request), and a
         * symlink is opened as itself: it lies on the parent's mount, so it is no mount root. */
        _cleanup_close_ int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int mnt = mount_id_of(fd);
        if (mnt < 0)
                return mnt;
        return mnt == parent_mnt ? -ENOENT : mnt;
}

int mountpoint_remove(const char *path) {
        _cleanup_close_ int parent = -1;
        const char *name;
        int mnt;

        int r = mountpoint_open_parent(path, &parent, &mnt, &name);
        if (r < 0)
                return r;
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0)
                return -errno;
        return 0;
}

static int fd_dir_is_empty(int fd) {
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        int r = 1;
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        r = 0;
                        break;
                }
        closedir(d);
        return r;
}

/* The last component, in parent: an empty directory that is not a mount point. */
static int check_target(int parent, int parent_mnt, const char *name) {
        _cleanup_close_ int fd = -1;
        int mnt, r;

        r = step(parent, parent_mnt, name, &fd, &mnt);
        if (r == -EXDEV)
                return -EBUSY; /* a FUSE mount is there */
        if (r < 0)
                return r;
        if (mnt != parent_mnt)
                return -EBUSY;
        r = fd_dir_is_empty(fd);
        if (r < 0)
                return r;
        return r ? 0 : -ENOTEMPTY;
}

int mountpoint_create_custom(const char *path, bool *ret_created) {
        _cleanup_close_ int parent = -1;
        const char *slash = strrchr(path, '/');
        bool created = false;
        int mnt, r;

        /* Never anything directly in "/": not a new directory there, not an existing one. */
        if (path[0] != '/' || !slash || slash == path || !slash[1])
                return -EPERM;
        r = walk(path, (size_t) (slash - path), &parent, &mnt);
        if (r < 0)
                return r;
        if (mkdirat(parent, slash + 1, 0700) == 0)
                created = true;
        else if (errno != EEXIST)
                return -errno;
        r = check_target(parent, mnt, slash + 1);
        if (r < 0) {
                if (created)
                        (void) unlinkat(parent, slash + 1, AT_REMOVEDIR);
                return r;
        }
        *ret_created = created;
        return 0;
}
