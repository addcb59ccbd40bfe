/* SPDX-License-Identifier: MIT */
/* A Mount's data, and the real world behind MountOps: the worker's unit (systemd), the link, the
 * device, mount(2), the threads that wait on the worker and the replies. The decisions are
 * mount-machine.c's; every function here does one thing and reports how it went. Nothing here
 * calls the Manager, the D-Bus object or the state file: manager-mounts.c puts those in. */
#include "mountd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "devices.h"
#include "errors.h"
#include "fusectl.h"
#include "link.h"
#include "mountpoints.h"
#include "offload.h"
#include "readahead.h"
#include "units.h"
#include "util.h"

int mount_new(Manager *mgr, const MountOps *ops, const char *device, dev_t devnum, Mount **ret) {
        static uint64_t last_id;
        Mount *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->manager = mgr;
        m->ops = ops;
        m->id = ++last_id;
        m->purpose = PURPOSE_MOUNT;
        /* m->state is MOUNT_STARTING (0) from calloc: mount_enter() is its only writer. */
        m->devnum = devnum;
        m->sock = -1;
        m->device_fd = -1;
        m->claim_fd = -1;
        m->fuse_fd = -1;
        m->device = strdup(device);
        if (!m->device) {
                free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

Mount *mount_free(Mount *m) {
        if (!m)
                return NULL;
        list_remove(&m->in_manager); /* a registry never keeps a freed Mount */
        sd_event_source_disable_unref(m->io);
        sd_event_source_disable_unref(m->timer);
        sd_bus_slot_unref(m->start_slot);
        sd_bus_slot_unref(m->object_slot);
        sd_bus_message_unref(m->request);
        sd_bus_error_free(&m->error);
        closep(&m->sock);
        closep(&m->device_fd);
        /* A relabelling worker has exited by now (or its unit is being stopped): others may
         * claim the device again. */
        closep(&m->claim_fd);
        closep(&m->fuse_fd);
        options_done(&m->opts);
        free(m->device);
        free(m->mount_point);
        free(m->label);
        free(m->uuid);
        free(m->unit);
        free(m->object_path);
        free(m->fdname);
        free(m->user_name);
        free(m->job_path);
        free(m->new_label);
        return mfree(m);
}

/* ---- The link ---- */

static void on_link_message(void *userdata, enum link_type type, const union link_payload *p) {
        mount_on_message(userdata, type, p);
}

static void on_link_gone(void *userdata, int reason) {
        mount_on_link_gone(userdata, reason);
}

static const struct link_handlers handlers = { on_link_message, on_link_gone };

int mount_watch_link(Mount *m) {
        return link_watch(m->manager->event, m->sock, &handlers, m, &m->io);
}

static void unwatch_link(Mount *m) {
        m->io = sd_event_source_disable_unref(m->io);
}

static void close_link_write(Mount *m) {
        if (m->sock >= 0)
                (void) shutdown(m->sock, SHUT_WR);
}

static int send_message(Mount *m, enum link_type type, const void *payload, size_t size) {
        return link_send(m->sock, type, payload, size, -1);
}

static int send_device(Mount *m, const struct link_device *d) {
        struct link_device copy = *d;

        /* The sandbox cannot open the device: a second open file, O_DIRECT, lets the worker read
         * and write file data around the device's page cache (no second copy of what the mount's
         * own page cache holds, no write-back). Without one it still works. */
        _cleanup_close_ int direct_fd = -1;
        if (m->purpose == PURPOSE_MOUNT)
                direct_fd = device_reopen_direct(m->device_fd);
        if (direct_fd >= 0)
                copy.flags |= LINK_OPT_DIRECT_FOLLOWS;
        log_debug("%s: hello received and authorized; sending the device", m->device);
        int r = link_send(m->sock, LINK_DEVICE, &copy, sizeof(copy), m->device_fd);
        if (r >= 0 && direct_fd >= 0)
                r = link_send(m->sock, LINK_DIRECT_DEVICE, NULL, 0, direct_fd);
        if (r < 0)
                return r;
        m->device_fd = safe_close(m->device_fd);
        return 0;
}

/* ---- systemd ---- */

static int on_unit_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Mount *m = userdata;
        const char *job;

        m->start_slot = sd_bus_slot_unref(m->start_slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                mount_on_unit_failed(m, e->name, e->message);
                return 0;
        }
        log_debug("%s: StartTransientUnit answered", m->device);
        if (sd_bus_message_read(reply, "o", &job) < 0 || !(m->job_path = strdup(job)))
                mount_abandon(m, "malformed answer from systemd");
        return 0;
}

static int start_unit(Mount *m) {
        int sv[2], r;

        r = units_worker_name(m->device, &m->unit);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                return -errno;
        m->sock = sv[0];
        /* The worker's end blocks: it is its stdin and it reads it synchronously. */
        int flags = fcntl(sv[1], F_GETFL);
        if (flags >= 0)
                (void) fcntl(sv[1], F_SETFL, flags & ~O_NONBLOCK);
        r = mount_watch_link(m);
        if (r >= 0)
                r = units_start_worker(m->manager->bus, m->unit, m->device, m->devnum, sv[1], on_unit_started, m,
                                       &m->start_slot);
        close(sv[1]); /* sd-bus keeps its own copy in the message */
        if (r < 0)
                unwatch_link(m);
        return r;
}

static void stop_unit(Mount *m) {
        if (m->unit)
                (void) units_stop(m->manager->bus, m->unit);
}

/* ---- Time ---- */

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Mount *m = userdata;

        m->timer = sd_event_source_disable_unref(m->timer);
        mount_on_timeout(m);
        return 0;
}

static int arm_timer(Mount *m, uint64_t usec) {
        m->timer = sd_event_source_disable_unref(m->timer);
        if (usec == 0)
                return 0;
        return sd_event_add_time_relative(m->manager->event, &m->timer, CLOCK_MONOTONIC, usec, 0, on_timer, m);
}

/* ---- The device and the kernel ---- */

static uint64_t device_size(int fd) {
        uint64_t size = 0;
        if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0)
                return 0;
        return size;
}

/* ---- The device and the kernel, in threads: a stalled disk may hold its open or mount(2) ---- */

struct open_job {
        char *path;
        dev_t devnum;
        bool read_only;       /* asked for */
        bool may_fall_back;   /* a read-write Mount may go on read-only */
        int claim_fd, fd;
        bool write_protected; /* the medium (BLKROGET) */
        uint64_t size;
};

static void open_job_free(void *p) {
        struct open_job *j = p;
        closep(&j->claim_fd);
        closep(&j->fd);
        free(j->path);
        free(j);
}

static int open_thread(void *arg) {
        struct open_job *j = arg;
        int ro = 0;

        int r = device_open(j->path, j->devnum, j->read_only, &j->claim_fd, &j->fd);
        if ((r == -EROFS || r == -EACCES) && j->may_fall_back)
                r = device_open(j->path, j->devnum, true, &j->claim_fd, &j->fd);
        if (r < 0)
                return r;
        /* A write-protected medium (an SD card's lock switch, a read-only loop device): the kernel
         * would refuse a read-write mount, and a label cannot be written. */
        j->write_protected = ioctl(j->fd, BLKROGET, &ro) < 0 || ro;
        j->size = device_size(j->fd);
        return 0;
}

static void on_opened(void *userdata, void *arg, int result) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct open_job *j = arg;
        Mount *m = userdata;

        if (result < 0)
                (void) sd_bus_error_setf(&error, result == -EBUSY ? ERR_BUSY : ERR_NO_SUCH_DEVICE, "Cannot open %s: %s",
                                         m->device, result == -EBUSY ? "it is in use" : strerr(result));
        else {
                /* Ours from now on, whatever the machine does next: mount_free() closes them. */
                m->claim_fd = TAKE_FD(j->claim_fd);
                m->device_fd = TAKE_FD(j->fd);
                m->device_size = j->size;
                if (j->write_protected && m->purpose == PURPOSE_LABEL) {
                        result = -EROFS;
                        (void) sd_bus_error_setf(&error, ERR_FAILED, "%s is write-protected.", m->device);
                } else if (j->write_protected) {
                        if (!m->opts.read_only)
                                log_info("%s: the device is write-protected; mounting it read-only", m->device);
                        m->opts.read_only = true;
                }
        }
        mount_on_device_opened(m, result, &error);
}

static int open_device(Mount *m) {
        struct open_job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (struct open_job) {
                .devnum = m->devnum,
                .read_only = m->purpose == PURPOSE_MOUNT && m->opts.read_only,
                .may_fall_back = m->purpose == PURPOSE_MOUNT && !m->opts.read_only,
                .claim_fd = -1,
                .fd = -1,
        };
        j->path = strdup(m->device);
        if (!j->path) {
                open_job_free(j);
                return -ENOMEM;
        }
        return offload_run(m->manager->event, open_thread, j, open_job_free, on_opened, m, &m->offload);
}

struct mount_job {
        char *device, *mount_point;
        int fuse_fd;
        uid_t uid;
        gid_t gid;
        bool read_only, noexec, sync;
};

static void mount_job_free(void *p) {
        struct mount_job *j = p;
        closep(&j->fuse_fd);
        free(j->device);
        free(j->mount_point);
        free(j);
}

static int mount_thread(void *arg) {
        struct mount_job *j = arg;
        return fuse_mount_device(j->device, j->mount_point, j->fuse_fd, j->uid, j->gid, j->read_only, j->noexec,
                                 j->sync);
}

static void on_mount_done(void *userdata, void *arg, int result) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct mount_job *j = arg;
        Mount *m = userdata;

        if (result < 0)
                (void) sd_bus_error_setf(&error, result == -EBUSY ? ERR_BUSY : ERR_FAILED, "Mounting %s on %s failed: %s",
                                         m->device, m->mount_point, strerr(result));
        else {
                m->mounted = true;
                m->fuse_fd = TAKE_FD(j->fuse_fd);
        }
        mount_on_mounted(m, result, &error);
}

static int establish(Mount *m, sd_bus_error *error) {
        int r;

        if (m->opts.mount_point) {
                r = mountpoint_create_custom(m->opts.mount_point, &m->created_mount_point);
                if (r < 0)
                        return sd_bus_error_setf(error, r == -EBUSY ? ERR_BUSY : ERR_INVALID_ARGUMENT,
                                                 "Cannot use %s as mount point: %s", m->opts.mount_point, strerr(r)), r;
                m->mount_point = strdup(m->opts.mount_point);
                if (!m->mount_point)
                        return -ENOMEM;
        } else {
                r = mountpoint_create_default(m->user_name, m->owner, m->label, m->uuid, &m->mount_point);
                if (r < 0)
                        return sd_bus_error_setf(error, ERR_FAILED, "Cannot create a mount point for %s: %s",
                                                 m->user_name, strerr(r)), r;
                m->created_mount_point = true;
        }

        struct mount_job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (struct mount_job) {
                .fuse_fd = -1,
                .uid = m->owner,
                .gid = m->gid,
                .read_only = m->read_only,
                .noexec = m->opts.noexec,
                .sync = m->opts.sync,
        };
        j->device = strdup(m->device);
        j->mount_point = strdup(m->mount_point);
        if (!j->device || !j->mount_point) {
                mount_job_free(j);
                return -ENOMEM;
        }
        /* Opened here, in the daemon's user namespace, as the kernel requires of the mounter. */
        j->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (j->fuse_fd < 0) {
                r = -errno;
                mount_job_free(j);
                return sd_bus_error_setf(error, ERR_FAILED, "Cannot open /dev/fuse: %s", strerr(r)), r;
        }
        /* mount(2) makes its own exclusive claim, which ours would make fail with EBUSY: ours is
         * let go at the last moment. */
        m->claim_fd = safe_close(m->claim_fd);
        r = offload_run(m->manager->event, mount_thread, j, mount_job_free, on_mount_done, m, &m->offload);
        if (r < 0)
                return sd_bus_error_setf(error, ERR_FAILED, "Cannot start a thread: %s", strerr(r)), r;
        return 0;
}

static int send_fuse(Mount *m) {
        int r = link_send(m->sock, LINK_FUSE, NULL, 0, m->fuse_fd);
        m->fuse_fd = safe_close(m->fuse_fd);
        return r;
}

static void abort_connection(Mount *m) {
        int r = fuse_abort_connection(m->devnum);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "%s: could not abort the FUSE connection", m->device);
}

static void detach(Mount *m) {
        /* Abort first: with the connection gone no umount can wait for the worker. */
        abort_connection(m);
        int r = fuse_unmount(m->mount_point, m->devnum, MNT_DETACH, false);
        if (r < 0 && r != -EINVAL && r != -ENOENT)
                log_error_errno(r, "%s: could not detach %s", m->device, m->mount_point);
}

/* Anywhere: a caller who renamed a parent of a chosen mount point has not unmounted it. */
static bool mount_present(Mount *m) {
        return fuse_mount_present(NULL, m->devnum);
}

static void remove_mount_point(Mount *m) {
        int r = mountpoint_remove(m->mount_point);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "%s: could not remove %s", m->device, m->mount_point);
}

/* ---- Threads ---- */

struct thread_job {
        char *path;
        dev_t devnum;
        bool force;
};

static void thread_job_free(void *p) {
        struct thread_job *j = p;
        free(j->path);
        free(j);
}

/* Waits until the worker answers a first request (only then has the kernel processed INIT's
 * reply), then raises the read-ahead, which INIT has clamped. */
static int settle_thread(void *arg) {
        struct thread_job *j = arg;
        dev_t dev;

        int r = fuse_mount_await(j->path, &dev);
        if (r < 0)
                return r;
        r = fuse_readahead_set(dev, true, FUSE_READAHEAD_KIB);
        if (r < 0)
                log_warning_errno(r, "%s: cannot raise the read-ahead", j->path);
        return 0;
}

static int umount_thread(void *arg) {
        struct thread_job *j = arg;

        return fuse_unmount(j->path, j->devnum, j->force ? MNT_DETACH : 0, true);
}

static void on_thread_done(void *userdata, void *arg, int result) {
        mount_on_thread_done(userdata, result);
}

static int run_thread(Mount *m, MountThread what, bool force) {
        struct thread_job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->force = force;
        j->devnum = m->devnum;
        j->path = strdup(m->mount_point);
        if (!j->path) {
                free(j);
                return -ENOMEM;
        }
        return offload_run(m->manager->event, what == MOUNT_THREAD_UMOUNT ? umount_thread : settle_thread, j,
                           thread_job_free, on_thread_done, m, &m->offload);
}

/* ---- D-Bus ---- */

static void reply(Mount *m, sd_bus_message *request, const sd_bus_error *error) {
        if (error)
                (void) sd_bus_reply_method_error(request, error);
        else if (sd_bus_message_is_method_call(request, MOUNTD_MANAGER_IFACE, "Mount"))
                (void) sd_bus_reply_method_return(request, "os", m->object_path, m->mount_point);
        else
                (void) sd_bus_reply_method_return(request, NULL);
}

/* The world's part of MountOps; the Manager adds its own (manager_mount_ops()). */
const MountOps mount_ops_world = {
        .start_unit = start_unit,
        .stop_unit = stop_unit,
        .unwatch_link = unwatch_link,
        .close_link_write = close_link_write,
        .send = send_message,
        .send_device = send_device,
        .arm_timer = arm_timer,
        .open_device = open_device,
        .establish = establish,
        .send_fuse = send_fuse,
        .detach = detach,
        .abort_connection = abort_connection,
        .mount_present = mount_present,
        .remove_mount_point = remove_mount_point,
        .run_thread = run_thread,
        .reply = reply,
};
