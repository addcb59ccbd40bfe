/* SPDX-License-Identifier: MIT */
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

struct job {
        offload_fn_t fn;
        void *arg;
        void (*free_arg)(void *);
        offload_done_t done;
        void *userdata;
        int pipe[2];
};

static void job_free(void *p) {
        struct job *j = p;
        if (j->free_arg && j->arg) /* not when on_done took it */
                j->free_arg(j->arg);
        closep(&j->pipe[0]);
        free(j);
}

static void *thread_main(void *p) {
        struct job *j = p;
        /* Taken before the job runs: from here on the thread needs nothing of j but fn and arg,
         * which the caller keeps until done has run. The moment the result is written the event
         * loop may free j. */
        int fd = j->pipe[1];
        int result = j->fn(j->arg);
        ssize_t n = write(fd, &result, sizeof(result));
        (void) n;
        close(fd);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct job *j = userdata;
        int result = -EIO;
        ssize_t n = read(fd, &result, sizeof(result));
        if (n != sizeof(result))
                result = -EIO;
        offload_done_t done = j->done;
        void *ud = j->userdata, *arg = TAKE_PTR(j->arg);
        void (*free_arg)(void *) = j->free_arg;
        /* Frees j through the destroy callback; done may then free the caller's object. arg
         * outlives both, for done to take its results from. */
        sd_event_source_disable_unref(s);
        done(ud, arg, result);
        if (free_arg)
                free_arg(arg);
        return 0;
}

int offload_run(sd_event *e, offload_fn_t fn, void *arg, void (*free_arg)(void *), offload_done_t done,
                void *userdata, sd_event_source **ret) {
        struct job *j = calloc(1, sizeof(*j));
        sd_event_source *s = NULL;
        pthread_attr_t attr;
        pthread_t t;
        int r;

        if (!j) {
                if (free_arg)
                        free_arg(arg);
                return -ENOMEM;
        }
        *j = (struct job) { fn, arg, free_arg, done, userdata, { -1, -1 } };
        if (pipe2(j->pipe, O_CLOEXEC) < 0) {
                r = -errno;
                job_free(j);
                return r;
        }
        r = sd_event_add_io(e, &s, j->pipe[0], EPOLLIN, on_done, j);
        if (r < 0) {
                close(j->pipe[1]);
                job_free(j);
                return r;
        }
        sd_event_source_set_destroy_callback(s, job_free);

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&t, &attr, thread_main, j);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                close(j->pipe[1]);
                sd_event_source_disable_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}
