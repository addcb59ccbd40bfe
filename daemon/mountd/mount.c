/* SPDX-License-Identifier: MIT */
/* The life of one worker: start the unit, hand over the device, mount, serve, relabel, unmount,
 * and clean up after a worker that died or misbehaved. Every step waits asynchronously and has a
 * timeout, so a stuck or hostile worker never holds up the daemon. */
#include "mountd.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pwd.h>
#include <stdarg.h>
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
#include "state.h"
#include "units.h"
#include "util.h"

#define USEC_PER_SEC 1000000ULL
#define TIMEOUT_START (20 * USEC_PER_SEC)
#define TIMEOUT_PROBE (60 * USEC_PER_SEC)
#define TIMEOUT_READY (10 * USEC_PER_SEC)
#define TIMEOUT_LABEL (20 * USEC_PER_SEC)
#define TIMEOUT_UMOUNT (30 * USEC_PER_SEC)
#define TIMEOUT_CLEAN (60 * USEC_PER_SEC)
#define TIMEOUT_EXIT (5 * USEC_PER_SEC)

static void on_link_message(void *userdata, enum link_type type, const union link_payload *p);
static void on_link_gone(void *userdata, int reason);
static const struct link_handlers handlers = { on_link_message, on_link_gone };

int mount_new(Manager *mgr, const char *device, dev_t devnum, Mount **ret) {
        Mount *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        static uint64_t last_id;
        m->manager = mgr;
        m->id = ++last_id;
        m->purpose = PURPOSE_MOUNT;
        m->devnum = devnum;
        m->sock = -1;
        m->device_fd = -1;
        m->state = STATE_MOUNTING;
        m->step = STEP_STARTING;
        m->device = strdup(device);
        if (!m->device) {
                free(m);
                return -ENOMEM;
        }
        m->next = mgr->mounts;
        mgr->mounts = m;
        *ret = m;
        return 0;
}

void mount_free(Mount *m) {
        if (!m)
                return;
        for (Mount **p = &m->manager->mounts; *p; p = &(*p)->next)
                if (*p == m) {
                        *p = m->next;
                        break;
                }
        sd_event_source_disable_unref(m->io);
        sd_event_source_disable_unref(m->timer);
        sd_bus_slot_unref(m->start_slot);
        sd_bus_slot_unref(m->object_slot);
        sd_bus_message_unref(m->request);
        sd_bus_error_free(&m->error);
        closep(&m->sock);
        closep(&m->device_fd);
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
        free(m);
}

Mount *manager_find_mount(Manager *mgr, const char *s) {
        for (Mount *m = mgr->mounts; m; m = m->next)
                if (strcmp(m->device, s) == 0 || (m->mount_point && strcmp(m->mount_point, s) == 0))
                        return m;
        return NULL;
}

Mount *manager_find_id(Manager *mgr, uint64_t id) {
        for (Mount *m = mgr->mounts; m; m = m->next)
                if (m->id == id)
                        return m;
        return NULL;
}

Mount *manager_find_devnum(Manager *mgr, dev_t devnum) {
        for (Mount *m = mgr->mounts; m; m = m->next)
                if (m->devnum == devnum)
                        return m;
        return NULL;
}

/* Answers the pending request with the error recorded by fail_later(), if any. */
static bool reply_recorded_error(Mount *m) {
        if (!m->request || !sd_bus_error_is_set(&m->error))
                return false;
        (void) sd_bus_reply_method_error(m->request, &m->error);
        m->request = sd_bus_message_unref(m->request);
        return true;
}

/* Answers the pending request now (with the first recorded error, if there is one). */
static void reply_error(Mount *m, const char *name, const char *fmt, ...) _sd_printf_(3, 4);
static void reply_error(Mount *m, const char *name, const char *fmt, ...) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;

        if (!m->request || reply_recorded_error(m))
                return;
        va_start(ap, fmt);
        sd_bus_error_setfv(&error, name, fmt, ap);
        va_end(ap);
        (void) sd_bus_reply_method_error(m->request, &error);
        sd_bus_error_free(&error);
        m->request = sd_bus_message_unref(m->request);
}

/* Records why the request failed; the answer goes out when the worker is gone and everything is
 * cleaned up, so that a caller who retries at once does not find the device still busy. */
static void fail_later(Mount *m, const char *name, const char *fmt, ...) _sd_printf_(3, 4);
static void fail_later(Mount *m, const char *name, const char *fmt, ...) {
        va_list ap;

        if (!m->request || sd_bus_error_is_set(&m->error))
                return;
        va_start(ap, fmt);
        sd_bus_error_setfv(&m->error, name, fmt, ap);
        va_end(ap);
}

static void reply_ok(Mount *m) {
        if (!m->request || reply_recorded_error(m))
                return;
        if (sd_bus_message_is_method_call(m->request, MOUNTD_MANAGER_IFACE, "Mount"))
                (void) sd_bus_reply_method_return(m->request, "os", m->object_path, m->mount_point);
        else
                (void) sd_bus_reply_method_return(m->request, NULL);
        m->request = sd_bus_message_unref(m->request);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata);

static int arm_timer(Mount *m, uint64_t usec) {
        m->timer = sd_event_source_disable_unref(m->timer);
        return sd_event_add_time_relative(m->manager->event, &m->timer, CLOCK_MONOTONIC, usec, 0, on_timeout, m);
}

static void disarm_timer(Mount *m) {
        m->timer = sd_event_source_disable_unref(m->timer);
}

static void set_state(Mount *m, enum mount_state s) {
        if (m->state == s)
                return;
        m->state = s;
        mount_object_changed(m, "State");
}

static void detach(Mount *m) {
        if (!m->mounted)
                return;
        /* Abort first: with the connection gone no umount can wait for the worker. */
        int r = fuse_abort_connection(m->devnum);
        if (r < 0 && r != -ENOENT)
                log_warning("%s: could not abort the FUSE connection: %s", m->device, strerr(r));
        if (umount2(m->mount_point, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
                log_error("%s: could not detach %s: %m", m->device, m->mount_point);
        m->mounted = false;
}

/* The end of every Mount: whatever is left of it goes, then the object itself. */
static void finish(Mount *m) {
        bool was_recorded = m->recorded;
        dev_t devnum = m->devnum;

        if (!m->finished) {
                detach(m);
                if (m->mount_point && m->created_mount_point && rmdir(m->mount_point) < 0 && errno != ENOENT)
                        log_warning("%s: could not remove %s: %m", m->device, m->mount_point);
                mount_object_unexport(m);
                state_forget_fd(m);
                if (m->step != STEP_DEAD && m->unit && !m->unit_stopping)
                        (void) units_stop(m->manager->bus, m->unit);
                m->unit_stopping = true;
                m->step = STEP_DEAD;
                m->finished = true;
                m->io = sd_event_source_disable_unref(m->io);
                disarm_timer(m);
        }
        /* Only now, with everything gone: the caller may retry or unplug at once. */
        reply_ok(m);
        Manager *mgr = m->manager;
        mount_free(m);
        if (was_recorded)
                (void) state_save(mgr);
        manager_device_released(mgr, devnum);
        if (mgr->stopping && !mgr->mounts)
                (void) sd_event_exit(mgr->event, 0);
}

void mount_abandon(Mount *m, const char *why) {
        if (m->finished)
                return;
        log_error("%s: %s%s%s", m->device, why, m->unit ? "; stopping " : "", m->unit ?: "");
        fail_later(m, ERR_WORKER_FAILED, "%s", why);
        if (m->offload) {
                /* A statfs or umount is blocked on the worker: aborting the connection frees it,
                 * and its completion (on_settled, on_umount_done) finishes the Mount. */
                m->step = STEP_DEAD;
                if (m->mounted)
                        (void) fuse_abort_connection(m->devnum);
                m->io = sd_event_source_disable_unref(m->io);
                if (m->unit && !m->unit_stopping) {
                        (void) units_stop(m->manager->bus, m->unit);
                        m->unit_stopping = true;
                }
                return;
        }
        finish(m);
}

static const char *step_to_string(enum worker_step step) {
        static const char *const names[] = {
                [STEP_STARTING] = "waiting for the worker to start",
                [STEP_WAIT_PROBED] = "waiting for the probe",
                [STEP_WAIT_READY] = "waiting for ready",
                [STEP_SETTLING] = "waiting for the first request to be answered",
                [STEP_SERVING] = "serving",
                [STEP_WAIT_LABEL_SET] = "waiting for the label",
                [STEP_UNMOUNTING] = "unmounting",
                [STEP_WAIT_CLEAN] = "waiting for the flush",
                [STEP_WAIT_EXIT] = "waiting for the exit",
                [STEP_STOPPING] = "stopping the worker",
                [STEP_DEAD] = "dead",
        };
        return step < sizeof(names) / sizeof(names[0]) && names[step] ? names[step] : "?";
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Mount *m = userdata;
        char why[128];

        m->timer = sd_event_source_disable_unref(m->timer);
        switch (m->step) {
        case STEP_UNMOUNTING:
                /* umount2 or syncfs waits on the worker: cut it off; the thread then returns. */
                log_error("%s: unmount of %s hangs; aborting the FUSE connection", m->device, m->mount_point);
                (void) fuse_abort_connection(m->devnum);
                return 0;
        case STEP_STOPPING:
                log_warning("%s: %s did not go away in time after being stopped", m->device, m->unit);
                finish(m);
                return 0;
        case STEP_WAIT_LABEL_SET:
                if (m->label_adopted) {
                        /* Recorded by a daemon that may have died before it sent the label: the
                         * worker may never have been asked. It serves on. */
                        log_warning("%s: no answer to a relabel asked before the restart; serving on", m->device);
                        m->label_adopted = false;
                        m->new_label = mfree(m->new_label);
                        m->step = STEP_SERVING;
                        (void) state_save(m->manager);
                        return 0;
                }
                snprintf(why, sizeof(why), "worker did not answer in time (%s)", step_to_string(m->step));
                mount_abandon(m, why);
                return 0;
        case STEP_WAIT_EXIT:
                /* Clean and answered, but the process lingers: no need to wait for it. */
                log_warning("%s: worker confirmed but did not exit; stopping %s", m->device, m->unit);
                m->step = STEP_DEAD;
                (void) units_stop(m->manager->bus, m->unit);
                m->unit_stopping = true;
                if (m->clean_status < 0)
                        fail_later(m, ERR_WORKER_FAILED, "The worker could not flush the volume: %s", strerr(m->clean_status));
                finish(m);
                return 0;
        default:
                snprintf(why, sizeof(why), "worker did not answer in time (%s)", step_to_string(m->step));
                mount_abandon(m, why);
                return 0;
        }
}

static int on_unit_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Mount *m = userdata;
        const char *job;

        m->start_slot = sd_bus_slot_unref(m->start_slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_error("%s: could not start %s: %s", m->device, m->unit, e->message ?: e->name);
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists"))
                        fail_later(m, ERR_BUSY, "A worker for %s is still running.", m->device);
                else
                        fail_later(m, ERR_WORKER_FAILED, "Could not start the worker: %s", e->message ?: e->name);
                m->unit_stopping = true; /* not ours to stop */
                m->step = STEP_DEAD;
                finish(m);
                return 0;
        }
        log_debug("%s: StartTransientUnit answered", m->device);
        if (sd_bus_message_read(reply, "o", &job) < 0 || !(m->job_path = strdup(job))) {
                mount_abandon(m, "malformed answer from systemd");
                return 0;
        }
        return 0;
}

/* The worker was never given anything (refused, or the device could not be opened): stop its unit
 * and finish once the link closes, that is once systemd has let go of the unit and its process is
 * gone, so that a request that follows at once can start a new one. */
static void stop_worker(Mount *m) {
        disarm_timer(m);
        m->step = STEP_STOPPING;
        /* A worker waiting for DEVICE reads only the link (it takes SIGTERM later): end of file tells
         * it at once. The link stays open our way, to see it go. */
        if (m->sock >= 0)
                (void) shutdown(m->sock, SHUT_WR);
        if (m->unit && !m->unit_stopping) {
                (void) units_stop(m->manager->bus, m->unit);
                m->unit_stopping = true;
        }
        if (!m->io) {
                finish(m);
                return;
        }
        (void) arm_timer(m, TIMEOUT_EXIT);
}

static void send_device(Mount *m) {
        log_debug("%s: hello received and authorized; sending the device", m->device);
        struct link_device d = {
                .flags = (m->opts.read_only ? LINK_OPT_READ_ONLY : 0) | (m->opts.force ? LINK_OPT_FORCE : 0) |
                         (m->opts.sync ? LINK_OPT_SYNC : 0) | (m->opts.noexec ? LINK_OPT_NOEXEC : 0) |
                         (m->purpose == PURPOSE_LABEL ? LINK_OPT_PROBE_ONLY : 0),
                .uid = m->owner,
                .gid = m->gid,
                .dmask = m->opts.dmask,
                .fmask = m->opts.fmask,
        };
        /* The sandbox cannot open the device: a second open file, O_DIRECT, lets the worker read
         * and write file data around the device's page cache (no second copy of what the mount's
         * own page cache holds, no write-back). Without one it still works. */
        _cleanup_close_ int direct_fd = -1;
        if (m->purpose == PURPOSE_MOUNT)
                direct_fd = device_reopen_direct(m->device_fd);
        if (direct_fd >= 0)
                d.flags |= LINK_OPT_DIRECT_FOLLOWS;
        int r = link_send(m->sock, LINK_DEVICE, &d, sizeof(d), m->device_fd);
        if (r >= 0 && direct_fd >= 0)
                r = link_send(m->sock, LINK_DIRECT_DEVICE, NULL, 0, direct_fd);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "could not send the device to the worker: %s", strerr(r));
                mount_abandon(m, why);
                return;
        }
        m->device_fd = safe_close(m->device_fd);
        m->step = STEP_WAIT_PROBED;
        (void) arm_timer(m, TIMEOUT_PROBE);
}

void manager_job_removed(Manager *mgr, const char *job, const char *result) {
        for (Mount *m = mgr->mounts; m; m = m->next) {
                if (!m->job_path || m->job_done || strcmp(m->job_path, job) != 0)
                        continue;
                m->job_done = true;
                log_debug("%s: job %s %s", m->device, job, result);
                /* Success needs no action: HELLO on the link already proves the worker runs. A
                 * stopped worker's start job ends "canceled", as asked. */
                if (strcmp(result, "done") != 0 && m->step != STEP_STOPPING && !m->finished) {
                        char why[128];
                        snprintf(why, sizeof(why), "worker unit failed to start (job %s)", result);
                        mount_abandon(m, why);
                }
                return;
        }
}

static uint64_t device_size(int fd) {
        uint64_t size = 0;
        if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0)
                return 0;
        return size;
}

static int establish_mount(Mount *m) {
        int r;

        if (m->opts.mount_point) {
                r = mountpoint_create_custom(m->opts.mount_point, &m->created_mount_point);
                if (r < 0) {
                        log_error("%s: cannot use %s as mount point: %s", m->device, m->opts.mount_point, strerr(r));
                        fail_later(m, r == -EBUSY ? ERR_BUSY : ERR_INVALID_ARGUMENT, "Cannot use %s as mount point: %s",
                                    m->opts.mount_point, strerr(r));
                        return r;
                }
                m->mount_point = strdup(m->opts.mount_point);
                if (!m->mount_point)
                        return -ENOMEM;
        } else {
                r = mountpoint_create_default(m->user_name, m->owner, m->label, m->uuid, &m->mount_point);
                if (r < 0) {
                        log_error("%s: cannot create a mount point for %s: %s", m->device, m->user_name, strerr(r));
                        fail_later(m, ERR_FAILED, "Cannot create a mount point: %s", strerr(r));
                        return r;
                }
                m->created_mount_point = true;
        }

        /* Opened here, in the daemon's user namespace, as the kernel requires of the mounter. */
        _cleanup_close_ int fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fuse_fd < 0) {
                r = -errno;
                log_error("%s: cannot open /dev/fuse: %s", m->device, strerr(r));
                fail_later(m, ERR_FAILED, "Cannot open /dev/fuse: %s", strerr(r));
                return r;
        }
        r = fuse_mount_device(m->device, m->mount_point, fuse_fd, m->owner, m->gid, m->read_only, m->opts.noexec,
                              m->opts.sync);
        if (r < 0) {
                log_error("%s: mount on %s failed: %s", m->device, m->mount_point, strerr(r));
                fail_later(m, r == -EBUSY ? ERR_BUSY : ERR_FAILED, "Mounting %s failed: %s", m->device, strerr(r));
                return r;
        }
        m->mounted = true;
        r = link_send(m->sock, LINK_FUSE, NULL, 0, fuse_fd);
        if (r < 0) {
                log_error("%s: cannot send the FUSE fd to the worker: %s", m->device, strerr(r));
                fail_later(m, ERR_WORKER_FAILED, "Could not hand the FUSE connection to the worker: %s", strerr(r));
                return r;
        }
        return 0;
}

static void send_label(Mount *m) {
        struct link_set_label l = {};
        snprintf(l.label, sizeof(l.label), "%s", m->new_label);
        m->step = STEP_WAIT_LABEL_SET;
        /* Recorded before it is sent: a daemon restarted while the worker relabels then expects
         * its answer instead of taking it for a protocol violation. */
        if (m->purpose == PURPOSE_MOUNT)
                (void) state_save(m->manager);
        log_debug("%s: asking the worker to set the label", m->device);
        int r = link_send(m->sock, LINK_SET_LABEL, &l, sizeof(l), -1);
        if (r < 0) {
                mount_abandon(m, "could not send the label to the worker");
                return;
        }
        (void) arm_timer(m, TIMEOUT_LABEL);
}

static void send_shutdown(Mount *m) {
        int r = link_send(m->sock, LINK_SHUTDOWN, NULL, 0, -1);
        if (r < 0) {
                mount_abandon(m, "could not send shutdown to the worker");
                return;
        }
        m->step = STEP_WAIT_CLEAN;
        (void) arm_timer(m, TIMEOUT_CLEAN);
}

static void on_probed(Mount *m, const struct link_probed *p) {
        char uuid[16];
        int r;

        log_debug("%s: probed (status %d)", m->device, (int) p->status);
        r = link_check_probed(p, m->device_size);
        if (r < 0) {
                mount_abandon(m, "worker sent an invalid probe result");
                return;
        }
        if (p->status < 0) {
                log_error("%s: worker could not open the volume: %s", m->device, strerr(p->status));
                if (p->status == -EINVAL || p->status == -EMEDIUMTYPE || p->status == -ENOTSUP)
                        fail_later(m, ERR_NOT_EXFAT, "%s does not hold a valid exFAT filesystem.", m->device);
                else
                        fail_later(m, ERR_WORKER_FAILED, "Cannot read the filesystem on %s: %s", m->device, strerr(p->status));
                send_shutdown(m);
                return;
        }
        snprintf(uuid, sizeof(uuid), "%04X-%04X", p->serial >> 16, p->serial & 0xFFFF);
        free(m->label);
        free(m->uuid);
        m->label = strdup(p->label);
        m->uuid = strdup(uuid);
        if (!m->label || !m->uuid) {
                mount_abandon(m, "out of memory");
                return;
        }
        m->dirty = p->dirty;
        /* The worker's word can only make the mount more restrictive. */
        m->read_only = m->opts.read_only || p->read_only || (p->dirty && !m->opts.force);

        if (m->purpose == PURPOSE_LABEL) {
                if (m->dirty) {
                        log_error("%s: not relabelling a volume marked dirty", m->device);
                        fail_later(m, ERR_DIRTY, "The volume on %s is marked dirty; check it with fsck.exfat first.", m->device);
                        send_shutdown(m);
                        return;
                }
                send_label(m);
                return;
        }

        r = establish_mount(m);
        if (r < 0) {
                /* The caller has its answer; the worker only needs to go. */
                detach(m);
                send_shutdown(m);
                return;
        }
        (void) state_save(m->manager);
        m->step = STEP_WAIT_READY;
        (void) arm_timer(m, TIMEOUT_READY);
}

/* Waits until the worker answers a first request (only then has the kernel processed INIT's
 * reply), then raises the read-ahead, which INIT has clamped. */
static int settle_thread(void *arg) {
        const char *path = arg;
        dev_t dev;

        int r = fuse_mount_await(path, &dev);
        if (r < 0)
                return r;
        r = fuse_readahead_set(dev, true, FUSE_READAHEAD_KIB);
        if (r < 0)
                log_warning("%s: cannot raise the read-ahead: %s", path, strerr(r));
        return 0;
}

static void serve(Mount *m) {
        int r;

        m->step = STEP_SERVING;
        set_state(m, STATE_MOUNTED);
        r = mount_object_export(m);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "cannot export the mount object: %s", strerr(r));
                mount_abandon(m, why);
                return;
        }
        (void) state_store_fd(m);
        (void) state_save(m->manager);
        log_info("%s: mounted on %s for uid %u (%s)%s", m->device, m->mount_point, (unsigned) m->owner, m->unit,
                 m->read_only ? " read-only" : "");
        reply_ok(m);
}

static void on_settled(void *userdata, int result) {
        Mount *m = userdata;

        m->offload = NULL; /* the source was released by offload.c */
        disarm_timer(m);
        if (m->step == STEP_DEAD) {
                finish(m); /* abandoned meanwhile */
                return;
        }
        if (result < 0) {
                char why[128];
                snprintf(why, sizeof(why), "the mount does not work: statfs failed: %s", strerr(result));
                mount_abandon(m, why);
                return;
        }
        serve(m);
}

static void on_ready(Mount *m, const struct link_status *s) {
        int r;

        log_debug("%s: ready (status %d)", m->device, (int) s->status);
        if (link_check_status(s->status) < 0) {
                mount_abandon(m, "worker sent an invalid status");
                return;
        }
        if (s->status < 0) {
                log_error("%s: worker could not serve: %s", m->device, strerr(s->status));
                fail_later(m, ERR_WORKER_FAILED, "The worker could not serve %s: %s", m->device, strerr(s->status));
                detach(m);
                send_shutdown(m);
                return;
        }

        char *path = strdup(m->mount_point);
        if (!path) {
                mount_abandon(m, "out of memory");
                return;
        }
        m->step = STEP_SETTLING;
        r = offload_run(m->manager->event, settle_thread, path, free, on_settled, m, &m->offload);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "cannot start a thread: %s", strerr(r));
                mount_abandon(m, why);
                return;
        }
        (void) arm_timer(m, TIMEOUT_READY);
}

static void on_label_set(Mount *m, const struct link_status *s) {
        if (link_check_status(s->status) < 0) {
                mount_abandon(m, "worker sent an invalid status");
                return;
        }
        disarm_timer(m);
        if (s->status < 0) {
                log_error("%s: worker could not set the label: %s", m->device, strerr(s->status));
                const char *name = s->status == -EINVAL || s->status == -ENAMETOOLONG ? ERR_INVALID_ARGUMENT : ERR_FAILED;
                if (m->purpose == PURPOSE_LABEL)
                        fail_later(m, name, "Setting the label failed: %s", strerr(s->status));
                else
                        reply_error(m, name, "Setting the label failed: %s", strerr(s->status));
        } else {
                char *l = strdup(m->new_label);
                if (l) {
                        free(m->label);
                        m->label = l;
                }
                if (m->purpose == PURPOSE_MOUNT) {
                        mount_object_changed(m, "Label");
                        reply_ok(m);
                }
        }
        free(m->new_label);
        m->new_label = NULL;
        m->label_adopted = false;
        if (m->purpose == PURPOSE_LABEL)
                send_shutdown(m); /* the reply waits for the flush */
        else {
                m->step = STEP_SERVING;
                (void) state_save(m->manager);
        }
}

static void on_clean(Mount *m, const struct link_status *s) {
        if (link_check_status(s->status) < 0) {
                mount_abandon(m, "worker sent an invalid status");
                return;
        }
        m->clean_status = s->status;
        if (s->status < 0)
                log_error("%s: worker could not shut down cleanly: %s", m->device, strerr(s->status));
        if (m->step == STEP_UNMOUNTING) {
                /* Our umount2 reached the worker as DESTROY and it finished on its own; the thread's
                 * completion goes on from here. */
                m->clean_early = true;
                return;
        }
        if (m->step == STEP_SERVING) {
                /* Somebody unmounted it behind our back; the worker is done. */
                log_warning("%s: %s was unmounted outside exfat-mountd; the worker finished", m->device, m->mount_point);
                set_state(m, STATE_UNMOUNTING);
                (void) link_send(m->sock, LINK_SHUTDOWN, NULL, 0, -1);
        }
        m->step = STEP_WAIT_EXIT;
        (void) arm_timer(m, TIMEOUT_EXIT);
}

static void on_link_message(void *userdata, enum link_type type, const union link_payload *p) {
        Mount *m = userdata;

        if (m->step == STEP_STOPPING)
                return; /* whatever it says, it is going */
        if (type == LINK_HELLO && m->step == STEP_STARTING && !m->hello) {
                log_debug("%s: hello", m->device);
                if (p->hello.version != LINK_PROTOCOL_VERSION) {
                        mount_abandon(m, "worker speaks another protocol version");
                        return;
                }
                m->hello = true;
                if (m->claimed)
                        send_device(m);
                else
                        disarm_timer(m); /* polkit may be asking for a password: it has its own timeout */
        } else if (type == LINK_PROBED && m->step == STEP_WAIT_PROBED)
                on_probed(m, &p->probed);
        else if (type == LINK_READY && m->step == STEP_WAIT_READY)
                on_ready(m, &p->status);
        else if (type == LINK_LABEL_SET && m->step == STEP_WAIT_LABEL_SET)
                on_label_set(m, &p->status);
        else if (type == LINK_CLEAN && !m->clean_early &&
                 (m->step == STEP_WAIT_CLEAN || m->step == STEP_UNMOUNTING || m->step == STEP_SERVING))
                on_clean(m, &p->status);
        else {
                char why[96];
                snprintf(why, sizeof(why), "worker sent an unexpected message (type %d while %s)", (int) type,
                         step_to_string(m->step));
                mount_abandon(m, why);
        }
}

static void on_link_gone(void *userdata, int reason) {
        Mount *m = userdata;

        m->io = sd_event_source_disable_unref(m->io);
        if (m->step == STEP_STOPPING) {
                finish(m);
                return;
        }
        if (m->step == STEP_UNMOUNTING && m->clean_early) {
                m->link_closed = true; /* on_umount_done finishes */
                return;
        }
        if (m->step == STEP_WAIT_EXIT) {
                /* The normal end of an unmount or a relabel. */
                m->step = STEP_DEAD;
                m->unit_stopping = true;
                disarm_timer(m);
                if (m->clean_status < 0)
                        fail_later(m, ERR_WORKER_FAILED, "The worker could not flush the volume: %s", strerr(m->clean_status));
                else if (m->purpose == PURPOSE_MOUNT && !sd_bus_error_is_set(&m->error))
                        log_info("%s: unmounted from %s", m->device, m->mount_point);
                finish(m);
                return;
        }
        char why[128];
        if (reason == -ECONNRESET)
                snprintf(why, sizeof(why), "worker exited unexpectedly");
        else
                snprintf(why, sizeof(why), "worker broke the protocol (%s)", strerr(reason));
        mount_abandon(m, why);
}

/* The device is opened only for an authorized request: a refused caller makes the daemon touch
 * nothing but the worker's unit. */
static int open_device(Mount *m) {
        int r = device_open(m->device, m->devnum, m->purpose == PURPOSE_MOUNT && m->opts.read_only, &m->device_fd);
        if ((r == -EROFS || r == -EACCES) && m->purpose == PURPOSE_MOUNT && !m->opts.read_only)
                r = device_open(m->device, m->devnum, true, &m->device_fd);
        if (r < 0) {
                log_error("%s: cannot open the device: %s", m->device, r == -EBUSY ? "it is in use" : strerr(r));
                fail_later(m, r == -EBUSY ? ERR_BUSY : ERR_NO_SUCH_DEVICE, "Cannot open %s: %s", m->device,
                            r == -EBUSY ? "it is in use" : strerr(r));
                return r;
        }
        int ro = 0;
        if (ioctl(m->device_fd, BLKROGET, &ro) < 0 || ro) {
                /* A write-protected medium (an SD card's lock switch, a read-only loop device): the
                 * kernel would refuse a read-write mount, and a label cannot be written. */
                if (m->purpose == PURPOSE_LABEL) {
                        log_error("%s: cannot relabel a write-protected device", m->device);
                        fail_later(m, ERR_FAILED, "%s is write-protected.", m->device);
                        return -EROFS;
                }
                if (!m->opts.read_only)
                        log_info("%s: the device is write-protected; mounting it read-only", m->device);
                m->opts.read_only = true;
        }
        m->device_size = device_size(m->device_fd);
        return 0;
}

bool mount_claimable(Mount *m) {
        return !m->claimed && !m->finished && m->step == STEP_STARTING;
}

void mount_refused(Mount *m, sd_bus_message *request, const sd_bus_error *error) {
        assert(!m->claimed);
        if (request) {
                /* The refusal is the answer, whatever else went wrong meanwhile; it leaves once
                 * the worker is gone, so that the caller's next request finds the device free. */
                m->request = sd_bus_message_ref(request);
                sd_bus_error_free(&m->error);
                if (sd_bus_error_is_set(error))
                        (void) sd_bus_error_copy(&m->error, error);
                else
                        (void) sd_bus_error_set(&m->error, ERR_NOT_AUTHORIZED, "Not authorized.");
        }
        stop_worker(m);
}

void mount_authorized(Mount *m, sd_bus_message *request) {
        assert(mount_claimable(m));
        m->claimed = true;
        m->request = sd_bus_message_ref(request);
        if (open_device(m) < 0) {
                stop_worker(m);
                return;
        }
        log_debug("%s: authorized", m->device);
        if (m->hello)
                send_device(m);
}

int mount_begin(Mount *m) {
        int sv[2], r;

        m->step = STEP_STARTING;
        r = units_worker_name(m->device, &m->unit);
        if (r < 0)
                goto fail;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
                r = -errno;
                goto fail;
        }
        m->sock = sv[0];
        /* The worker's end blocks: it is its stdin and it reads it synchronously. */
        int flags = fcntl(sv[1], F_GETFL);
        if (flags >= 0)
                (void) fcntl(sv[1], F_SETFL, flags & ~O_NONBLOCK);
        r = link_watch(m->manager->event, m->sock, &handlers, m, &m->io);
        if (r >= 0)
                r = units_start_worker(m->manager->bus, m->unit, m->device, m->devnum, sv[1], on_unit_started, m,
                                       &m->start_slot);
        close(sv[1]); /* sd-bus keeps its own copy in the message */
        if (r < 0)
                goto fail;
        (void) arm_timer(m, TIMEOUT_START);
        log_debug("%s: starting %s", m->device, m->unit);
        return 0;

fail:
        log_error("%s: cannot start a worker: %s", m->device, strerr(r));
        fail_later(m, ERR_FAILED, "Cannot start a worker for %s: %s", m->device, strerr(r));
        m->unit_stopping = true;
        finish(m);
        return r;
}

static int umount_thread(void *arg) {
        const char *path = arg;
        bool force = path[0] == 'F';
        path++;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
                /* Data first: once detached, nobody could wait for the flush any more. */
                (void) syncfs(fd);
                close(fd);
        }
        if (umount2(path, (force ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static void on_umount_done(void *userdata, int result) {
        Mount *m = userdata;

        m->offload = NULL; /* the source was released by offload.c */
        disarm_timer(m);
        if (m->step == STEP_DEAD) {
                /* Abandoned meanwhile. */
                if (result == 0)
                        m->mounted = false;
                finish(m);
                return;
        }
        if (result == -EBUSY) {
                m->step = STEP_SERVING;
                set_state(m, STATE_MOUNTED);
                reply_error(m, ERR_BUSY, "%s is busy (files are open); unmount with force to detach it lazily.", m->mount_point);
                return;
        }
        if (result < 0 && fuse_mount_present(m->mount_point, m->devnum)) {
                log_error("%s: umount of %s failed: %s", m->device, m->mount_point, strerr(result));
                m->step = STEP_SERVING;
                set_state(m, STATE_MOUNTED);
                reply_error(m, ERR_FAILED, "Unmounting %s failed: %s", m->mount_point, strerr(result));
                return;
        }
        m->mounted = false;
        if (!m->clean_early) {
                send_shutdown(m);
                return;
        }
        /* The worker lingers for this acknowledgement (it may have gone already: no matter). */
        if (!m->link_closed)
                (void) link_send(m->sock, LINK_SHUTDOWN, NULL, 0, -1);
        m->step = STEP_WAIT_EXIT;
        if (m->link_closed)
                on_link_gone(m, -ECONNRESET);
        else
                (void) arm_timer(m, TIMEOUT_EXIT);
}

int mount_unmount(Mount *m, sd_bus_message *request, bool force) {
        if (m->state != STATE_MOUNTED || m->step != STEP_SERVING || m->request)
                return sd_bus_reply_method_errorf(request, ERR_BUSY, "%s is busy with another operation.", m->device);

        size_t n = strlen(m->mount_point);
        char *arg = malloc(n + 2);
        if (!arg)
                return -ENOMEM;
        arg[0] = force ? 'F' : '-';
        memcpy(arg + 1, m->mount_point, n + 1);

        m->request = sd_bus_message_ref(request);
        m->step = STEP_UNMOUNTING;
        set_state(m, STATE_UNMOUNTING);
        int r = offload_run(m->manager->event, umount_thread, arg, free, on_umount_done, m, &m->offload);
        if (r < 0) {
                m->step = STEP_SERVING;
                set_state(m, STATE_MOUNTED);
                reply_error(m, ERR_FAILED, "Cannot unmount: %s", strerr(r));
                return 0;
        }
        (void) arm_timer(m, TIMEOUT_UMOUNT);
        return 0;
}

int mount_set_label(Mount *m, sd_bus_message *request, const char *label) {
        if (m->state != STATE_MOUNTED || m->step != STEP_SERVING || m->request)
                return sd_bus_reply_method_errorf(request, ERR_BUSY, "%s is busy with another operation.", m->device);
        if (m->read_only)
                return sd_bus_reply_method_errorf(request, m->dirty ? ERR_DIRTY : ERR_FAILED,
                                                  "%s is mounted read-only%s.", m->device,
                                                  m->dirty ? " because the volume is marked dirty" : "");
        m->new_label = strdup(label);
        if (!m->new_label)
                return -ENOMEM;
        m->request = sd_bus_message_ref(request);
        send_label(m);
        return 0;
}

int mount_adopt(Mount *m, int sock) {
        m->sock = sock;
        m->state = STATE_MOUNTED;
        m->step = STEP_SERVING;
        if (m->new_label) {
                /* The previous daemon asked the worker for a new label: its answer is still due.
                 * Nobody waits for the reply any more. */
                m->step = STEP_WAIT_LABEL_SET;
                m->label_adopted = true;
                (void) arm_timer(m, TIMEOUT_LABEL);
        }
        m->claimed = true;
        m->mounted = true;
        m->hello = m->job_done = true;
        m->fd_stored = true;
        int r = link_watch(m->manager->event, m->sock, &handlers, m, &m->io);
        if (r < 0)
                return r;
        return mount_object_export(m);
}

void manager_stop(Manager *mgr) {
        Mount *next;

        mgr->stopping = true;
        /* Not worth waiting for a password: the answer would come too late. Unclaimed Mounts
         * are stopped with their requests. */
        manager_drop_pending(mgr);
        for (Mount *m = mgr->mounts; m; m = next) {
                next = m->next;
                if (m->state == STATE_MOUNTED && m->step == STEP_SERVING && !m->request) {
                        log_info("%s: unmounting %s: the daemon is stopping", m->device, m->mount_point);
                        (void) mount_unmount(m, NULL, true);
                }
                /* Anything else is in the middle of an operation that ends (or times out) by itself. */
        }
        if (!mgr->mounts)
                (void) sd_event_exit(mgr->event, 0);
}
