/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's two objects: the Manager (one, owns the bus) and a Mount (one per worker: a mounted
 * volume, or a short-lived worker that relabels an unmounted device). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "options.h"

#define MOUNTD_BUS_NAME "org.exfat.Mountd1"
#define MOUNTD_OBJECT_PATH "/org/exfat/Mountd1"
#define MOUNTD_MOUNT_PREFIX "/org/exfat/Mountd1/mount"
#define MOUNTD_MANAGER_IFACE "org.exfat.Mountd1.Manager"
#define MOUNTD_MOUNT_IFACE "org.exfat.Mountd1.Mount"
#define MOUNTD_STATE_DIR "/run/exfat-mountd"

typedef struct Manager Manager;
typedef struct Mount Mount;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        Mount *mounts;                 /* every Mount, mounted or in flight */
        sd_bus_slot *job_removed_slot; /* systemd JobRemoved, dispatched to Mounts by job path */
        bool under_systemd;            /* NOTIFY_SOCKET set: the fd store is available */
        bool stopping;                 /* the unit is being stopped: unmount everything, then exit */
};

enum mount_purpose {
        PURPOSE_MOUNT,
        PURPOSE_LABEL,  /* relabel an unmounted device, then stop the worker */
};

/* Where the conversation with the worker stands; each step has a timeout. */
enum worker_step {
        STEP_STARTING,     /* StartTransientUnit sent, waiting for HELLO (and for polkit) */
        STEP_WAIT_PROBED,
        STEP_WAIT_READY,
        STEP_SETTLING,     /* first request answered, read-ahead raised: in a thread */
        STEP_SERVING,
        STEP_WAIT_LABEL_SET,
        STEP_UNMOUNTING,   /* syncfs + umount2 running in a thread */
        STEP_WAIT_CLEAN,
        STEP_WAIT_EXIT,
        STEP_STOPPING,     /* refused or failed before the device was sent: unit stopped, waiting for the link to close */
        STEP_DEAD,
};

enum mount_state {
        STATE_MOUNTING,
        STATE_MOUNTED,
        STATE_UNMOUNTING,
};

struct Mount {
        Manager *manager;
        Mount *next;
        uint64_t id;              /* unique for the daemon's life: a polkit answer finds its Mount by it */
        enum mount_purpose purpose;
        enum mount_state state;
        enum worker_step step;

        char *device;             /* resolved block device path */
        dev_t devnum;
        char *mount_point;
        bool created_mount_point; /* ours to remove at the end */
        bool mounted;             /* mount(2) succeeded and no umount yet */
        char *label;
        char *uuid;
        char *unit;
        char *object_path;
        char *fdname;             /* name in systemd's fd store */
        char *user_name;          /* the owner's, for /run/media/$USER */

        uid_t owner;              /* files belong to owner:gid */
        gid_t gid;
        uid_t mounted_by;         /* the caller of Mount */
        bool read_only;
        bool dirty;
        struct mount_options opts;

        int sock;                 /* our end of the worker's socketpair */
        int device_fd;            /* until sent to the worker */
        uint64_t device_size;     /* bytes, to check what the worker reports */
        sd_event_source *io;
        sd_event_source *timer;
        sd_event_source *offload; /* blocking syscalls in a thread */
        sd_bus_slot *start_slot;
        char *job_path;
        bool job_done;
        bool hello;
        /* The worker starts while polkit decides; nothing reaches it (no device opened, no fd sent, no
         * mount point) before authorized, and no reply leaves while auth_pending. */
        bool auth_pending;
        bool authorized;
        bool finished;            /* cleaned up; kept only until polkit answers, then freed */
        bool fd_stored;
        bool recorded;            /* in the state file */
        bool unit_stopping;
        int clean_status;
        bool clean_early;         /* CLEAN came during umount2 (the worker saw DESTROY) */
        bool link_closed;

        sd_bus_slot *object_slot;
        bool exported;

        sd_bus_message *request;  /* the call answered when the current operation ends */
        sd_bus_error error;       /* why it failed, answered once the worker is gone */
        char *new_label;          /* for a Label in progress */
};

/* mount.c: the life of a Mount. */
int mount_new(Manager *mgr, enum mount_purpose purpose, const char *device, dev_t devnum, Mount **ret);
void mount_free(Mount *m);
Mount *manager_find_mount(Manager *mgr, const char *device_or_mount_point);
Mount *manager_find_devnum(Manager *mgr, dev_t devnum);
Mount *manager_find_id(Manager *mgr, uint64_t id);
/* Starts the worker at once, while polkit may still be deciding (set auth_pending before); the
 * request is answered when the mount (or label) has finished or failed, and never before
 * mount_authorization_done(). */
int mount_begin(Mount *m, sd_bus_message *request);
/* polkit's answer (result 0: authorized; error says why not): on yes the device is opened and
 * handed over once the worker said HELLO; on no the worker is stopped and the request answered
 * with error once it is gone. */
void mount_authorization_done(Mount *m, int result, const sd_bus_error *error);
int mount_unmount(Mount *m, sd_bus_message *request, bool force);
int mount_set_label(Mount *m, sd_bus_message *request, const char *label);
/* Ends a Mount whatever its state: detaches, stops the worker, removes the object. why is logged. */
void mount_abandon(Mount *m, const char *why);
/* Adopts a mount recorded before a restart; sock is our end from the fd store. */
int mount_adopt(Mount *m, int sock);
void manager_job_removed(Manager *mgr, const char *job, const char *result);
/* The daemon is stopped for good (not restarted): every mount is unmounted (lazily, flushed by its
 * worker); the event loop exits when none is left. */
void manager_stop(Manager *mgr);

/* mount-object.c: the D-Bus face of a Mount. */
int mount_object_export(Mount *m);
void mount_object_unexport(Mount *m);
void mount_object_changed(Mount *m, const char *property);
const char *mount_state_to_string(enum mount_state s);

/* manager.c */
int manager_export(Manager *mgr);
/* Unmount called on m (from the Manager or the mount object) with its parsed options: checks the
 * caller's rights, then unmounts. */
int manager_handle_unmount(Manager *mgr, Mount *m, sd_bus_message *msg, const struct mount_options *o,
                           sd_bus_error *error);
