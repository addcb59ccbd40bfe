/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Small cleanup helpers in the style of systemd's src/basic. */

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
/* Closes fd if open; returns -1 for the caller to store. */
static inline int safe_close(int fd) {
        closep(&fd);
        return -1;
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Logging: shared/log.h, one line per message with its syslog priority; main() sets it up. */
#include "log.h"

/* "%m"-free strerror for -errno values. */
#include <string.h>
static inline const char *strerr(int r) {
        return strerror(r < 0 ? -r : r);
}
