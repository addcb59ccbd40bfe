/* SPDX-License-Identifier: MIT */
#pragma once

/* File descriptors and streams.
 *
 *   safe_close(fd)      closes fd if it is one (>= 0), keeps errno, returns -EBADF for the caller
 *                       to store: "fd = safe_close(fd);".
 *   _cleanup_close_     closes the variable's descriptor when it goes out of scope.
 *   _cleanup_fclose_    fclose()s the variable's FILE * when it goes out of scope. */

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "macro.h"

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
