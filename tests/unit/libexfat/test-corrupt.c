/* SPDX-License-Identifier: MIT */
/* Hand-damaged images: every case must give -EIO (or -EINVAL for "not exFAT"), never a crash or
 * a hang. An alarm turns a hang into a failure. */
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static const struct fx_params unmounted = { .no_mount = true, .damaged = true };

static void put32le(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64le(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static int mount_result(struct fx *f) {
        int r = exfat_mount(f->dev, &f->opts, &f->vol);
        if (r < 0)
                f->vol = NULL;
        return r;
}

static void expect_mount_eio(struct fx *f, const char *what) {
        struct exfat_info info;
        int r = mount_result(f);
        if (r == 0) {
                exfat_unmount(f->vol);
                f->vol = NULL;
        }
        if (r != -EIO)
                fail_msg("%s: exfat_mount returned %d, expected -EIO", what, r);
        r = exfat_probe(f->dev, &f->opts, &info);
        if (r != -EIO)
                fail_msg("%s: exfat_probe returned %d, expected -EIO", what, r);
}

/* Unmount of a damaged volume: any result but a crash. */
static void unmount_quietly(struct fx *f) {
        if (f->vol)
                (void) exfat_unmount(f->vol);
        f->vol = NULL;
}

static void test_bad_upcase_checksum(void **state) {
        struct fx *f = *state;
        uint8_t e[32], b;
        uint64_t off;
        uint32_t first;

        assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        memcpy(&first, e + 20, 4);
        first = le32toh(first);
        /* one changed mapping inside the table: only the table checksum can tell */
        assert_int_equal(img_pread(f->fd, &b, 1, img_cluster_offset(&f->g, first) + 200), 0);
        b ^= 0x01;
        assert_int_equal(img_pwrite(f->fd, &b, 1, img_cluster_offset(&f->g, first) + 200), 0);
        expect_mount_eio(f, "up-case table byte changed");
        b ^= 0x01;
        assert_int_equal(img_pwrite(f->fd, &b, 1, img_cluster_offset(&f->g, first) + 200), 0);
        e[4] ^= 0x10; /* TableChecksum */
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "TableChecksum changed");
}

static void test_bogus_upcase_size(void **state) {
        struct fx *f = *state;
        uint8_t e[32], orig[32];
        uint64_t off;

        assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
        assert_int_equal(img_pread(f->fd, orig, 32, off), 0);
        memcpy(e, orig, 32);
        put64le(e + 24, 0);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "up-case DataLength 0");
        put64le(e + 24, 1ull << 40);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "up-case DataLength 1 TiB");
        memcpy(e, orig, 32);
        put32le(e + 20, f->g.cluster_count + 2);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "up-case FirstCluster out of range");
}

static void test_bogus_bitmap(void **state) {
        struct fx *f = *state;
        uint8_t e[32], orig[32];
        uint64_t off;

        assert_int_equal(img_root_entry(f->fd, &f->g, 0x81, &off), 0);
        assert_int_equal(img_pread(f->fd, orig, 32, off), 0);
        memcpy(e, orig, 32);
        put64le(e + 24, (f->g.cluster_count + 7) / 8 - 10); /* too small for ClusterCount */
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "bitmap too small");
        put64le(e + 24, 1ull << 40);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "bitmap DataLength 1 TiB");
        memcpy(e, orig, 32);
        put32le(e + 20, 0xFFFFFFF0u);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "bitmap FirstCluster out of range");
        memcpy(e, orig, 32);
        e[0] = 0x01; /* deleted: the volume has no bitmap */
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        expect_mount_eio(f, "no bitmap entry");
}

/* Creates files with the library and returns with the volume unmounted and checked. */
static void make_files(struct fx *f, int n_in_dir) {
        uint8_t data[5 * 4096];
        char name[64];
        uint64_t d;

        fill_pattern(data, sizeof(data), 1);
        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "victim", data, sizeof(data));
        fx_create(f, EXFAT_ROOT_INO, "bystander", "b", 1);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "d");
        for (int i = 0; i < n_in_dir; i++) {
                snprintf(name, sizeof(name), "entry-%03d", i);
                fx_create(f, d, name, NULL, 0);
        }
        fx_unmount_check(f);
}

static void test_bad_entry_set_checksum(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        struct img_entry e;
        int r;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        e.set[2] ^= 0x5A;
        assert_int_equal(img_entry_write(f->fd, &e, false), 0);
        assert_int_not_equal(img_fsck(f->path), 0); /* the oracle sees it too */
        r = mount_result(f);
        if (r == -EIO)
                return; /* refusing the whole volume is acceptable */
        assert_int_equal(r, 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "victim", &st);
        if (r != -EIO)
                fail_msg("lookup of an entry set with a bad checksum returned %d, expected -EIO", r);
        r = fx_readdir_all(f, EXFAT_ROOT_INO, &dl);
        dirlist_free(&dl);
        if (r != -EIO)
                fail_msg("readdir over an entry set with a bad checksum returned %d, expected -EIO", r);
        unmount_quietly(f);
}

/* NameHash of an upper-case name (no case folding needed), as the spec defines it. */
static uint16_t upper_name_hash(const uint16_t *u, size_t n) {
        uint16_t h = 0;
        for (size_t i = 0; i < n; i++) {
                h = (uint16_t) (((h & 1) ? 0x8000 : 0) + (h >> 1) + (u[i] & 0xFF));
                h = (uint16_t) (((h & 1) ? 0x8000 : 0) + (h >> 1) + (u[i] >> 8));
        }
        return h;
}

/* Rewrites the stored name of path (same length, upper case) to units, fixing NameHash and
 * SetChecksum: a name another system wrote, valid as far as the sums go. */
static void store_name(struct fx *f, const char *path, const uint16_t *units, size_t n) {
        struct img_entry e;
        uint16_t v;

        assert_int_equal(img_find(f->fd, &f->g, path, &e), 0);
        assert_int_equal(e.name_units, n);
        for (size_t i = 0; i < n; i++) {
                v = htole16(units[i]);
                memcpy(e.set + 64 + 32 * (i / 15) + 2 + 2 * (i % 15), &v, 2);
        }
        v = htole16(upper_name_hash(units, n));
        memcpy(e.set + 32 + 4, &v, 2);
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
}

/* Names that exFAT forbids for new files but other systems store (':', '?', a control character)
 * are listed, found, read, renamed and removed: what readdir shows, lookup reaches. Creating one
 * stays refused. A name that no path can name (U+0000 inside NameLength, '/', "..") is damage:
 * its directory gives -EIO rather than listing "A" for "A\0B" (another file's name, maybe). */
static void test_stored_names_outside_the_rules(void **state) {
        struct fx *f = *state;
        static const uint16_t colon[] = { 'A', ':', 'B' }, quest[] = { 'Q', '?', 0x01 }, nul[] = { 'N', 0, 'L' },
                              slash[] = { 'S', '/', 'L' }, dotdot[] = { '.', '.' };
        static const struct { const uint16_t *u; size_t n; const char *name; } damaged[] = {
                { nul, 3, "N_L" }, { slash, 3, "S_L" }, { dotdot, 2, "DD" },
        };
        struct exfat_stat st;
        struct dirlist dl;
        uint64_t d, ino;
        uint8_t buf[8];
        int r;

        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "A_B", "colon", 5);
        fx_create(f, EXFAT_ROOT_INO, "Q_R", "quest", 5);
        for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
                d = fx_mkdir(f, EXFAT_ROOT_INO, damaged[i].name);
                fx_create(f, d, damaged[i].name, "x", 1);
                fx_create(f, d, "N", "other", 5);
        }
        fx_unmount_check(f);
        store_name(f, "A_B", colon, 3);
        store_name(f, "Q_R", quest, 3);
        store_name(f, "N_L/N_L", nul, 3);
        store_name(f, "S_L/S_L", slash, 3);
        store_name(f, "DD/DD", dotdot, 2);
        fx_mount(f, false);

        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_true(dirlist_has(&dl, "A:B"));
        assert_true(dirlist_has(&dl, "Q?\x01"));
        dirlist_free(&dl);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "A:B", &st), 0);
        ino = st.ino;
        assert_int_equal(exfat_open(f->vol, ino), 0);
        assert_int_equal(exfat_read(f->vol, ino, buf, sizeof(buf), 0), 5);
        assert_memory_equal(buf, "colon", 5);
        exfat_release(f->vol, ino);
        exfat_forget(f->vol, ino, 1);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "A:B", EXFAT_ROOT_INO, "A-B", 0), 0);
        assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, "Q?\x01", &st), 0);
        exfat_forget(f->vol, st.ino, 1);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "Q?\x01"), 0);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "NEW:ONE", 0, &st), -EINVAL);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "A-B", EXFAT_ROOT_INO, "A?B", 0), -EINVAL);

        for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
                assert_int_equal(exfat_lookup(f->vol, EXFAT_ROOT_INO, damaged[i].name, &st), 0);
                d = st.ino;
                r = fx_readdir_all(f, d, &dl);
                dirlist_free(&dl);
                if (r != -EIO)
                        fail_msg("%s: readdir over a stored name no path can name returned %d, expected -EIO",
                                 damaged[i].name, r);
                r = exfat_lookup(f->vol, d, "N", &st);
                if (r != -EIO)
                        fail_msg("%s: lookup beside it returned %d, expected -EIO", damaged[i].name, r);
                exfat_forget(f->vol, d, 1);
        }
        unmount_quietly(f);
}

static void test_bad_secondary_count(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct img_entry e;
        int r;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        e.set[1] = 1; /* a file set needs at least a stream and a name entry */
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        r = mount_result(f);
        if (r == -EIO)
                return;
        assert_int_equal(r, 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "victim", &st);
        if (r != -EIO)
                fail_msg("SecondaryCount 1: lookup returned %d, expected -EIO", r);
        unmount_quietly(f);
}

static void test_vdl_beyond_size(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct img_entry e;
        uint8_t buf[64];
        int r;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        put64le(e.set + 32 + 8, e.size + 100000); /* ValidDataLength > DataLength */
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        assert_int_equal(mount_result(f), 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "victim", &st);
        if (r == 0) {
                r = exfat_open(f->vol, st.ino);
                if (r == 0) {
                        r = (int) exfat_read(f->vol, st.ino, buf, sizeof(buf), e.size + 10);
                        exfat_release(f->vol, st.ino);
                        if (r > 0)
                                fail_msg("read past DataLength returned data");
                        if (r == 0)
                                r = (int) exfat_read(f->vol, st.ino, buf, sizeof(buf), 0);
                }
        }
        if (r != -EIO)
                fail_msg("ValidDataLength > DataLength went unnoticed (%d)", r);
        unmount_quietly(f);
}

/* Rewrites a stream as an explicit FAT chain (clears NoFatChain when set), then sets the link
 * after cluster index `at` to `link`; link_to_first makes that link point back to the first
 * cluster (a cycle within DataLength). */
static void rechain(struct fx *f, struct img_entry *e, size_t at, uint32_t link, bool link_to_first) {
        size_t n;
        uint32_t cl[64];

        assert_int_equal(img_clusters(f->fd, &f->g, e->first_cluster, e->size, e->stream_flags & 2, cl, 64, &n), 0);
        assert_true(n >= 4 && at < n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(img_fat_set(f->fd, &f->g, cl[i], i + 1 < n ? cl[i + 1] : 0xFFFFFFFFu), 0);
        assert_int_equal(img_fat_set(f->fd, &f->g, cl[at], link_to_first ? cl[0] : link), 0);
        e->set[33] &= (uint8_t) ~0x02;
        e->stream_flags = e->set[33];
        assert_int_equal(img_entry_write(f->fd, e, true), 0);
}

/* Reads the whole victim (expecting -EIO), then unlinks it: freeing a damaged chain must
 * terminate. A lookup refusing the file is fine too. */
static void expect_victim_eio(struct fx *f, const char *what) {
        struct exfat_stat st;
        uint8_t buf[5 * 4096];
        ssize_t n;
        int r;

        alarm(60);
        assert_int_equal(mount_result(f), 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "victim", &st);
        if (r == 0) {
                assert_int_equal(exfat_open(f->vol, st.ino), 0);
                n = exfat_read(f->vol, st.ino, buf, sizeof(buf), 0);
                exfat_release(f->vol, st.ino);
                if (n != -EIO)
                        fail_msg("%s: read returned %zd, expected -EIO", what, n);
                r = exfat_unlink(f->vol, EXFAT_ROOT_INO, "victim");
                if (r != 0 && r != -EIO)
                        fail_msg("%s: unlink returned %d", what, r);
                exfat_forget(f->vol, st.ino, 1);
        } else if (r != -EIO) {
                fail_msg("%s: lookup returned %d, expected -EIO", what, r);
        }
        unmount_quietly(f);
        alarm(0);
}

static void test_cyclic_file_chain(void **state) {
        struct fx *f = *state;
        struct img_entry e;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        rechain(f, &e, 2, 0, true); /* a -> b -> c -> a, DataLength 5 clusters */
        expect_victim_eio(f, "cyclic file chain");
}

static void test_cluster_out_of_range(void **state) {
        struct fx *f = *state;
        struct img_entry e;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        {
                struct img_entry bad = e;
                put32le(bad.set + 32 + 20, f->g.cluster_count + 100); /* FirstCluster past the heap */
                assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
                expect_victim_eio(f, "FirstCluster past the heap");
                assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        }
        {
                struct img_entry bad = e;
                put32le(bad.set + 32 + 20, 1); /* clusters 0 and 1 do not exist */
                assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
                expect_victim_eio(f, "FirstCluster 1");
                assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        }
        {
                struct img_entry bad = e;
                /* contiguous run that would extend past the last cluster */
                put32le(bad.set + 32 + 20, f->g.cluster_count + 2 - 2);
                bad.set[33] |= 0x02;
                assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
                expect_victim_eio(f, "NoFatChain run past the heap");
                assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        }
        rechain(f, &e, 1, 0x0FFFFFF0u, false); /* a link in the middle out of range */
        expect_victim_eio(f, "FAT link out of range");
}

static void test_chain_too_short(void **state) {
        struct fx *f = *state;
        struct img_entry e;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);
        rechain(f, &e, 1, 0xFFFFFFFFu, false); /* end of chain after 2 of 5 clusters */
        expect_victim_eio(f, "chain shorter than DataLength");
}

static void test_cyclic_directory_chain(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct dirlist dl;
        struct img_entry e;
        int r;

        make_files(f, 200); /* 200 sets of 3 entries: 5 clusters of 4 KiB */
        assert_int_equal(img_find(f->fd, &f->g, "d", &e), 0);
        rechain(f, &e, 2, 0, true);
        alarm(60);
        assert_int_equal(mount_result(f), 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "d", &st);
        if (r == 0) {
                uint64_t d = st.ino;
                r = fx_readdir_all(f, d, &dl);
                dirlist_free(&dl);
                if (r != -EIO)
                        fail_msg("readdir of a directory with a cyclic chain returned %d, expected -EIO", r);
                r = exfat_lookup(f->vol, d, "not-there", &st);
                if (r != -EIO)
                        fail_msg("lookup in a directory with a cyclic chain returned %d, expected -EIO", r);
                r = exfat_create(f->vol, d, "new", 0, &st);
                if (r != -EIO)
                        fail_msg("create in a directory with a cyclic chain returned %d, expected -EIO", r);
                r = exfat_rmdir(f->vol, EXFAT_ROOT_INO, "d");
                assert_true(r == -EIO || r == -ENOTEMPTY);
        } else if (r != -EIO) {
                fail_msg("lookup of a directory with a cyclic chain returned %d", r);
        }
        unmount_quietly(f);
        alarm(0);
}

/* The root directory has no length: a cycle in its chain never reaches end-of-chain. */
static void test_cyclic_root_chain(void **state) {
        struct fx *f = *state;
        struct dirlist dl;
        struct exfat_stat st;
        int r;

        assert_int_equal(img_fat_set(f->fd, &f->g, f->g.root_cluster, f->g.root_cluster), 0);
        alarm(60);
        r = mount_result(f);
        if (r == 0) {
                r = fx_readdir_all(f, EXFAT_ROOT_INO, &dl);
                dirlist_free(&dl);
                if (r != -EIO)
                        fail_msg("readdir of a root with a cyclic chain returned %d, expected -EIO", r);
                r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "nothing", &st);
                if (r != -EIO)
                        fail_msg("lookup in a root with a cyclic chain returned %d, expected -EIO", r);
                unmount_quietly(f);
        } else if (r != -EIO) {
                fail_msg("mount with a cyclic root chain returned %d, expected -EIO", r);
        }
        alarm(0);
}

/* Random byte damage to directory clusters, the FAT and the up-case table, with a fixed seed:
 * every call must return (any error is fine), none may crash or hang. Read-only mounts mostly;
 * every fourth round is read-write and also creates and unlinks. */
static uint32_t rnd(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static void walk(struct fx *f, uint64_t ino, int depth, bool rw) {
        struct dirlist dl;
        uint8_t buf[8192];

        if (depth > 3 || fx_readdir_all(f, ino, &dl) < 0)
                return;
        for (size_t i = 0; i < dl.n && i < 50; i++) {
                struct exfat_stat st;
                if (exfat_lookup(f->vol, ino, dl.names[i], &st) < 0)
                        continue;
                if (EXFAT_IS_DIR(&st))
                        walk(f, st.ino, depth + 1, rw);
                else if (exfat_open(f->vol, st.ino) == 0) {
                        (void) exfat_read(f->vol, st.ino, buf, sizeof(buf), 0);
                        (void) exfat_read(f->vol, st.ino, buf, sizeof(buf), 4000);
                        if (rw)
                                (void) exfat_write(f->vol, st.ino, "fuzz", 4, 5000);
                        exfat_release(f->vol, st.ino);
                }
                if (rw && !EXFAT_IS_DIR(&st) && i % 2 == 0) {
                        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 3 * 4096 + 5 };
                        struct exfat_stat st2;
                        (void) exfat_setattr(f->vol, st.ino, &sa, &st2);
                        (void) exfat_rename(f->vol, ino, dl.names[i], EXFAT_ROOT_INO, "fuzz-renamed", 0);
                }
                if (rw && i % 3 == 0)
                        (void) exfat_unlink(f->vol, ino, dl.names[i]);
                exfat_forget(f->vol, st.ino, 1);
        }
        if (rw) {
                struct exfat_stat st;
                (void) exfat_create(f->vol, ino, "fuzz-new", 0, &st);
                (void) exfat_mkdir(f->vol, ino, "fuzz-dir", &st);
        }
        dirlist_free(&dl);
}

/* Bytes of a directory cluster up to its end-of-directory entry, plus one entry: damage past
 * that is invisible. */
static size_t used_length(struct fx *f, uint64_t cluster_off) {
        uint8_t *c = malloc(f->g.cluster_size);
        size_t p = 0;

        assert_non_null(c);
        assert_int_equal(img_pread(f->fd, c, f->g.cluster_size, cluster_off), 0);
        while (p < f->g.cluster_size && c[p] != 0)
                p += 32;
        free(c);
        return p + 32 < f->g.cluster_size ? p + 32 : f->g.cluster_size;
}

static void test_random_damage(void **state) {
        struct fx *f = *state;
        const char *env = getenv("EXFAT_FUZZ_SEED");
        uint32_t seed = env ? (uint32_t) strtoul(env, NULL, 0) : 0x1234567u;
        const int rounds = env && getenv("EXFAT_FUZZ_ROUNDS") ? atoi(getenv("EXFAT_FUZZ_ROUNDS")) : 120;
        uint64_t meta_end;
        uint8_t *pristine;
        struct img_entry e;
        uint64_t targets[4];
        size_t target_len[4];

        make_files(f, 60);
        /* everything the damage or a read-write round can touch lies before this offset */
        meta_end = img_cluster_offset(&f->g, 2) + 256ull * f->g.cluster_size;
        pristine = malloc(meta_end);
        assert_non_null(pristine);
        assert_int_equal(img_pread(f->fd, pristine, meta_end, 0), 0);
        assert_int_equal(img_find(f->fd, &f->g, "d", &e), 0);
        targets[0] = img_cluster_offset(&f->g, f->g.root_cluster);
        target_len[0] = used_length(f, targets[0]);
        targets[1] = img_cluster_offset(&f->g, e.first_cluster);
        target_len[1] = used_length(f, targets[1]);
        targets[2] = (uint64_t) f->g.fat_offset * f->g.sector_size;
        target_len[2] = 4 * 128;
        {
                uint64_t off;
                uint8_t up[32];
                uint32_t c;
                assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
                assert_int_equal(img_pread(f->fd, up, 32, off), 0);
                memcpy(&c, up + 20, 4);
                targets[3] = img_cluster_offset(&f->g, le32toh(c));
                target_len[3] = 512;
        }
        fprintf(stderr, "# random damage: seed 0x%x, %d rounds\n", seed, rounds);
        for (int round = 0; round < rounds; round++) {
                bool rw = round % 4 == 3;
                int flips = 1 + (int) (rnd(&seed) % 8);
                for (int k = 0; k < flips; k++) {
                        int t = (int) (rnd(&seed) % 10);
                        t = t < 5 ? 0 : t < 8 ? 1 : t < 9 ? 2 : 3; /* mostly directories */
                        uint64_t off = targets[t] + rnd(&seed) % target_len[t];
                        uint8_t b = (uint8_t) rnd(&seed);
                        assert_int_equal(img_pwrite(f->fd, &b, 1, off), 0);
                }
                alarm(60);
                f->opts.read_only = !rw;
                if (mount_result(f) == 0) {
                        walk(f, EXFAT_ROOT_INO, 0, rw);
                        unmount_quietly(f);
                }
                alarm(0);
                assert_int_equal(img_pwrite(f->fd, pristine, meta_end, 0), 0);
        }
        free(pristine);
}

/* Malformed entry sets; each must give -EIO at lookup or readdir (or refuse the mount), and
 * nothing may read past the set. */
static void expect_set_rejected(struct fx *f, const char *what) {
        struct exfat_stat st;
        struct dirlist dl;
        int r, r2;

        alarm(60);
        r = mount_result(f);
        if (r == -EIO)
                return;
        assert_int_equal(r, 0);
        r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "victim", &st);
        r2 = fx_readdir_all(f, EXFAT_ROOT_INO, &dl);
        if (r2 == 0 && dirlist_has(&dl, "victim"))
                r2 = 1;
        dirlist_free(&dl);
        if (r == 0)
                exfat_forget(f->vol, st.ino, 1);
        if (r != -EIO && r != -ENOENT)
                fail_msg("%s: lookup returned %d, expected -EIO", what, r);
        if (r2 != -EIO)
                fail_msg("%s: readdir returned %d%s, expected -EIO", what, r2 == 1 ? " and listed it" : "");
        unmount_quietly(f);
        alarm(0);
}

static void test_malformed_sets(void **state) {
        struct fx *f = *state;
        struct img_entry e, bad;

        make_files(f, 0);
        assert_int_equal(img_find(f->fd, &f->g, "victim", &e), 0);

        bad = e;
        bad.set[32 + 3] = 200; /* NameLength 200 with one name entry */
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_set_rejected(f, "NameLength beyond the name entries");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        bad = e;
        bad.set[32 + 3] = 0; /* empty name */
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_set_rejected(f, "NameLength 0");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        bad = e;
        bad.set[32] = 0xC1; /* no stream entry */
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_set_rejected(f, "second entry not a stream");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        bad = e;
        bad.set[64] = 0x41; /* name entry not in use inside the set */
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_set_rejected(f, "deleted name entry inside a set");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        bad = e;
        bad.set[1] = 18; /* claims 18 secondaries: runs into the next sets and the end */
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_set_rejected(f, "SecondaryCount 18");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);

        bad = e;
        bad.set[33] |= 0x02;
        put64le(bad.set + 32 + 24, 1ull << 62); /* NoFatChain run of 2^62 bytes */
        put64le(bad.set + 32 + 8, 1ull << 62);
        assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
        expect_victim_eio(f, "DataLength 2^62");
        assert_int_equal(img_entry_write(f->fd, &e, true), 0);
        fx_mount(f, false); /* restored: all is well again */
        fx_unmount_check(f);
}

static void test_directory_bad_length(void **state) {
        struct fx *f = *state;
        struct img_entry e, bad;
        struct exfat_stat st;
        struct dirlist dl;
        int r;

        make_files(f, 3);
        assert_int_equal(img_find(f->fd, &f->g, "d", &e), 0);
        int failures = 0;
        for (int variant = 0; variant < 2; variant++) {
                bad = e;
                put64le(bad.set + 32 + 24, variant == 0 ? 0 : 1000); /* 0, or not a cluster multiple */
                put64le(bad.set + 32 + 8, variant == 0 ? 0 : 1000);
                assert_int_equal(img_entry_write(f->fd, &bad, true), 0);
                alarm(60);
                assert_int_equal(mount_result(f), 0);
                r = exfat_lookup(f->vol, EXFAT_ROOT_INO, "d", &st);
                if (r == 0) {
                        r = fx_readdir_all(f, st.ino, &dl);
                        dirlist_free(&dl);
                }
                if (r != -EIO) {
                        fprintf(stderr, "directory DataLength %s: got %d, expected -EIO\n", variant ? "1000" : "0", r);
                        failures++;
                }
                unmount_quietly(f);
                alarm(0);
        }
        assert_int_equal(failures, 0);
}

static void test_label_count_too_big(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        uint8_t e[32];
        uint64_t off;
        int r;

        assert_int_equal(img_root_entry(f->fd, &f->g, 0x83, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        e[1] = 15; /* CharacterCount above 11 */
        memset(e + 2, 'A', 30);
        assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
        r = exfat_probe(f->dev, &f->opts, &info);
        if (r == 0 && strlen(info.label) > 11)
                fail_msg("a label of %zu characters came through", strlen(info.label));
        assert_true(r == 0 || r == -EIO);
}

static uint32_t table_checksum(const uint8_t *p, size_t len) {
        uint32_t sum = 0;
        for (size_t i = 0; i < len; i++)
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + p[i];
        return sum;
}

/* Up-case tables with a correct checksum but nonsense content: run lengths past 0xFFFF, an odd
 * size, a table of one entry. Mount may accept or refuse (-EIO); nothing may overflow. */
static void test_hostile_upcase_tables(void **state) {
        struct fx *f = *state;
        static const uint8_t runs[] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0x00 };
        static const uint8_t dangling[] = { 0x41, 0x00, 0xFF, 0xFF }; /* a run marker with no length */
        static const uint8_t odd[] = { 0x41, 0x00, 0x42 };
        const struct { const uint8_t *data; size_t len; const char *what; } cases[] = {
                { runs, sizeof(runs), "runs past 0xFFFF" },
                { dangling, sizeof(dangling), "dangling run marker" },
                { odd, sizeof(odd), "odd size" },
        };
        uint8_t e[32], orig[32];
        uint64_t off;
        uint32_t first;

        assert_int_equal(img_root_entry(f->fd, &f->g, 0x82, &off), 0);
        assert_int_equal(img_pread(f->fd, orig, 32, off), 0);
        memcpy(&first, orig + 20, 4);
        first = le32toh(first);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                memcpy(e, orig, 32);
                assert_int_equal(img_pwrite(f->fd, cases[i].data, cases[i].len, img_cluster_offset(&f->g, first)), 0);
                put32le(e + 4, table_checksum(cases[i].data, cases[i].len));
                put64le(e + 24, cases[i].len);
                assert_int_equal(img_pwrite(f->fd, e, 32, off), 0);
                alarm(60);
                int r = mount_result(f);
                if (r == 0) {
                        struct exfat_stat st;
                        (void) exfat_lookup(f->vol, EXFAT_ROOT_INO, "abc", &st);
                        unmount_quietly(f);
                } else if (r != -EIO) {
                        fail_msg("up-case table with %s: mount returned %d", cases[i].what, r);
                }
                alarm(0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                FX_TEST("bad_upcase_checksum", test_bad_upcase_checksum, &unmounted),
                FX_TEST("bogus_upcase_size", test_bogus_upcase_size, &unmounted),
                FX_TEST("bogus_bitmap", test_bogus_bitmap, &unmounted),
                FX_TEST("bad_entry_set_checksum", test_bad_entry_set_checksum, &unmounted),
                FX_TEST("bad_secondary_count", test_bad_secondary_count, &unmounted),
                FX_TEST("stored_names_outside_the_rules", test_stored_names_outside_the_rules, &unmounted),
                FX_TEST("vdl_beyond_size", test_vdl_beyond_size, &unmounted),
                FX_TEST("cyclic_file_chain", test_cyclic_file_chain, &unmounted),
                FX_TEST("cluster_out_of_range", test_cluster_out_of_range, &unmounted),
                FX_TEST("chain_too_short", test_chain_too_short, &unmounted),
                FX_TEST("cyclic_directory_chain", test_cyclic_directory_chain, &unmounted),
                FX_TEST("cyclic_root_chain", test_cyclic_root_chain, &unmounted),
                FX_TEST("malformed_sets", test_malformed_sets, &unmounted),
                FX_TEST("directory_bad_length", test_directory_bad_length, &unmounted),
                FX_TEST("label_count_too_big", test_label_count_too_big, &unmounted),
                FX_TEST("hostile_upcase_tables", test_hostile_upcase_tables, &unmounted),
                FX_TEST("random_damage", test_random_damage, &unmounted),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/corrupt", tests, NULL, NULL);
}
