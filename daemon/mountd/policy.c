/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "config.h"
#include "devices.h"
#include "errors.h"
#include "util.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const default_prefixes[] = { "/run/media", "/media", "/mnt", "~" };

/* Trees nothing may be mounted in or over, even when a configured prefix covers them: the system's
 * programs, libraries, configuration and state, and the kernel's file systems. */
static const char *const system_trees[] = {
        "/bin", "/boot", "/dev", "/efi", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
        "/proc", "/sbin", "/sys", "/usr", "/var", "/run/systemd", "/run/dbus", "/run/udev",
        "/run/exfat-mountd",
};

/* path is prefix itself (or_equal) or lies beneath it. Both canonical, prefix without trailing '/'. */
static bool path_under(const char *path, const char *prefix, bool or_equal) {
        size_t n = strlen(prefix);
        if (strncmp(path, prefix, n) != 0)
                return false;
        if (path[n] == 0)
                return or_equal;
        return path[n] == '/' && path[n + 1] != 0;
}

/* In a system tree, or above one (a mount there would hide it). */
static bool system_directory(const char *path) {
        for (size_t i = 0; i < N_ELEMENTS(system_trees); i++)
                if (path_under(path, system_trees[i], true) || path_under(system_trees[i], path, false))
                        return true;
        return false;
}

/* One prefix line: "~" is the caller's home (when usable), anything else a canonical absolute path. */
static bool under_prefix(const char *path, const char *prefix, const char *home) {
        if (strcmp(prefix, "~") == 0)
                prefix = home;
        /* mount_point_option_valid() refuses "/", which would allow everything. */
        if (!prefix || !mount_point_option_valid(prefix) || system_directory(prefix))
                return false;
        return path_under(path, prefix, false);
}

/* /run/media/USER and /media/USER are USER's: the daemon and udisks put that user's mounts there.
 * A mount over one would put the next default mount inside a FUSE file system (lookups on the
 * daemon's event loop, answered by a worker), and a mount in someone else's would show up among
 * their devices. So only strictly beneath one's own (root, the mount helper for udisks: anyone's). */
static bool media_tree_allowed(const char *path, const char *user) {
        static const char *const media[] = { "/run/media", "/media" };

        for (size_t i = 0; i < N_ELEMENTS(media); i++) {
                if (!path_under(path, media[i], false))
                        continue;
                const char *rest = path + strlen(media[i]) + 1;
                size_t n = strcspn(rest, "/");
                if (rest[n] == 0)
                        return false; /* a user's media directory itself */
                return !user || (strlen(user) == n && strncmp(rest, user, n) == 0);
        }
        return true;
}

int policy_mount_point_allowed(const char *mount_point, const char *user, const char *home, const char *config) {
        _cleanup_fclose_ FILE *f = NULL;
        bool found = false;

        if (system_directory(mount_point))
                return -EACCES;
        if (!media_tree_allowed(mount_point, user))
                return -EXDEV;
        f = fopen(config, "re");
        if (!f && errno != ENOENT) {
                /* The administrator meant something: fail closed rather than fall back to the defaults. */
                log_error("cannot read %s: %s; no chosen mount point is allowed", config, strerr(-errno));
                return -EPERM;
        }
        if (!f) {
                for (size_t i = 0; i < N_ELEMENTS(default_prefixes) && !found; i++)
                        found = under_prefix(mount_point, default_prefixes[i], home);
                return found ? 0 : -EPERM;
        }

        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        while (!found && getline(&line, &size, f) >= 0) {
                char *l = line + strspn(line, " \t");
                size_t len = strlen(l);
                /* Trailing blanks and slashes are harmless ("/mnt/" means /mnt); inner blanks are
                 * part of the name. */
                while (len > 0 && strchr(" \t\r\n", l[len - 1]))
                        l[--len] = 0;
                while (len > 1 && l[len - 1] == '/')
                        l[--len] = 0;
                if (*l && *l != '#')
                        found = under_prefix(mount_point, l, home);
        }
        return found ? 0 : -EPERM;
}

void user_record_done(struct user_record *u) {
        u->name = mfree(u->name);
        u->home = mfree(u->home);
}

/* It becomes a path component under /run/media. */
static bool user_name_usable(const char *name) {
        return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && strlen(name) <= 64;
}

/* getpwuid_r with a buffer that grows until the entry fits. 0 with *ret_result NULL when there is
 * no such user; -errno when NSS could not say (a directory service down): then nobody may pretend
 * the user does not exist, or the files would be given to a group that happens to share the uid. */
static int lookup_passwd(uid_t uid, struct passwd *pw, char **buf, struct passwd **ret_result) {
        for (size_t size = 4096; size <= 1024 * 1024; size *= 2) {
                char *b = realloc(*buf, size);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                int r = getpwuid_r(uid, pw, b, size, ret_result);
                if (r == ERANGE)
                        continue;
                if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) {
                        /* The last four: glibc's and POSIX's ways of saying "not found". */
                        if (r != 0)
                                *ret_result = NULL;
                        return 0;
                }
                *ret_result = NULL;
                return -r;
        }
        return -ERANGE;
}

int policy_lookup_user(uid_t uid, struct user_record *ret) {
        struct passwd pw, *result = NULL;
        _cleanup_free_ char *buf = NULL;

        *ret = (struct user_record) {};
        int r = lookup_passwd(uid, &pw, &buf, &result);
        if (r < 0)
                return r;
        /* A uid without a passwd entry (a dynamic user, say) still gets a directory and a group. */
        ret->gid = result ? pw.pw_gid : (gid_t) uid;
        if (result && user_name_usable(pw.pw_name))
                ret->name = strdup(pw.pw_name);
        else if (asprintf(&ret->name, "%u", (unsigned) uid) < 0)
                ret->name = NULL;
        if (!ret->name)
                return -ENOMEM;
        if (result && pw.pw_dir && pw.pw_dir[0] == '/') {
                ret->home = strdup(pw.pw_dir);
                if (!ret->home) {
                        user_record_done(ret);
                        return -ENOMEM;
                }
                /* "/home/alice/" is /home/alice; "/" stays "/" (and is no prefix). */
                for (size_t len = strlen(ret->home); len > 1 && ret->home[len - 1] == '/';)
                        ret->home[--len] = 0;
        }
        return 0;
}

static int check_mount_point(const char *mount_point, uid_t caller, const char *name, const char *home,
                             sd_bus_error *error) {
        int r = policy_mount_point_allowed(mount_point, caller == 0 ? NULL : name, home, MOUNT_POINT_PREFIXES_CONFIG);
        if (r == -EXDEV) {
                log_info("uid %u: refused mount point %s: a user's media directory, or in another user's",
                         (unsigned) caller, mount_point);
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                         "%s is a user's media directory or lies in another user's: under /run/media "
                                         "and /media, mount beneath your own directory.", mount_point);
        }
        if (r == -EACCES) {
                log_info("uid %u: refused mount point %s: a system directory", (unsigned) caller, mount_point);
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                         "%s is a system directory: nothing is mounted there.", mount_point);
        }
        if (r < 0) {
                log_info("uid %u: refused mount point %s: not under an allowed prefix", (unsigned) caller, mount_point);
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                         "%s is not under an allowed mount point prefix (/run/media, /media, /mnt "
                                         "or your home directory, unless " MOUNT_POINT_PREFIXES_CONFIG " says otherwise).",
                                         mount_point);
        }
        return 0;
}

int policy_mount(const char *device, dev_t devnum, const struct mount_options *o, uid_t caller, gid_t caller_gid,
                 const char *caller_name, const char *caller_home, const char **actions, sd_bus_error *error) {
        int n = 0, r;

        /* A refused mount point is refused for everybody, root included, before polkit: nothing
         * about the file system is looked at, so nothing is learnt. */
        if (o->mount_point) {
                r = check_mount_point(o->mount_point, caller, caller_name, caller_home, error);
                if (r < 0)
                        return r;
        }
        actions[n++] = device_is_removable(device, devnum) ? ACTION_MOUNT : ACTION_MOUNT_SYSTEM;
        if ((o->has_uid && o->uid != caller) || (o->has_gid && o->gid != caller_gid))
                actions[n++] = ACTION_MOUNT_OTHER_OWNER;
        if (o->mount_point)
                actions[n++] = ACTION_MOUNT_POINT;
        return n;
}
