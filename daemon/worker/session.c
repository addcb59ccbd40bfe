/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "readahead.h"

/* The loop's main thread sleeps in sem_wait() until a worker thread ends; a signal interrupts
 * it so that it sees the exit flag (libfuse then cancels the idle worker threads, which only
 * accept cancellation while waiting for a request). */
#define KICK_SIGNAL SIGUSR1

struct worker_session {
        struct fuse_session *se;
        pthread_t loop_thread;
        atomic_bool running;
        atomic_bool done;
};

static void kick_handler(int sig) {
}

static int kick_install(void) {
        struct sigaction sa = { .sa_handler = kick_handler };
        sigset_t set;

        /* No SA_RESTART: the point is to interrupt sem_wait(). */
        sigemptyset(&sa.sa_mask);
        if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
                return -errno;
        sigemptyset(&set);
        sigaddset(&set, KICK_SIGNAL);
        return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int session_new(struct worker_fs *fs, const char *mount_options, const char *mount_target,
                struct worker_session **ret) {
        struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
        struct worker_session *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        /* max_read also in service mode, where the daemon mounts: libfuse refuses an INIT whose
         * max_read differs from its session's. */
        char max_read[32];
        snprintf(max_read, sizeof(max_read), "max_read=%u", FUSE_MAX_READ);
        if (fuse_opt_add_arg(&args, "exfat-worker") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
            fuse_opt_add_arg(&args, max_read) < 0 ||
            (mount_options && (fuse_opt_add_arg(&args, "-o") < 0 || fuse_opt_add_arg(&args, mount_options) < 0))) {
                r = -ENOMEM;
                goto fail;
        }

        s->se = fuse_session_new(&args, &worker_fuse_ops, sizeof(worker_fuse_ops), fs);
        if (!s->se) {
                /* libfuse has printed the reason (e.g. an option it does not know). */
                r = log_error_errno(-EINVAL, "creating the FUSE session failed");
                goto fail;
        }
        if (fuse_session_mount(s->se, mount_target) != 0) {
                r = log_error_errno(-EIO, "mounting FUSE on %s failed", mount_target);
                goto fail;
        }
        r = kick_install();
        if (r < 0) {
                log_error_errno(r, "installing the stop signal handler failed");
                goto fail;
        }
        s->loop_thread = pthread_self();
        fuse_opt_free_args(&args);
        *ret = s;
        return 0;

fail:
        if (s->se)
                fuse_session_destroy(s->se);
        fuse_opt_free_args(&args);
        free(s);
        return r;
}

int session_run(struct worker_session *s) {
        struct fuse_loop_config *cfg;
        int r;

        cfg = fuse_loop_cfg_create();
        if (!cfg)
                return -ENOMEM;
        /* The sandbox has no /dev/fuse to clone; a few idle threads avoid creating one per
         * request, the maximum bounds memory (up to 1 MiB buffer each). */
        fuse_loop_cfg_set_clone_fd(cfg, 0);
        fuse_loop_cfg_set_idle_threads(cfg, 4);
        fuse_loop_cfg_set_max_threads(cfg, 16);

        atomic_store(&s->running, true);
        r = fuse_session_loop_mt(s->se, cfg);
        atomic_store(&s->done, true);
        fuse_loop_cfg_destroy(cfg);
        /* A positive value is the signal that ended the loop; that is a normal stop. */
        return r < 0 ? r : 0;
}

void session_stop(struct worker_session *s) {
        fuse_session_exit(s->se);
        if (!atomic_load(&s->running))
                return;
        /* The loop can test the exit flag just before sleeping; keep kicking until it is out. */
        for (int i = 0; i < 200 && !atomic_load(&s->done); i++) {
                pthread_kill(s->loop_thread, KICK_SIGNAL);
                nanosleep(&(struct timespec) { .tv_nsec = 25 * 1000 * 1000 }, NULL);
        }
        if (!atomic_load(&s->done))
                log_error("the FUSE loop did not stop after 5 s");
}

/* An unmounted or aborted connection reports POLLERR on the device fd. */
static bool session_disconnected(struct worker_session *s) {
        struct pollfd p = { .fd = fuse_session_fd(s->se), .events = 0 };
        return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

void session_free(struct worker_session *s, bool mount_gone) {
        if (!s)
                return;
        /* For a mount made here, fuse_session_unmount() closes /dev/fuse first (so a still-live
         * mount cannot wait on us), then detaches the mount unless the connection had ended; for
         * an adopted fd it does nothing. A mount gone from this namespace whose connection lives
         * on (pinned elsewhere) is not ours to detach by path any more: libfuse's copy of the
         * mount point then stays unfreed, the process is about to end anyway. */
        if (!mount_gone || session_disconnected(s))
                fuse_session_unmount(s->se);
        fuse_session_destroy(s->se);
        free(s);
}
