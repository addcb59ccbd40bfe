/* SPDX-License-Identifier: MIT */
/* The bounded walk of a mounted volume shared by fuzz-image and fuzz-rw. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

struct names {
        char *name[FUZZ_MAX_DIR_NAMES];
        unsigned n;
        unsigned this_call; /* names accepted by the current exfat_readdir */
        uint64_t next_cookie;
        bool more;
};

static int collect(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct names *l = ctx;
        /* Pages of 7 names: cookies get resumed in the middle of directories. */
        if (l->n >= FUZZ_MAX_DIR_NAMES || l->this_call == 7) {
                l->more = l->n < FUZZ_MAX_DIR_NAMES;
                return 1;
        }
        if (strlen(name) > EXFAT_NAME_MAX_UTF8)
                fuzz_fail("readdir gave a name of %zu bytes", strlen(name));
        l->name[l->n] = strdup(name);
        if (!l->name[l->n])
                abort();
        l->n++;
        l->this_call++;
        l->next_cookie = next_cookie;
        return 0;
}

static void names_free(struct names *l) {
        for (unsigned i = 0; i < l->n; i++)
                free(l->name[i]);
        l->n = 0;
}

struct extents_check {
        const uint8_t *dev;
        uint64_t dev_size;
        uint8_t *out;
        uint64_t want;
};

static int extents_cb(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct extents_check *c = ctx;
        uint64_t sum = 0;
        if (total != c->want)
                fuzz_fail("read_extents covers %llu bytes, %llu expected", (unsigned long long) total,
                          (unsigned long long) c->want);
        for (size_t i = 0; i < count; i++) {
                if (ext[i].length > total - sum)
                        fuzz_fail("read_extents: extents add up past the total");
                if (ext[i].dev_offset == EXFAT_EXTENT_ZERO)
                        memset(c->out + sum, 0, ext[i].length);
                else {
                        if (ext[i].dev_offset > c->dev_size || ext[i].length > c->dev_size - ext[i].dev_offset)
                                fuzz_fail("read_extents: extent at %llu+%llu outside the device",
                                          (unsigned long long) ext[i].dev_offset, (unsigned long long) ext[i].length);
                        memcpy(c->out + sum, c->dev + ext[i].dev_offset, ext[i].length);
                }
                sum += ext[i].length;
        }
        if (sum != total)
                fuzz_fail("read_extents: extents cover %llu of %llu bytes", (unsigned long long) sum,
                          (unsigned long long) total);
        return 0;
}

int fuzz_read_file(struct exfat_volume *vol, uint64_t ino, uint8_t *buf, uint64_t size) {
        /* Irregular pieces: offsets inside clusters and sectors, pieces over cluster boundaries. */
        static const size_t pieces[] = { 1000, 4096, 333, 65536, 7 };
        uint64_t off = 0;
        for (unsigned k = 0; off < size; k++) {
                size_t want = pieces[k % 5];
                if (want > size - off)
                        want = size - off;
                ssize_t n = exfat_read(vol, ino, buf + off, want, off);
                if (n < 0)
                        return (int) n;
                if ((size_t) n != want)
                        fuzz_fail("exfat_read of %zu at %llu gave %zd before the end of the file", want,
                                  (unsigned long long) off, n);
                off += want;
        }
        /* At the end: nothing more. */
        uint8_t extra;
        ssize_t n = exfat_read(vol, ino, &extra, 1, size);
        if (n > 0)
                fuzz_fail("exfat_read past the end of the file gave %zd bytes", n);
        return n < 0 ? (int) n : 0;
}

static void read_one(struct exfat_volume *vol, const struct exfat_stat *st, const uint8_t *dev, uint64_t dev_size,
                     struct walk_stats *ws) {
        uint64_t size = st->size;
        if (st->valid_size > st->size)
                fuzz_fail("ino %llu: valid size %llu past size %llu", (unsigned long long) st->ino,
                          (unsigned long long) st->valid_size, (unsigned long long) st->size);
        if (st->size > st->allocated)
                fuzz_fail("ino %llu: size %llu past the allocation %llu", (unsigned long long) st->ino,
                          (unsigned long long) st->size, (unsigned long long) st->allocated);
        if (ws->bytes >= FUZZ_MAX_READ)
                return;
        if (size > FUZZ_MAX_READ - ws->bytes)
                size = FUZZ_MAX_READ - ws->bytes;
        ws->bytes += size;

        /* Reused: fresh megabytes per input cost more page faults than the rest of a run. */
        static uint8_t *a, *b;
        if (!a && (!(a = malloc(FUZZ_MAX_READ + 1)) || !(b = malloc(FUZZ_MAX_READ + 1))))
                abort();
        int r = size == st->size ? fuzz_read_file(vol, st->ino, a, size) : 0;
        if (size != st->size) {
                ssize_t n = exfat_read(vol, st->ino, a, size, 0);
                r = n < 0 ? (int) n : 0;
                if (n >= 0 && (uint64_t) n != size)
                        fuzz_fail("short exfat_read inside the file");
        }
        if (r >= 0) {
                struct extents_check c = { dev, dev_size, b, size };
                r = exfat_read_extents(vol, st->ino, 0, size, extents_cb, &c);
                /* The data cannot change between the two reads on a read-only walk: they agree. */
                if (r >= 0 && memcmp(a, b, size) != 0)
                        fuzz_fail("ino %llu: exfat_read and exfat_read_extents disagree", (unsigned long long) st->ino);
        }
        /* A piece in the middle through extents, clamped at the end. */
        if (r >= 0 && st->size > 1) {
                struct extents_check c = { dev, dev_size, b, st->size - st->size / 2 > 5000 ? 5000 : st->size - st->size / 2 };
                (void) exfat_read_extents(vol, st->ino, st->size / 2, 5000, extents_cb, &c);
        }
}

static void walk_dir(struct exfat_volume *vol, uint64_t dir, unsigned depth, const uint8_t *dev, uint64_t dev_size,
                     struct walk_stats *ws) {
        struct names l = {};
        uint64_t cookie = 0;

        ws->dirs++;
        for (;;) {
                l.more = false;
                l.this_call = 0;
                int r = exfat_readdir(vol, dir, cookie, 0, collect, &l);
                if (r < 0 || !l.more || l.n >= FUZZ_MAX_DIR_NAMES)
                        break;
                cookie = l.next_cookie;
        }

        for (unsigned i = 0; i < l.n && ws->entries < FUZZ_MAX_ENTRIES; i++) {
                struct exfat_stat st, st2;
                ws->entries++;
                int r = exfat_lookup(vol, dir, l.name[i], &st);
                /* What readdir lists, lookup finds (damage may still give -EIO). Two sets of one
                 * name in a damaged directory are both listed and one is found: no ENOENT. */
                if (r == -ENOENT)
                        fuzz_fail("readdir lists \"%s\", lookup says ENOENT", l.name[i]);
                if (r < 0)
                        continue;
                if (exfat_getattr(vol, st.ino, &st2) < 0 || st2.ino != st.ino || st2.size != st.size)
                        fuzz_fail("getattr of a node just looked up fails or differs");
                if (EXFAT_IS_DIR(&st)) {
                        if (depth < FUZZ_MAX_DEPTH)
                                walk_dir(vol, st.ino, depth + 1, dev, dev_size, ws);
                } else {
                        ws->files++;
                        if (exfat_open(vol, st.ino) >= 0) {
                                read_one(vol, &st, dev, dev_size, ws);
                                exfat_release(vol, st.ino);
                        }
                }
                exfat_forget(vol, st.ino, 1);
        }
        names_free(&l);
}

void fuzz_walk(struct exfat_volume *vol, const uint8_t *dev_data, uint64_t dev_size, struct walk_stats *ws) {
        struct exfat_stat st;
        *ws = (struct walk_stats) {};
        if (exfat_getattr(vol, EXFAT_ROOT_INO, &st) < 0)
                return;
        walk_dir(vol, EXFAT_ROOT_INO, 0, dev_data, dev_size, ws);
}
