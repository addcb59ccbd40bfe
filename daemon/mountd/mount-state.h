/* SPDX-License-Identifier: MIT */
#pragma once

/* The life of a Mount as one state machine (mount-machine.c; the diagram is in README.md).
 *
 * A Mount is one worker: a volume being mounted, mounted, or unmounted, or a short-lived worker
 * relabelling an unmounted device (purpose PURPOSE_LABEL, same states, fewer of them visited).
 * Each state names, in mount_states[]:
 *   - its timeout (armed when the state is entered, TIMEOUT_KEEP: the previous one runs on),
 *   - the worker messages it accepts (anything else from the worker cuts it off),
 *   - the requests it accepts (claim/refuse by polkit's answer, Unmount, Label),
 *   - what entering it does.
 * mount_enter() is the only writer of Mount.state. Events come in through the mount_on_*()
 * functions; the outside world (systemd, the link, the kernel, D-Bus, the Manager) is reached
 * only through MountOps, so that the unit tests can drive the machine with fakes. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "protocol.h"

typedef struct Mount Mount;
typedef struct MountOps MountOps;

typedef enum MountState {
        MOUNT_STARTING = 0,      /* a new Mount's (zeroed) state */          /* unit asked for, no HELLO yet, nobody authorized */
        MOUNT_UNCLAIMED,         /* HELLO came: waits for polkit (no timeout of its own) */
        MOUNT_CLAIMED,           /* authorized, no HELLO yet */
        MOUNT_OPENING,           /* authorized, HELLO came: a thread opens the device */
        MOUNT_PROBING,           /* DEVICE sent: waits for PROBED */
        MOUNT_MOUNTING,          /* PROBED came: a thread does mount(2) */
        MOUNT_READYING,          /* mount(2) done, FUSE fd sent: waits for READY */
        MOUNT_SETTLING,          /* a thread waits for the first request to be answered */
        MOUNT_SERVING,
        MOUNT_LABELLING,         /* SET_LABEL sent: waits for LABEL_SET */
        MOUNT_LABELLING_ADOPTED, /* the same, asked by the previous daemon: no answer is not an error */
        MOUNT_UNMOUNTING,        /* syncfs + umount2 in a thread */
        MOUNT_UNMOUNTING_CLEAN,  /* ... CLEAN came meanwhile (the worker saw DESTROY) */
        MOUNT_UNMOUNTING_EXITED, /* ... and the worker has exited */
        MOUNT_FLUSHING,          /* SHUTDOWN sent: waits for CLEAN */
        MOUNT_EXITING,           /* CLEAN came: waits for the link to close */
        MOUNT_REFUSED,           /* never authorized: unit stopped, waits for the link to close */
        MOUNT_STOPPING,          /* authorized, failed before the device was sent: the same */
        MOUNT_ABANDONED,         /* cut off while a thread runs: waits for the thread */
        MOUNT_EXITED,            /* the worker ended by itself: nothing left to stop (passes to DEAD) */
        MOUNT_DEAD,              /* everything released; the Manager frees the Mount */
        _MOUNT_STATE_MAX,
} MountState;

/* What a request may do in a state. */
enum {
        MOUNT_REQ_CLAIM = 1u << 0,   /* an authorized Mount or Label takes the worker */
        MOUNT_REQ_REFUSE = 1u << 1,  /* polkit said no, or the caller left */
        MOUNT_REQ_UNMOUNT = 1u << 2,
        MOUNT_REQ_LABEL = 1u << 3,
};

#define TIMEOUT_NONE 0ULL
#define TIMEOUT_KEEP UINT64_MAX

typedef struct MountStateInfo {
        const char *name;        /* as in the README's diagram */
        const char *doing;       /* for log lines: "waiting for the probe" */
        uint64_t timeout;        /* µs; TIMEOUT_NONE, or TIMEOUT_KEEP (the previous state's runs on) */
        unsigned messages;       /* 1 << enum link_type the worker may send now */
        unsigned requests;       /* MOUNT_REQ_* */
        bool claimed;            /* an authorized request owns the Mount */
        bool worker_running;     /* the unit runs and is ours to stop on the way out */
        bool worker_ended;       /* the worker has exited by itself: nothing to stop */
        bool deaf;               /* the worker is going: what it says no longer matters */
        void (*enter)(Mount *m);
        void (*timeout_fn)(Mount *m);
} MountStateInfo;

extern const MountStateInfo mount_states[_MOUNT_STATE_MAX];

/* Blocking work a thread does for the machine; its end comes back as mount_on_thread_done(). */
typedef enum MountThread {
        MOUNT_THREAD_SETTLE,     /* wait for the first FUSE request to be answered, raise read-ahead */
        MOUNT_THREAD_UMOUNT,     /* syncfs + umount2 */
} MountThread;

/* The machine's only way to the world. Every function gets the Mount; -errno on failure. */
struct MountOps {
        /* A socketpair, our end watched (messages and hang-up come back as mount_on_message()
         * and mount_on_link_gone()), StartTransientUnit with the other end as stdin. */
        int (*start_unit)(Mount *m);
        void (*stop_unit)(Mount *m);
        void (*unwatch_link)(Mount *m);                /* no more events from the link */
        void (*close_link_write)(Mount *m);            /* the worker reads end of file */
        int (*send)(Mount *m, enum link_type type, const void *payload, size_t size);
        int (*send_device)(Mount *m, const struct link_device *d); /* with the device fd(s) */
        int (*arm_timer)(Mount *m, uint64_t usec);     /* 0: disarm; fires mount_on_timeout() */
        /* Opens (and claims) the device in a thread; its end comes back as mount_on_device_opened(). */
        int (*open_device)(Mount *m);
        /* Mount point, /dev/fuse, then mount(2) in a thread; its end comes back as
         * mount_on_mounted(), with m->mounted set when the kernel holds the mount. */
        int (*establish)(Mount *m, sd_bus_error *error);
        int (*send_fuse)(Mount *m);                    /* the FUSE fd to the worker */
        void (*detach)(Mount *m);                      /* fusectl abort + lazy umount */
        void (*abort_connection)(Mount *m);            /* fusectl abort only */
        bool (*mount_present)(Mount *m);
        void (*remove_mount_point)(Mount *m);
        int (*run_thread)(Mount *m, MountThread what, bool force);
        int (*export)(Mount *m);
        void (*unexport)(Mount *m);
        void (*changed)(Mount *m, const char *property);
        void (*store_fd)(Mount *m);
        void (*forget_fd)(Mount *m);
        void (*save)(Mount *m);                        /* the Manager rewrites its record */
        void (*reply)(Mount *m, sd_bus_message *request, const sd_bus_error *error);
        void (*gone)(Mount *m);                        /* DEAD: the Manager drops and frees m */
};

const char *mount_state_name(MountState s);
/* "mounting", "mounted", "unmounting": the State property. */
const char *mount_public_state(const Mount *m);

/* Requests. */
int mount_start(Mount *m);
bool mount_claimable(const Mount *m);
bool mount_is_claimed(const Mount *m);
bool mount_is_serving(const Mount *m);
/* The State property says "mounted". */
bool mount_is_mounted(const Mount *m);
void mount_claim(Mount *m, sd_bus_message *request);
void mount_refuse(Mount *m, sd_bus_message *request, const sd_bus_error *error);
int mount_unmount(Mount *m, sd_bus_message *request, bool force);
int mount_set_label(Mount *m, sd_bus_message *request, const char *label);
/* A mount recorded before a restart (m->sock from the fd store, watched): exported, serving. */
int mount_adopt(Mount *m);
void mount_abandon(Mount *m, const char *why);

/* Events. */
void mount_on_message(Mount *m, enum link_type type, const void *payload);
void mount_on_link_gone(Mount *m, int reason);
void mount_on_timeout(Mount *m);
void mount_on_thread_done(Mount *m, int result);
/* The device opened (or not: result < 0, error says how to answer); m->offload is gone. */
void mount_on_device_opened(Mount *m, int result, const sd_bus_error *error);
/* mount(2) done (or not); m->offload is gone. */
void mount_on_mounted(Mount *m, int result, const sd_bus_error *error);
void mount_on_unit_failed(Mount *m, const char *error_name, const char *message);
void mount_on_job_done(Mount *m, const char *result);
