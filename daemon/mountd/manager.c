/* SPDX-License-Identifier: MIT */
/* The Manager object: checks every argument, decides which polkit action a request needs, asks
 * polkit without blocking, and hands the request to its Mount. */
#include "mountd.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "config.h"
#include "devices.h"
#include "errors.h"
#include "protocol.h"
#include "util.h"


enum request_kind {
        REQ_MOUNT,
        REQ_LABEL_UNMOUNTED,
        REQ_LABEL_MOUNTED,
        REQ_UNMOUNT,
};

/* A request waiting for polkit. It names its Mount by id, not by pointer: the Mount may end (the
 * daemon may be stopping, or an Unmount's mount may go away) while polkit is asking for a password. */
struct pending {
        Manager *mgr;
        enum request_kind kind;
        dev_t devnum;
        uint64_t mount_id;        /* Mount and Label of an unmounted device: the Mount started for it */
        uid_t caller;
        char *device;             /* resolved path, a polkit detail */
        const char *actions[3];   /* all must be granted, checked in order */
        unsigned n_actions, next;
        bool no_user_interaction;
        bool force;
        char *label;
};

static void pending_free(struct pending *p) {
        free(p->device);
        free(p->label);
        free(p);
}

/* The Mount a Mount or Label request started, while it still waits for polkit's answer (it may have
 * been given up meanwhile: the daemon is stopping). */
static Mount *started(struct pending *p) {
        Mount *m = p->mount_id ? manager_find_id(p->mgr, p->mount_id) : NULL;
        return m && m->auth_pending ? m : NULL;
}

static void pending_proceed(struct pending *p, sd_bus_message *request) {
        Mount *m = manager_find_devnum(p->mgr, p->devnum);
        int r = 0;

        switch (p->kind) {
        case REQ_MOUNT:
        case REQ_LABEL_UNMOUNTED:
                m = started(p);
                if (m)
                        mount_authorization_done(m, 0, NULL);
                break;
        case REQ_LABEL_MOUNTED:
                if (!m || m->purpose != PURPOSE_MOUNT)
                        (void) sd_bus_reply_method_errorf(request, ERR_NOT_MOUNTED, "The device is no longer mounted.");
                else
                        r = mount_set_label(m, request, p->label);
                break;
        case REQ_UNMOUNT:
                if (!m || m->purpose != PURPOSE_MOUNT)
                        (void) sd_bus_reply_method_errorf(request, ERR_NOT_MOUNTED, "The device is no longer mounted.");
                else
                        r = mount_unmount(m, request, p->force);
                break;
        }
        if (r < 0)
                (void) sd_bus_reply_method_errorf(request, ERR_FAILED, "Internal error: %s", strerr(r));
}

static int pending_authorize(struct pending *p, sd_bus_message *request);

/* A started worker is stopped, and the request answered once it is gone; anything else is answered now. */
static void refuse(struct pending *p, sd_bus_message *request, const sd_bus_error *error) {
        if (p->kind == REQ_MOUNT || p->kind == REQ_LABEL_UNMOUNTED) {
                Mount *m = started(p);
                if (m)
                        mount_authorization_done(m, -EACCES, error);
                return;
        }
        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(request, error);
        else
                (void) sd_bus_reply_method_errorf(request, ERR_NOT_AUTHORIZED, "Not authorized.");
}

static void on_authorized(sd_bus_message *request, int result, const sd_bus_error *error, void *userdata) {
        struct pending *p = userdata;

        if (result < 0) {
                char who[32];
                snprintf(who, sizeof(who), "uid %u", (unsigned) p->caller);
                log_info("%s refused for %s (%s %s): %s", p->actions[p->next], who, sd_bus_message_get_member(request),
                         p->device, error && error->message ? error->message : strerr(result));
                refuse(p, request, error);
                pending_free(p);
                return;
        }
        p->next++;
        (void) pending_authorize(p, request);
}

/* Walks through the actions; the last answer proceeds with the request. Frees p at the end. */
static int pending_authorize(struct pending *p, sd_bus_message *request) {
        while (p->next < p->n_actions) {
                int r = authorize_check(request, p->caller, p->actions[p->next], p->device, p->no_user_interaction,
                                        on_authorized, p);
                if (r == 0)
                        return 0; /* on_authorized continues */
                if (r < 0) {
                        log_error("cannot check authorization for %s: %s", p->actions[p->next], strerr(r));
                        sd_bus_error e = SD_BUS_ERROR_NULL;
                        (void) sd_bus_error_setf(&e, ERR_NOT_AUTHORIZED, "Cannot check authorization: %s", strerr(r));
                        refuse(p, request, &e);
                        sd_bus_error_free(&e);
                        pending_free(p);
                        return 0;
                }
                p->next++;
        }
        pending_proceed(p, request);
        pending_free(p);
        return 0;
}

static struct pending *pending_new(Manager *mgr, enum request_kind kind, const char *device, dev_t devnum, uid_t caller,
                                   bool no_ui) {
        struct pending *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->device = strdup(device);
        if (!p->device) {
                free(p);
                return NULL;
        }
        p->mgr = mgr;
        p->kind = kind;
        p->devnum = devnum;
        p->caller = caller;
        p->no_user_interaction = no_ui;
        return p;
}

/* polkit and systemd each take tens of milliseconds: the worker's unit starts while polkit decides.
 * The Mount holds back everything that matters (the device, the reply) until the answer. */
static int start_and_authorize(Mount *m, struct pending *p, sd_bus_message *msg) {
        p->mount_id = m->id;
        m->auth_pending = true;
        (void) mount_begin(m, msg);
        return pending_authorize(p, msg) < 0 ? -EIO : 1;
}

static int check_device_arg(const char *device, sd_bus_error *error) {
        if (!device_path_valid(device))
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                         "The device must be an absolute path of at most %d bytes.", DEVICE_PATH_MAX);
        return 0;
}

static int resolve_device(const char *device, char **ret_path, dev_t *ret_devnum, sd_bus_error *error) {
        int r = device_resolve(device, ret_path, ret_devnum);
        if (r == -ENOMEM)
                return r;
        /* One answer for "not there" and "not a block device": before polkit, a caller must not
         * learn which paths exist. */
        if (r < 0)
                return sd_bus_error_setf(error, ERR_NO_SUCH_DEVICE, "%s is not a block device under /dev.", device);
        return 0;
}

/* The caller's name for /run/media/$USER, and primary group. */
static bool user_name_usable(const char *name) {
        /* It becomes a path component under /run/media. */
        return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && strlen(name) <= 64;
}

static int lookup_user(uid_t uid, char **ret_name, gid_t *ret_gid) {
        struct passwd pw, *result = NULL;
        char buf[4096];

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) != 0)
                result = NULL;
        /* A uid without a passwd entry (a dynamic user, say) still gets a directory and a group. */
        *ret_gid = result ? pw.pw_gid : (gid_t) uid;
        if (result && user_name_usable(pw.pw_name))
                *ret_name = strdup(pw.pw_name);
        else if (asprintf(ret_name, "%u", (unsigned) uid) < 0)
                *ret_name = NULL;
        return *ret_name ? 0 : -ENOMEM;
}

static int method_mount(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        struct mount_options o;
        _cleanup_free_ char *path = NULL, *user = NULL;
        const char *device;
        dev_t devnum;
        uid_t caller;
        gid_t caller_gid;
        Mount *m;
        int r;

        if (mgr->stopping)
                return sd_bus_error_setf(error, ERR_FAILED, "exfat-mountd is stopping.");
        r = sd_bus_message_read(msg, "s", &device);
        if (r < 0)
                return r;
        r = check_device_arg(device, error);
        if (r < 0)
                return r;
        r = options_parse(msg, OPTIONS_MOUNT, &o, error);
        if (r < 0)
                return r;
        r = authorize_caller_uid(msg, &caller);
        if (r >= 0)
                r = lookup_user(caller, &user, &caller_gid);
        /* The files' owner gets the mount point under /run/media/$OWNER, and by default their group. */
        uid_t owner = o.has_uid ? o.uid : caller;
        gid_t owner_gid = caller_gid;
        if (r >= 0 && owner != caller) {
                user = mfree(user);
                r = lookup_user(owner, &user, &owner_gid);
        }
        if (r >= 0)
                r = resolve_device(device, &path, &devnum, error);
        if (r < 0)
                goto fail;

        m = manager_find_devnum(mgr, devnum);
        if (m) {
                r = sd_bus_error_setf(error, m->state == STATE_MOUNTED ? ERR_ALREADY_MOUNTED : ERR_BUSY,
                                      m->state == STATE_MOUNTED ? "%s is already mounted on %s." : "%s is busy%s.",
                                      path, m->state == STATE_MOUNTED ? m->mount_point : "");
                goto fail;
        }
        r = device_is_mounted(devnum);
        if (r != 0) {
                r = sd_bus_error_setf(error, ERR_ALREADY_MOUNTED, "%s is already mounted.", path);
                goto fail;
        }

        bool system = !device_is_removable(path, devnum) || o.mount_point || (o.has_uid && o.uid != caller) ||
                      (o.has_gid && o.gid != caller_gid);
        struct pending *p = pending_new(mgr, REQ_MOUNT, path, devnum, caller, o.no_user_interaction);
        if (!p) {
                r = -ENOMEM;
                goto fail;
        }
        p->actions[p->n_actions++] = system ? ACTION_MOUNT_SYSTEM : ACTION_MOUNT;

        r = mount_new(mgr, PURPOSE_MOUNT, path, devnum, &m);
        if (r < 0) {
                pending_free(p);
                goto fail;
        }
        m->opts = o; /* takes the mount point string */
        m->mounted_by = caller;
        m->owner = owner;
        m->gid = o.has_gid ? o.gid : owner_gid;
        m->user_name = TAKE_PTR(user);
        return start_and_authorize(m, p, msg);

fail:
        options_done(&o);
        return r;
}

static int method_label(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        struct mount_options o;
        _cleanup_free_ char *path = NULL;
        const char *device, *label;
        dev_t devnum;
        uid_t caller;
        Mount *m;
        int r;

        if (mgr->stopping)
                return sd_bus_error_setf(error, ERR_FAILED, "exfat-mountd is stopping.");
        r = sd_bus_message_read(msg, "ss", &device, &label);
        if (r < 0)
                return r;
        r = check_device_arg(device, error);
        if (r < 0)
                return r;
        if (!label_valid(label))
                return sd_bus_error_setf(error, ERR_INVALID_ARGUMENT,
                                         "A label is at most %d characters of valid UTF-8 without control characters or "
                                         "any of \" * / : < > ? \\ |.", LABEL_MAX_UNITS);
        r = options_parse(msg, OPTIONS_LABEL, &o, error);
        if (r < 0)
                return r;
        options_done(&o);
        r = authorize_caller_uid(msg, &caller);
        if (r < 0)
                return r;
        r = resolve_device(device, &path, &devnum, error);
        if (r < 0)
                return r;

        m = manager_find_devnum(mgr, devnum);
        if (m && (m->purpose != PURPOSE_MOUNT || m->state != STATE_MOUNTED || m->step != STEP_SERVING))
                return sd_bus_error_setf(error, ERR_BUSY, "%s is busy with another operation.", path);
        if (!m && device_is_mounted(devnum) != 0)
                return sd_bus_error_setf(error, ERR_BUSY, "%s is mounted by someone else.", path);

        struct pending *p = pending_new(mgr, m ? REQ_LABEL_MOUNTED : REQ_LABEL_UNMOUNTED, path, devnum, caller,
                                        o.no_user_interaction);
        if (!p)
                return -ENOMEM;
        p->label = strdup(label);
        if (!p->label) {
                pending_free(p);
                return -ENOMEM;
        }
        p->actions[p->n_actions++] = ACTION_LABEL;
        if (!device_is_removable(path, devnum))
                p->actions[p->n_actions++] = ACTION_MOUNT_SYSTEM;
        /* Renaming a volume under the user who mounted it takes as much as unmounting it. */
        if (m && caller != m->mounted_by)
                p->actions[p->n_actions++] = ACTION_UNMOUNT_OTHERS;

        if (!m) {
                Mount *n;
                r = mount_new(mgr, PURPOSE_LABEL, path, devnum, &n);
                if (r < 0) {
                        pending_free(p);
                        return r;
                }
                n->mounted_by = n->owner = caller;
                n->gid = 0;
                n->new_label = TAKE_PTR(p->label);
                return start_and_authorize(n, p, msg);
        }
        return pending_authorize(p, msg) < 0 ? -EIO : 1;
}

int manager_handle_unmount(Manager *mgr, Mount *m, sd_bus_message *msg, const struct mount_options *o,
                           sd_bus_error *error) {
        uid_t caller;
        int r;

        r = authorize_caller_uid(msg, &caller);
        if (r < 0)
                return r;
        if (m->purpose != PURPOSE_MOUNT || m->state == STATE_MOUNTING)
                return sd_bus_error_setf(error, ERR_NOT_MOUNTED, "%s is not mounted yet.", m->device);

        struct pending *p = pending_new(mgr, REQ_UNMOUNT, m->device, m->devnum, caller, o->no_user_interaction);
        if (!p)
                return -ENOMEM;
        p->force = o->force;
        if (caller != m->mounted_by)
                p->actions[p->n_actions++] = ACTION_UNMOUNT_OTHERS;
        return pending_authorize(p, msg) < 0 ? -EIO : 1;
}

static int method_unmount(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        struct mount_options o;
        const char *what;
        Mount *m;
        int r;

        r = sd_bus_message_read(msg, "s", &what);
        if (r < 0)
                return r;
        r = check_device_arg(what, error);
        if (r < 0)
                return r;
        r = options_parse(msg, OPTIONS_UNMOUNT, &o, error);
        if (r < 0)
                return r;
        options_done(&o);
        /* Our own table only: a mount point is compared as a string, never looked up (a lookup
         * under it would go to its worker); a device may be any name for it under /dev. */
        m = manager_find_mount(mgr, what);
        if (!m) {
                _cleanup_free_ char *dev = NULL;
                dev_t devnum;
                if (device_resolve(what, &dev, &devnum) == 0)
                        m = manager_find_devnum(mgr, devnum);
        }
        if (!m || m->purpose != PURPOSE_MOUNT)
                return sd_bus_error_setf(error, ERR_NOT_MOUNTED, "%s is not mounted by exfat-mountd.", what);
        return manager_handle_unmount(mgr, m, msg, &o, error);
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Mount", SD_BUS_ARGS("s", device, "a{sv}", options),
                                SD_BUS_RESULT("o", mount, "s", mount_point), method_mount, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unmount", SD_BUS_ARGS("s", device_or_mount_point, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_unmount, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Label", SD_BUS_ARGS("s", device, "s", label, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_label, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int manager_export(Manager *mgr) {
        int r = sd_bus_add_object_vtable(mgr->bus, NULL, MOUNTD_OBJECT_PATH, MOUNTD_MANAGER_IFACE, manager_vtable, mgr);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(mgr->bus, NULL, MOUNTD_OBJECT_PATH);
}
