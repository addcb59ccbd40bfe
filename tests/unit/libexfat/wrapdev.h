/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A struct exfat_device that forwards to another one, can fail reads/writes/flushes on demand,
 * and records the write log (offset, length, flushes) for ordering and I/O-size checks.
 * Thread-safe: the library may call it from several threads.
 */

#include <pthread.h>
#include <stdbool.h>

#include "exfat.h"

enum wrapdev_op { WRAPDEV_WRITE, WRAPDEV_FLUSH };

struct wrapdev_rec {
        enum wrapdev_op op;
        uint64_t offset;
        size_t len;
};

struct wrapdev {
        struct exfat_device dev;           /* hand this one to the library */
        const struct exfat_device *lower;
        pthread_mutex_t lock;
        /* injection: -errno to return, 0 = pass through */
        int fail_read;
        int fail_write;
        int fail_flush;
        /* fail writes only after this many more succeeded (-1 = not armed) */
        long writes_before_failure;
        unsigned long failed_writes;
        /* power cut: after this many more writes, writes report success but change nothing
         * (-1 = not armed); counts every write seen */
        long writes_before_cut;
        unsigned long writes_seen;
        /* recording */
        bool recording;
        struct wrapdev_rec *log;
        size_t n_log, cap_log;
};

void wrapdev_init(struct wrapdev *w, const struct exfat_device *lower);
void wrapdev_done(struct wrapdev *w);
void wrapdev_set_fail(struct wrapdev *w, int read_err, int write_err, int flush_err);
void wrapdev_record(struct wrapdev *w, bool on); /* on = start a fresh log */
