/* SPDX-License-Identifier: MIT */
/* Random operations applied both to the library and to a small in-memory model; the volume must
 * agree with the model at every check (names as stored, sizes, contents), and after every remount
 * fsck and the bitmap accounting must pass. Deterministic: EXFAT_MODEL_SEED / EXFAT_MODEL_OPS. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"

#define MAX_FILES 64
#define MAX_SIZE (96 * 1024)

static const char *const dirs[] = { "", "d1", "d2", "d1/sub" };
#define N_DIRS 4
static const char *const names[] = { "a", "B", "file.txt", "FILE.TXT", "é", "É", "long name with spaces and more",
                                     "x" };
#define N_NAMES 8

struct mfile {
        bool used;
        int dir;
        char name[64];
        uint8_t *data;
        size_t size;
};

/* Files unlinked while open: still readable and writable through their inode number. */
struct orphan {
        bool used;
        uint64_t ino;
        uint8_t *data;
        size_t size;
};
#define MAX_ORPHANS 4

struct model {
        struct mfile f[MAX_FILES];
        struct orphan o[MAX_ORPHANS];
};

static uint32_t rnd(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

/* Case-insensitive compare for the names used here (ASCII and é/É). */
static bool same_name(const char *a, const char *b) {
        if (strcasecmp(a, b) == 0)
                return true;
        return (strcmp(a, "é") == 0 || strcmp(a, "É") == 0) && (strcmp(b, "é") == 0 || strcmp(b, "É") == 0);
}

static struct mfile *m_find(struct model *m, int dir, const char *name) {
        for (int i = 0; i < MAX_FILES; i++)
                if (m->f[i].used && m->f[i].dir == dir && same_name(m->f[i].name, name))
                        return &m->f[i];
        return NULL;
}

static struct mfile *m_pick(struct model *m, uint32_t *seed) {
        int start = (int) (rnd(seed) % MAX_FILES);
        for (int k = 0; k < MAX_FILES; k++) {
                struct mfile *x = &m->f[(start + k) % MAX_FILES];
                if (x->used)
                        return x;
        }
        return NULL;
}

static uint64_t dir_ino(struct fx *f, int dir) {
        return dir == 0 ? EXFAT_ROOT_INO : fx_walk(f, dirs[dir]);
}

static uint64_t file_ino(struct fx *f, const struct mfile *x) {
        struct exfat_stat st;
        int r = exfat_lookup(f->vol, dir_ino(f, x->dir), x->name, &st);
        if (r != 0)
                fail_msg("lookup of %s/%s: %s", dirs[x->dir], x->name, strerror(-r));
        return st.ino;
}

static void m_check_file(struct fx *f, const struct mfile *x) {
        char path[128];
        snprintf(path, sizeof(path), "%s%s%s", dirs[x->dir], x->dir ? "/" : "", x->name);
        fx_expect_content(f, path, x->data, x->size);
}

/* Every directory lists exactly the model's names (as stored), every file has its content. */
static void m_check_all(struct fx *f, struct model *m) {
        for (int d = 0; d < N_DIRS; d++) {
                struct dirlist dl;
                size_t want = 0;
                assert_int_equal(fx_readdir_all(f, dir_ino(f, d), &dl), 0);
                for (int i = 0; i < MAX_FILES; i++)
                        if (m->f[i].used && m->f[i].dir == d) {
                                want++;
                                if (!dirlist_has(&dl, m->f[i].name))
                                        fail_msg("\"%s\" missing from %s/", m->f[i].name, dirs[d]);
                        }
                for (int s = 0; s < N_DIRS; s++) /* subdirectories of d */
                        if (s != d && strncmp(dirs[s], dirs[d], strlen(dirs[d])) == 0 && strlen(dirs[s]) > strlen(dirs[d]) &&
                            strchr(dirs[s] + strlen(dirs[d]) + (d ? 1 : 0), '/') == NULL)
                                want++;
                if (dl.n != want)
                        fail_msg("%s/ lists %zu entries, the model has %zu", dirs[d], dl.n, want);
                dirlist_free(&dl);
        }
        for (int i = 0; i < MAX_FILES; i++)
                if (m->f[i].used)
                        m_check_file(f, &m->f[i]);
}

static void op_create(struct fx *f, struct model *m, uint32_t *seed) {
        int d = (int) (rnd(seed) % N_DIRS);
        const char *name = names[rnd(seed) % N_NAMES];
        struct mfile *x = m_find(m, d, name);
        struct exfat_stat st;
        int r = exfat_create(f->vol, dir_ino(f, d), name, 0, &st);

        if (x) {
                if (r != -EEXIST)
                        fail_msg("create %s/%s over %s: %d, expected -EEXIST", dirs[d], name, x->name, r);
                return;
        }
        if (r != 0)
                fail_msg("create %s/%s: %s", dirs[d], name, strerror(-r));
        exfat_forget(f->vol, st.ino, 1);
        for (int i = 0; i < MAX_FILES; i++)
                if (!m->f[i].used) {
                        m->f[i] = (struct mfile) { .used = true, .dir = d, .data = calloc(1, MAX_SIZE + 1) };
                        assert_non_null(m->f[i].data);
                        snprintf(m->f[i].name, sizeof(m->f[i].name), "%s", name);
                        return;
                }
        /* model full: undo */
        assert_int_equal(exfat_unlink(f->vol, dir_ino(f, d), name), 0);
}

static void op_write(struct fx *f, struct model *m, uint32_t *seed) {
        struct mfile *x = m_pick(m, seed);
        uint8_t buf[16384];
        size_t off, len;
        uint64_t ino;

        if (!x)
                return;
        off = rnd(seed) % (x->size + 8192);
        len = 1 + rnd(seed) % sizeof(buf);
        if (off + len > MAX_SIZE)
                return;
        fill_pattern(buf, len, rnd(seed));
        ino = file_ino(f, x);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        fx_write(f, ino, buf, len, off);
        exfat_release(f->vol, ino);
        exfat_forget(f->vol, ino, 1);
        if (off > x->size)
                memset(x->data + x->size, 0, off - x->size);
        memcpy(x->data + off, buf, len);
        if (off + len > x->size)
                x->size = off + len;
}

static void op_truncate(struct fx *f, struct model *m, uint32_t *seed) {
        struct mfile *x = m_pick(m, seed);
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE };
        struct exfat_stat st;
        uint64_t ino;

        if (!x)
                return;
        sa.size = rnd(seed) % MAX_SIZE;
        ino = file_ino(f, x);
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), 0);
        exfat_forget(f->vol, ino, 1);
        if (sa.size > x->size)
                memset(x->data + x->size, 0, sa.size - x->size);
        x->size = sa.size;
}

static void op_rename(struct fx *f, struct model *m, uint32_t *seed) {
        struct mfile *x = m_pick(m, seed), *t;
        int d = (int) (rnd(seed) % N_DIRS);
        const char *name = names[rnd(seed) % N_NAMES];
        unsigned flags = (rnd(seed) % 4 == 0) ? EXFAT_RENAME_NOREPLACE : 0;
        int r;

        if (!x)
                return;
        t = m_find(m, d, name);
        r = exfat_rename(f->vol, dir_ino(f, x->dir), x->name, dir_ino(f, d), name, flags);
        if (t && t != x && (flags & EXFAT_RENAME_NOREPLACE)) {
                if (r != -EEXIST)
                        fail_msg("rename NOREPLACE %s/%s -> %s/%s (exists): %d", dirs[x->dir], x->name, dirs[d], name, r);
                return;
        }
        if (r != 0)
                fail_msg("rename %s/%s -> %s/%s: %s", dirs[x->dir], x->name, dirs[d], name, strerror(-r));
        if (t && t != x) {
                free(t->data);
                t->used = false;
        }
        x->dir = d;
        snprintf(x->name, sizeof(x->name), "%s", name);
}

static void op_unlink(struct fx *f, struct model *m, uint32_t *seed) {
        struct mfile *x = m_pick(m, seed);
        int r;

        if (!x)
                return;
        r = exfat_unlink(f->vol, dir_ino(f, x->dir), x->name);
        if (r != 0)
                fail_msg("unlink %s/%s: %s", dirs[x->dir], x->name, strerror(-r));
        free(x->data);
        x->used = false;
}


static void op_orphan(struct fx *f, struct model *m, uint32_t *seed) {
        struct mfile *x = m_pick(m, seed);
        struct orphan *o = NULL;
        uint64_t ino;

        for (int i = 0; i < MAX_ORPHANS; i++)
                if (!m->o[i].used)
                        o = &m->o[i];
        if (!x || !o)
                return;
        ino = file_ino(f, x); /* keeps this lookup reference until release */
        assert_int_equal(exfat_open(f->vol, ino), 0);
        assert_int_equal(exfat_unlink(f->vol, dir_ino(f, x->dir), x->name), 0);
        *o = (struct orphan) { .used = true, .ino = ino, .data = x->data, .size = x->size };
        x->used = false;
        x->data = NULL;
}

static void op_orphan_io(struct fx *f, struct model *m, uint32_t *seed) {
        struct orphan *o = &m->o[rnd(seed) % MAX_ORPHANS];
        uint8_t buf[8192], back[MAX_SIZE];
        size_t off, len;

        if (!o->used)
                return;
        if (rnd(seed) % 3 == 0) {
                exfat_release(f->vol, o->ino);
                exfat_forget(f->vol, o->ino, 1);
                free(o->data);
                o->used = false;
                return;
        }
        off = rnd(seed) % (o->size + 4096);
        len = 1 + rnd(seed) % sizeof(buf);
        if (off + len <= MAX_SIZE) {
                fill_pattern(buf, len, rnd(seed));
                fx_write(f, o->ino, buf, len, off);
                if (off > o->size)
                        memset(o->data + o->size, 0, off - o->size);
                memcpy(o->data + off, buf, len);
                if (off + len > o->size)
                        o->size = off + len;
        }
        assert_int_equal(exfat_read(f->vol, o->ino, back, sizeof(back), 0), o->size);
        if (memcmp(back, o->data, o->size) != 0)
                fail_msg("an unlinked open file lost its content");
}

/* Open orphans may stay open across an unmount: the library frees them then. */
static void drop_orphans(struct model *m) {
        for (int i = 0; i < MAX_ORPHANS; i++)
                if (m->o[i].used) {
                        free(m->o[i].data);
                        m->o[i].used = false;
                }
}

static void run_model(struct fx *f, uint32_t seed, int ops) {
        struct model *m = calloc(1, sizeof(*m));

        assert_non_null(m);
        fx_mkdir(f, EXFAT_ROOT_INO, "d1");
        fx_mkdir(f, EXFAT_ROOT_INO, "d2");
        fx_mkdir(f, fx_walk(f, "d1"), "sub");
        fprintf(stderr, "# model: seed 0x%x, %d operations\n", seed, ops);
        for (int i = 1; i <= ops; i++) {
                switch (rnd(&seed) % 12) {
                case 10:
                        op_orphan(f, m, &seed);
                        break;
                case 11:
                        op_orphan_io(f, m, &seed);
                        break;
                case 0:
                case 1:
                case 2:
                        op_create(f, m, &seed);
                        break;
                case 3:
                case 4:
                case 5:
                        op_write(f, m, &seed);
                        break;
                case 6:
                        op_truncate(f, m, &seed);
                        break;
                case 7:
                        op_rename(f, m, &seed);
                        break;
                case 8:
                        op_unlink(f, m, &seed);
                        break;
                case 9: {
                        struct mfile *x = m_pick(m, &seed);
                        if (x)
                                m_check_file(f, x);
                        break;
                }
                }
                if (i % 250 == 0) {
                        m_check_all(f, m);
                        fx_remount(f);
                        drop_orphans(m);
                        m_check_all(f, m);
                }
        }
        for (int i = 0; i < MAX_FILES; i++)
                if (m->f[i].used)
                        free(m->f[i].data);
        drop_orphans(m);
        free(m);
}

static void test_model(void **state) {
        const char *s = getenv("EXFAT_MODEL_SEED"), *n = getenv("EXFAT_MODEL_OPS");
        run_model(*state, s ? (uint32_t) strtoul(s, NULL, 0) : 0xC0FFEEu, n ? atoi(n) : 1500);
}

/* ---- a tree model: directories created, removed and moved at random too ----------------- */

#define T_MAX 48

struct tnode {
        bool used, dir;
        int parent;            /* index; -1 for the root (index 0) */
        char name[64];
        uint8_t *data;
        size_t size;
};

struct tree {
        struct tnode n[T_MAX];
        unsigned renames, dir_renames, refused_renames, rmdirs, max_depth;
};

static int t_child(struct tree *t, int parent, const char *name) {
        for (int i = 1; i < T_MAX; i++)
                if (t->n[i].used && t->n[i].parent == parent && same_name(t->n[i].name, name))
                        return i;
        return -1;
}

static bool t_has_children(struct tree *t, int i) {
        for (int k = 1; k < T_MAX; k++)
                if (t->n[k].used && t->n[k].parent == i)
                        return true;
        return false;
}

static bool t_is_ancestor(struct tree *t, int anc, int i) {
        for (; i >= 0; i = t->n[i].parent)
                if (i == anc)
                        return true;
        return false;
}

static int t_pick(struct tree *t, uint32_t *seed, int want_dir) {
        int start = (int) (rnd(seed) % T_MAX);
        for (int k = 0; k < T_MAX; k++) {
                int i = (start + k) % T_MAX;
                if (t->n[i].used && (want_dir < 0 || t->n[i].dir == (want_dir == 1)))
                        return i;
        }
        return -1;
}

static void t_path(struct tree *t, int i, char *buf, size_t size) {
        char tmp[512] = "";
        buf[0] = 0;
        for (; i > 0; i = t->n[i].parent) {
                snprintf(tmp, sizeof(tmp), "%s%s%s", t->n[i].name, buf[0] ? "/" : "", buf);
                snprintf(buf, size, "%s", tmp);
        }
}

static uint64_t t_ino(struct fx *f, struct tree *t, int i) {
        char path[512];
        t_path(t, i, path, sizeof(path));
        return i == 0 ? EXFAT_ROOT_INO : fx_walk(f, path);
}

static void t_check(struct fx *f, struct tree *t) {
        for (int i = 0; i < T_MAX; i++) {
                char path[512];
                if (!t->n[i].used)
                        continue;
                t_path(t, i, path, sizeof(path));
                if (t->n[i].dir) {
                        struct dirlist dl;
                        size_t want = 0;
                        assert_int_equal(fx_readdir_all(f, t_ino(f, t, i), &dl), 0);
                        for (int k = 1; k < T_MAX; k++)
                                if (t->n[k].used && t->n[k].parent == i) {
                                        want++;
                                        if (!dirlist_has(&dl, t->n[k].name))
                                                fail_msg("\"%s\" missing from /%s", t->n[k].name, path);
                                }
                        if (dl.n != want)
                                fail_msg("/%s lists %zu entries, the model has %zu", path, dl.n, want);
                        dirlist_free(&dl);
                } else {
                        fx_expect_content(f, path, t->n[i].data, t->n[i].size);
                }
        }
}

static int t_new(struct tree *t) {
        for (int i = 1; i < T_MAX; i++)
                if (!t->n[i].used)
                        return i;
        return -1;
}

static void t_forget_node(struct tree *t, int i) {
        free(t->n[i].data);
        t->n[i] = (struct tnode) { 0 };
}

static void t_op(struct fx *f, struct tree *t, uint32_t *seed) {
        const char *name = names[rnd(seed) % N_NAMES];
        struct exfat_stat st;
        int op = (int) (rnd(seed) % 8), r;

        if (op <= 1) { /* create or mkdir */
                int p = t_pick(t, seed, 1), i;
                bool dir = op == 1;
                if (p < 0)
                        return;
                i = t_new(t);
                r = dir ? exfat_mkdir(f->vol, t_ino(f, t, p), name, &st)
                        : exfat_create(f->vol, t_ino(f, t, p), name, 0, &st);
                if (t_child(t, p, name) >= 0) {
                        if (r != -EEXIST)
                                fail_msg("%s of an existing name returned %d", dir ? "mkdir" : "create", r);
                        return;
                }
                if (r != 0)
                        fail_msg("%s %s: %s", dir ? "mkdir" : "create", name, strerror(-r));
                exfat_forget(f->vol, st.ino, 1);
                if (i < 0) { /* model full */
                        r = dir ? exfat_rmdir(f->vol, t_ino(f, t, p), name) : exfat_unlink(f->vol, t_ino(f, t, p), name);
                        assert_int_equal(r, 0);
                        return;
                }
                t->n[i] = (struct tnode) { .used = true, .dir = dir, .parent = p };
                snprintf(t->n[i].name, sizeof(t->n[i].name), "%s", name);
                if (!dir) {
                        t->n[i].data = calloc(1, MAX_SIZE + 1);
                        assert_non_null(t->n[i].data);
                }
        } else if (op == 2) { /* write */
                int i = t_pick(t, seed, 0);
                uint8_t buf[8192];
                size_t off, len;
                uint64_t ino;
                if (i < 0)
                        return;
                off = rnd(seed) % (t->n[i].size + 4096);
                len = 1 + rnd(seed) % sizeof(buf);
                if (off + len > MAX_SIZE)
                        return;
                fill_pattern(buf, len, rnd(seed));
                ino = t_ino(f, t, i);
                assert_int_equal(exfat_open(f->vol, ino), 0);
                fx_write(f, ino, buf, len, off);
                exfat_release(f->vol, ino);
                if (off > t->n[i].size)
                        memset(t->n[i].data + t->n[i].size, 0, off - t->n[i].size);
                memcpy(t->n[i].data + off, buf, len);
                if (off + len > t->n[i].size)
                        t->n[i].size = off + len;
        } else if (op == 3) { /* unlink or rmdir */
                int i = t_pick(t, seed, -1);
                if (i <= 0)
                        return;
                if (t->n[i].dir) {
                        r = exfat_rmdir(f->vol, t_ino(f, t, t->n[i].parent), t->n[i].name);
                        if (t_has_children(t, i)) {
                                if (r != -ENOTEMPTY)
                                        fail_msg("rmdir of a non-empty directory returned %d", r);
                                return;
                        }
                } else {
                        r = exfat_unlink(f->vol, t_ino(f, t, t->n[i].parent), t->n[i].name);
                }
                if (r != 0)
                        fail_msg("removal of %s: %s", t->n[i].name, strerror(-r));
                t->rmdirs += t->n[i].dir;
                t_forget_node(t, i);
        } else { /* rename, the most common: files and directories, anywhere */
                int i = t_pick(t, seed, -1), p = t_pick(t, seed, 1), target, expect = 0;
                if (i <= 0 || p < 0)
                        return;
                target = t_child(t, p, name);
                if (t->n[i].dir && t_is_ancestor(t, i, p))
                        expect = -EINVAL;
                else if (target >= 0 && target != i) {
                        if (t->n[target].dir && !t->n[i].dir)
                                expect = -EISDIR;
                        else if (!t->n[target].dir && t->n[i].dir)
                                expect = -ENOTDIR;
                        else if (t->n[target].dir && t_has_children(t, target))
                                expect = -ENOTEMPTY;
                }
                r = exfat_rename(f->vol, t_ino(f, t, t->n[i].parent), t->n[i].name, t_ino(f, t, p), name, 0);
                if (r != expect) {
                        char from[512], to[512];
                        t_path(t, i, from, sizeof(from));
                        t_path(t, p, to, sizeof(to));
                        fail_msg("rename /%s -> /%s/%s returned %d, expected %d", from, to, name, r, expect);
                }
                if (r != 0) {
                        t->refused_renames++;
                        return;
                }
                t->renames++;
                t->dir_renames += t->n[i].dir;
                if (target >= 0 && target != i)
                        t_forget_node(t, target);
                t->n[i].parent = p;
                snprintf(t->n[i].name, sizeof(t->n[i].name), "%s", name);
        }
}

static void test_tree_model(void **state) {
        struct fx *f = *state;
        const char *s = getenv("EXFAT_MODEL_SEED"), *n = getenv("EXFAT_MODEL_OPS");
        uint32_t seed = s ? (uint32_t) strtoul(s, NULL, 0) : 0xBEEFu;
        int ops = n ? atoi(n) : 1500;
        struct tree *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        t->n[0] = (struct tnode) { .used = true, .dir = true, .parent = -1 };
        fprintf(stderr, "# tree model: seed 0x%x, %d operations\n", seed, ops);
        for (int i = 1; i <= ops; i++) {
                t_op(f, t, &seed);
                for (int k = 0; k < T_MAX; k++) {
                        unsigned depth = 0;
                        for (int j = k; t->n[k].used && j > 0; j = t->n[j].parent)
                                depth++;
                        if (depth > t->max_depth)
                                t->max_depth = depth;
                }
                if (i % 250 == 0) {
                        t_check(f, t);
                        fx_remount(f);
                        t_check(f, t);
                }
        }
        fprintf(stderr, "# tree model: %u renames (%u of directories), %u refused as expected, %u rmdirs, depth %u\n",
                t->renames, t->dir_renames, t->refused_renames, t->rmdirs, t->max_depth);
        for (int i = 0; i < T_MAX; i++)
                free(t->n[i].data);
        free(t);
}

static const struct fx_params cluster_32k = { .cluster = "32K" };
static const struct fx_params tiny_cache = { .cache_budget = 8 * 1024 };
static const struct fx_params sectors_4k = { .sector_4k = true, .cluster = "16K" };
static const struct fx_params direct = { .direct = true };

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_model, fx_setup, fx_teardown),
                FX_TEST("model_32k", test_model, &cluster_32k),
                FX_TEST("model_tiny_cache", test_model, &tiny_cache),
                FX_TEST("model_4k_sectors", test_model, &sectors_4k),
                cmocka_unit_test_setup_teardown(test_tree_model, fx_setup, fx_teardown),
                FX_TEST("tree_model_tiny_cache", test_tree_model, &tiny_cache),
                FX_TEST("model_direct_io", test_model, &direct),
                FX_TEST("tree_model_direct_io", test_tree_model, &direct),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/model", tests, NULL, NULL);
}
