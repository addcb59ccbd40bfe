/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Per-test fixture: a fresh mkfs.exfat image file in its own temp directory, mounted through
 * exfat_device_init_fd (optionally through a wrapdev), plus assertion helpers shared by the tests.
 * No loop devices, no privileges.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exfat.h"
#include "image.h"
#include "wrapdev.h"

struct fx_params {
        uint64_t size;          /* image bytes; 0 = 64 MiB */
        const char *cluster;    /* mkfs.exfat -c; NULL = 4K */
        const char *label;      /* mkfs.exfat -L; NULL = none */
        bool sector_4k;         /* rewrite the image with 4096-byte sectors */
        bool no_mount;          /* leave mounting to the test */
        bool wrap;              /* mount through a wrapdev */
        bool damaged;           /* the test damages the image: no end check at teardown */
        size_t cache_budget;    /* exfat_options.cache_budget; 0 = the library's default */
        bool direct;            /* file data through an O_DIRECT fd (exfat_device_init_fd_direct),
                                 * when the file system under TMPDIR allows O_DIRECT */
};

struct fx {
        struct fx_params p;
        char dir[256];
        char path[300];
        int fd;
        int dfd;                        /* O_DIRECT fd with p.direct, else -1 */
        struct exfat_device fdev;
        struct wrapdev wrap;
        const struct exfat_device *dev; /* what the volume is mounted on */
        struct exfat_options opts;
        struct exfat_volume *vol;
        struct img_geom g;              /* as formatted */
        bool no_final_check;            /* teardown skips unmount + fsck of a left-over mount */
};

/* Setup/teardown for cmocka; a prestate, if any, is a struct fx_params. */
int fx_setup(void **state);
int fx_teardown(void **state);

void fx_mount(struct fx *f, bool read_only);
/* exfat_unmount must succeed; then fsck.exfat -n passes and VolumeDirty is clear. */
void fx_unmount_check(struct fx *f);
void fx_remount(struct fx *f);
/* Re-reads the boot sector into f->g (after unmount). */
void fx_reload_geom(struct fx *f);

/* Node helpers; all assert success. Paths are relative to the root, "a/b". */
uint64_t fx_walk(struct fx *f, const char *path);
uint64_t fx_create(struct fx *f, uint64_t parent, const char *name, const void *data, size_t len);
uint64_t fx_mkdir(struct fx *f, uint64_t parent, const char *name);
void fx_write(struct fx *f, uint64_t ino, const void *data, size_t len, uint64_t off);
void fx_expect_content(struct fx *f, const char *path, const void *data, size_t len);
/* The same check through the oracle parser on the unmounted image, byte for byte as stored up to
 * DataLength: zeros past ValidDataLength must be zeros on the device too. */
void fx_expect_oracle_content(struct fx *f, const char *path, const void *data, size_t len);
/* On the unmounted image, makes path what Windows leaves after SetEndOfFile/SetFileValidData:
 * DataLength = size (clusters following its own, NoFatChain, marked in use but not written) and
 * ValidDataLength = valid (<= its old size), set checksum fixed; fsck.exfat must accept it. */
void fx_oracle_preallocate(struct fx *f, const char *path, uint64_t size, uint64_t valid);
uint64_t fx_free_clusters(struct fx *f);

struct dirlist {
        char **names;
        uint64_t *cookies;
        size_t n, cap;
};
int fx_readdir_all(struct fx *f, uint64_t ino, struct dirlist *dl);
bool dirlist_has(const struct dirlist *dl, const char *name);
void dirlist_free(struct dirlist *dl);

void fill_pattern(void *buf, size_t len, uint32_t seed);
double now_seconds(void);

/* main() of every test program: exit 77 (skipped) when exfatprogs is missing. */
#define FX_REQUIRE_TOOLS()                                                                        \
        do {                                                                                      \
                if (!img_tool_available("mkfs.exfat") || !img_tool_available("fsck.exfat")) {    \
                        fprintf(stderr, "exfatprogs (mkfs.exfat, fsck.exfat) not installed\n");    \
                        return 77;                                                                \
                }                                                                                 \
        } while (0)

/* A test with a named prestate, so that parameterized runs show distinct names. */
#define FX_TEST(label, func, params) \
        { .name = (label), .test_func = (func), .setup_func = fx_setup, .teardown_func = fx_teardown, \
          .initial_state = (void *) (params) }
#define FX_TEST_DEFAULT(func) cmocka_unit_test_setup_teardown(func, fx_setup, fx_teardown)
