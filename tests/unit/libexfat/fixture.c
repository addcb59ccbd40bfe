/* SPDX-License-Identifier: MIT */
#include "fixture.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_log(void *ctx, enum exfat_log_level level, const char *message) {
        /* Keep library messages in the test log: they explain failures. */
        fprintf(stderr, "# libexfat <%d>: %s\n", (int) level, message);
}

int fx_teardown(void **state);

static int setup_inner(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");
        const char *extra[8];
        size_t n = 0;
        int r;

        if (!f)
                return -1;
        if (*state)
                f->p = *(const struct fx_params *) *state;
        if (!f->p.size)
                f->p.size = 64ull << 20;
        f->no_final_check = f->p.damaged;
        snprintf(f->dir, sizeof(f->dir), "%s/exfat-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        f->fd = -1;
        f->dfd = -1;
        *state = f;
        if (!mkdtemp(f->dir)) {
                fprintf(stderr, "mkdtemp: %m\n");
                f->dir[0] = 0;
                return -1;
        }
        snprintf(f->path, sizeof(f->path), "%s/vol.img", f->dir);

        extra[n++] = "-c";
        extra[n++] = f->p.cluster ? f->p.cluster : "4K";
        if (f->p.label) {
                extra[n++] = "-L";
                extra[n++] = f->p.label;
        }
        extra[n] = NULL;
        r = img_mkfs(f->path, f->p.size, extra);
        if (r != 0) {
                fprintf(stderr, "mkfs.exfat failed: %d\n", r);
                return -1;
        }
        f->fd = open(f->path, O_RDWR | O_CLOEXEC);
        if (f->fd < 0)
                return -1;
        if (f->p.sector_4k && img_convert_to_4k(f->fd) < 0) {
                fprintf(stderr, "conversion to 4K sectors failed\n");
                return -1;
        }
        if (img_geom_read(f->fd, false, &f->g) < 0)
                return -1;
        if (f->p.direct) {
                f->dfd = open(f->path, O_RDWR | O_DIRECT | O_CLOEXEC);
                if (f->dfd < 0)
                        fprintf(stderr, "# no O_DIRECT under %s (%m): plain fd backend\n", f->dir);
        }
        r = f->dfd >= 0 ? exfat_device_init_fd_direct(&f->fdev, f->fd, f->dfd) : exfat_device_init_fd(&f->fdev, f->fd);
        if (r < 0) {
                fprintf(stderr, "exfat_device_init_fd: %d\n", r);
                return -1;
        }
        f->dev = &f->fdev;
        if (f->p.wrap) {
                wrapdev_init(&f->wrap, &f->fdev);
                f->dev = &f->wrap.dev;
        }
        f->opts = (struct exfat_options) { .log = test_log, .cache_budget = f->p.cache_budget };
        if (!f->p.no_mount) {
                r = exfat_mount(f->dev, &f->opts, &f->vol);
                if (r < 0) {
                        fprintf(stderr, "exfat_mount: %s\n", strerror(-r));
                        return -1;
                }
        }
        return 0;
}

int fx_setup(void **state) {
        if (setup_inner(state) == 0)
                return 0;
        fx_teardown(state);
        return -1;
}

/* Every test that leaves a read-write mount behind gets the same end check as
 * fx_unmount_check; a failure here fails the test ("Test teardown failed"). */
static int final_check(struct fx *f) {
        uint8_t flags;
        int r = exfat_unmount(f->vol);

        f->vol = NULL;
        if (r != 0) {
                fprintf(stderr, "final check: exfat_unmount: %s\n", strerror(-r));
                return -1;
        }
        r = img_fsck(f->path);
        if (r != 0) {
                fprintf(stderr, "final check: fsck.exfat -n exited %d\n", r);
                return -1;
        }
        if (img_volume_flags(f->fd, &flags) < 0 || (flags & 0x02)) {
                fprintf(stderr, "final check: VolumeDirty still set after unmount\n");
                return -1;
        }
        {
                struct img_geom g;
                struct img_accounting a;
                if (img_geom_read(f->fd, false, &g) < 0 || img_account(f->fd, &g, &a) < 0 || a.leaked ||
                    a.unmarked || a.crosslinked) {
                        fprintf(stderr, "final check: allocation bitmap does not match the tree\n");
                        return -1;
                }
        }
        return 0;
}

int fx_teardown(void **state) {
        struct fx *f = *state;
        int r = 0;

        if (!f)
                return 0;
        if (f->vol && !f->opts.read_only && !f->no_final_check)
                r = final_check(f);
        if (f->vol)
                exfat_unmount(f->vol);
        if (f->p.wrap)
                wrapdev_done(&f->wrap);
        exfat_device_done(&f->fdev);
        if (f->dfd >= 0)
                close(f->dfd);
        if (f->fd >= 0)
                close(f->fd);
        if (f->dir[0]) {
                /* the image and whatever else a test put next to it */
                DIR *dir = opendir(f->dir);
                struct dirent *de;
                while (dir && (de = readdir(dir)))
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                unlinkat(dirfd(dir), de->d_name, 0);
                if (dir)
                        closedir(dir);
                rmdir(f->dir);
        }
        free(f);
        *state = NULL;
        return r;
}

void fx_mount(struct fx *f, bool read_only) {
        f->opts.read_only = read_only;
        assert_null(f->vol);
        assert_int_equal(exfat_mount(f->dev, &f->opts, &f->vol), 0);
}

void fx_reload_geom(struct fx *f) {
        assert_int_equal(img_geom_read(f->fd, false, &f->g), 0);
}

void fx_unmount_check(struct fx *f) {
        uint8_t flags;
        int r;

        assert_non_null(f->vol);
        r = exfat_unmount(f->vol);
        f->vol = NULL;
        assert_int_equal(r, 0);
        r = img_fsck(f->path);
        if (r != 0) {
                img_fsck_show(f->path); /* once more, with its output in the test log */
                fail_msg("fsck.exfat -n exited %d after unmount", r);
        }
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        if (flags & 0x02)
                fail_msg("VolumeDirty still set after a clean unmount (VolumeFlags byte 0x%02x)", flags);
        fx_reload_geom(f);
        {
                struct img_accounting a;
                r = img_account(f->fd, &f->g, &a);
                if (r < 0)
                        fail_msg("oracle walk of the volume failed: %s", strerror(-r));
                if (a.leaked || a.unmarked || a.crosslinked)
                        fail_msg("allocation bitmap: %u clusters in use but owned by nothing, %u owned but free, "
                                 "%u owned twice", a.leaked, a.unmarked, a.crosslinked);
        }
}

void fx_remount(struct fx *f) {
        fx_unmount_check(f);
        fx_mount(f, false);
}

uint64_t fx_walk(struct fx *f, const char *path) {
        uint64_t ino = EXFAT_ROOT_INO;
        char buf[4096];
        char *save = NULL;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                struct exfat_stat st;
                int r = exfat_lookup(f->vol, ino, c, &st);
                if (r != 0)
                        fail_msg("lookup of \"%s\" in \"%s\": %s", c, path, strerror(-r));
                ino = st.ino;
        }
        return ino;
}

void fx_write(struct fx *f, uint64_t ino, const void *data, size_t len, uint64_t off) {
        ssize_t n = exfat_write(f->vol, ino, data, len, off);
        if (n != (ssize_t) len)
                fail_msg("exfat_write(%zu bytes at %llu) = %zd", len, (unsigned long long) off, n);
}

uint64_t fx_create(struct fx *f, uint64_t parent, const char *name, const void *data, size_t len) {
        struct exfat_stat st;
        int r = exfat_create(f->vol, parent, name, EXFAT_ATTR_ARCHIVE, &st);

        if (r != 0)
                fail_msg("exfat_create(\"%s\"): %s", name, strerror(-r));
        assert_false(EXFAT_IS_DIR(&st));
        assert_int_equal(st.size, 0);
        assert_int_equal(exfat_open(f->vol, st.ino), 0);
        if (len)
                fx_write(f, st.ino, data, len, 0);
        exfat_release(f->vol, st.ino);
        return st.ino;
}

uint64_t fx_mkdir(struct fx *f, uint64_t parent, const char *name) {
        struct exfat_stat st;
        int r = exfat_mkdir(f->vol, parent, name, &st);

        if (r != 0)
                fail_msg("exfat_mkdir(\"%s\"): %s", name, strerror(-r));
        assert_true(EXFAT_IS_DIR(&st));
        return st.ino;
}

void fx_expect_content(struct fx *f, const char *path, const void *data, size_t len) {
        uint64_t ino = fx_walk(f, path);
        struct exfat_stat st;
        uint8_t *buf = malloc(len + 4096);
        ssize_t n;

        assert_non_null(buf);
        assert_int_equal(exfat_getattr(f->vol, ino, &st), 0);
        if (st.size != len)
                fail_msg("%s: size %llu, expected %zu", path, (unsigned long long) st.size, len);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        n = exfat_read(f->vol, ino, buf, len + 4096, 0);
        exfat_release(f->vol, ino);
        if (n != (ssize_t) len)
                fail_msg("%s: read returned %zd, expected %zu", path, n, len);
        for (size_t i = 0; i < len; i++)
                if (buf[i] != ((const uint8_t *) data)[i])
                        fail_msg("%s: content differs at byte %zu (0x%02x, expected 0x%02x)", path, i,
                                 buf[i], ((const uint8_t *) data)[i]);
        free(buf);
}

void fx_expect_oracle_content(struct fx *f, const char *path, const void *data, size_t len) {
        struct img_entry e;
        uint8_t *buf = malloc(len + 1);
        int r;

        assert_non_null(buf);
        r = img_find(f->fd, &f->g, path, &e);
        if (r != 0)
                fail_msg("oracle: %s not found on disk: %s", path, strerror(-r));
        if (e.size != len)
                fail_msg("oracle: %s: DataLength %llu, expected %zu", path, (unsigned long long) e.size, len);
        if (e.valid_size > e.size)
                fail_msg("oracle: %s: ValidDataLength > DataLength", path);
        r = img_read_file(f->fd, &f->g, &e, buf);
        if (r != 0)
                fail_msg("oracle: %s: cannot read its clusters: %s", path, strerror(-r));
        /* Every stored byte up to DataLength, past ValidDataLength too: the library keeps zeros
         * there on the device (a reader that ignores ValidDataLength, as Debian 12's exfat-fuse
         * does, must not find stale data from deleted files). */
        for (size_t i = 0; i < len; i++)
                if (buf[i] != ((const uint8_t *) data)[i])
                        fail_msg("oracle: %s: stored byte %zu is 0x%02x, expected 0x%02x (ValidDataLength %llu)",
                                 path, i, buf[i], ((const uint8_t *) data)[i], (unsigned long long) e.valid_size);
        free(buf);
}

void fx_oracle_preallocate(struct fx *f, const char *path, uint64_t size, uint64_t valid) {
        struct img_bitmap bm;
        struct img_entry e;
        uint64_t have, want, v;
        int r;

        assert_null(f->vol);
        r = img_find(f->fd, &f->g, path, &e);
        if (r != 0)
                fail_msg("oracle: %s not found on disk: %s", path, strerror(-r));
        assert_true(e.stream_flags & 0x02); /* NoFatChain: the new clusters simply follow */
        assert_true(valid <= e.size && size >= e.size);
        have = (e.size + f->g.cluster_size - 1) / f->g.cluster_size;
        want = (size + f->g.cluster_size - 1) / f->g.cluster_size;
        assert_int_equal(img_bitmap_read(f->fd, &f->g, &bm), 0);
        for (uint64_t c = e.first_cluster + have; c < e.first_cluster + want; c++) {
                bool used;
                assert_true(c < 2 + (uint64_t) f->g.cluster_count);
                assert_int_equal(img_bitmap_test(&bm, (uint32_t) c, &used), 0);
                assert_false(used);
                assert_int_equal(img_bitmap_mark(&bm, (uint32_t) c, true), 0);
        }
        assert_int_equal(img_bitmap_write(f->fd, &bm), 0);
        img_bitmap_free(&bm);
        v = htole64(valid);
        memcpy(e.set + 32 + 8, &v, 8);  /* stream extension: ValidDataLength */
        v = htole64(size);
        memcpy(e.set + 32 + 24, &v, 8); /* DataLength */
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        r = img_fsck(f->path);
        if (r != 0) {
                img_fsck_show(f->path);
                fail_msg("fsck.exfat -n exited %d after preallocating %s", r, path);
        }
}

uint64_t fx_free_clusters(struct fx *f) {
        struct exfat_statfs st;
        assert_int_equal(exfat_statfs(f->vol, &st), 0);
        return st.free_clusters;
}

static int collect(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        struct dirlist *dl = ctx;
        if (dl->n == dl->cap) {
                dl->cap = dl->cap ? dl->cap * 2 : 64;
                dl->names = realloc(dl->names, dl->cap * sizeof(char *));
                dl->cookies = realloc(dl->cookies, dl->cap * sizeof(uint64_t));
                if (!dl->names || !dl->cookies)
                        abort();
        }
        dl->names[dl->n] = strdup(name);
        dl->cookies[dl->n] = next_cookie;
        dl->n++;
        return 0;
}

int fx_readdir_all(struct fx *f, uint64_t ino, struct dirlist *dl) {
        memset(dl, 0, sizeof(*dl));
        return exfat_readdir(f->vol, ino, 0, 0, collect, dl);
}

bool dirlist_has(const struct dirlist *dl, const char *name) {
        for (size_t i = 0; i < dl->n; i++)
                if (strcmp(dl->names[i], name) == 0)
                        return true;
        return false;
}

void dirlist_free(struct dirlist *dl) {
        for (size_t i = 0; i < dl->n; i++)
                free(dl->names[i]);
        free(dl->names);
        free(dl->cookies);
        memset(dl, 0, sizeof(*dl));
}

void fill_pattern(void *buf, size_t len, uint32_t seed) {
        uint32_t x = seed * 2654435761u + 1;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                ((uint8_t *) buf)[i] = (uint8_t) x;
        }
}

double now_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}
