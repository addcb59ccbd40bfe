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

#include "list.h"
#include "mount-state.h"
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
        struct list_node mounts;       /* Mount.in_manager: every Mount, mounted or in flight */
        struct list_node pending;      /* Pending.in_manager: requests waiting for polkit (manager.c) */
        sd_bus_slot *job_removed_slot; /* systemd JobRemoved, dispatched to Mounts by job path */
        bool under_systemd;            /* NOTIFY_SOCKET set: the fd store is available */
        bool stopping;                 /* the unit is being stopped: unmount everything, then exit */
        /* device-monitor.c, device-object.c: exFAT block devices udev knows of */
        sd_device_monitor *device_monitor;
        struct list_node devices;      /* DeviceObject.in_manager */
        bool restoring;                /* re-adopting recorded mounts: the state file is not rewritten meanwhile */
        const MountOps *mount_ops;     /* what new Mounts reach the world through (manager_mount_ops()) */
        const char *state_file;        /* NULL: STATE_FILE */
};

/* A Manager with its lists empty; the caller fills in the rest. */
static inline void manager_init(Manager *mgr) {
        *mgr = (Manager) {};
        list_init(&mgr->mounts);
        list_init(&mgr->pending);
        list_init(&mgr->devices);
}

enum mount_purpose {
        PURPOSE_MOUNT,
        PURPOSE_LABEL,  /* relabel an unmounted device, then stop the worker */
};

struct Mount {
        Manager *manager;
        const MountOps *ops;      /* the world as the state machine sees it (mount.c, or a test's fakes) */
        struct list_node in_manager;
        uint64_t id;              /* unique for the daemon's life: a polkit answer finds its Mount by it */
        enum mount_purpose purpose;
        MountState state;         /* written by mount_enter() only (mount-machine.c) */

        char *device;             /* resolved block device path */
        dev_t devnum;
        char *mount_point;
        char *label;
        char *uuid;
        char *unit;
        char *object_path;
        char *fdname;             /* name in systemd's fd store */
        char *user_name;          /* the owner's, for /run/media/$USER */

        uid_t owner;              /* files belong to owner:gid */
        gid_t gid;
        uid_t mounted_by;         /* the caller of Mount */
        struct mount_options opts;

        /* Facts, not states: each one says something about the world that several states share
         * and that no state implies. */
        bool read_only;           /* what the mount is: asked for, or forced by the medium or the probe */
        bool dirty;               /* what the worker's probe found on the volume */
        bool created_mount_point; /* the directory is ours to remove */
        bool mounted;             /* the kernel holds our mount(2): failure paths detach it early,
                                   * and an abandoned umount thread may or may not have removed it */
        bool served;              /* reached SERVING once (or re-adopted): an exported object, a link in the
                                   * fd store, and its end is an unmount rather than a failed mount */
        bool recorded;            /* in the state file (the Manager's) */
        int clean_status;         /* what the worker's CLEAN said */

        int sock;                 /* our end of the worker's socketpair */
        int device_fd;            /* until sent to the worker */
        int claim_fd;             /* O_EXCL: the device is ours from the open until mount(2) (which
                                   * claims it itself) or, for a relabel, until the Mount is freed */
        int fuse_fd;              /* /dev/fuse, from mount(2) until sent to the worker */
        uint64_t device_size;     /* bytes, to check what the worker reports */
        sd_event_source *io;
        sd_event_source *timer;
        sd_event_source *offload; /* blocking syscalls in a thread */
        sd_bus_slot *start_slot;
        char *job_path;           /* the start job, until JobRemoved came for it */
        sd_bus_slot *object_slot; /* the exported object, while there is one */

        sd_bus_message *request;  /* the call answered when the current operation ends */
        sd_bus_error error;       /* why it failed, answered once the worker is gone */
        char *new_label;          /* for a Label in progress (recorded: a restarted daemon awaits the answer) */
};

/* mount.c: a Mount's data, and the real world behind MountOps (systemd, the link, the kernel,
 * replies); the rest of MountOps is the Manager's (manager_mount_ops()). */
extern const MountOps mount_ops_world;
/* A new Mount of device, not started and in no registry. */
int mount_new(Manager *mgr, const MountOps *ops, const char *device, dev_t devnum, Mount **ret);
Mount *mount_free(Mount *m);
/* Watches m->sock: the worker's messages and hang-up go to the state machine. */
int mount_watch_link(Mount *m);

/* manager-mounts.c: the Manager's registry of Mounts, and their record across restarts. */
/* A new, unclaimed Mount of device in the registry, its worker starting. On failure nothing is left
 * and -errno is returned. */
int manager_start_mount(Manager *mgr, const char *device, dev_t devnum, Mount **ret);
Mount *manager_find_mount(Manager *mgr, const char *device_or_mount_point);
Mount *manager_find_devnum(Manager *mgr, dev_t devnum);
Mount *manager_find_id(Manager *mgr, uint64_t id);
void manager_job_removed(Manager *mgr, const char *job, const char *result);
/* Rewrites the state file from the registry. */
int manager_save(Manager *mgr);
/* Re-adopts the mounts a previous daemon recorded (state file, fd store); cleans up the rest. */
int manager_restore(Manager *mgr);
/* The daemon is stopped for good (not restarted): every mount is unmounted (lazily, flushed by its
 * worker); the event loop exits when none is left. */
void manager_stop(Manager *mgr);
/* The event loop has ended for a restart: our bookkeeping goes, mounts and workers stay. */
void manager_forget_mounts(Manager *mgr);
/* The MountOps of the daemon: mount.c's world, the D-Bus object (mount-object.c), the fd store
 * (fdstore.c), and the Manager's own hooks (the record, the end of a Mount). */
const MountOps *manager_mount_ops(void);

/* mount-object.c: the D-Bus face of a Mount. */
int mount_object_export(Mount *m);
void mount_object_unexport(Mount *m);
void mount_object_changed(Mount *m, const char *property);

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
