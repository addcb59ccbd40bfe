/* SPDX-License-Identifier: MIT */
/* The life of a Mount (mount-machine.c) driven without systemd, D-Bus or a kernel: a fake world
 * behind MountOps records what the machine does, a fake clock fires its timers. Every worker
 * message, hang-up, timeout and start-job result is tried in every state against expectations
 * written out here (not read from the machine's table), and the main stories are followed from
 * request to reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "errors.h"
#include "log.h"
#include "mount-log.h"
#include "mountd.h"

#define SEC 1000000ULL

/* ---- The fake world ---- */

static struct world {
        Mount *m;                 /* NULL once gone */
        uint64_t now, deadline;   /* fake clock; deadline 0: no timer */
        int start_r, open_r, establish_r, thread_r, export_r, send_r, send_fuse_r;
        bool opening, mounting;   /* the open or mount(2) runs in a "thread": open_done(), mount_done() end it */
        bool present;             /* mount_present() */
        int units_started, units_stopped;
        bool write_closed, unwatched;
        enum link_type sent[16];
        int n_sent;
        bool device_sent;
        struct link_device device;
        bool thread_running;
        MountThread thread;
        bool thread_force;
        int detached, aborted, removed, exported, unexported, fd_kept, fd_forgotten, saved, state_changes;
        int replies;
        char reply_error[128];    /* "" for success */
} W;

static int f_start_unit(Mount *m) {
        if (W.start_r < 0)
                return W.start_r;
        W.units_started++;
        m->unit = strdup("exfat-worker@dev-sdz1.service");
        m->io = (sd_event_source *) 1; /* watched: only compared with NULL */
        return 0;
}
static void f_stop_unit(Mount *m) {
        W.units_stopped++;
}
static void f_unwatch_link(Mount *m) {
        m->io = NULL;
        W.unwatched = true;
}
static void f_close_link_write(Mount *m) {
        W.write_closed = true;
}
static int f_send(Mount *m, enum link_type type, const void *p, size_t size) {
        if (W.send_r < 0)
                return W.send_r;
        if (W.n_sent < 16)
                W.sent[W.n_sent++] = type;
        return 0;
}
static int f_send_device(Mount *m, const struct link_device *d) {
        if (W.send_r < 0)
                return W.send_r;
        W.device_sent = true;
        W.device = *d;
        return f_send(m, LINK_DEVICE, d, sizeof(*d));
}
static int f_arm_timer(Mount *m, uint64_t usec) {
        W.deadline = usec ? W.now + usec : 0;
        return 0;
}
static int f_open_device(Mount *m) {
        if (W.open_r < 0)
                return W.open_r; /* no thread */
        W.opening = true;
        m->offload = (sd_event_source *) 1;
        return 0;
}
static int f_establish(Mount *m, sd_bus_error *e) {
        m->mount_point = strdup("/run/media/alice/DISK");
        m->created_mount_point = true;
        if (W.establish_r < 0)
                return sd_bus_error_set(e, ERR_FAILED, "Cannot create a mount point"), W.establish_r;
        W.mounting = true;
        m->offload = (sd_event_source *) 1;
        return 0;
}
static int f_send_fuse(Mount *m) {
        if (W.send_fuse_r < 0)
                return W.send_fuse_r;
        return f_send(m, LINK_FUSE, NULL, 0);
}
static void f_detach(Mount *m) {
        W.detached++;
        W.present = false;
}
static void f_abort_connection(Mount *m) {
        W.aborted++;
}
static bool f_mount_present(Mount *m) {
        return W.present;
}
static void f_remove_mount_point(Mount *m) {
        W.removed++;
}
static int f_run_thread(Mount *m, MountThread what, bool force) {
        if (W.thread_r < 0)
                return W.thread_r;
        W.thread_running = true;
        W.thread = what;
        W.thread_force = force;
        m->offload = (sd_event_source *) 1;
        return 0;
}
static int f_export(Mount *m) {
        if (W.export_r < 0)
                return W.export_r;
        W.exported++;
        m->object_slot = (sd_bus_slot *) 1;
        return 0;
}
static void f_unexport(Mount *m) {
        if (m->object_slot)
                W.unexported++;
        m->object_slot = NULL;
}
static void f_changed(Mount *m, const char *property) {
        if (strcmp(property, "State") == 0)
                W.state_changes++;
}
static void f_store_fd(Mount *m) {
        W.fd_kept++;
}
static void f_forget_fd(Mount *m) {
        W.fd_forgotten++;
}
static void f_save(Mount *m) {
        W.saved++;
}
static void f_reply(Mount *m, sd_bus_message *request, const sd_bus_error *error) {
        W.replies++;
        snprintf(W.reply_error, sizeof(W.reply_error), "%s", error ? error->name : "");
}
static void f_gone(Mount *m) {
        assert_ptr_equal(m, W.m);
        m->io = NULL;
        m->offload = NULL;
        m->object_slot = NULL;
        mount_free(m);
        W.m = NULL;
}

static const MountOps fake_ops = {
        .start_unit = f_start_unit,
        .stop_unit = f_stop_unit,
        .unwatch_link = f_unwatch_link,
        .close_link_write = f_close_link_write,
        .send = f_send,
        .send_device = f_send_device,
        .arm_timer = f_arm_timer,
        .open_device = f_open_device,
        .establish = f_establish,
        .send_fuse = f_send_fuse,
        .detach = f_detach,
        .abort_connection = f_abort_connection,
        .mount_present = f_mount_present,
        .remove_mount_point = f_remove_mount_point,
        .run_thread = f_run_thread,
        .export = f_export,
        .unexport = f_unexport,
        .changed = f_changed,
        .store_fd = f_store_fd,
        .forget_fd = f_forget_fd,
        .save = f_save,
        .reply = f_reply,
        .gone = f_gone,
};

static Manager manager;
static sd_bus *bus;

/* A method call to answer; never sent (f_reply records the answer). */
static sd_bus_message *request(const char *member) {
        sd_bus_message *msg = NULL;
        assert_int_equal(sd_bus_message_new_method_call(bus, &msg, MOUNTD_BUS_NAME, MOUNTD_OBJECT_PATH,
                                                        MOUNTD_MANAGER_IFACE, member), 0);
        return msg;
}

/* The fake clock moves on; a timer that is due fires. */
static void advance(uint64_t usec) {
        W.now += usec;
        if (W.deadline && W.deadline <= W.now) {
                W.deadline = 0;
                mount_on_timeout(W.m);
        }
}

static void clear_counts(void) {
        W.units_started = W.units_stopped = 0;
        W.n_sent = 0;
        W.device_sent = W.write_closed = W.unwatched = false;
        W.detached = W.aborted = W.removed = W.exported = W.unexported = W.fd_kept = W.fd_forgotten = W.saved = 0;
        W.state_changes = W.replies = 0;
        W.reply_error[0] = 0;
}

static int setup(void **state) {
        int sv[2];
        if (!bus) {
                /* sd-bus makes messages only on a started bus: one on a socketpair nobody reads. */
                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
                assert_int_equal(sd_bus_new(&bus), 0);
                assert_int_equal(sd_bus_set_fd(bus, sv[0], sv[0]), 0);
                assert_int_equal(sd_bus_start(bus), 0);
        }
        W = (struct world) { .present = false };
        W.now = 1000 * SEC;
        manager_init(&manager);
        return 0;
}

static int teardown(void **state) {
        if (W.m) {
                W.m->io = NULL;
                W.m->offload = NULL;
                W.m->object_slot = NULL;
                mount_free(W.m);
        }
        W.m = NULL;
        return 0;
}

/* Between two stories of one test. */
static void reset(void **state) {
        teardown(state);
        setup(state);
}

/* ---- The ends of the "threads" ---- */

/* The device's open returns: r < 0 fails it as mount.c would (EBUSY: Busy). */
static void open_done(int r) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        assert_true(W.opening);
        W.opening = false;
        if (r < 0)
                (void) sd_bus_error_set(&e, r == -EBUSY ? ERR_BUSY : ERR_NO_SUCH_DEVICE, "Cannot open /dev/sdz1");
        else
                W.m->device_size = 64 << 20;
        mount_on_device_opened(W.m, r, &e);
        sd_bus_error_free(&e);
}

/* mount(2) returns. */
static void mount_done(int r) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        assert_true(W.mounting);
        W.mounting = false;
        if (r < 0)
                (void) sd_bus_error_set(&e, r == -EBUSY ? ERR_BUSY : ERR_FAILED, "Mounting failed");
        else {
                W.m->mounted = true;
                W.present = true;
        }
        mount_on_mounted(W.m, r, &e);
        sd_bus_error_free(&e);
}

/* ---- Messages from the worker ---- */

static void hello(void) {
        struct link_hello h = { .version = LINK_PROTOCOL_VERSION, .pid = 42 };
        mount_on_message(W.m, LINK_HELLO, &h);
}

static struct link_probed probed_ok(void) {
        struct link_probed p = { .status = 0, .serial = 0x1234ABCD, .volume_size = 64 << 20, .cluster_size = 4096 };
        strcpy(p.label, "DISK");
        return p;
}

static void probed(int status) {
        struct link_probed p = probed_ok();
        p.status = status;
        mount_on_message(W.m, LINK_PROBED, &p);
}

static void status_message(enum link_type type, int status) {
        struct link_status s = { .status = status };
        mount_on_message(W.m, type, &s);
}

/* Any message of the type, well formed. */
static void message(enum link_type type) {
        if (type == LINK_HELLO)
                hello();
        else if (type == LINK_PROBED)
                probed(0);
        else
                status_message(type, 0);
}

/* ---- Driving a Mount to each state ---- */

static void new_mount(enum mount_purpose purpose) {
        assert_int_equal(mount_new(&manager, &fake_ops, "/dev/sdz1", makedev(8, 1), &W.m), 0);
        W.m->purpose = purpose;
        W.m->owner = 1001;
        W.m->gid = 1001;
        W.m->user_name = strdup("alice");
        if (purpose == PURPOSE_LABEL)
                W.m->new_label = strdup("NEW");
}

static void claim(const char *member) {
        sd_bus_message *r = request(member);
        mount_claim(W.m, r);
        sd_bus_message_unref(r);
}

static void drive(MountState s) {
        new_mount(PURPOSE_MOUNT);
        switch (s) {
        case MOUNT_LABELLING_ADOPTED:
                W.m->new_label = strdup("AFTER");
                W.m->mount_point = strdup("/run/media/alice/DISK");
                assert_int_equal(mount_adopt(W.m), 0);
                W.present = true;
                goto done;
        case MOUNT_REFUSED:
                assert_int_equal(mount_start(W.m), 0);
                mount_refuse(W.m, NULL, NULL);
                goto done;
        case MOUNT_STOPPING:
                assert_int_equal(mount_start(W.m), 0);
                hello();
                claim("Mount");
                open_done(-EBUSY);
                goto done;
        default:
                break;
        }
        assert_int_equal(mount_start(W.m), 0);
        if (s == MOUNT_STARTING)
                goto done;
        if (s == MOUNT_CLAIMED) {
                claim("Mount");
                goto done;
        }
        hello();
        if (s == MOUNT_UNCLAIMED)
                goto done;
        claim("Mount");
        if (s == MOUNT_OPENING)
                goto done;
        open_done(0);
        if (s == MOUNT_PROBING)
                goto done;
        probed(0);
        if (s == MOUNT_MOUNTING)
                goto done;
        mount_done(0);
        if (s == MOUNT_READYING)
                goto done;
        status_message(LINK_READY, 0);
        if (s == MOUNT_SETTLING)
                goto done;
        if (s == MOUNT_ABANDONED) {
                advance(10 * SEC); /* settling times out while its thread runs */
                goto done;
        }
        W.thread_running = false;
        mount_on_thread_done(W.m, 0);
        if (s == MOUNT_SERVING)
                goto done;
        if (s == MOUNT_LABELLING) {
                sd_bus_message *r = request("Label");
                assert_int_equal(mount_set_label(W.m, r, "AFTER"), 0);
                sd_bus_message_unref(r);
                goto done;
        }
        {
                sd_bus_message *r = request("Unmount");
                assert_int_equal(mount_unmount(W.m, r, false), 0);
                sd_bus_message_unref(r);
        }
        if (s == MOUNT_UNMOUNTING)
                goto done;
        if (s == MOUNT_FLUSHING || s == MOUNT_EXITING) {
                W.thread_running = false;
                W.present = false;
                mount_on_thread_done(W.m, 0);
                if (s == MOUNT_EXITING)
                        status_message(LINK_CLEAN, 0);
                goto done;
        }
        status_message(LINK_CLEAN, 0);
        if (s == MOUNT_UNMOUNTING_CLEAN)
                goto done;
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_int_equal(s, MOUNT_UNMOUNTING_EXITED);
done:
        assert_non_null(W.m);
        assert_string_equal(mount_state_name(W.m->state), mount_state_name(s));
        clear_counts();
}

/* The states a Mount rests in (exited and dead pass on at once). */
static const MountState resting[] = {
        MOUNT_STARTING, MOUNT_UNCLAIMED, MOUNT_CLAIMED, MOUNT_OPENING, MOUNT_PROBING, MOUNT_MOUNTING,
        MOUNT_READYING, MOUNT_SETTLING,
        MOUNT_SERVING, MOUNT_LABELLING, MOUNT_LABELLING_ADOPTED, MOUNT_UNMOUNTING, MOUNT_UNMOUNTING_CLEAN,
        MOUNT_UNMOUNTING_EXITED, MOUNT_FLUSHING, MOUNT_EXITING, MOUNT_REFUSED, MOUNT_STOPPING, MOUNT_ABANDONED,
};

#define GONE ((MountState) -1)
#define SAME ((MountState) -2)

/* What a state does with an event: the next state, GONE (freed) or SAME. */
static void expect(MountState from, const char *event, MountState want) {
        char where[96];
        snprintf(where, sizeof(where), "%s in %s", event, mount_state_name(from));
        if (want == GONE) {
                if (W.m)
                        fail_msg("%s: still there, %s", where, mount_state_name(W.m->state));
                return;
        }
        if (!W.m)
                fail_msg("%s: gone", where);
        MountState want_state = want == SAME ? from : want;
        if (W.m->state != want_state)
                fail_msg("%s: %s instead of %s", where, mount_state_name(W.m->state), mount_state_name(want_state));
}

/* A thread still runs in these: cut off, they wait for it. */
static bool thread_runs(MountState s) {
        return s == MOUNT_OPENING || s == MOUNT_MOUNTING || s == MOUNT_SETTLING || s == MOUNT_UNMOUNTING || s == MOUNT_UNMOUNTING_CLEAN ||
               s == MOUNT_UNMOUNTING_EXITED || s == MOUNT_ABANDONED;
}

static bool deaf(MountState s) {
        return s == MOUNT_REFUSED || s == MOUNT_STOPPING || s == MOUNT_ABANDONED || s == MOUNT_UNMOUNTING_EXITED;
}

/* Cut off: to abandoned if a thread runs, else gone. */
static MountState cut_off(MountState s) {
        return thread_runs(s) ? MOUNT_ABANDONED : GONE;
}

static MountState after_message(MountState s, enum link_type t) {
        if (deaf(s))
                return SAME;
        switch (s) {
        case MOUNT_STARTING:
                return t == LINK_HELLO ? MOUNT_UNCLAIMED : cut_off(s);
        case MOUNT_CLAIMED:
                return t == LINK_HELLO ? MOUNT_OPENING : cut_off(s);
        case MOUNT_PROBING:
                return t == LINK_PROBED ? MOUNT_MOUNTING : cut_off(s);
        case MOUNT_READYING:
                return t == LINK_READY ? MOUNT_SETTLING : cut_off(s);
        case MOUNT_SERVING:
                return t == LINK_CLEAN ? MOUNT_EXITING : cut_off(s);
        case MOUNT_LABELLING:
        case MOUNT_LABELLING_ADOPTED:
                return t == LINK_LABEL_SET ? MOUNT_SERVING : cut_off(s);
        case MOUNT_UNMOUNTING:
                return t == LINK_CLEAN ? MOUNT_UNMOUNTING_CLEAN : cut_off(s);
        case MOUNT_FLUSHING:
                return t == LINK_CLEAN ? MOUNT_EXITING : cut_off(s);
        default:
                return cut_off(s);
        }
}

static const enum link_type from_worker[] = { LINK_HELLO, LINK_PROBED, LINK_READY, LINK_LABEL_SET, LINK_CLEAN };

static void test_every_message_in_every_state(void **state) {
        for (size_t i = 0; i < sizeof(resting) / sizeof(resting[0]); i++)
                for (size_t j = 0; j < sizeof(from_worker) / sizeof(from_worker[0]); j++) {
                        char event[32];
                        drive(resting[i]);
                        message(from_worker[j]);
                        snprintf(event, sizeof(event), "message %d", (int) from_worker[j]);
                        expect(resting[i], event, after_message(resting[i], from_worker[j]));
                        reset(state);
                }
}

/* Messages the daemon never receives, and a status that is no errno, cut the worker off too. */
static void test_bad_messages(void **state) {
        drive(MOUNT_PROBING);
        status_message(LINK_SHUTDOWN, 0);
        expect(MOUNT_PROBING, "SHUTDOWN from the worker", GONE);
        assert_int_equal(W.units_stopped, 1);

        reset(state);
        drive(MOUNT_READYING);
        status_message(LINK_READY, 1);
        expect(MOUNT_READYING, "READY with status 1", GONE);

        reset(state);
        drive(MOUNT_STARTING);
        struct link_hello h = { .version = LINK_PROTOCOL_VERSION + 1 };
        mount_on_message(W.m, LINK_HELLO, &h);
        expect(MOUNT_STARTING, "HELLO of another version", GONE);

        reset(state);
        drive(MOUNT_PROBING);
        struct link_probed p = probed_ok();
        p.volume_size = 128 << 20; /* larger than the device */
        mount_on_message(W.m, LINK_PROBED, &p);
        expect(MOUNT_PROBING, "PROBED larger than the device", GONE);
}

static MountState after_link_gone(MountState s) {
        switch (s) {
        case MOUNT_REFUSED:
        case MOUNT_STOPPING:
        case MOUNT_EXITING:
                return GONE;
        case MOUNT_UNMOUNTING_CLEAN:
                return MOUNT_UNMOUNTING_EXITED;
        case MOUNT_UNMOUNTING_EXITED:
        case MOUNT_ABANDONED:
                return SAME;
        default:
                return cut_off(s);
        }
}

static void test_link_gone_in_every_state(void **state) {
        for (size_t i = 0; i < sizeof(resting) / sizeof(resting[0]); i++) {
                MountState s = resting[i];
                drive(s);
                mount_on_link_gone(W.m, -ECONNRESET);
                expect(s, "link gone", after_link_gone(s));
                /* A worker that exited by itself has no unit to stop; one cut off does. */
                bool stops = after_link_gone(s) == MOUNT_ABANDONED ||
                             (after_link_gone(s) == GONE && s != MOUNT_EXITING && s != MOUNT_REFUSED &&
                              s != MOUNT_STOPPING);
                if (W.units_stopped != (stops ? 1 : 0))
                        fail_msg("link gone in %s: %d units stopped", mount_state_name(s), W.units_stopped);
                reset(state);
        }
}

/* Each state's timeout: how long, and what it does. */
static const struct {
        MountState state;
        uint64_t timeout;  /* 0: none armed */
        MountState after;
} timeouts[] = {
        { MOUNT_STARTING, 20 * SEC, GONE },
        { MOUNT_UNCLAIMED, 0, SAME },
        { MOUNT_CLAIMED, 20 * SEC, GONE },        /* starting's runs on */
        { MOUNT_OPENING, 20 * SEC, MOUNT_ABANDONED }, /* answered; waits for the open to return */
        { MOUNT_PROBING, 60 * SEC, GONE },
        { MOUNT_MOUNTING, 20 * SEC, MOUNT_ABANDONED },
        { MOUNT_READYING, 10 * SEC, GONE },
        { MOUNT_SETTLING, 10 * SEC, MOUNT_ABANDONED },
        { MOUNT_SERVING, 0, SAME },
        { MOUNT_LABELLING, 20 * SEC, GONE },
        { MOUNT_LABELLING_ADOPTED, 20 * SEC, MOUNT_SERVING },
        { MOUNT_UNMOUNTING, 30 * SEC, SAME },     /* fusectl abort: the thread returns */
        { MOUNT_UNMOUNTING_CLEAN, 30 * SEC, SAME },
        { MOUNT_UNMOUNTING_EXITED, 30 * SEC, SAME },
        { MOUNT_FLUSHING, 60 * SEC, GONE },
        { MOUNT_EXITING, 5 * SEC, GONE },
        { MOUNT_REFUSED, 5 * SEC, GONE },
        { MOUNT_STOPPING, 5 * SEC, GONE },
        { MOUNT_ABANDONED, 0, SAME },
};

static void test_every_timeout(void **state) {
        assert_int_equal(sizeof(timeouts) / sizeof(timeouts[0]), sizeof(resting) / sizeof(resting[0]));
        for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
                MountState s = timeouts[i].state;
                uint64_t t0 = W.now;
                drive(s);
                /* The drivers take no time, so the deadline shows the timeout from its start. */
                uint64_t armed = W.deadline ? W.deadline - t0 : 0;
                if (armed != timeouts[i].timeout)
                        fail_msg("%s: timeout %llu s, not %llu s", mount_state_name(s),
                                 (unsigned long long) (armed / SEC),
                                 (unsigned long long) (timeouts[i].timeout / SEC));
                if (armed) {
                        advance(armed - 1);
                        expect(s, "just before the timeout", SAME);
                        advance(1);
                } else
                        advance(3600 * SEC);
                expect(s, "timeout", timeouts[i].after);
                if (s == MOUNT_UNMOUNTING || s == MOUNT_UNMOUNTING_CLEAN || s == MOUNT_UNMOUNTING_EXITED)
                        assert_int_equal(W.aborted, 1);
                reset(state);
        }
}

static void test_failed_start_job_in_every_state(void **state) {
        for (size_t i = 0; i < sizeof(resting) / sizeof(resting[0]); i++) {
                MountState s = resting[i];
                drive(s);
                mount_on_job_done(W.m, "done");
                expect(s, "start job done", SAME);
                mount_on_job_done(W.m, "failed");
                expect(s, "start job failed", deaf(s) ? SAME : cut_off(s));
                reset(state);
        }
}

/* Requests are taken only where the table says. */
static void test_requests_in_every_state(void **state) {
        for (size_t i = 0; i < sizeof(resting) / sizeof(resting[0]); i++) {
                MountState s = resting[i];
                drive(s);
                assert_int_equal(mount_claimable(W.m), s == MOUNT_STARTING || s == MOUNT_UNCLAIMED);
                sd_bus_message *r = request("Unmount");
                assert_int_equal(mount_unmount(W.m, r, false), 0);
                sd_bus_message_unref(r);
                if (s == MOUNT_SERVING)
                        expect(s, "Unmount", MOUNT_UNMOUNTING);
                else {
                        expect(s, "Unmount", SAME);
                        assert_int_equal(W.replies, 1);
                        assert_string_equal(W.reply_error, ERR_BUSY);
                }
                reset(state);

                drive(s);
                r = request("Label");
                assert_int_equal(mount_set_label(W.m, r, "X"), 0);
                sd_bus_message_unref(r);
                if (s == MOUNT_SERVING)
                        expect(s, "Label", MOUNT_LABELLING);
                else {
                        expect(s, "Label", SAME);
                        assert_string_equal(W.reply_error, ERR_BUSY);
                }
                reset(state);
        }
}

/* ---- Stories ---- */

static void test_mount_replies_when_serving(void **state) {
        sd_bus_message *r = request("Mount");

        new_mount(PURPOSE_MOUNT);
        assert_int_equal(mount_start(W.m), 0);
        assert_int_equal(W.units_started, 1);
        assert_string_equal(mount_public_state(W.m), "mounting");
        hello();
        assert_int_equal(W.deadline, 0); /* polkit has its own timeout */
        assert_false(W.device_sent);      /* nothing reaches an unauthorized worker */
        mount_claim(W.m, r);
        assert_int_equal(W.m->state, MOUNT_OPENING);
        assert_true(W.opening);           /* the open runs in a thread: the loop is free */
        assert_false(W.device_sent);
        open_done(0);
        assert_true(W.device_sent);
        probed(0);
        assert_string_equal(W.m->label, "DISK");
        assert_string_equal(W.m->uuid, "1234-ABCD");
        assert_int_equal(W.m->state, MOUNT_MOUNTING);
        assert_true(W.mounting);          /* mount(2) too */
        assert_false(W.m->mounted);
        assert_int_equal(W.saved, 1);     /* recorded before mount(2) */
        mount_done(0);
        assert_true(W.m->mounted);
        assert_int_equal(W.sent[W.n_sent - 1], LINK_FUSE);
        status_message(LINK_READY, 0);
        assert_true(W.thread_running);
        assert_int_equal(W.thread, MOUNT_THREAD_SETTLE);
        assert_int_equal(W.replies, 0);
        mount_on_thread_done(W.m, 0);
        assert_int_equal(W.replies, 1);
        assert_string_equal(W.reply_error, "");
        assert_int_equal(W.exported, 1);
        assert_int_equal(W.fd_kept, 1);
        assert_true(mount_is_mounted(W.m));
        assert_true(mount_is_serving(W.m));
        sd_bus_message_unref(r);
}

static void test_refused_answers_once_worker_gone(void **state) {
        sd_bus_message *r = request("Mount");

        drive(MOUNT_UNCLAIMED);
        mount_refuse(W.m, r, NULL);
        assert_int_equal(W.m->state, MOUNT_REFUSED);
        assert_true(W.write_closed);
        assert_int_equal(W.units_stopped, 1);
        assert_int_equal(W.n_sent, 0);
        assert_int_equal(W.replies, 0);
        hello(); /* whatever it says, it is going */
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_int_equal(W.replies, 1);
        assert_string_equal(W.reply_error, ERR_NOT_AUTHORIZED);
        assert_int_equal(W.units_stopped, 1);
        sd_bus_message_unref(r);
}

static void test_claim_device_busy(void **state) {
        drive(MOUNT_UNCLAIMED);
        claim("Mount");
        open_done(-EBUSY);
        assert_int_equal(W.m->state, MOUNT_STOPPING);
        assert_false(W.device_sent);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_string_equal(W.reply_error, ERR_BUSY);
}

static void test_unit_start_fails(void **state) {
        new_mount(PURPOSE_MOUNT);
        W.start_r = -EIO;
        assert_int_equal(mount_start(W.m), -EIO);
        assert_null(W.m);
        assert_int_equal(W.units_stopped, 0);

        reset(state);
        drive(MOUNT_CLAIMED);
        mount_on_unit_failed(W.m, "org.freedesktop.systemd1.UnitExists", "exists");
        assert_null(W.m);
        assert_int_equal(W.units_stopped, 0); /* not ours */
        assert_string_equal(W.reply_error, ERR_BUSY);
}

static void test_unmount(void **state) {
        sd_bus_message *r = request("Unmount");

        drive(MOUNT_SERVING);
        assert_int_equal(mount_unmount(W.m, r, true), 0);
        assert_true(W.thread_running);
        assert_int_equal(W.thread, MOUNT_THREAD_UMOUNT);
        assert_true(W.thread_force); /* force travels as a flag of the job */
        assert_string_equal(mount_public_state(W.m), "unmounting");
        assert_int_equal(W.state_changes, 1);
        W.present = false;
        mount_on_thread_done(W.m, 0);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.sent[W.n_sent - 1], LINK_SHUTDOWN);
        status_message(LINK_CLEAN, 0);
        assert_int_equal(W.replies, 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_int_equal(W.replies, 1);
        assert_string_equal(W.reply_error, "");
        assert_int_equal(W.units_stopped, 0); /* it exited by itself */
        assert_int_equal(W.detached, 0);      /* nothing left to detach */
        assert_int_equal(W.removed, 1);
        assert_int_equal(W.unexported, 1);
        assert_int_equal(W.fd_forgotten, 1);
        sd_bus_message_unref(r);
}

static void test_unmount_busy_and_failed(void **state) {
        sd_bus_message *r = request("Unmount");

        drive(MOUNT_SERVING);
        assert_int_equal(mount_unmount(W.m, r, false), 0);
        assert_false(W.thread_force);
        mount_on_thread_done(W.m, -EBUSY);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.reply_error, ERR_BUSY);
        assert_string_equal(mount_public_state(W.m), "mounted");

        assert_int_equal(mount_unmount(W.m, r, false), 0);
        W.present = true;
        mount_on_thread_done(W.m, -EIO);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.reply_error, ERR_FAILED);

        /* Failed, but the mount is gone all the same: go on as unmounted. */
        assert_int_equal(mount_unmount(W.m, r, false), 0);
        W.present = false;
        mount_on_thread_done(W.m, -EIO);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);

        reset(state);
        drive(MOUNT_SERVING);
        W.thread_r = -EAGAIN;
        assert_int_equal(mount_unmount(W.m, r, false), 0);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.reply_error, ERR_FAILED);
        sd_bus_message_unref(r);
}

static void test_unmount_clean_early(void **state) {
        drive(MOUNT_UNMOUNTING_CLEAN);
        W.present = false;
        mount_on_thread_done(W.m, 0);
        assert_int_equal(W.m->state, MOUNT_EXITING);
        assert_int_equal(W.sent[W.n_sent - 1], LINK_SHUTDOWN); /* the acknowledgement it waits for */
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_string_equal(W.reply_error, "");

        reset(state);
        drive(MOUNT_UNMOUNTING_EXITED);
        W.present = false;
        mount_on_thread_done(W.m, 0);
        assert_null(W.m);
        assert_int_equal(W.n_sent, 0); /* nobody to tell */
        assert_int_equal(W.units_stopped, 0);
        assert_string_equal(W.reply_error, "");
}

static void test_clean_status_fails_the_unmount(void **state) {
        drive(MOUNT_FLUSHING);
        status_message(LINK_CLEAN, -EIO);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_string_equal(W.reply_error, ERR_WORKER_FAILED);

        reset(state);
        drive(MOUNT_FLUSHING);
        status_message(LINK_CLEAN, -EIO);
        advance(5 * SEC); /* confirmed, but lingers */
        assert_null(W.m);
        assert_int_equal(W.units_stopped, 1);
        assert_string_equal(W.reply_error, ERR_WORKER_FAILED);
}

static void test_unmounted_behind_our_back(void **state) {
        drive(MOUNT_SERVING);
        W.present = false;
        status_message(LINK_CLEAN, 0);
        assert_int_equal(W.m->state, MOUNT_EXITING);
        assert_int_equal(W.sent[W.n_sent - 1], LINK_SHUTDOWN);
        assert_string_equal(mount_public_state(W.m), "unmounting");
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        /* Not detached again: something else may be mounted there by now. */
        assert_int_equal(W.detached, 0);
        assert_int_equal(W.unexported, 1);
}

static void test_probe_failures(void **state) {
        sd_bus_message *r = request("Mount");

        new_mount(PURPOSE_MOUNT);
        assert_int_equal(mount_start(W.m), 0);
        hello();
        mount_claim(W.m, r);
        open_done(0);
        probed(-EINVAL);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.sent[W.n_sent - 1], LINK_SHUTDOWN);
        status_message(LINK_CLEAN, 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_string_equal(W.reply_error, ERR_NOT_EXFAT);

        reset(state);
        drive(MOUNT_PROBING);
        W.establish_r = -EBUSY; /* no mount point: no thread */
        probed(0);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_false(W.mounting);
        assert_int_equal(W.detached, 0);

        reset(state);
        drive(MOUNT_MOUNTING);
        mount_done(-EBUSY);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.detached, 0);
        status_message(LINK_CLEAN, 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_int_equal(W.removed, 1);

        reset(state);
        drive(MOUNT_MOUNTING);
        W.send_fuse_r = -EPIPE; /* mounted, but the FUSE fd could not be sent */
        mount_done(0);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.detached, 1);
        assert_false(W.m->mounted);

        reset(state);
        drive(MOUNT_READYING);
        status_message(LINK_READY, -EIO);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.detached, 1);
        sd_bus_message_unref(r);
}

static void test_read_only_rules(void **state) {
        drive(MOUNT_PROBING);
        struct link_probed p = probed_ok();
        p.dirty = 1;
        mount_on_message(W.m, LINK_PROBED, &p);
        assert_true(W.m->read_only); /* dirty without force */
        assert_true(W.m->dirty);

        reset(state);
        drive(MOUNT_SERVING);
        W.m->read_only = true;
        sd_bus_message *r = request("Label");
        assert_int_equal(mount_set_label(W.m, r, "X"), 0);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.reply_error, ERR_FAILED);
        W.m->dirty = true;
        assert_int_equal(mount_set_label(W.m, r, "X"), 0);
        assert_string_equal(W.reply_error, ERR_DIRTY);
        sd_bus_message_unref(r);
}

static void test_label_mounted(void **state) {
        sd_bus_message *r = request("Label");

        drive(MOUNT_SERVING);
        assert_int_equal(mount_set_label(W.m, r, "AFTER"), 0);
        assert_int_equal(W.m->state, MOUNT_LABELLING);
        assert_int_equal(W.n_sent, 1);
        assert_int_equal(W.sent[0], LINK_SET_LABEL);
        assert_int_equal(W.saved, 1); /* recorded before it was sent */
        status_message(LINK_LABEL_SET, 0);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.m->label, "AFTER");
        assert_null(W.m->new_label);
        assert_string_equal(W.reply_error, "");

        assert_int_equal(mount_set_label(W.m, r, "BAD"), 0);
        status_message(LINK_LABEL_SET, -EINVAL);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.m->label, "AFTER");
        assert_string_equal(W.reply_error, ERR_INVALID_ARGUMENT);
        sd_bus_message_unref(r);
}

static void test_label_unmounted(void **state) {
        sd_bus_message *r = request("Label");

        new_mount(PURPOSE_LABEL);
        assert_int_equal(mount_start(W.m), 0);
        hello();
        mount_claim(W.m, r);
        open_done(0);
        assert_true(W.device.flags & LINK_OPT_PROBE_ONLY);
        probed(0);
        assert_int_equal(W.m->state, MOUNT_LABELLING);
        assert_int_equal(W.saved, 0); /* nothing mounted: nothing recorded */
        status_message(LINK_LABEL_SET, 0);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        assert_int_equal(W.replies, 0); /* the reply waits for the flush */
        status_message(LINK_CLEAN, 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_null(W.m);
        assert_int_equal(W.replies, 1);
        assert_string_equal(W.reply_error, "");

        reset(state);
        new_mount(PURPOSE_LABEL);
        assert_int_equal(mount_start(W.m), 0);
        hello();
        mount_claim(W.m, r);
        open_done(0);
        struct link_probed p = probed_ok();
        p.dirty = 1;
        mount_on_message(W.m, LINK_PROBED, &p);
        assert_int_equal(W.m->state, MOUNT_FLUSHING);
        status_message(LINK_CLEAN, 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_string_equal(W.reply_error, ERR_DIRTY);
        sd_bus_message_unref(r);
}

static void test_adopted(void **state) {
        new_mount(PURPOSE_MOUNT);
        W.m->mount_point = strdup("/run/media/alice/DISK");
        assert_int_equal(mount_adopt(W.m), 0);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_int_equal(W.exported, 1);
        assert_int_equal(W.deadline, 0);
        assert_true(W.m->mounted);

        reset(state);
        drive(MOUNT_LABELLING_ADOPTED);
        status_message(LINK_LABEL_SET, 0);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_string_equal(W.m->label, "AFTER");
        assert_int_equal(W.replies, 0); /* nobody waits */

        reset(state);
        drive(MOUNT_LABELLING_ADOPTED);
        advance(20 * SEC);
        assert_int_equal(W.m->state, MOUNT_SERVING);
        assert_null(W.m->new_label);
        assert_true(W.saved >= 1); /* the record loses the label in flight */
}

static void test_abandoned_waits_for_thread(void **state) {
        sd_bus_message *r = request("Unmount");

        drive(MOUNT_ABANDONED);
        assert_int_equal(W.units_stopped, 0); /* stopped on entry, before clear_counts */
        mount_on_link_gone(W.m, -ECONNRESET);
        hello();
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        mount_on_thread_done(W.m, -ECONNABORTED);
        assert_null(W.m);
        assert_int_equal(W.detached, 1); /* the settled mount is still there */

        reset(state);
        drive(MOUNT_SERVING);
        assert_int_equal(mount_unmount(W.m, r, false), 0);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        assert_int_equal(W.aborted, 1);
        assert_int_equal(W.units_stopped, 1);
        mount_on_thread_done(W.m, 0); /* the umount got through */
        assert_null(W.m);
        assert_int_equal(W.detached, 0);
        assert_string_equal(W.reply_error, ERR_WORKER_FAILED);
        sd_bus_message_unref(r);
}

static void test_abandon_is_once(void **state) {
        drive(MOUNT_SERVING);
        mount_abandon(W.m, "test");
        assert_null(W.m);
        assert_int_equal(W.units_stopped, 1);
        assert_int_equal(W.detached, 1);
        assert_int_equal(W.removed, 1);
        assert_int_equal(W.fd_forgotten, 1);

        reset(state);
        drive(MOUNT_REFUSED);
        mount_abandon(W.m, "test");
        assert_int_equal(W.m->state, MOUNT_REFUSED);
}

/* The open and mount(2) run in threads that cannot be cancelled: a timeout answers the caller at
 * once and the Mount waits for the thread in abandoned (the device stays busy meanwhile); a worker
 * that dies meanwhile is the same. What the thread made on its way goes with the Mount. */
static void test_open_and_mount_in_threads(void **state) {
        sd_bus_message *r = request("Mount");

        /* The open hangs: answered after 20 s, the unit stopped, the Mount kept until it returns. */
        new_mount(PURPOSE_MOUNT);
        assert_int_equal(mount_start(W.m), 0);
        hello();
        mount_claim(W.m, r);
        clear_counts();
        advance(20 * SEC - 1);
        assert_int_equal(W.m->state, MOUNT_OPENING);
        advance(1);
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        assert_int_equal(W.replies, 1);
        assert_string_equal(W.reply_error, ERR_FAILED);
        assert_int_equal(W.units_stopped, 1);
        advance(3600 * SEC);
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        open_done(0);
        assert_null(W.m);
        assert_int_equal(W.replies, 1); /* answered once */
        assert_false(W.device_sent);

        /* The worker dies while the device is opened. */
        reset(state);
        drive(MOUNT_OPENING);
        mount_on_link_gone(W.m, -ECONNRESET);
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        assert_int_equal(W.replies, 0);
        open_done(-EBUSY);
        assert_null(W.m);
        assert_string_equal(W.reply_error, ERR_WORKER_FAILED);

        /* mount(2) hangs, then gets through: the mount it made is detached. */
        reset(state);
        drive(MOUNT_MOUNTING);
        advance(20 * SEC);
        assert_int_equal(W.m->state, MOUNT_ABANDONED);
        assert_string_equal(W.reply_error, ERR_FAILED);
        assert_int_equal(W.units_stopped, 1);
        mount_done(0);
        assert_null(W.m);
        assert_int_equal(W.detached, 1);
        assert_int_equal(W.removed, 1);
        assert_int_equal(W.n_sent, 0); /* no FUSE fd for a cut-off worker */
        assert_int_equal(W.replies, 1);

        /* mount(2) fails after the worker died: nothing to detach. */
        reset(state);
        drive(MOUNT_MOUNTING);
        mount_on_link_gone(W.m, -ECONNRESET);
        mount_done(-EIO);
        assert_null(W.m);
        assert_int_equal(W.detached, 0);
        assert_int_equal(W.removed, 1);

        /* No thread for the open: nothing opened, the worker stopped. */
        reset(state);
        drive(MOUNT_UNCLAIMED);
        W.open_r = -EAGAIN;
        claim("Mount");
        assert_int_equal(W.m->state, MOUNT_STOPPING);
        assert_false(W.device_sent);
        sd_bus_message_unref(r);
}

static void test_every_state_has_a_name(void **state) {
        for (int s = 0; s < _MOUNT_STATE_MAX; s++) {
                assert_non_null(mount_states[s].name);
                assert_non_null(mount_states[s].doing);
                for (int t = 0; t < s; t++)
                        assert_string_not_equal(mount_states[s].name, mount_states[t].name);
        }
}

/* The diagram in daemon/mountd/README.md names exactly the enum's states. */
static const char *readme_path;

static void test_diagram_matches_enum(void **state) {
        FILE *f = fopen(readme_path, "re");
        char line[512];
        bool in = false, seen[_MOUNT_STATE_MAX] = {};
        int blocks = 0;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "```mermaid", 10) == 0) {
                        in = true;
                        blocks++;
                        continue;
                }
                if (!in)
                        continue;
                if (strncmp(line, "```", 3) == 0) {
                        in = false;
                        continue;
                }
                char *arrow = strstr(line, "-->");
                if (!arrow)
                        continue;
                char from[64], to[64];
                *arrow = 0;
                assert_int_equal(sscanf(line, " %63s", from), 1);
                assert_int_equal(sscanf(arrow + 3, " %63[^: \n]", to), 1);
                const char *names[2] = { from, to };
                for (int i = 0; i < 2; i++) {
                        if (strcmp(names[i], "[*]") == 0)
                                continue;
                        int s;
                        for (s = 0; s < _MOUNT_STATE_MAX; s++)
                                if (strcmp(mount_states[s].name, names[i]) == 0)
                                        break;
                        if (s == _MOUNT_STATE_MAX)
                                fail_msg("the diagram names \"%s\", which is no state", names[i]);
                        seen[s] = true;
                }
        }
        fclose(f);
        assert_int_equal(blocks, 1);
        for (int s = 0; s < _MOUNT_STATE_MAX; s++)
                if (!seen[s])
                        fail_msg("the diagram lacks the state \"%s\"", mount_states[s].name);
}

/* Each kind of journal entry has its own MESSAGE_ID, explained in the catalog. */
static const char *catalog_path;

static void test_catalog_explains_every_event(void **state) {
        for (int e = 0; e < _MOUNT_EVENT_MAX; e++) {
                const char *id = mount_event_id(e);
                char line[256], want[64];
                bool found = false;

                assert_non_null(id);
                assert_int_equal(strlen(id), 32);
                assert_int_equal(strspn(id, "0123456789abcdef"), 32);
                for (int o = 0; o < e; o++)
                        assert_string_not_equal(id, mount_event_id(o));
                snprintf(want, sizeof(want), "-- %s\n", id);
                FILE *f = fopen(catalog_path, "re");
                assert_non_null(f);
                while (!found && fgets(line, sizeof(line), f))
                        found = strcmp(line, want) == 0;
                fclose(f);
                if (!found)
                        fail_msg("%s lacks an entry for %s", catalog_path, id);
        }
}

int main(int argc, char *argv[]) {
        readme_path = argc > 1 ? argv[1] : "daemon/mountd/README.md";
        catalog_path = argc > 2 ? argv[2] : "units/exfat-mountd.catalog";
        /* Every cut-off worker is an error line: only a failure should show. */
        log_set_max_level(getenv("TEST_MOUNT_MACHINE_LOG") ? LOG_DEBUG : LOG_CRIT);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_state_has_a_name),
                cmocka_unit_test(test_diagram_matches_enum),
                cmocka_unit_test(test_catalog_explains_every_event),
                cmocka_unit_test_setup_teardown(test_every_message_in_every_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
                cmocka_unit_test_setup_teardown(test_link_gone_in_every_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_start_job_in_every_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_requests_in_every_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mount_replies_when_serving, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_answers_once_worker_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_device_busy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_and_mount_in_threads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unit_start_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmount, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmount_busy_and_failed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmount_clean_early, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clean_status_fails_the_unmount, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmounted_behind_our_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_probe_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_only_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_label_mounted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_label_unmounted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_adopted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abandoned_waits_for_thread, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abandon_is_once, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
