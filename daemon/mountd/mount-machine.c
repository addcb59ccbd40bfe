/* SPDX-License-Identifier: MIT */
/* The life of a Mount, as the table mount_states[] and the transitions between its states (see
 * mount-state.h and the diagram in README.md). Nothing here blocks or touches the world directly:
 * every effect goes through m->ops, every wait is a state with a timeout. */
#include "mountd.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "link.h"
#include "mount-log.h"
#include "util.h"

#define USEC_PER_SEC 1000000ULL
#define TIMEOUT_START (20 * USEC_PER_SEC)
#define TIMEOUT_OPEN (20 * USEC_PER_SEC)
#define TIMEOUT_MOUNT (20 * USEC_PER_SEC)
#define TIMEOUT_PROBE (60 * USEC_PER_SEC)
#define TIMEOUT_READY (10 * USEC_PER_SEC)
#define TIMEOUT_LABEL (20 * USEC_PER_SEC)
#define TIMEOUT_UMOUNT (30 * USEC_PER_SEC)
#define TIMEOUT_CLEAN (60 * USEC_PER_SEC)
#define TIMEOUT_EXIT (5 * USEC_PER_SEC)

#define MSG(t) (1u << (t))

static void mount_enter(Mount *m, MountState s);

/* ---- Answers ---- */

static struct mount_log_fields fields(const Mount *m, int error) {
        return (struct mount_log_fields) {
                .device = m->device,
                .mount_point = m->mount_point,
                .unit = m->unit,
                .owner = mount_is_claimed(m) || m->served ? m->owner : (uid_t) -1,
                .error = error,
        };
}

static void reply(Mount *m, const sd_bus_error *error) {
        sd_bus_message *request = TAKE_PTR(m->request);

        if (!request)
                return;
        if (sd_bus_error_is_set(&m->error))
                error = &m->error;
        m->ops->reply(m, request, error);
        sd_bus_message_unref(request);
}

static void reply_errorf(Mount *m, const char *name, const char *fmt, ...) _sd_printf_(3, 4);
static void reply_errorf(Mount *m, const char *name, const char *fmt, ...) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;

        va_start(ap, fmt);
        (void) sd_bus_error_setfv(&e, name, fmt, ap);
        va_end(ap);
        reply(m, &e);
        sd_bus_error_free(&e);
}

/* Records why the request failed, and logs it once (error: -errno, or 0 if none applies). The
 * answer goes out when the worker is gone and everything is cleaned up, so that a caller who
 * retries at once does not find the device still busy. */
static void fail(Mount *m, int error, const char *name, const char *fmt, ...) _sd_printf_(4, 5);
static void fail(Mount *m, int error, const char *name, const char *fmt, ...) {
        char text[512];
        va_list ap;

        if (sd_bus_error_is_set(&m->error))
                return; /* the first failure is the one that counts */
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        struct mount_log_fields f = fields(m, error);
        mount_log_event(MOUNT_EVENT_FAILED, &f, "%s: %s", m->device, text);
        if (m->request)
                (void) sd_bus_error_set(&m->error, name, text);
}

/* ---- Names ---- */

const char *mount_state_name(MountState s) {
        return s < _MOUNT_STATE_MAX ? mount_states[s].name : "?";
}

const char *mount_public_state(const Mount *m) {
        switch (m->state) {
        case MOUNT_SERVING:
        case MOUNT_LABELLING:
        case MOUNT_LABELLING_ADOPTED:
                return "mounted";
        case MOUNT_UNMOUNTING:
        case MOUNT_UNMOUNTING_CLEAN:
        case MOUNT_UNMOUNTING_EXITED:
                return "unmounting";
        default:
                /* The way out of an established mount is an unmount; of anything else, a failed mount. */
                return m->served ? "unmounting" : "mounting";
        }
}

bool mount_claimable(const Mount *m) {
        return mount_states[m->state].requests & MOUNT_REQ_CLAIM;
}

bool mount_is_claimed(const Mount *m) {
        return mount_states[m->state].claimed;
}

bool mount_is_serving(const Mount *m) {
        return m->state == MOUNT_SERVING;
}

bool mount_is_mounted(const Mount *m) {
        return strcmp(mount_public_state(m), "mounted") == 0;
}

/* ---- The one writer of m->state ---- */

static void mount_enter(Mount *m, MountState s) {
        const MountStateInfo *old = &mount_states[m->state], *info = &mount_states[s];
        const char *was = mount_public_state(m);

        log_debug("%s: %s -> %s", m->device, old->name, info->name);
        m->state = s;
        /* Leaving the states in which the worker runs stops its unit, unless it ended by itself. */
        if (old->worker_running && !info->worker_running && !info->worker_ended)
                m->ops->stop_unit(m);
        if (info->timeout != TIMEOUT_KEEP)
                (void) m->ops->arm_timer(m, info->timeout);
        if (strcmp(was, mount_public_state(m)) != 0)
                m->ops->changed(m, "State");
        if (info->enter)
                info->enter(m); /* may enter another state, or free m: nothing may follow */
}

/* ---- What entering a state does ---- */

static void start_open(Mount *m) {
        /* Only for an authorized request: a refused caller makes the daemon touch nothing but the
         * worker's unit. In a thread: the open of a stalled disk may take its time. */
        int r = m->ops->open_device(m);
        if (r < 0) {
                fail(m, r, ERR_FAILED, "Cannot open %s: %s", m->device, strerr(r));
                mount_enter(m, MOUNT_STOPPING);
        }
}

static void start_mount(Mount *m) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        int r = m->ops->establish(m, &e);
        if (r < 0) {
                fail(m, r, e.name ?: ERR_FAILED, "%s", e.message ?: strerr(r));
                sd_bus_error_free(&e);
                /* The caller has its answer; the worker only needs to go. */
                mount_enter(m, MOUNT_FLUSHING);
                return;
        }
        /* Recorded (as still being set up) before mount(2) may happen: a daemon restarted while
         * the thread runs leaves nothing unknown behind. */
        m->ops->save(m);
}

static void send_device(Mount *m) {
        struct link_device d = {
                .flags = (m->opts.read_only ? LINK_OPT_READ_ONLY : 0) | (m->opts.force ? LINK_OPT_FORCE : 0) |
                         (m->opts.sync ? LINK_OPT_SYNC : 0) | (m->opts.noexec ? LINK_OPT_NOEXEC : 0) |
                         (m->purpose == PURPOSE_LABEL ? LINK_OPT_PROBE_ONLY : 0),
                .uid = m->owner,
                .gid = m->gid,
                .dmask = m->opts.dmask,
                .fmask = m->opts.fmask,
        };
        int r = m->ops->send_device(m, &d);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "could not send the device to the worker: %s", strerr(r));
                mount_abandon(m, why);
        }
}

static void start_settling(Mount *m) {
        int r = m->ops->run_thread(m, MOUNT_THREAD_SETTLE, false);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "cannot start a thread: %s", strerr(r));
                mount_abandon(m, why);
        }
}

static void serve(Mount *m) {
        if (m->served) {
                /* Back from a relabel or a busy unmount: the record may have changed. */
                m->ops->save(m);
                return;
        }
        int r = m->ops->export(m);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "cannot export the mount object: %s", strerr(r));
                mount_abandon(m, why);
                return;
        }
        m->served = true;
        m->ops->store_fd(m);
        m->ops->save(m);
        struct mount_log_fields f = fields(m, 0);
        mount_log_event(MOUNT_EVENT_MOUNTED, &f, "%s: mounted on %s for uid %u (%s)%s", m->device, m->mount_point,
                        (unsigned) m->owner, m->unit, m->read_only ? " read-only" : "");
        reply(m, NULL);
}

static void send_label(Mount *m) {
        struct link_set_label l = {};

        snprintf(l.label, sizeof(l.label), "%s", m->new_label);
        /* Recorded before it is sent: a daemon restarted while the worker relabels then expects
         * its answer instead of taking it for a protocol violation. */
        if (m->purpose == PURPOSE_MOUNT)
                m->ops->save(m);
        log_debug("%s: asking the worker to set the label", m->device);
        if (m->ops->send(m, LINK_SET_LABEL, &l, sizeof(l)) < 0)
                mount_abandon(m, "could not send the label to the worker");
}

static void send_shutdown(Mount *m) {
        if (m->ops->send(m, LINK_SHUTDOWN, NULL, 0) < 0)
                mount_abandon(m, "could not send shutdown to the worker");
}

/* The worker was never given anything (refused, or the device could not be opened): its unit is
 * stopped, and the Mount ends once the link closes, that is once systemd has let go of the unit
 * and its process is gone, so that a request that follows at once can start a new one. */
static void stop_worker(Mount *m) {
        /* A worker waiting for DEVICE reads only the link (it takes SIGTERM later): end of file
         * tells it at once. The link stays open our way, to see it go. */
        m->ops->close_link_write(m);
        if (!m->io)
                mount_enter(m, MOUNT_DEAD);
}

static void abandoned(Mount *m) {
        /* A statfs or umount is blocked on the worker: aborting the connection frees it, and its
         * completion finishes the Mount. */
        if (m->mounted)
                m->ops->abort_connection(m);
        m->ops->unwatch_link(m);
}

static void exited(Mount *m) {
        mount_enter(m, MOUNT_DEAD);
}

/* The end of every Mount: whatever is left of it goes, then the Mount itself. */
static void finish(Mount *m) {
        if (m->mounted) {
                m->ops->detach(m);
                m->mounted = false;
        }
        if (m->mount_point && m->created_mount_point)
                m->ops->remove_mount_point(m);
        m->ops->unexport(m);
        if (m->served)
                m->ops->forget_fd(m);
        m->ops->unwatch_link(m);
        /* Only now, with everything gone: the caller may retry or unplug at once. */
        reply(m, NULL);
        m->ops->gone(m);
}

/* ---- Timeouts ---- */

static void timeout_abandon(Mount *m) {
        char why[128];
        snprintf(why, sizeof(why), "worker did not answer in time (%s)", mount_states[m->state].doing);
        mount_abandon(m, why);
}

static void timeout_device(Mount *m) {
        /* A thread waits for the device (a stalled disk): it cannot be cancelled. The caller is
         * answered now; the Mount waits for the thread in abandoned, the device busy meanwhile. */
        const char *doing = mount_states[m->state].doing;
        char why[128];

        if (!sd_bus_error_is_set(&m->error) && m->request)
                (void) sd_bus_error_setf(&m->error, ERR_FAILED, "%s does not answer (%s).", m->device, doing);
        reply(m, NULL);
        snprintf(why, sizeof(why), "the device does not answer (%s)", doing);
        mount_abandon(m, why);
}

static void timeout_label_adopted(Mount *m) {
        /* Recorded by a daemon that may have died before it sent the label: the worker may never
         * have been asked. It serves on. */
        log_warning("%s: no answer to a relabel asked before the restart; serving on", m->device);
        m->new_label = mfree(m->new_label);
        mount_enter(m, MOUNT_SERVING);
}

static void timeout_umount(Mount *m) {
        /* umount2 or syncfs waits on the worker: cut it off; the thread then returns. */
        log_error("%s: unmount of %s hangs; aborting the FUSE connection", m->device, m->mount_point);
        m->ops->abort_connection(m);
}

static void timeout_exit(Mount *m) {
        /* Clean and answered, but the process lingers: no need to wait for it. */
        log_warning("%s: worker confirmed but did not exit; stopping %s", m->device, m->unit);
        if (m->clean_status < 0)
                fail(m, m->clean_status, ERR_WORKER_FAILED, "The worker could not flush the volume: %s",
                     strerr(m->clean_status));
        mount_enter(m, MOUNT_DEAD); /* stops the unit */
}

static void timeout_stopping(Mount *m) {
        log_warning("%s: %s did not go away in time after being stopped", m->device, m->unit);
        mount_enter(m, MOUNT_DEAD);
}

/* ---- The table ---- */

const MountStateInfo mount_states[_MOUNT_STATE_MAX] = {
        [MOUNT_STARTING] = {
                .name = "starting", .doing = "waiting for the worker to start",
                .timeout = TIMEOUT_START, .messages = MSG(LINK_HELLO),
                .requests = MOUNT_REQ_CLAIM | MOUNT_REQ_REFUSE,
                .worker_running = true, .timeout_fn = timeout_abandon,
        },
        [MOUNT_UNCLAIMED] = {
                /* polkit may be asking for a password: it has its own timeout. */
                .name = "unclaimed", .doing = "waiting for authorization",
                .timeout = TIMEOUT_NONE, .requests = MOUNT_REQ_CLAIM | MOUNT_REQ_REFUSE,
                .worker_running = true,
        },
        [MOUNT_CLAIMED] = {
                .name = "claimed", .doing = "waiting for the worker to start",
                .timeout = TIMEOUT_KEEP, .messages = MSG(LINK_HELLO),
                .claimed = true, .worker_running = true, .timeout_fn = timeout_abandon,
        },
        [MOUNT_OPENING] = {
                /* The worker waits for DEVICE: anything it says now breaks the protocol. */
                .name = "opening", .doing = "opening the device",
                .timeout = TIMEOUT_OPEN, .claimed = true, .worker_running = true, .enter = start_open,
                .timeout_fn = timeout_device,
        },
        [MOUNT_PROBING] = {
                .name = "probing", .doing = "waiting for the probe",
                .timeout = TIMEOUT_PROBE, .messages = MSG(LINK_PROBED),
                .claimed = true, .worker_running = true, .enter = send_device, .timeout_fn = timeout_abandon,
        },
        [MOUNT_MOUNTING] = {
                /* The worker waits for FUSE: the same. */
                .name = "mounting", .doing = "mounting",
                .timeout = TIMEOUT_MOUNT, .claimed = true, .worker_running = true, .enter = start_mount,
                .timeout_fn = timeout_device,
        },
        [MOUNT_READYING] = {
                .name = "readying", .doing = "waiting for ready",
                .timeout = TIMEOUT_READY, .messages = MSG(LINK_READY),
                .claimed = true, .worker_running = true, .timeout_fn = timeout_abandon,
        },
        [MOUNT_SETTLING] = {
                .name = "settling", .doing = "waiting for the first request to be answered",
                .timeout = TIMEOUT_READY, .claimed = true, .worker_running = true,
                .enter = start_settling, .timeout_fn = timeout_abandon,
        },
        [MOUNT_SERVING] = {
                /* CLEAN: somebody unmounted it behind our back. */
                .name = "serving", .doing = "serving",
                .timeout = TIMEOUT_NONE, .messages = MSG(LINK_CLEAN),
                .requests = MOUNT_REQ_UNMOUNT | MOUNT_REQ_LABEL,
                .claimed = true, .worker_running = true, .enter = serve,
        },
        [MOUNT_LABELLING] = {
                .name = "labelling", .doing = "waiting for the label",
                .timeout = TIMEOUT_LABEL, .messages = MSG(LINK_LABEL_SET),
                .claimed = true, .worker_running = true, .enter = send_label, .timeout_fn = timeout_abandon,
        },
        [MOUNT_LABELLING_ADOPTED] = {
                .name = "labelling_adopted", .doing = "waiting for the label asked before the restart",
                .timeout = TIMEOUT_LABEL, .messages = MSG(LINK_LABEL_SET),
                .claimed = true, .worker_running = true, .timeout_fn = timeout_label_adopted,
        },
        [MOUNT_UNMOUNTING] = {
                /* CLEAN: our umount2 reached the worker as DESTROY and it finished on its own. */
                .name = "unmounting", .doing = "unmounting",
                .timeout = TIMEOUT_UMOUNT, .messages = MSG(LINK_CLEAN),
                .claimed = true, .worker_running = true, .timeout_fn = timeout_umount,
        },
        [MOUNT_UNMOUNTING_CLEAN] = {
                .name = "unmounting_clean", .doing = "unmounting",
                .timeout = TIMEOUT_KEEP, .claimed = true, .worker_running = true, .timeout_fn = timeout_umount,
        },
        [MOUNT_UNMOUNTING_EXITED] = {
                .name = "unmounting_exited", .doing = "unmounting",
                .timeout = TIMEOUT_KEEP, .claimed = true, .deaf = true, .worker_ended = true,
                .timeout_fn = timeout_umount,
        },
        [MOUNT_FLUSHING] = {
                .name = "flushing", .doing = "waiting for the flush",
                .timeout = TIMEOUT_CLEAN, .messages = MSG(LINK_CLEAN),
                .claimed = true, .worker_running = true, .enter = send_shutdown, .timeout_fn = timeout_abandon,
        },
        [MOUNT_EXITING] = {
                .name = "exiting", .doing = "waiting for the exit",
                .timeout = TIMEOUT_EXIT, .claimed = true, .worker_running = true, .timeout_fn = timeout_exit,
        },
        [MOUNT_REFUSED] = {
                .name = "refused", .doing = "stopping the worker",
                .timeout = TIMEOUT_EXIT, .deaf = true, .enter = stop_worker, .timeout_fn = timeout_stopping,
        },
        [MOUNT_STOPPING] = {
                .name = "stopping", .doing = "stopping the worker",
                .timeout = TIMEOUT_EXIT, .claimed = true, .deaf = true, .enter = stop_worker,
                .timeout_fn = timeout_stopping,
        },
        [MOUNT_ABANDONED] = {
                /* No timeout: the connection is aborted, the thread returns. */
                .name = "abandoned", .doing = "waiting for a thread",
                .timeout = TIMEOUT_NONE, .claimed = true, .deaf = true, .enter = abandoned,
        },
        [MOUNT_EXITED] = {
                .name = "exited", .doing = "exited",
                .timeout = TIMEOUT_NONE, .claimed = true, .deaf = true, .worker_ended = true, .enter = exited,
        },
        [MOUNT_DEAD] = {
                .name = "dead", .doing = "dead",
                .timeout = TIMEOUT_NONE, .deaf = true, .enter = finish,
        },
};

/* ---- Requests ---- */

int mount_start(Mount *m) {
        int r;

        assert(m->state == MOUNT_STARTING);
        r = m->ops->start_unit(m);
        if (r < 0) {
                fail(m, r, ERR_FAILED, "Cannot start a worker for %s: %s", m->device, strerr(r));
                mount_enter(m, MOUNT_EXITED); /* nothing runs: nothing to stop */
                return r;
        }
        (void) m->ops->arm_timer(m, mount_states[MOUNT_STARTING].timeout);
        log_debug("%s: starting %s", m->device, m->unit);
        return 0;
}

void mount_claim(Mount *m, sd_bus_message *request) {
        assert(mount_claimable(m));
        m->request = sd_bus_message_ref(request);
        log_debug("%s: authorized", m->device);
        /* The device is opened once the worker is there to take it. */
        mount_enter(m, m->state == MOUNT_UNCLAIMED ? MOUNT_OPENING : MOUNT_CLAIMED);
}

void mount_refuse(Mount *m, sd_bus_message *request, const sd_bus_error *error) {
        if (!(mount_states[m->state].requests & MOUNT_REQ_REFUSE)) {
                /* Refused already (or going): nothing to hold back. */
                sd_bus_error e = SD_BUS_ERROR_NULL;
                if (!sd_bus_error_is_set(error)) {
                        (void) sd_bus_error_set(&e, ERR_NOT_AUTHORIZED, "Not authorized.");
                        error = &e;
                }
                if (request)
                        m->ops->reply(m, request, error);
                sd_bus_error_free(&e);
                return;
        }
        if (request) {
                /* The refusal is the answer, whatever else went wrong meanwhile; it leaves once the
                 * worker is gone, so that the caller's next request finds the device free. */
                m->request = sd_bus_message_ref(request);
                sd_bus_error_free(&m->error);
                if (sd_bus_error_is_set(error))
                        (void) sd_bus_error_copy(&m->error, error);
                else
                        (void) sd_bus_error_set(&m->error, ERR_NOT_AUTHORIZED, "Not authorized.");
        }
        mount_enter(m, MOUNT_REFUSED);
}

static int reply_busy(Mount *m, sd_bus_message *request) {
        if (!request)
                return 0;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        (void) sd_bus_error_setf(&e, ERR_BUSY, "%s is busy with another operation.", m->device);
        m->ops->reply(m, request, &e);
        sd_bus_error_free(&e);
        return 0;
}

int mount_unmount(Mount *m, sd_bus_message *request, bool force) {
        if (!(mount_states[m->state].requests & MOUNT_REQ_UNMOUNT) || m->request)
                return reply_busy(m, request);
        m->request = sd_bus_message_ref(request);
        int r = m->ops->run_thread(m, MOUNT_THREAD_UMOUNT, force);
        if (r < 0) {
                reply_errorf(m, ERR_FAILED, "Cannot unmount: %s", strerr(r));
                return 0;
        }
        mount_enter(m, MOUNT_UNMOUNTING);
        return 0;
}

int mount_set_label(Mount *m, sd_bus_message *request, const char *label) {
        if (!(mount_states[m->state].requests & MOUNT_REQ_LABEL) || m->request)
                return reply_busy(m, request);
        if (m->read_only) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                (void) sd_bus_error_setf(&e, m->dirty ? ERR_DIRTY : ERR_FAILED, "%s is mounted read-only%s.", m->device,
                                         m->dirty ? " because the volume is marked dirty" : "");
                m->ops->reply(m, request, &e);
                sd_bus_error_free(&e);
                return 0;
        }
        char *l = strdup(label);
        if (!l)
                return -ENOMEM;
        free(m->new_label);
        m->new_label = l;
        m->request = sd_bus_message_ref(request);
        mount_enter(m, MOUNT_LABELLING);
        return 0;
}

int mount_adopt(Mount *m) {
        assert(m->state == MOUNT_STARTING);
        m->served = true;
        m->mounted = true;
        /* The previous daemon asked the worker for a new label: its answer is still due. Nobody
         * waits for the reply any more. */
        mount_enter(m, m->new_label ? MOUNT_LABELLING_ADOPTED : MOUNT_SERVING);
        return m->ops->export(m); /* after: the object appears as it is */
}

void mount_abandon(Mount *m, const char *why) {
        if (mount_states[m->state].deaf)
                return; /* going already */
        struct mount_log_fields f = fields(m, 0);
        mount_log_event(MOUNT_EVENT_ABORTED, &f, "%s: %s%s%s", m->device, why, m->unit ? "; stopping " : "",
                        m->unit ?: "");
        if (!sd_bus_error_is_set(&m->error) && m->request)
                (void) sd_bus_error_set(&m->error, ERR_WORKER_FAILED, why);
        mount_enter(m, m->offload ? MOUNT_ABANDONED : MOUNT_DEAD);
}

/* ---- Worker messages ---- */

static void on_hello(Mount *m, const struct link_hello *h) {
        log_debug("%s: hello", m->device);
        if (h->version != LINK_PROTOCOL_VERSION) {
                mount_abandon(m, "worker speaks another protocol version");
                return;
        }
        mount_enter(m, m->state == MOUNT_CLAIMED ? MOUNT_OPENING : MOUNT_UNCLAIMED);
}

static void on_probed(Mount *m, const struct link_probed *p) {
        char uuid[16];

        log_debug("%s: probed (status %d)", m->device, (int) p->status);
        if (link_check_probed(p, m->device_size) < 0) {
                mount_abandon(m, "worker sent an invalid probe result");
                return;
        }
        if (p->status < 0) {
                if (p->status == -EINVAL || p->status == -EMEDIUMTYPE || p->status == -ENOTSUP)
                        fail(m, p->status, ERR_NOT_EXFAT, "%s does not hold a valid exFAT filesystem.", m->device);
                else
                        fail(m, p->status, ERR_WORKER_FAILED, "Cannot read the filesystem on %s: %s", m->device,
                             strerr(p->status));
                mount_enter(m, MOUNT_FLUSHING);
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
                        fail(m, 0, ERR_DIRTY, "The volume on %s is marked dirty; check it with fsck.exfat first.",
                             m->device);
                        mount_enter(m, MOUNT_FLUSHING);
                } else
                        mount_enter(m, MOUNT_LABELLING);
                return;
        }
        mount_enter(m, MOUNT_MOUNTING);
}

static void on_ready(Mount *m, const struct link_status *s) {
        log_debug("%s: ready (status %d)", m->device, (int) s->status);
        if (s->status < 0) {
                fail(m, s->status, ERR_WORKER_FAILED, "The worker could not serve %s: %s", m->device, strerr(s->status));
                m->ops->detach(m);
                m->mounted = false;
                mount_enter(m, MOUNT_FLUSHING);
                return;
        }
        mount_enter(m, MOUNT_SETTLING);
}

static void on_label_set(Mount *m, const struct link_status *s) {
        if (s->status < 0) {
                const char *name = s->status == -EINVAL || s->status == -ENAMETOOLONG ? ERR_INVALID_ARGUMENT : ERR_FAILED;
                if (m->purpose == PURPOSE_LABEL)
                        fail(m, s->status, name, "Setting the label failed: %s", strerr(s->status));
                else {
                        struct mount_log_fields f = fields(m, s->status);
                        mount_log_event(MOUNT_EVENT_FAILED, &f, "%s: setting the label failed: %s", m->device,
                                        strerr(s->status));
                        reply_errorf(m, name, "Setting the label failed: %s", strerr(s->status));
                }
        } else {
                char *l = strdup(m->new_label);
                if (l) {
                        free(m->label);
                        m->label = l;
                }
                struct mount_log_fields f = fields(m, 0);
                mount_log_event(MOUNT_EVENT_RELABELLED, &f, "%s: label set to \"%s\"", m->device, m->label);
                if (m->purpose == PURPOSE_MOUNT) {
                        m->ops->changed(m, "Label");
                        reply(m, NULL);
                }
        }
        m->new_label = mfree(m->new_label);
        /* A Label of an unmounted device: the reply waits for the flush. */
        mount_enter(m, m->purpose == PURPOSE_LABEL ? MOUNT_FLUSHING : MOUNT_SERVING);
}

static void on_clean(Mount *m, const struct link_status *s) {
        m->clean_status = s->status;
        if (s->status < 0)
                log_error("%s: worker could not shut down cleanly: %s", m->device, strerr(s->status));
        switch (m->state) {
        case MOUNT_UNMOUNTING:
                /* The thread's completion goes on from here. */
                mount_enter(m, MOUNT_UNMOUNTING_CLEAN);
                return;
        case MOUNT_SERVING:
                /* Somebody unmounted it behind our back; the worker is done and waits for our word. */
                log_warning("%s: %s was unmounted outside exfat-mountd; the worker finished", m->device, m->mount_point);
                (void) m->ops->send(m, LINK_SHUTDOWN, NULL, 0);
                m->mounted = false;
                break;
        default:
                break;
        }
        mount_enter(m, MOUNT_EXITING);
}

void mount_on_message(Mount *m, enum link_type type, const void *payload) {
        const MountStateInfo *info = &mount_states[m->state];

        if (info->deaf)
                return; /* whatever it says, it is going */
        if (type <= 0 || type >= _LINK_TYPE_MAX || !(info->messages & MSG(type))) {
                char why[112];
                snprintf(why, sizeof(why), "worker sent an unexpected message (type %d while %s)", (int) type,
                         info->doing);
                mount_abandon(m, why);
                return;
        }
        if (type != LINK_HELLO && type != LINK_PROBED &&
            link_check_status(((const struct link_status *) payload)->status) < 0) {
                mount_abandon(m, "worker sent an invalid status");
                return;
        }
        switch (type) {
        case LINK_HELLO:
                on_hello(m, payload);
                break;
        case LINK_PROBED:
                on_probed(m, payload);
                break;
        case LINK_READY:
                on_ready(m, payload);
                break;
        case LINK_LABEL_SET:
                on_label_set(m, payload);
                break;
        case LINK_CLEAN:
                on_clean(m, payload);
                break;
        default:
                assert(false); /* not in any state's messages */
        }
}

/* The normal end of an unmount or a relabel: the worker flushed and exited. */
static void worker_done(Mount *m) {
        if (m->clean_status < 0)
                fail(m, m->clean_status, ERR_WORKER_FAILED, "The worker could not flush the volume: %s",
                     strerr(m->clean_status));
        else if (m->purpose == PURPOSE_MOUNT && m->served && !sd_bus_error_is_set(&m->error)) {
                struct mount_log_fields f = fields(m, 0);
                mount_log_event(MOUNT_EVENT_UNMOUNTED, &f, "%s: unmounted from %s", m->device, m->mount_point);
        }
        mount_enter(m, MOUNT_EXITED);
}

void mount_on_link_gone(Mount *m, int reason) {
        m->ops->unwatch_link(m);
        switch (m->state) {
        case MOUNT_REFUSED:
        case MOUNT_STOPPING:
                mount_enter(m, MOUNT_DEAD);
                return;
        case MOUNT_UNMOUNTING_CLEAN:
                mount_enter(m, MOUNT_UNMOUNTING_EXITED); /* the thread's completion finishes */
                return;
        case MOUNT_EXITING:
                worker_done(m);
                return;
        case MOUNT_ABANDONED:
        case MOUNT_UNMOUNTING_EXITED:
        case MOUNT_EXITED:
        case MOUNT_DEAD:
                return;
        default: {
                char why[128];
                if (reason == -ECONNRESET)
                        snprintf(why, sizeof(why), "worker exited unexpectedly");
                else
                        snprintf(why, sizeof(why), "worker broke the protocol (%s)", strerr(reason));
                mount_abandon(m, why);
        }
        }
}

/* ---- Time and threads ---- */

void mount_on_timeout(Mount *m) {
        const MountStateInfo *info = &mount_states[m->state];
        if (info->timeout_fn)
                info->timeout_fn(m);
}

static void on_umount_done(Mount *m, int result) {
        if (result == -EBUSY && m->state == MOUNT_UNMOUNTING) {
                reply_errorf(m, ERR_BUSY, "%s is busy (files are open); unmount with force to detach it lazily.",
                             m->mount_point);
                mount_enter(m, MOUNT_SERVING);
                return;
        }
        if (result < 0 && m->state == MOUNT_UNMOUNTING && m->ops->mount_present(m)) {
                struct mount_log_fields f = fields(m, result);
                mount_log_event(MOUNT_EVENT_FAILED, &f, "%s: umount of %s failed: %s", m->device, m->mount_point,
                                strerr(result));
                reply_errorf(m, ERR_FAILED, "Unmounting %s failed: %s", m->mount_point, strerr(result));
                mount_enter(m, MOUNT_SERVING);
                return;
        }
        m->mounted = false;
        switch (m->state) {
        case MOUNT_UNMOUNTING:
                mount_enter(m, MOUNT_FLUSHING);
                return;
        case MOUNT_UNMOUNTING_CLEAN:
                /* The worker lingers for this acknowledgement (it may have gone already: no matter). */
                (void) m->ops->send(m, LINK_SHUTDOWN, NULL, 0);
                mount_enter(m, MOUNT_EXITING);
                return;
        default: /* MOUNT_UNMOUNTING_EXITED */
                worker_done(m);
                return;
        }
}

void mount_on_thread_done(Mount *m, int result) {
        m->offload = NULL; /* the source was released by offload.c */
        switch (m->state) {
        case MOUNT_ABANDONED:
                /* An umount thread that got through took the mount with it (a settle thread runs
                 * before the Mount is served, and leaves the mount in place). */
                if (result == 0 && m->served)
                        m->mounted = false;
                mount_enter(m, MOUNT_DEAD);
                return;
        case MOUNT_SETTLING:
                if (result < 0) {
                        char why[128];
                        snprintf(why, sizeof(why), "the mount does not work: statfs failed: %s", strerr(result));
                        mount_abandon(m, why);
                        return;
                }
                mount_enter(m, MOUNT_SERVING);
                return;
        case MOUNT_UNMOUNTING:
        case MOUNT_UNMOUNTING_CLEAN:
        case MOUNT_UNMOUNTING_EXITED:
                on_umount_done(m, result);
                return;
        default:
                assert(false); /* no other state runs a thread */
        }
}

void mount_on_device_opened(Mount *m, int result, const sd_bus_error *error) {
        m->offload = NULL; /* the source was released by offload.c */
        switch (m->state) {
        case MOUNT_OPENING:
                if (result < 0) {
                        fail(m, result, error && error->name ? error->name : ERR_FAILED, "%s",
                             error && error->message ? error->message : strerr(result));
                        mount_enter(m, MOUNT_STOPPING);
                        return;
                }
                mount_enter(m, MOUNT_PROBING);
                return;
        case MOUNT_ABANDONED:
                /* Given up on meanwhile: what was opened goes with the Mount. */
                mount_enter(m, MOUNT_DEAD);
                return;
        default:
                assert(false); /* no other state opens the device */
        }
}

void mount_on_mounted(Mount *m, int result, const sd_bus_error *error) {
        m->offload = NULL;
        switch (m->state) {
        case MOUNT_MOUNTING:
                if (result < 0)
                        fail(m, result, error && error->name ? error->name : ERR_FAILED, "%s",
                             error && error->message ? error->message : strerr(result));
                else {
                        result = m->ops->send_fuse(m);
                        if (result < 0)
                                fail(m, result, ERR_WORKER_FAILED,
                                     "Could not hand the FUSE connection to the worker: %s", strerr(result));
                }
                if (result < 0) {
                        /* The caller has its answer; the worker only needs to go. */
                        if (m->mounted) {
                                m->ops->detach(m);
                                m->mounted = false;
                        }
                        mount_enter(m, MOUNT_FLUSHING);
                        return;
                }
                mount_enter(m, MOUNT_READYING);
                return;
        case MOUNT_ABANDONED:
                /* finish() detaches what mount(2) made meanwhile (m->mounted says). */
                mount_enter(m, MOUNT_DEAD);
                return;
        default:
                assert(false); /* no other state mounts */
        }
}

/* ---- systemd ---- */

void mount_on_unit_failed(Mount *m, const char *error_name, const char *message) {
        log_error("%s: could not start %s: %s", m->device, m->unit, message ?: error_name);
        if (error_name && strcmp(error_name, "org.freedesktop.systemd1.UnitExists") == 0)
                fail(m, -EEXIST, ERR_BUSY, "A worker for %s is still running.", m->device);
        else
                fail(m, 0, ERR_WORKER_FAILED, "Could not start the worker: %s", message ?: error_name);
        if (mount_states[m->state].deaf && m->state != MOUNT_REFUSED && m->state != MOUNT_STOPPING)
                return;
        mount_enter(m, MOUNT_EXITED); /* the unit is not ours to stop */
}

void mount_on_job_done(Mount *m, const char *result) {
        m->job_path = mfree(m->job_path);
        log_debug("%s: start job %s", m->device, result);
        /* Success needs no action: HELLO on the link already proves the worker runs. A stopped
         * worker's start job ends "canceled", as asked. */
        if (strcmp(result, "done") == 0 || mount_states[m->state].deaf)
                return;
        char why[128];
        snprintf(why, sizeof(why), "worker unit failed to start (job %s)", result);
        mount_abandon(m, why);
}
