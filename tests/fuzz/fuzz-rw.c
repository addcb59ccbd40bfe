/* SPDX-License-Identifier: MIT */
/*
 * fuzz-rw: read-write use of a (possibly damaged) volume, checked against a model.
 *
 * Input: byte 0 flags (FLAG_NO_REPAIR...), byte 1 the script's length L, the script (L bytes), then
 * the image without its trailing zeros (see memdev_load). On a copy of the image: mount read-write, run the script (label, create, write,
 * extend by writing past the end and by truncating up, truncate down, rename, unlink, mkdir,
 * rmdir, sync, fsync, remount) while a model keeps every file's expected bytes; unmount, mount
 * read-only, and compare every byte of every file the script made (zeros where nothing was
 * written), the names of every directory it made, and the label.
 *
 * Free clusters are filled with junk first (see fuzz_poison_free): zeros must come from the
 * library, not from a fresh image.
 *
 * Only what the script created is modelled: a damaged image may lose or alter what it held before
 * (its clusters may be marked free and handed to a new file), but new files get clusters the
 * allocator took for them and directories the library made. An error from the library on a
 * damaged volume ends the script without a verdict (-ENOSPC only makes the file it hit unknown);
 * a volume that mounted, accepted every call and then reads back something else is a finding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FLAG_NO_REPAIR 0x01
#define FLAG_SYNC      0x02 /* mount with opts.sync */
#define FLAG_TINY_CACHE 0x04
#define FLAG_CLEAN_FREE 0x08 /* leave free clusters as they are (else filled with junk) */

#define MAX_NODES 24
#define MAX_FILE (384u << 10)
#define MAX_OPS 64
#define ROOT (-1)

static const char *const labels[] = { "", "FUZZ", "\xc3\x89TIQUETTE", "ELEVENCHARS", "\xe6\x97\xa5\xe6\x9c\xac" };

/* Names no two of which are equal ignoring case. */
#define NNAMES 12
static char long_name[256];
static const char *names[NNAMES] = {
        "a",
        "B.txt",
        "hello world.dat",
        "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9-stra\xc3\x9f" "e",      /* Ünïcödé-straße */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt",                     /* 日本語.txt */
        "emoji-\xf0\x9f\x98\x80",                                       /* a surrogate pair */
        long_name,                                                      /* 255 units */
        "dir.d",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",              /* 3 name entries */
        "\xce\xa9mega",                                                 /* Ωmega */
        "UPPER",
        "trailing.",
};

struct mnode {
        bool used;
        bool dir;
        bool unknown;       /* an -ENOSPC hit it: content not modelled */
        int parent;         /* node index or ROOT */
        int name;
        uint64_t ino;       /* holds one lookup reference while used */
        uint8_t *data;
        uint64_t size;
};

struct run {
        struct memdev m;
        struct exfat_device dev;
        struct exfat_options opts;
        struct exfat_volume *vol;
        struct mnode node[MAX_NODES];
        bool root_taken[NNAMES]; /* a name the image already had in the root */
        const char *label;       /* set by the script, NULL: untouched */
        const uint8_t *script;
        size_t script_len, pos;
};

static uint8_t take(struct run *r) {
        return r->pos < r->script_len ? r->script[r->pos++] : 0;
}

static uint16_t take16(struct run *r) {
        uint16_t hi = take(r);
        return (uint16_t) (hi << 8 | take(r));
}

static uint64_t dir_ino(struct run *r, int d) {
        return d == ROOT ? EXFAT_ROOT_INO : r->node[d].ino;
}

/* The live node named name in directory d, or -1. */
static int child(struct run *r, int d, int name) {
        for (int i = 0; i < MAX_NODES; i++)
                if (r->node[i].used && r->node[i].parent == d && r->node[i].name == name)
                        return i;
        return -1;
}

static bool name_taken(struct run *r, int d, int name) {
        return child(r, d, name) >= 0 || (d == ROOT && r->root_taken[name]);
}

/* Picks the n-th live node of a kind (dir or file), by a script byte; -1 when there is none. */
static int pick(struct run *r, bool dir, uint8_t b) {
        int count = 0;
        for (int i = 0; i < MAX_NODES; i++)
                count += r->node[i].used && r->node[i].dir == dir;
        if (count == 0)
                return -1;
        int want = b % count;
        for (int i = 0; i < MAX_NODES; i++)
                if (r->node[i].used && r->node[i].dir == dir && want-- == 0)
                        return i;
        return -1;
}

/* A directory: the root or a live one. */
static int pick_dir(struct run *r, uint8_t b) {
        if (b % 3 == 0)
                return ROOT;
        int d = pick(r, true, b);
        return d < 0 ? ROOT : d;
}

static int free_slot(struct run *r) {
        for (int i = 0; i < MAX_NODES; i++)
                if (!r->node[i].used)
                        return i;
        return -1;
}

static void drop(struct run *r, int i) {
        exfat_forget(r->vol, r->node[i].ino, 1);
        free(r->node[i].data);
        r->node[i] = (struct mnode) {};
}

static bool is_ancestor(struct run *r, int a, int d) {
        for (; d != ROOT; d = r->node[d].parent)
                if (d == a)
                        return true;
        return false;
}

static bool has_children(struct run *r, int d) {
        for (int i = 0; i < MAX_NODES; i++)
                if (r->node[i].used && r->node[i].parent == d)
                        return true;
        return false;
}

static void model_resize(struct mnode *n, uint64_t size) {
        if (size > n->size) {
                uint8_t *p = realloc(n->data, size);
                if (!p)
                        abort();
                memset(p + n->size, 0, size - n->size);
                n->data = p;
        }
        n->size = size;
}

enum outcome { GO_ON, STOP_KEEP, STOP_NO_VERDICT };

/* What an unexpected return means: -ENOSPC is an honest answer on a small volume; anything else
 * on a fuzzed image is damage showing up, which is allowed but ends the run without a verdict. */
static enum outcome unexpected(const char *op, int got, int want) {
        if (got == -ENOSPC)
                return STOP_KEEP;
        if (got < 0 && got != want && (got == -EIO || got == -ENOMEM || got == -EFBIG || got == -EROFS ||
                                       got == -ENAMETOOLONG))
                return STOP_NO_VERDICT;
        /* The library disagrees with the model on a volume that has worked so far. */
        fuzz_fail("%s returned %d, the model expected %d", op, got, want);
}

static int resolve_all(struct run *r);

/* FUZZ_DEBUG=1 in the environment: one line per operation on stderr (to read a finding). */
static bool debug(void) {
        static int on = -1;
        if (on < 0)
                on = getenv("FUZZ_DEBUG") != NULL;
        return on;
}

static enum outcome step1(struct run *r, uint8_t op);

static void print_log(void *ctx, enum exfat_log_level level, const char *message) {
        fprintf(stderr, "fuzz-rw:   libexfat: %s\n", message);
}

static enum outcome step(struct run *r) {
        uint8_t op = take(r) % 12;
        size_t at = r->pos;
        enum outcome o = step1(r, op);
        if (debug())
                fprintf(stderr, "fuzz-rw: op %u (%zu argument bytes): %s\n", op, r->pos - at,
                        o == GO_ON ? "ok" : o == STOP_KEEP ? "stop (ENOSPC)" : "stop (no verdict)");
        return o;
}

static enum outcome step1(struct run *r, uint8_t op) {
        int k, d, f, x;

        switch (op) {
        case 0: { /* label */
                const char *l = labels[take(r) % (sizeof(labels) / sizeof(labels[0]))];
                x = exfat_set_label(r->vol, l);
                if (x < 0)
                        return unexpected("set_label", x, 0);
                r->label = l;
                return GO_ON;
        }
        case 1:   /* create */
        case 6: { /* mkdir */
                struct exfat_stat st;
                d = pick_dir(r, take(r));
                k = take(r) % NNAMES;
                bool want_exist = name_taken(r, d, k);
                int slot = free_slot(r);
                if (slot < 0 && !want_exist)
                        return GO_ON;
                x = op == 1 ? exfat_create(r->vol, dir_ino(r, d), names[k], 0, &st)
                            : exfat_mkdir(r->vol, dir_ino(r, d), names[k], &st);
                if (want_exist) {
                        if (x == 0)
                                exfat_forget(r->vol, st.ino, 1);
                        return x == -EEXIST ? GO_ON : unexpected(op == 1 ? "create" : "mkdir", x, -EEXIST);
                }
                if (x < 0)
                        return unexpected(op == 1 ? "create" : "mkdir", x, 0);
                if (st.size != 0 && op == 1)
                        fuzz_fail("a new file has size %llu", (unsigned long long) st.size);
                r->node[slot] = (struct mnode) { .used = true, .dir = op == 6, .parent = d, .name = k, .ino = st.ino };
                return GO_ON;
        }
        case 2:    /* write inside or a little past the end */
        case 11: { /* write far past the end (a gap of zeros) */
                f = pick(r, false, take(r));
                uint64_t off = op == 2 ? (uint64_t) take16(r) * 7 : 0;
                size_t len = (take16(r) % 65536) + 1;
                uint8_t seed = take(r);
                if (f < 0)
                        return GO_ON;
                struct mnode *n = &r->node[f];
                if (op == 11)
                        off = n->size + (uint64_t) take16(r) * 3;
                if (off >= MAX_FILE)
                        off %= MAX_FILE;
                if (len > MAX_FILE - off)
                        len = MAX_FILE - off;
                uint8_t *buf = malloc(len);
                if (!buf)
                        abort();
                for (size_t i = 0; i < len; i++)
                        buf[i] = (uint8_t) (seed + i * 131 + (i >> 9));
                ssize_t w = exfat_write(r->vol, n->ino, buf, len, off);
                if (w >= 0 && (size_t) w != len)
                        fuzz_fail("exfat_write wrote %zd of %zu bytes", w, len);
                if (w < 0) {
                        free(buf);
                        n->unknown = true;
                        return unexpected("write", (int) w, 0);
                }
                if (off + len > n->size)
                        model_resize(n, off + len);
                memcpy(n->data + off, buf, len);
                free(buf);
                return GO_ON;
        }
        case 3: { /* truncate up or down */
                f = pick(r, false, take(r));
                uint64_t size = (uint64_t) take16(r) * 11 % (MAX_FILE + 1);
                if (f < 0)
                        return GO_ON;
                struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = size };
                struct exfat_stat st;
                x = exfat_setattr(r->vol, r->node[f].ino, &sa, &st);
                if (x < 0) {
                        r->node[f].unknown = true;
                        return unexpected("truncate", x, 0);
                }
                if (st.size != size)
                        fuzz_fail("truncate to %llu left size %llu", (unsigned long long) size, (unsigned long long) st.size);
                model_resize(&r->node[f], size);
                return GO_ON;
        }
        case 4: { /* rename a file, or a directory to a free name outside itself */
                bool dir = take(r) & 1;
                f = pick(r, dir, take(r));
                d = pick_dir(r, take(r));
                k = take(r) % NNAMES;
                if (f < 0 || (d == ROOT && r->root_taken[k]))
                        return GO_ON;
                int t = child(r, d, k);
                int want = 0;
                if (dir && (t >= 0 || is_ancestor(r, f, d)))
                        return GO_ON; /* keep the model's rename rules to the plain cases */
                if (!dir && t >= 0 && r->node[t].dir)
                        want = -EISDIR;
                x = exfat_rename(r->vol, dir_ino(r, r->node[f].parent), names[r->node[f].name], dir_ino(r, d),
                                 names[k], 0);
                if (x != want)
                        return unexpected("rename", x, want);
                if (x == 0) {
                        if (t >= 0 && t != f)
                                drop(r, t); /* replaced */
                        r->node[f].parent = d;
                        r->node[f].name = k;
                }
                return GO_ON;
        }
        case 5: /* unlink */
                f = pick(r, false, take(r));
                if (f < 0)
                        return GO_ON;
                x = exfat_unlink(r->vol, dir_ino(r, r->node[f].parent), names[r->node[f].name]);
                if (x < 0)
                        return unexpected("unlink", x, 0);
                drop(r, f);
                return GO_ON;
        case 7: { /* rmdir, of an empty or a non-empty directory */
                d = pick(r, true, take(r));
                if (d < 0)
                        return GO_ON;
                int want = has_children(r, d) ? -ENOTEMPTY : 0;
                x = exfat_rmdir(r->vol, dir_ino(r, r->node[d].parent), names[r->node[d].name]);
                if (x != want)
                        return unexpected("rmdir", x, want);
                if (x == 0)
                        drop(r, d);
                return GO_ON;
        }
        case 8:
                x = exfat_sync(r->vol);
                return x < 0 ? unexpected("sync", x, 0) : GO_ON;
        case 9:
                f = pick(r, false, take(r));
                if (f < 0)
                        return GO_ON;
                x = exfat_fsync(r->vol, r->node[f].ino, take(r) & 1);
                return x < 0 ? unexpected("fsync", x, 0) : GO_ON;
        case 10: /* remount read-write: everything must come back from the device */
                for (int i = 0; i < MAX_NODES; i++)
                        if (r->node[i].used)
                                exfat_forget(r->vol, r->node[i].ino, 1);
                x = exfat_unmount(r->vol);
                r->vol = NULL;
                if (x < 0)
                        return unexpected("unmount", x, 0);
                x = exfat_mount(&r->dev, &r->opts, &r->vol);
                if (x < 0) {
                        r->vol = NULL;
                        return unexpected("remount", x, 0);
                }
                x = resolve_all(r);
                return x < 0 ? unexpected("lookup after remount", x, 0) : GO_ON;
        }
        return GO_ON;
}

static int print_name(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        fprintf(stderr, "fuzz-rw:   listed: \"%s\" ino %llu size %llu\n", name, (unsigned long long) st->ino,
                (unsigned long long) st->size);
        return 0;
}

/* Looks every live node up again by its path (parents first), taking one reference each. */
static int resolve_all(struct run *r) {
        bool done[MAX_NODES] = {};
        for (bool progress = true; progress;) {
                progress = false;
                for (int i = 0; i < MAX_NODES; i++) {
                        struct mnode *n = &r->node[i];
                        if (!n->used || done[i] || (n->parent != ROOT && !done[n->parent]))
                                continue;
                        struct exfat_stat st;
                        int x = exfat_lookup(r->vol, dir_ino(r, n->parent), names[n->name], &st);
                        if (x < 0) {
                                /* Keep the references consistent for the caller's forget. */
                                for (int j = 0; j < MAX_NODES; j++)
                                        if (r->node[j].used && !done[j])
                                                r->node[j].used = false, free(r->node[j].data), r->node[j].data = NULL;
                                if (x == -ENOENT) {
                                        if (debug()) {
                                                int y = exfat_readdir(r->vol, dir_ino(r, n->parent), 0, 0, print_name, NULL);
                                                fprintf(stderr, "fuzz-rw:   readdir: %d\n", y);
                                                /* The device as it is, for fsck.exfat and dump.exfat. */
                                                FILE *dump = fopen("fuzz-rw-vanished.img", "we");
                                                if (dump) {
                                                        fwrite(r->m.data, 1, r->m.size, dump);
                                                        fclose(dump);
                                                }
                                        }
                                        fuzz_fail("%s vanished", names[n->name]);
                                }
                                return x;
                        }
                        if (EXFAT_IS_DIR(&st) != n->dir)
                                fuzz_fail("%s changed kind", names[n->name]);
                        n->ino = st.ino;
                        done[i] = progress = true;
                }
        }
        return 0;
}

struct listing {
        bool seen[NNAMES];
        int stray;
};

static int list_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct listing *l = ctx;
        for (int k = 0; k < NNAMES; k++)
                if (strcmp(name, names[k]) == 0) {
                        if (l->seen[k])
                                fuzz_fail("readdir lists %s twice", name);
                        l->seen[k] = true;
                        return 0;
                }
        l->stray++;
        return 0;
}

/* Every modelled byte, size and name, on the volume as it is now. */
static void verify(struct run *r) {
        for (int i = 0; i < MAX_NODES; i++) {
                struct mnode *n = &r->node[i];
                struct exfat_stat st;
                if (!n->used)
                        continue;
                if (exfat_getattr(r->vol, n->ino, &st) < 0)
                        fuzz_fail("getattr of %s failed", names[n->name]);
                if (n->dir) {
                        struct listing l = {};
                        if (exfat_readdir(r->vol, n->ino, 0, 0, list_cb, &l) < 0)
                                fuzz_fail("readdir of %s failed", names[n->name]);
                        for (int k = 0; k < NNAMES; k++)
                                if (l.seen[k] != (child(r, i, k) >= 0))
                                        fuzz_fail("directory %s: %s %s", names[n->name], names[k],
                                                  l.seen[k] ? "listed but removed" : "missing");
                        if (l.stray)
                                fuzz_fail("directory %s lists %d names never created", names[n->name], l.stray);
                        continue;
                }
                if (n->unknown)
                        continue;
                if (st.size != n->size)
                        fuzz_fail("%s: size %llu, model %llu", names[n->name], (unsigned long long) st.size,
                                  (unsigned long long) n->size);
                uint8_t *buf = malloc(n->size + 1);
                if (!buf)
                        abort();
                int x = fuzz_read_file(r->vol, n->ino, buf, n->size);
                if (x < 0)
                        fuzz_fail("reading %s failed: %d", names[n->name], x);
                for (uint64_t b = 0; b < n->size; b++)
                        if (buf[b] != n->data[b])
                                fuzz_fail("%s: byte %llu is 0x%02x, model 0x%02x (size %llu, valid %llu)", names[n->name],
                                          (unsigned long long) b, buf[b], n->data[b], (unsigned long long) n->size,
                                          (unsigned long long) st.valid_size);
                free(buf);
        }
        /* Every modelled name in the root is listed there (strangers may be too). */
        struct listing l = {};
        if (exfat_readdir(r->vol, EXFAT_ROOT_INO, 0, 0, list_cb, &l) >= 0)
                for (int k = 0; k < NNAMES; k++)
                        if (child(r, ROOT, k) >= 0 && !l.seen[k])
                                fuzz_fail("root: %s missing", names[k]);
        if (r->label) {
                char label[EXFAT_LABEL_MAX_UTF8 + 1];
                if (exfat_get_label(r->vol, label, sizeof(label)) < 0 || strcmp(label, r->label) != 0)
                        fuzz_fail("label is not \"%s\"", r->label);
        }
}

static void forget_all(struct run *r) {
        for (int i = 0; i < MAX_NODES; i++)
                if (r->node[i].used && r->vol)
                        exfat_forget(r->vol, r->node[i].ino, 1);
}

static void free_model(struct run *r) {
        for (int i = 0; i < MAX_NODES; i++)
                free(r->node[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct run zero;
        struct run *r = malloc(sizeof(*r));
        enum outcome o = GO_ON;

        if (size < 2 || !r)
                return free(r), 0;
        if (!long_name[0]) {
                memcpy(long_name, "long-", 5);
                memset(long_name + 5, 'n', 250);
        }
        *r = zero;
        uint8_t flags = data[0];
        size_t slen = data[1];
        if (slen > size - 2)
                slen = size - 2;
        r->script = data + 2;
        r->script_len = slen;
        memdev_load(&r->m, data + 2 + slen, size - 2 - slen);
        if (!(flags & FLAG_NO_REPAIR))
                fuzz_repair_image(r->m.data, r->m.size);
        if (!(flags & FLAG_CLEAN_FREE))
                fuzz_poison_free(r->m.data, r->m.size);
        memdev_init(&r->dev, &r->m);
        r->opts = (struct exfat_options) { .sync = flags & FLAG_SYNC,
                                           .cache_budget = (flags & FLAG_TINY_CACHE) ? 4096 : 1u << 20,
                                           .log = debug() ? print_log : NULL };

        if (exfat_mount(&r->dev, &r->opts, &r->vol) < 0)
                goto out;
        for (int k = 0; k < NNAMES; k++) {
                struct exfat_stat st;
                int x = exfat_lookup(r->vol, EXFAT_ROOT_INO, names[k], &st);
                if (x != -ENOENT)
                        r->root_taken[k] = true;
                if (x >= 0)
                        exfat_forget(r->vol, st.ino, 1);
        }

        for (int i = 0; i < MAX_OPS && r->pos < r->script_len && o == GO_ON; i++)
                o = step(r);
        if (o == GO_ON && r->vol)
                verify(r);
        if (debug())
                fprintf(stderr, "fuzz-rw: %u ops, %s\n", (unsigned) r->pos, o == STOP_NO_VERDICT ? "no verdict" : "verifying");

        forget_all(r);
        int x = r->vol ? exfat_unmount(r->vol) : -EIO;
        r->vol = NULL;
        if (o == STOP_NO_VERDICT || x < 0)
                goto out;

        /* What reached the device: mount read-only and compare again. */
        r->opts.read_only = true;
        r->m.read_only = true;
        x = exfat_mount(&r->dev, &r->opts, &r->vol);
        if (x < 0)
                fuzz_fail("the volume the script wrote does not mount read-only: %d", x);
        x = resolve_all(r);
        if (x < 0)
                fuzz_fail("a name the script made cannot be looked up: %d", x);
        verify(r);
        forget_all(r);
        struct walk_stats ws;
        fuzz_walk(r->vol, r->m.data, r->m.size, &ws);
        (void) exfat_unmount(r->vol);
        if (debug())
                fprintf(stderr, "fuzz-rw: verified after a read-only remount (%u entries walked)\n", ws.entries);

out:
        free_model(r);
        free(r);
        return 0;
}
