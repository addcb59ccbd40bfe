/* SPDX-License-Identifier: MIT */
/* A device over a buffer: the harnesses never touch files or loop devices. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

_Noreturn void fuzz_fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("FUZZ FINDING: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        abort();
}

static int md_read(void *ctx, void *buf, size_t len, uint64_t off) {
        struct memdev *m = ctx;
        /* The library promises bounds checks against dev->size before any backend call. */
        if (off > m->size || len > m->size - off)
                fuzz_fail("backend read of %zu bytes at %llu past the device end %zu", len,
                          (unsigned long long) off, m->size);
        memcpy(buf, m->data + off, len);
        return 0;
}

static int md_write(void *ctx, const void *buf, size_t len, uint64_t off) {
        struct memdev *m = ctx;
        if (m->read_only)
                fuzz_fail("write of %zu bytes at %llu on a read-only mount", len, (unsigned long long) off);
        if (off > m->size || len > m->size - off)
                fuzz_fail("backend write of %zu bytes at %llu past the device end %zu", len,
                          (unsigned long long) off, m->size);
        if (m->fail_writes)
                return -EIO;
        memcpy(m->data + off, buf, len);
        m->writes++;
        return 0;
}

static int md_flush(void *ctx) {
        struct memdev *m = ctx;
        return m->fail_writes ? -EIO : 0;
}

static const struct exfat_dev_ops memdev_ops = {
        .read = md_read,
        .write = md_write,
        .flush = md_flush,
};

void memdev_load(struct memdev *m, const uint8_t *image, size_t size) {
        static uint8_t *buf;
        static size_t allocated;
        size_t dev = size;

        if (size >= 512 && image[108] >= 9 && image[108] <= 12) {
                uint64_t sectors = 0;
                for (int i = 7; i >= 0; i--)
                        sectors = sectors << 8 | image[72 + i];
                if (sectors <= FUZZ_MAX_DEVICE >> image[108] && (sectors << image[108]) > size)
                        dev = (size_t) (sectors << image[108]);
        }
        if (dev > FUZZ_MAX_DEVICE)
                dev = size; /* only the input's own bytes (a huge input was asked for) */
        /* At least one byte: an empty input still gets a buffer (memcpy wants one). */
        if (dev > allocated || !buf) {
                free(buf);
                buf = malloc(dev ? dev : 1);
                if (!buf)
                        abort();
                allocated = dev;
        }
        memcpy(buf, image, size);
        memset(buf + size, 0, dev - size);
        *m = (struct memdev) { .data = buf, .size = dev };
}

void memdev_init(struct exfat_device *dev, struct memdev *m) {
        *dev = (struct exfat_device) { .ops = &memdev_ops, .ctx = m, .size = m->size };
}
