/* SPDX-License-Identifier: MIT */
/* Probe and mount of fresh images of several geometries; boot region checks; the dirty flag. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define MiB (1024ull * 1024)

static const struct fx_params geo_512_4k = { .cluster = "4K", .no_mount = true };
static const struct fx_params geo_512_32k = { .cluster = "32K", .no_mount = true };
static const struct fx_params geo_512_1m = { .cluster = "1M", .size = 256 * MiB, .no_mount = true };
static const struct fx_params geo_512_32m = { .cluster = "32M", .size = 1024 * MiB, .no_mount = true };
static const struct fx_params geo_4096_4k = { .cluster = "4K", .sector_4k = true, .no_mount = true };
static const struct fx_params geo_4096_32k = { .cluster = "32K", .sector_4k = true, .no_mount = true };
static const struct fx_params geo_4096_1m = { .cluster = "1M", .size = 256 * MiB, .sector_4k = true, .no_mount = true };
static const struct fx_params labelled = { .label = "HELLO", .no_mount = true };
static const struct fx_params labelled_utf8 = { .label = "Été日本", .no_mount = true };
static const struct fx_params plain = { .no_mount = true };

static void probe_ok(struct fx *f, struct exfat_info *info) {
        int r = exfat_probe(f->dev, &f->opts, info);
        if (r != 0)
                fail_msg("exfat_probe: %s", strerror(-r));
}

/* The value after "key:" in dump.exfat's output. */
static bool dump_field(const char *dump, const char *key, char *val, size_t size) {
        const char *p = strstr(dump, key);
        size_t n = 0;

        if (!p)
                return false;
        p = strchr(p, ':');
        if (!p)
                return false;
        for (p++; *p == ' ' || *p == '\t'; p++)
                ;
        while (p[n] && p[n] != '\n' && n + 1 < size) {
                val[n] = p[n];
                n++;
        }
        val[n] = 0;
        return true;
}

static unsigned long long dump_number(const char *dump, const char *key) {
        char v[64];
        if (!dump_field(dump, key, v, sizeof(v)))
                fail_msg("dump.exfat printed no \"%s\"", key);
        return strtoull(v, NULL, 0);
}

/* exfatprogs' own reading of the image agrees with exfat_probe. */
static void check_against_dump(struct fx *f, const struct exfat_info *info) {
        const char *argv[] = { "dump.exfat", f->path, NULL };
        char *out = malloc(65536), label[64];

        assert_non_null(out);
        if (!img_tool_available("dump.exfat")) {
                free(out);
                return;
        }
        assert_int_equal(img_run_capture(argv, out, 65536), 0);
        assert_int_equal(dump_number(out, "Volume Length(sectors)") << dump_number(out, "Sector Size Bits"),
                         info->volume_size);
        assert_int_equal(dump_number(out, "Cluster Count"), info->cluster_count);
        assert_int_equal(dump_number(out, "Volume Serial"), info->serial);
        assert_int_equal(1u << dump_number(out, "Sector Size Bits"), info->sector_size);
        assert_int_equal(1ull << (dump_number(out, "Sector Size Bits") + dump_number(out, "Sector per Cluster bits")),
                         info->cluster_size);
        assert_int_equal(dump_number(out, "Free Clusters"), info->free_clusters);
        if (dump_field(out, "Volume label:", label, sizeof(label)))
                assert_string_equal(label, info->label);
        free(out);
}

/* Probe info and statfs must agree with what the oracle reads from the boot sector and bitmap;
 * then files spanning clusters survive an unmount, fsck and a remount. */
static void test_geometry(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        struct exfat_statfs st;
        uint32_t free_clusters;
        size_t len = 3 * (size_t) f->g.cluster_size + 100;
        uint8_t *data = malloc(len);
        uint64_t d;

        assert_non_null(data);
        assert_int_equal(img_fsck(f->path), 0); /* the test's own image is valid */
        assert_int_equal(img_count_free(f->fd, &f->g, &free_clusters), 0);
        probe_ok(f, &info);
        assert_int_equal(info.sector_size, f->g.sector_size);
        assert_int_equal(info.cluster_size, f->g.cluster_size);
        assert_int_equal(info.cluster_count, f->g.cluster_count);
        assert_int_equal(info.volume_size, f->g.volume_length * f->g.sector_size);
        assert_int_equal(info.serial, f->g.serial);
        assert_int_equal(info.free_clusters, free_clusters);
        assert_int_equal(info.fs_revision, 0x0100);
        assert_false(info.dirty);
        assert_false(info.media_failure);
        assert_false(info.has_guid);
        assert_string_equal(info.label, "");
        assert_true(info.percent_in_use <= 100 || info.percent_in_use == 0xFF);
        check_against_dump(f, &info);

        fx_mount(f, false);
        assert_int_equal(exfat_statfs(f->vol, &st), 0);
        assert_int_equal(st.cluster_size, f->g.cluster_size);
        assert_int_equal(st.total_clusters, f->g.cluster_count);
        assert_int_equal(st.free_clusters, free_clusters);
        assert_int_equal(st.name_max, 255);

        fill_pattern(data, len, 1);
        fx_create(f, EXFAT_ROOT_INO, "file.bin", data, len);
        d = fx_mkdir(f, EXFAT_ROOT_INO, "dir");
        fx_create(f, d, "inner.txt", "inner", 5);
        assert_int_equal(fx_free_clusters(f), free_clusters - 4 - 1 - 1); /* file, dir, inner */
        fx_unmount_check(f);
        fx_expect_oracle_content(f, "file.bin", data, len);
        fx_expect_oracle_content(f, "dir/inner.txt", "inner", 5);
        fx_mount(f, false);
        fx_expect_content(f, "file.bin", data, len);
        fx_expect_content(f, "dir/inner.txt", "inner", 5);
        fx_unmount_check(f);
        free(data);
}

static void test_label_from_mkfs(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        char buf[EXFAT_LABEL_MAX_UTF8 + 1];

        probe_ok(f, &info);
        assert_string_equal(info.label, f->p.label);
        check_against_dump(f, &info);
        fx_mount(f, true);
        assert_int_equal(exfat_get_label(f->vol, buf, sizeof(buf)), 0);
        assert_string_equal(buf, f->p.label);
        exfat_get_info(f->vol, &info);
        assert_string_equal(info.label, f->p.label);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

static void test_serial_from_tune(void **state) {
        struct fx *f = *state;
        const char *argv[] = { "tune.exfat", "-I", "0xdeadbeef", f->path, NULL };
        struct exfat_info info;

        if (!img_tool_available("tune.exfat"))
                skip();
        assert_int_equal(img_run(argv), 0);
        probe_ok(f, &info);
        assert_int_equal(info.serial, 0xdeadbeef);
        check_against_dump(f, &info);
}

/* mkfs.exfat of exfatprogs 1.2 has no -U: the test writes the 0xA0 entry itself, as Windows
 * would. A benign primary entry must not stop a read-write mount and must survive it. */
static void test_guid_entry(void **state) {
        static const uint8_t guid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                          0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
        struct fx *f = *state;
        struct exfat_info info;
        uint8_t e[32];
        uint64_t off;

        assert_int_equal(img_add_guid(f->fd, guid), 0);
        assert_int_equal(img_fsck(f->path), 0);
        probe_ok(f, &info);
        assert_true(info.has_guid);
        assert_memory_equal(info.guid, guid, 16);
        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "after-guid", "x", 1);
        assert_int_equal(exfat_set_label(f->vol, "WITHGUID"), 0);
        fx_unmount_check(f);
        assert_int_equal(img_root_entry(f->fd, &f->g, 0xA0, &off), 0);
        assert_int_equal(img_pread(f->fd, e, 32, off), 0);
        assert_memory_equal(e + 6, guid, 16);
        fx_expect_oracle_content(f, "after-guid", "x", 1);
}

static void test_dirty_while_mounted(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        uint8_t flags;

        fx_mount(f, false);
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        if (!(flags & 0x02))
                fail_msg("VolumeDirty not set on the device while mounted read-write (0x%02x)", flags);
        exfat_get_info(f->vol, &info);
        assert_false(info.dirty); /* as found at mount */
        fx_unmount_check(f);      /* cleared at unmount */

        fx_mount(f, true);
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        assert_int_equal(flags & 0x02, 0); /* read-only mounts do not mark the volume */
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

static void test_dirty_stays_dirty(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        uint8_t flags;

        assert_int_equal(img_set_volume_flags(f->fd, 0x02), 0);
        probe_ok(f, &info);
        assert_true(info.dirty);
        fx_mount(f, false);
        exfat_get_info(f->vol, &info);
        assert_true(info.dirty);
        fx_create(f, EXFAT_ROOT_INO, "f", "data", 4);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        if (!(flags & 0x02))
                fail_msg("a volume dirty at mount was marked clean at unmount");
        assert_int_equal(img_fsck(f->path), 0);
}

static uint64_t file_hash(int fd) {
        uint8_t buf[65536];
        uint64_t h = 1469598103934665603ull, off = 0;
        ssize_t n;
        while ((n = pread(fd, buf, sizeof(buf), (off_t) off)) > 0) {
                for (ssize_t i = 0; i < n; i++)
                        h = (h ^ buf[i]) * 1099511628211ull;
                off += (uint64_t) n;
        }
        return h;
}

static void test_read_only_mount(void **state) {
        struct fx *f = *state;
        struct exfat_stat st;
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 0 };
        struct dirlist dl;
        uint64_t ino, before;

        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "existing", "12345", 5);
        fx_mkdir(f, EXFAT_ROOT_INO, "d");
        fx_unmount_check(f);
        before = file_hash(f->fd);

        fx_mount(f, true);
        fx_expect_content(f, "existing", "12345", 5);
        ino = fx_walk(f, "existing");
        assert_int_equal(fx_readdir_all(f, EXFAT_ROOT_INO, &dl), 0);
        assert_int_equal(dl.n, 2);
        dirlist_free(&dl);
        assert_int_equal(exfat_create(f->vol, EXFAT_ROOT_INO, "new", 0, &st), -EROFS);
        assert_int_equal(exfat_mkdir(f->vol, EXFAT_ROOT_INO, "newd", &st), -EROFS);
        assert_int_equal(exfat_unlink(f->vol, EXFAT_ROOT_INO, "existing"), -EROFS);
        assert_int_equal(exfat_rmdir(f->vol, EXFAT_ROOT_INO, "d"), -EROFS);
        assert_int_equal(exfat_rename(f->vol, EXFAT_ROOT_INO, "existing", EXFAT_ROOT_INO, "x", 0), -EROFS);
        assert_int_equal(exfat_set_label(f->vol, "RO"), -EROFS);
        assert_int_equal(exfat_open(f->vol, ino), 0);
        assert_int_equal(exfat_write(f->vol, ino, "zz", 2, 0), -EROFS);
        assert_int_equal(exfat_setattr(f->vol, ino, &sa, &st), -EROFS);
        exfat_release(f->vol, ino);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_true(file_hash(f->fd) == before);
}

static void test_not_exfat(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        struct exfat_volume *vol = NULL;
        uint8_t zero[4096] = { 0 };

        /* a FAT32-looking name and no exFAT */
        assert_int_equal(img_pwrite(f->fd, "MSDOS5.0", 8, 3), 0);
        assert_int_equal(img_pwrite(f->fd, zero, sizeof(zero), 12 * 512), 0);
        assert_int_equal(exfat_probe(f->dev, &f->opts, &info), -EINVAL);
        assert_int_equal(exfat_mount(f->dev, &f->opts, &vol), -EINVAL);
        assert_null(vol);
        for (int s = 0; s < 24; s++)
                assert_int_equal(img_pwrite(f->fd, zero, 512, s * 512ull), 0);
        assert_int_equal(exfat_probe(f->dev, &f->opts, &info), -EINVAL);
        assert_int_equal(exfat_mount(f->dev, &f->opts, &vol), -EINVAL);
        assert_null(vol);
}

static void test_tiny_device(void **state) {
        struct fx *f = *state;
        struct exfat_device small = f->fdev;
        struct exfat_info info;
        struct exfat_volume *vol = NULL;
        int r;

        small.size = 300; /* less than one sector */
        r = exfat_probe(&small, &f->opts, &info);
        assert_true(r == -EINVAL || r == -EIO);
        small.size = 24 * 512; /* the boot regions only */
        r = exfat_mount(&small, &f->opts, &vol);
        assert_true(r == -EINVAL || r == -EIO);
        assert_null(vol);
}

/* Main region fails its checksum: the backup is used. The damage is in a field, so a library
 * that ignored the checksum would mount a wrong geometry and fail to find the files. */
static void test_main_boot_bad_backup_used(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        uint32_t bogus = 0x00100000;

        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "survivor", "backup works", 12);
        fx_unmount_check(f);
        assert_int_equal(img_pwrite(f->fd, &bogus, 4, 88), 0); /* ClusterHeapOffset */
        probe_ok(f, &info);
        assert_int_equal(info.cluster_count, f->g.cluster_count);
        fx_mount(f, false);
        fx_expect_content(f, "survivor", "backup works", 12);
        fx_create(f, EXFAT_ROOT_INO, "second", "2", 1);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

static void test_both_boot_regions_bad(void **state) {
        struct fx *f = *state;
        struct exfat_info info;
        struct exfat_volume *vol = NULL;
        uint8_t b = 0x5A;
        int r;

        assert_int_equal(img_pwrite(f->fd, &b, 1, 300), 0);
        assert_int_equal(img_pwrite(f->fd, &b, 1, 12 * 512 + 300), 0);
        r = exfat_probe(f->dev, &f->opts, &info);
        assert_true(r == -EIO || r == -EINVAL);
        r = exfat_mount(f->dev, &f->opts, &vol);
        assert_true(r == -EIO || r == -EINVAL);
        assert_null(vol);
}

/* Geometry that no valid volume has, with correct checksums in both regions. */
static void patch_both(struct fx *f, uint64_t off, const void *val, size_t len) {
        assert_int_equal(img_pwrite(f->fd, val, len, off), 0);
        assert_int_equal(img_pwrite(f->fd, val, len, 12 * 512 + off), 0);
        assert_int_equal(img_boot_fix_checksum(f->fd, false, 512), 0);
        assert_int_equal(img_boot_fix_checksum(f->fd, true, 512), 0);
}

static void expect_refused(struct fx *f, const char *what) {
        struct exfat_volume *vol = NULL;
        struct exfat_info info;
        int r = exfat_probe(f->dev, &f->opts, &info);
        if (r != -EIO && r != -EINVAL)
                fail_msg("%s: exfat_probe returned %d, expected -EIO or -EINVAL", what, r);
        r = exfat_mount(f->dev, &f->opts, &vol);
        if (r != -EIO && r != -EINVAL)
                fail_msg("%s: exfat_mount returned %d, expected -EIO or -EINVAL", what, r);
        assert_null(vol);
}

static void test_bad_geometry(void **state) {
        struct fx *f = *state;
        uint8_t orig[512], v8;
        uint32_t v32;

        assert_int_equal(img_pread(f->fd, orig, sizeof(orig), 0), 0);
        v8 = 17; /* 2^9 * 2^17 = 64 MiB clusters: above the 32 MiB limit */
        patch_both(f, 109, &v8, 1);
        expect_refused(f, "SectorsPerClusterShift 17");
        patch_both(f, 0, orig, sizeof(orig));

        v8 = 8; /* BytesPerSectorShift below 9 */
        patch_both(f, 108, &v8, 1);
        expect_refused(f, "BytesPerSectorShift 8");
        patch_both(f, 0, orig, sizeof(orig));

        v32 = htole32(f->g.cluster_count * 4); /* heap cannot fit in the volume */
        patch_both(f, 92, &v32, 4);
        expect_refused(f, "ClusterCount beyond VolumeLength");
        patch_both(f, 0, orig, sizeof(orig));

        v32 = htole32((uint32_t) f->g.volume_length + 10); /* FAT beyond the volume */
        patch_both(f, 80, &v32, 4);
        expect_refused(f, "FatOffset beyond the volume");
        patch_both(f, 0, orig, sizeof(orig));

        v32 = htole32(f->g.cluster_count + 50); /* root directory cluster out of range */
        patch_both(f, 96, &v32, 4);
        expect_refused(f, "FirstClusterOfRootDirectory out of range");
        patch_both(f, 0, orig, sizeof(orig));

        v32 = htole32(1); /* FatLength: one sector cannot hold ClusterCount entries */
        patch_both(f, 84, &v32, 4);
        expect_refused(f, "FatLength 1");
        patch_both(f, 0, orig, sizeof(orig));

        v8 = 0;
        patch_both(f, 110, &v8, 1);
        expect_refused(f, "NumberOfFats 0");
        patch_both(f, 0, orig, sizeof(orig));

        {
                uint16_t rev = htole16(0x0200); /* a future major revision */
                patch_both(f, 104, &rev, 2);
                expect_refused(f, "FileSystemRevision 2.00");
                patch_both(f, 0, orig, sizeof(orig));
        }
        {
                uint64_t vl = htole64(100); /* VolumeLength below the cluster heap */
                patch_both(f, 72, &vl, 8);
                expect_refused(f, "VolumeLength 100");
                patch_both(f, 0, orig, sizeof(orig));
        }

        v8 = 2; /* NumberOfFats 2 is TexFAT only */
        patch_both(f, 110, &v8, 1);
        {
                struct exfat_volume *vol = NULL;
                int r = exfat_mount(f->dev, &f->opts, &vol);
                if (r == 0) {
                        exfat_unmount(vol);
                        fail_msg("NumberOfFats 2 mounted read-write");
                }
        }
        patch_both(f, 0, orig, sizeof(orig));
        fx_mount(f, false); /* restored: mounts again */
        fx_unmount_check(f);
}

static void test_truncated_device(void **state) {
        struct fx *f = *state;
        struct exfat_volume *vol = NULL;
        int r;

        /* the volume claims 64 MiB, the device is 16 MiB */
        assert_int_equal(ftruncate(f->fd, 16 << 20), 0);
        assert_int_equal(exfat_device_init_fd(&f->fdev, f->fd), 0);
        assert_int_equal(f->fdev.size, 16 << 20);
        r = exfat_mount(&f->fdev, &f->opts, &vol);
        if (r != -EIO && r != -EINVAL) {
                if (r == 0)
                        exfat_unmount(vol);
                fail_msg("mount of a truncated device returned %d, expected -EIO", r);
        }
}

/* An unknown critical primary entry in the root: the library cannot know what it would break
 * by writing, so read-write is refused while read-only works. */
static void test_unknown_critical_entry(void **state) {
        struct fx *f = *state;
        struct exfat_volume *vol = NULL;
        uint8_t e[32] = { 0x84 };

        assert_int_equal(img_add_root_entry(f->fd, e), 0);
        assert_int_equal(exfat_mount(f->dev, &f->opts, &vol), -EROFS);
        assert_null(vol);
        fx_mount(f, true);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

static void test_media_failure(void **state) {
        struct fx *f = *state;
        struct exfat_volume *vol = NULL;
        struct exfat_info info;
        uint8_t flags;

        assert_int_equal(img_set_volume_flags(f->fd, 0x04), 0);
        probe_ok(f, &info);
        assert_true(info.media_failure);
        assert_false(info.dirty);
        assert_int_equal(exfat_mount(f->dev, &f->opts, &vol), -EROFS);
        assert_null(vol);
        fx_mount(f, true);
        exfat_get_info(f->vol, &info);
        assert_true(info.media_failure);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
        assert_int_equal(img_volume_flags(f->fd, &flags), 0);
        assert_int_equal(flags, 0x04);
}

/* A damaged extended boot sector (bad signature) in the main region: the backup is used. */
static void test_main_extended_signature_bad(void **state) {
        struct fx *f = *state;
        uint8_t zero[4] = { 0 };

        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "x", "x", 1);
        fx_unmount_check(f);
        /* sector 3 ends in 00 00 55 AA; break it, keeping the checksum consistent */
        assert_int_equal(img_pwrite(f->fd, zero, 4, 4 * 512 - 4), 0);
        assert_int_equal(img_boot_fix_checksum(f->fd, false, 512), 0);
        fx_mount(f, false);
        fx_expect_content(f, "x", "x", 1);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

/* A GUID entry with a bad set checksum is benign: ignored, the volume mounts. */
static void test_guid_bad_checksum(void **state) {
        static const uint8_t guid[16] = { 9, 9, 9 };
        struct fx *f = *state;
        struct exfat_info info;
        uint64_t off;
        uint8_t b;

        assert_int_equal(img_add_guid(f->fd, guid), 0);
        assert_int_equal(img_root_entry(f->fd, &f->g, 0xA0, &off), 0);
        assert_int_equal(img_pread(f->fd, &b, 1, off + 2), 0);
        b ^= 0xFF;
        assert_int_equal(img_pwrite(f->fd, &b, 1, off + 2), 0);
        probe_ok(f, &info);
        assert_false(info.has_guid);
        fx_mount(f, true);
        assert_int_equal(exfat_unmount(f->vol), 0);
        f->vol = NULL;
}

/* A write-protected medium (the worker then opens it O_RDONLY): probe and read-only mounts work,
 * a read-write mount fails cleanly, nothing is written. */
static void test_read_only_device(void **state) {
        struct fx *f = *state;
        struct exfat_device rodev;
        struct exfat_volume *vol = NULL;
        struct exfat_info info;
        uint64_t before;
        int rofd, r;

        fx_mount(f, false);
        fx_create(f, EXFAT_ROOT_INO, "present", "p", 1);
        fx_unmount_check(f);
        before = file_hash(f->fd);
        rofd = open(f->path, O_RDONLY | O_CLOEXEC);
        assert_true(rofd >= 0);
        assert_int_equal(exfat_device_init_fd(&rodev, rofd), 0);
        assert_int_equal(exfat_probe(&rodev, &f->opts, &info), 0);
        r = exfat_mount(&rodev, &f->opts, &vol);
        if (r == 0) {
                exfat_unmount(vol);
                close(rofd);
                fail_msg("read-write mount of a read-only device succeeded");
        }
        assert_null(vol);
        f->opts.read_only = true;
        assert_int_equal(exfat_mount(&rodev, &f->opts, &vol), 0);
        {
                struct exfat_stat st;
                assert_int_equal(exfat_lookup(vol, EXFAT_ROOT_INO, "present", &st), 0);
        }
        assert_int_equal(exfat_unmount(vol), 0);
        close(rofd);
        assert_true(file_hash(f->fd) == before);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                FX_TEST("geometry_512_4k", test_geometry, &geo_512_4k),
                FX_TEST("geometry_512_32k", test_geometry, &geo_512_32k),
                FX_TEST("geometry_512_1m", test_geometry, &geo_512_1m),
                FX_TEST("geometry_512_32m", test_geometry, &geo_512_32m),
                FX_TEST("geometry_4096_4k", test_geometry, &geo_4096_4k),
                FX_TEST("geometry_4096_32k", test_geometry, &geo_4096_32k),
                FX_TEST("geometry_4096_1m", test_geometry, &geo_4096_1m),
                FX_TEST("label_from_mkfs", test_label_from_mkfs, &labelled),
                FX_TEST("label_from_mkfs_utf8", test_label_from_mkfs, &labelled_utf8),
                FX_TEST("serial_from_tune", test_serial_from_tune, &plain),
                FX_TEST("guid_entry", test_guid_entry, &plain),
                FX_TEST("dirty_while_mounted", test_dirty_while_mounted, &plain),
                FX_TEST("dirty_stays_dirty", test_dirty_stays_dirty, &plain),
                FX_TEST("read_only_mount", test_read_only_mount, &plain),
                FX_TEST("read_only_device", test_read_only_device, &plain),
                FX_TEST("not_exfat", test_not_exfat, &plain),
                FX_TEST("tiny_device", test_tiny_device, &plain),
                FX_TEST("main_boot_bad_backup_used", test_main_boot_bad_backup_used, &plain),
                FX_TEST("both_boot_regions_bad", test_both_boot_regions_bad, &plain),
                FX_TEST("bad_geometry", test_bad_geometry, &plain),
                FX_TEST("truncated_device", test_truncated_device, &plain),
                FX_TEST("unknown_critical_entry", test_unknown_critical_entry, &plain),
                FX_TEST("main_extended_signature_bad", test_main_extended_signature_bad, &plain),
                FX_TEST("guid_bad_checksum", test_guid_bad_checksum, &plain),
                FX_TEST("media_failure", test_media_failure, &plain),
        };
        FX_REQUIRE_TOOLS();
        return cmocka_run_group_tests_name("libexfat/boot", tests, NULL, NULL);
}
