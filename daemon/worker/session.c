/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/fuse.h>

#include "log.h"

/* The reader thread sleeps in read() on /dev/fuse; a signal (no SA_RESTART) interrupts it so
 * that it sees the exit flag. Pool threads block the signal. */
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

        /* No SA_RESTART: the point is to interrupt read(). */
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
        if (fuse_opt_add_arg(&args, "exfat-worker") < 0 ||
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

/* ---- the loop -------------------------------------------------------------------------------
 * One thread reads /dev/fuse and answers metadata requests itself; requests that may wait on the
 * device for long (READ, WRITE, FSYNC, FSYNCDIR) go to a few pool threads, so parallel readers
 * and writers still overlap. Measured on a 2-CPU VM, 5,000 creates + 5,000 unlinks from one
 * client: libfuse's multi-threaded loop (4 idle threads) 43,000-57,000 context switches and
 * 0.32-0.34 s of server CPU, a single reader 25,000 and 0.16-0.21 s (a fixed pool of 2 readers
 * without libfuse's bookkeeping: 43,000). With several threads asleep in read(), the kernel hands
 * the next request to one of them while the thread that just replied is on its way back. */

#define POOL_THREADS 8 /* 4 parallel readers keep two READs each in flight (readahead) */
#define SPARE_JOBS 8 /* request buffers (1 MiB each) kept for reuse */

struct job {
        struct fuse_buf buf;
        struct job *next;
};

struct pool {
        struct fuse_session *se;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct job *head, *tail; /* queued for the pool */
        struct job *spare;
        unsigned nspare;
        bool stop;
};

static struct job *job_get(struct pool *p) {
        struct job *j;

        pthread_mutex_lock(&p->lock);
        j = p->spare;
        if (j) {
                p->spare = j->next;
                p->nspare--;
        }
        pthread_mutex_unlock(&p->lock);
        /* buf.mem NULL: libfuse allocates the buffer at the first receive. */
        return j ? j : calloc(1, sizeof(struct job));
}

static void job_put_locked(struct pool *p, struct job *j) {
        if (p->nspare >= SPARE_JOBS) {
                free(j->buf.mem);
                free(j);
                return;
        }
        j->buf.size = 0;
        j->next = p->spare;
        p->spare = j;
        p->nspare++;
}

static bool goes_to_pool(const struct fuse_buf *buf) {
        const struct fuse_in_header *h = buf->mem;

        if ((buf->flags & FUSE_BUF_IS_FD) || buf->size < sizeof(*h))
                return false;
        return h->opcode == FUSE_READ || h->opcode == FUSE_WRITE || h->opcode == FUSE_FSYNC ||
               h->opcode == FUSE_FSYNCDIR;
}

static void *pool_main(void *arg) {
        struct pool *p = arg;
        sigset_t set;

        /* Stop kicks are for the reader only. */
        sigemptyset(&set);
        sigaddset(&set, KICK_SIGNAL);
        pthread_sigmask(SIG_BLOCK, &set, NULL);

        pthread_mutex_lock(&p->lock);
        for (;;) {
                struct job *j;

                while (!p->head && !p->stop)
                        pthread_cond_wait(&p->cond, &p->lock);
                j = p->head;
                if (!j)
                        break; /* stopping, nothing left */
                p->head = j->next;
                if (!p->head)
                        p->tail = NULL;
                pthread_mutex_unlock(&p->lock);
                fuse_session_process_buf(p->se, &j->buf);
                pthread_mutex_lock(&p->lock);
                job_put_locked(p, j);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static void pool_queue(struct pool *p, struct job *j) {
        j->next = NULL;
        pthread_mutex_lock(&p->lock);
        if (p->tail)
                p->tail->next = j;
        else
                p->head = j;
        p->tail = j;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

static int reader_loop(struct pool *p) {
        struct job *j = NULL;
        int r = 0;

        while (!fuse_session_exited(p->se)) {
                if (!j) {
                        j = job_get(p);
                        if (!j) {
                                r = -ENOMEM;
                                break;
                        }
                }
                r = fuse_session_receive_buf(p->se, &j->buf);
                if (r == -EINTR) {
                        r = 0;
                        continue;
                }
                if (r <= 0)
                        break; /* 0: the connection ended (unmount), libfuse marked the session exited */
                r = 0;
                if (goes_to_pool(&j->buf)) {
                        pool_queue(p, j);
                        j = NULL;
                } else
                        fuse_session_process_buf(p->se, &j->buf);
        }
        if (j) {
                free(j->buf.mem);
                free(j);
        }
        return r;
}

int session_run(struct worker_session *s) {
        struct pool p = { .se = s->se };
        pthread_t threads[POOL_THREADS];
        unsigned n = 0;
        int r = 0;

        pthread_mutex_init(&p.lock, NULL);
        pthread_cond_init(&p.cond, NULL);
        for (; n < POOL_THREADS; n++) {
                r = -pthread_create(&threads[n], NULL, pool_main, &p);
                if (r < 0)
                        break;
        }
        if (n == 0)
                log_error_errno(r, "starting the FUSE threads failed");
        else {
                atomic_store(&s->running, true);
                r = reader_loop(&p);
        }

        /* Requests already queued are still answered. */
        pthread_mutex_lock(&p.lock);
        p.stop = true;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.lock);
        for (unsigned i = 0; i < n; i++)
                pthread_join(threads[i], NULL);
        while (p.spare) {
                struct job *j = p.spare;
                p.spare = j->next;
                free(j->buf.mem);
                free(j);
        }
        pthread_cond_destroy(&p.cond);
        pthread_mutex_destroy(&p.lock);
        atomic_store(&s->done, true);
        /* Like libfuse's loops: the session may be looked at (exited) afresh afterwards. */
        fuse_session_reset(s->se);
        return r;
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
