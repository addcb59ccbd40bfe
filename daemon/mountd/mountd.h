/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's two objects: the Manager (one, owns the bus) and a Mount (one per worker: a mounted
 * volume, or a short-lived worker that relabels an unmounted device). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
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
typedef struct Pending Pending;
typedef struct DeviceObject DeviceObject;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        Mount *mounts;                 /* every Mount, mounted or in flight */
        Pending *pending;              /* requests waiting for polkit (manager.c) */
        sd_bus_slot *job_removed_slot; /* systemd JobRemoved, dispatched to Mounts by job path */
        bool under_systemd;            /* NOTIFY_SOCKET set: the fd store is available */
        bool stopping;                 /* the unit is being stopped: unmount everything, then exit */
        /* device-monitor.c, device-object.c: exFAT block devices udev knows of */
        sd_device_monitor *device_monitor;
        DeviceObject *devices;
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
         * mount point) before an authorized request claims the Mount. Until then the Mount holds
         * no request and reserves nothing: the first authorized request for the device takes it. */
        bool claimed;
        bool finished;            /* cleaned up (only while a thread still runs) */
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
        char *new_label;          /* for a Label in progress (recorded: a restarted daemon awaits the answer) */
        bool label_adopted;       /* that Label was asked by the previous daemon */
};

/* mount.c: the life of a Mount. */
/* A new, unclaimed Mount of device, in the registry. */
int mount_new(Manager *mgr, const char *device, dev_t devnum, Mount **ret);
void mount_free(Mount *m);
Mount *manager_find_mount(Manager *mgr, const char *device_or_mount_point);
Mount *manager_find_devnum(Manager *mgr, dev_t devnum);
Mount *manager_find_id(Manager *mgr, uint64_t id);
/* Starts the worker's unit, possibly while polkit is still deciding. On failure m is gone
 * (nothing was answered: an unclaimed Mount holds no request) and -errno is returned. */
int mount_begin(Mount *m);
/* True while an authorized request may still take m over: unclaimed, and the worker was sent
 * nothing yet. */
bool mount_claimable(Mount *m);
/* An authorized request takes m (purpose, options, owner set by the caller before): the device is
 * opened and handed over once the worker said HELLO; request is answered when the mount (or label)
 * has finished or failed. */
void mount_authorized(Mount *m, sd_bus_message *request);
/* The unclaimed m is not wanted (its starter was refused or left): the worker is stopped, and
 * request (if any) answered with error once it is gone. */
void mount_refused(Mount *m, sd_bus_message *request, const sd_bus_error *error);
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
/* A Mount of devnum is gone: requests authorized meanwhile that waited for it go on. */
void manager_device_released(Manager *mgr, dev_t devnum);
/* The daemon is stopping: requests still waiting for polkit are answered and dropped. */
void manager_drop_pending(Manager *mgr);
