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

/* Logging at the edge: one line per failure, with a syslog priority prefix the journal understands. */
#define log_error(fmt, ...) fprintf(stderr, "<3>" fmt "\n", ##__VA_ARGS__)
#define log_warning(fmt, ...) fprintf(stderr, "<4>" fmt "\n", ##__VA_ARGS__)
#define log_info(fmt, ...) fprintf(stderr, "<6>" fmt "\n", ##__VA_ARGS__)
#define log_debug(fmt, ...) do { if (log_debug_enabled) fprintf(stderr, "<7>" fmt "\n", ##__VA_ARGS__); } while (0)
extern int log_debug_enabled;

/* "%m"-free strerror for -errno values. */
#include <string.h>
static inline const char *strerr(int r) {
        return strerror(r < 0 ? -r : r);
}
