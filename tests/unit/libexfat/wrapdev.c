/* SPDX-License-Identifier: MIT */
#include "wrapdev.h"

#include <errno.h>
#include <stdlib.h>

static void log_add(struct wrapdev *w, enum wrapdev_op op, uint64_t offset, size_t len) {
        if (!w->recording)
                return;
        if (w->n_log == w->cap_log) {
                size_t cap = w->cap_log ? w->cap_log * 2 : 1024;
                struct wrapdev_rec *n = realloc(w->log, cap * sizeof(*n));
                if (!n)
                        return; /* the checks then see a short log and fail loudly */
                w->log = n;
                w->cap_log = cap;
        }
        w->log[w->n_log++] = (struct wrapdev_rec) { op, offset, len };
}

static int wd_read(void *ctx, void *buf, size_t len, uint64_t offset) {
        struct wrapdev *w = ctx;
        int err;

        pthread_mutex_lock(&w->lock);
        err = w->fail_read;
        pthread_mutex_unlock(&w->lock);
        if (err)
                return err;
        return w->lower->ops->read(w->lower->ctx, buf, len, offset);
}

static int wd_write_any(struct wrapdev *w, const void *buf, size_t len, uint64_t offset, bool data) {
        int err;

        pthread_mutex_lock(&w->lock);
        w->writes_seen++;
        if (w->writes_before_cut >= 0) {
                if (w->writes_before_cut == 0) {
                        pthread_mutex_unlock(&w->lock);
                        return 0; /* lost with the power */
                }
                w->writes_before_cut--;
        }
        err = w->fail_write;
        if (!err && w->writes_before_failure >= 0) {
                if (w->writes_before_failure == 0)
                        err = -EIO;
                else
                        w->writes_before_failure--;
        }
        if (err)
                w->failed_writes++;
        else
                log_add(w, WRAPDEV_WRITE, offset, len);
        pthread_mutex_unlock(&w->lock);
        if (err)
                return err;
        if (data && w->lower->ops->write_data)
                return w->lower->ops->write_data(w->lower->ctx, buf, len, offset);
        return w->lower->ops->write(w->lower->ctx, buf, len, offset);
}

static int wd_write(void *ctx, const void *buf, size_t len, uint64_t offset) {
        return wd_write_any(ctx, buf, len, offset, false);
}

/* File contents: the same injection and log, forwarded to the lower device's data path. */
static int wd_write_data(void *ctx, const void *buf, size_t len, uint64_t offset) {
        return wd_write_any(ctx, buf, len, offset, true);
}

static int wd_flush(void *ctx) {
        struct wrapdev *w = ctx;
        int err;

        pthread_mutex_lock(&w->lock);
        err = w->fail_flush;
        if (!err)
                log_add(w, WRAPDEV_FLUSH, 0, 0);
        pthread_mutex_unlock(&w->lock);
        if (err)
                return err;
        return w->lower->ops->flush(w->lower->ctx);
}

static const struct exfat_dev_ops wrapdev_ops = {
        .read = wd_read,
        .write = wd_write,
        .flush = wd_flush,
        .write_data = wd_write_data,
};

void wrapdev_init(struct wrapdev *w, const struct exfat_device *lower) {
        *w = (struct wrapdev) {
                .dev = { .ops = &wrapdev_ops, .ctx = w, .size = lower->size },
                .lower = lower,
                .writes_before_failure = -1,
                .writes_before_cut = -1,
        };
        pthread_mutex_init(&w->lock, NULL);
}

void wrapdev_done(struct wrapdev *w) {
        free(w->log);
        w->log = NULL;
        pthread_mutex_destroy(&w->lock);
}

void wrapdev_set_fail(struct wrapdev *w, int read_err, int write_err, int flush_err) {
        pthread_mutex_lock(&w->lock);
        w->fail_read = read_err;
        w->fail_write = write_err;
        w->fail_flush = flush_err;
        w->writes_before_failure = -1;
        pthread_mutex_unlock(&w->lock);
}

void wrapdev_record(struct wrapdev *w, bool on) {
        pthread_mutex_lock(&w->lock);
        if (on)
                w->n_log = 0;
        w->recording = on;
        pthread_mutex_unlock(&w->lock);
}
