/* SPDX-License-Identifier: MIT */
/* The Manager object: checks every argument, decides which polkit action a request needs, asks
 * polkit without blocking, and hands the request to its Mount. */
#include "mountd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "config.h"
#include "devices.h"
#include "errors.h"
#include "offload.h"
#include "policy.h"
#include "mount-log.h"
#include "protocol.h"
#include "util.h"


enum request_kind {
        REQ_MOUNT,
        REQ_LABEL_UNMOUNTED,
        REQ_LABEL_MOUNTED,
        REQ_UNMOUNT,
};

/* At most this many requests of one uid wait for polkit at a time: an interactive check may last
 * minutes, and each one costs a polkit query (and may have started a worker). */
#define PENDING_PER_CALLER_MAX 8

/* Parameters of a Mount or of a Label of an unmounted device, given to the Mount it claims. */
struct claim {
        struct mount_options opts;
        uid_t owner;
        gid_t gid;
        char *user_name;
};

/* A request waiting for polkit. It names its Mount by id, not by pointer: the Mount may end (the
 * daemon may be stopping, its worker may fail, another authorized request may take it) while
 * polkit is asking for a password. A pending request reserves nothing: the first authorized
 * request for a device gets it. */
struct Pending {
        Manager *mgr;
        struct list_node in_manager;
        enum request_kind kind;
        sd_bus_message *request;
        dev_t devnum;
        uint64_t mount_id;        /* Mount and Label of an unmounted device: the worker started for it */
        uid_t caller;
        char *device;             /* resolved path, a polkit detail */
        const char *actions[POLICY_ACTIONS_MAX]; /* all must be granted, checked in order */
        unsigned n_actions, next_action;
        bool no_user_interaction;
        bool force;
        bool dropped;             /* the caller left (or the daemon stops): polkit's answer is ignored */
        bool waiting;             /* authorized; waits for the device's previous Mount to go away */
        char *label;
        struct claim claim;
        sd_bus_track *track;      /* the caller on the bus: its leaving drops the request */
        /* Mount: who the caller and the files' owner are, asked of NSS in a thread before polkit
         * is (a directory service may take its time; the event loop must not wait for it). */
        sd_event_source *lookup;
        struct user_record caller_rec, owner_rec;
        int caller_rec_r, owner_rec_r;
};

static void pending_free(Pending *p) {
        if (!p)
                return;
        list_remove(&p->in_manager);
        sd_bus_track_unref(p->track);
        sd_bus_message_unref(p->request);
        options_done(&p->claim.opts);
        user_record_done(&p->caller_rec);
        user_record_done(&p->owner_rec);
        free(p->claim.user_name);
        free(p->device);
        free(p->label);
        free(p);
}

static unsigned pending_count(Manager *mgr, uid_t caller) {
        unsigned n = 0;
        Pending *p;
        LIST_FOREACH(p, &mgr->pending, in_manager)
                if (!p->dropped && p->caller == caller)
                        n++;
        return n;
}

/* The worker a Mount or Label request started, while nobody else has taken it. */
static Mount *own_mount(Pending *p) {
        Mount *m = p->mount_id ? manager_find_id(p->mgr, p->mount_id) : NULL;
        return m && !mount_is_claimed(m) ? m : NULL;
}

/* Gives the Mount what the request asked for, then lets it go on. */
static void claim(Pending *p, Mount *m) {
        m->purpose = p->kind == REQ_MOUNT ? PURPOSE_MOUNT : PURPOSE_LABEL;
        options_done(&m->opts);
        m->opts = p->claim.opts; /* takes the mount point string */
        p->claim.opts = (struct mount_options) {};
        m->mounted_by = p->caller;
        m->owner = p->claim.owner;
        m->gid = p->claim.gid;
        free(m->user_name);
        m->user_name = TAKE_PTR(p->claim.user_name);
        free(m->new_label);
        m->new_label = TAKE_PTR(p->label);
        mount_claim(m, p->request);
}

/* An authorized Mount or Label of an unmounted device: its own worker if nobody took it, else one
 * that another, still unauthorized, request started, else a new one. Returns true when p waits
 * for the device's previous Mount to go away. */
static bool proceed_start(Pending *p) {
        Mount *m = own_mount(p);

        if (!m || !mount_claimable(m))
                m = manager_find_devnum(p->mgr, p->devnum);
        if (m && mount_claimable(m)) {
                claim(p, m);
                return false;
        }
        if (m && !mount_is_claimed(m))
                return true; /* a refused request's worker is going away: the device is free soon */
        if (m) {
                bool mounted = m->purpose == PURPOSE_MOUNT && mount_is_mounted(m);
                if (p->kind == REQ_MOUNT && mounted)
                        (void) sd_bus_reply_method_errorf(p->request, ERR_ALREADY_MOUNTED, "%s is already mounted on %s.",
                                                          p->device, m->mount_point);
                else
                        (void) sd_bus_reply_method_errorf(p->request, ERR_BUSY, "%s is busy%s.", p->device,
                                                          mounted ? " (mounted)" : " with another operation");
                return false;
        }
        if (device_is_mounted(p->devnum) != 0) {
                if (p->kind == REQ_MOUNT)
                        (void) sd_bus_reply_method_errorf(p->request, ERR_ALREADY_MOUNTED, "%s is already mounted.", p->device);
                else
                        (void) sd_bus_reply_method_errorf(p->request, ERR_BUSY, "%s is mounted by someone else.", p->device);
                return false;
        }
        int r = manager_start_mount(p->mgr, p->device, p->devnum, &m);
        if (r < 0) {
                (void) sd_bus_reply_method_errorf(p->request, ERR_FAILED, "Cannot start a worker for %s: %s", p->device,
                                                  strerr(r));
                return false;
        }
        claim(p, m);
        return false;
}

/* Frees p unless it waits for its device. */
static void pending_proceed(Pending *p) {
        sd_bus_message *request = p->request;
        Mount *m = manager_find_devnum(p->mgr, p->devnum);
        int r = 0;

        switch (p->kind) {
        case REQ_MOUNT:
        case REQ_LABEL_UNMOUNTED:
                if (proceed_start(p)) {
                        p->waiting = true;
                        return;
                }
                break;
        case REQ_LABEL_MOUNTED:
                if (!m || !mount_is_claimed(m) || m->purpose != PURPOSE_MOUNT)
                        (void) sd_bus_reply_method_errorf(request, ERR_NOT_MOUNTED, "The device is no longer mounted.");
                else
                        r = mount_set_label(m, request, p->label);
                break;
        case REQ_UNMOUNT:
                if (!m || !mount_is_claimed(m) || m->purpose != PURPOSE_MOUNT)
                        (void) sd_bus_reply_method_errorf(request, ERR_NOT_MOUNTED, "The device is no longer mounted.");
                else
                        r = mount_unmount(m, request, p->force);
                break;
        }
        if (r < 0)
                (void) sd_bus_reply_method_errorf(request, ERR_FAILED, "Internal error: %s", strerr(r));
        pending_free(p);
}

void manager_device_released(Manager *mgr, dev_t devnum) {
        Pending *p;

        LIST_FOREACH(p, &mgr->pending, in_manager) {
                if (p->waiting && p->devnum == devnum) {
                        p->waiting = false;
                        pending_proceed(p);
                        return; /* the first one takes the device; the others wait for it in turn */
                }
        }
}

static int pending_authorize(Pending *p);

/* A worker started for p and not taken by anybody else is stopped, and the request answered once
 * it is gone; anything else is answered now. */
static void refuse(Pending *p, const sd_bus_error *error) {
        Mount *m = own_mount(p);

        if (m) {
                mount_refuse(m, p->request, error);
                return;
        }
        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(p->request, error);
        else
                (void) sd_bus_reply_method_errorf(p->request, ERR_NOT_AUTHORIZED, "Not authorized.");
}

/* The request is given up before polkit answered: its worker goes at once, and polkit's answer,
 * when it comes, finds nothing to do. */
static void pending_drop(Pending *p, const sd_bus_error *error) {
        Mount *m = own_mount(p);

        p->dropped = true;
        if (m)
                mount_refuse(m, error ? p->request : NULL, error);
        else if (error)
                (void) sd_bus_reply_method_error(p->request, error);
        p->mount_id = 0;
        if (p->waiting)
                pending_free(p); /* polkit has answered already: nobody else holds p */
        /* Otherwise polkit's answer, or the user lookup's end, frees it. */
}

void manager_drop_pending(Manager *mgr) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        Pending *p, *next;

        (void) sd_bus_error_set(&e, ERR_FAILED, "exfat-mountd is stopping.");
        LIST_FOREACH_SAFE(p, next, &mgr->pending, in_manager) {
                if (!p->dropped)
                        pending_drop(p, &e);
        }
        sd_bus_error_free(&e);
}

/* The caller left the bus (Ctrl-C at a password prompt, say): authorize.c withdraws the check from
 * polkit; everything the request holds goes now. */
static int on_caller_gone(sd_bus_track *track, void *userdata) {
        Pending *p = userdata;

        if (p->dropped)
                return 1;
        log_info("%s %s: uid %u left before polkit answered; dropping the request", sd_bus_message_get_member(p->request),
                 p->device, (unsigned) p->caller);
        pending_drop(p, NULL);
        /* Positive: handled (sd-bus would call a handler that returns 0 again). */
        return 1;
}

static void on_authorized(sd_bus_message *request, int result, const sd_bus_error *error, void *userdata) {
        Pending *p = userdata;

        if (p->dropped) {
                pending_free(p);
                return;
        }
        if (result < 0) {
                Mount *m = manager_find_devnum(p->mgr, p->devnum);
                struct mount_log_fields f = {
                        .device = p->device,
                        .mount_point = m ? m->mount_point : NULL,
                        .unit = m ? m->unit : NULL,
                        .owner = p->caller, /* who asked, and would have owned it */
                        .error = result,
                };
                mount_log_event(MOUNT_EVENT_REFUSED, &f, "%s refused for uid %u (%s %s): %s", p->actions[p->next_action],
                                (unsigned) p->caller, sd_bus_message_get_member(request), p->device,
                                error && error->message ? error->message : strerr(result));
                refuse(p, error);
                pending_free(p);
                return;
        }
        p->next_action++;
        (void) pending_authorize(p);
}

/* Walks through the actions; the last answer proceeds with the request. Frees p at the end. */
static int pending_authorize(Pending *p) {
        while (p->next_action < p->n_actions) {
                int r = authorize_check(p->request, p->caller, p->actions[p->next_action], p->device,
                                        p->no_user_interaction, on_authorized, p);
                if (r == 0)
                        return 0; /* on_authorized continues */
                if (r < 0) {
                        log_error("cannot check authorization for %s: %s", p->actions[p->next_action], strerr(r));
                        sd_bus_error e = SD_BUS_ERROR_NULL;
                        (void) sd_bus_error_setf(&e, ERR_NOT_AUTHORIZED, "Cannot check authorization: %s", strerr(r));
                        refuse(p, &e);
                        sd_bus_error_free(&e);
                        pending_free(p);
                        return 0;
                }
                p->next_action++;
        }
        pending_proceed(p);
        return 0;
}

static int pending_new(Manager *mgr, sd_bus_message *request, enum request_kind kind, const char *device, dev_t devnum,
                       uid_t caller, bool no_ui, Pending **ret, sd_bus_error *error) {
        if (caller != 0 && pending_count(mgr, caller) >= PENDING_PER_CALLER_MAX)
                return sd_bus_error_setf(error, ERR_BUSY,
                                         "Too many of your requests are waiting for authorization (at most %d).",
                                         PENDING_PER_CALLER_MAX);
        Pending *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->mgr = mgr;
        list_push_front(&mgr->pending, &p->in_manager);
        p->request = sd_bus_message_ref(request);
        p->kind = kind;
        p->devnum = devnum;
        p->caller = caller;
        p->no_user_interaction = no_ui;
        p->device = strdup(device);
        int r = p->device ? 0 : -ENOMEM;
        if (r >= 0 && caller != 0) {
                r = sd_bus_track_new(mgr->bus, &p->track, on_caller_gone, p);
                if (r >= 0)
                        r = sd_bus_track_add_sender(p->track, request);
        }
        if (r < 0) {
                pending_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

/* polkit and systemd each take tens of milliseconds: the worker's unit starts while polkit decides,
 * unless the device has a worker already (another request's, not yet authorized either: whichever
 * is authorized first takes it). The Mount holds back everything that matters (the device, the
 * reply) until an authorized request claims it. */
static int start_and_authorize(Pending *p) {
        Mount *m;

        if (!manager_find_devnum(p->mgr, p->devnum) && manager_start_mount(p->mgr, p->device, p->devnum, &m) >= 0)
                p->mount_id = m->id;
        return pending_authorize(p) < 0 ? -EIO : 1;
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

/* Both records are in (the thread wrote them before its result): the policy decides which actions
 * the request needs, and the request goes on as any other. */
static void on_users_looked_up(void *userdata, void *arg, int result) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Pending *p = userdata;
        int r;

        p->lookup = NULL; /* offload dropped its source before calling us */
        if (p->dropped) {
                pending_free(p);
                return;
        }
        r = result < 0 ? result : p->caller_rec_r < 0 ? p->caller_rec_r : p->owner_rec_r;
        if (r < 0) {
                log_error("Mount %s: cannot look up uid %u or %u: %s", p->device, (unsigned) p->caller,
                          (unsigned) p->claim.owner, strerr(r));
                (void) sd_bus_reply_method_errorf(p->request, ERR_FAILED, "Cannot look up the user: %s", strerr(r));
                pending_free(p);
                return;
        }
        bool other_owner = p->claim.owner != p->caller;
        struct user_record *owner = other_owner ? &p->owner_rec : &p->caller_rec;

        r = policy_mount(p->device, p->devnum, &p->claim.opts, p->caller, p->caller_rec.gid, p->caller_rec.name,
                         p->caller_rec.home, p->actions, &error);
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        (void) sd_bus_reply_method_error(p->request, &error);
                else
                        (void) sd_bus_reply_method_errorf(p->request, ERR_FAILED, "Internal error: %s", strerr(r));
                pending_free(p);
                return;
        }
        p->n_actions = (unsigned) r;
        /* The files' owner gets the mount point under /run/media/$OWNER, and by default their group. */
        if (!p->claim.opts.has_gid)
                p->claim.gid = owner->gid;
        p->claim.user_name = TAKE_PTR(owner->name);
        (void) start_and_authorize(p);
}

/* Runs in a thread: touches only the records and the uids, which nobody else touches until
 * on_users_looked_up(). */
static int lookup_users_thread(void *arg) {
        Pending *p = arg;

        p->caller_rec_r = policy_lookup_user(p->caller, &p->caller_rec);
        if (p->claim.owner != p->caller)
                p->owner_rec_r = policy_lookup_user(p->claim.owner, &p->owner_rec);
        return 0;
}

static int method_mount(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        struct mount_options o;
        _cleanup_free_ char *path = NULL;
        const char *device;
        dev_t devnum;
        uid_t caller;
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
                r = resolve_device(device, &path, &devnum, error);
        if (r < 0)
                goto fail;

        /* A Mount nobody is authorized for yet does not count: whichever request polkit allows first
         * gets the device. */
        m = manager_find_devnum(mgr, devnum);
        if (m && mount_is_claimed(m)) {
                bool mounted = mount_is_mounted(m);
                r = sd_bus_error_setf(error, mounted ? ERR_ALREADY_MOUNTED : ERR_BUSY,
                                      mounted ? "%s is already mounted on %s." : "%s is busy%s.",
                                      path, mounted ? m->mount_point : "");
                goto fail;
        }
        r = m ? 0 : device_is_mounted(devnum);
        if (r != 0) {
                r = sd_bus_error_setf(error, ERR_ALREADY_MOUNTED, "%s is already mounted.", path);
                goto fail;
        }

        Pending *p;
        r = pending_new(mgr, msg, REQ_MOUNT, path, devnum, caller, o.no_user_interaction, &p, error);
        if (r < 0)
                goto fail;
        p->claim.opts = o; /* takes the mount point string */
        p->claim.owner = o.has_uid ? o.uid : caller;
        p->claim.gid = o.gid;
        /* The uid is the caller's choice, and NSS may ask a directory service: not on the event loop.
         * The request counts as pending (bounded per caller, dropped when the caller leaves) from now. */
        r = offload_run(mgr->event, lookup_users_thread, p, NULL, on_users_looked_up, p, &p->lookup);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        return 1;

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
                                         "A label is at most %d characters of valid UTF-8 without control characters, "
                                         "noncharacters or any of \" * / : < > ? \\ |.", LABEL_MAX_UNITS);
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

        /* As for Mount, a Mount nobody is authorized for yet does not count. */
        m = manager_find_devnum(mgr, devnum);
        if (m && !mount_is_claimed(m))
                m = NULL;
        else if (m && (m->purpose != PURPOSE_MOUNT || !mount_is_serving(m)))
                return sd_bus_error_setf(error, ERR_BUSY, "%s is busy with another operation.", path);
        if (!m && !manager_find_devnum(mgr, devnum) && device_is_mounted(devnum) != 0)
                return sd_bus_error_setf(error, ERR_BUSY, "%s is mounted by someone else.", path);

        Pending *p;
        r = pending_new(mgr, msg, m ? REQ_LABEL_MOUNTED : REQ_LABEL_UNMOUNTED, path, devnum, caller,
                        o.no_user_interaction, &p, error);
        if (r < 0)
                return r;
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
                p->claim.owner = caller;
                p->claim.gid = 0;
                return start_and_authorize(p);
        }
        return pending_authorize(p) < 0 ? -EIO : 1;
}

int manager_handle_unmount(Manager *mgr, Mount *m, sd_bus_message *msg, const struct mount_options *o,
                           sd_bus_error *error) {
        uid_t caller;
        int r;

        r = authorize_caller_uid(msg, &caller);
        if (r < 0)
                return r;
        if (!mount_is_claimed(m) || m->purpose != PURPOSE_MOUNT || !m->served)
                return sd_bus_error_setf(error, ERR_NOT_MOUNTED, "%s is not mounted yet.", m->device);

        Pending *p;
        r = pending_new(mgr, msg, REQ_UNMOUNT, m->device, m->devnum, caller, o->no_user_interaction, &p, error);
        if (r < 0)
                return r;
        p->force = o->force;
        if (caller != m->mounted_by)
                p->actions[p->n_actions++] = ACTION_UNMOUNT_OTHERS;
        return pending_authorize(p) < 0 ? -EIO : 1;
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
