/* SPDX-License-Identifier: MIT */
/*
 * fuzz-make-seeds OUTDIR: the seed corpus, made at test time (tests/fuzz/make-corpus runs it).
 *   OUTDIR/image/  volumes made by mkfs.exfat (512- and 4096-byte sectors, clusters of 512 B to
 *                  256 KiB, 1-8 MiB), populated through libexfat (label, nested directories, a
 *                  directory over several clusters, long and non-ASCII names, contiguous,
 *                  fragmented and sparse files), an unused label entry in root slot 0, and damaged
 *                  shapes like the unit tests' (tests/unit/libexfat/test-corrupt.c)
 *   OUTDIR/rw/     some of those volumes with op scripts for fuzz-rw
 *   OUTDIR/link/, OUTDIR/options/  well-formed conversations and option sets
 * Damaged shapes whose point is a wrong checksum are saved with the repair flag off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exfat.h"
#include "image.h"
#include "protocol.h"

static const char *outdir;

static void die(const char *what, int r) {
        fprintf(stderr, "fuzz-make-seeds: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

static void save(const char *harness, const char *name, const void *a, size_t alen, const void *b, size_t blen) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", outdir, harness);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s/%s", outdir, harness, name);
        FILE *f = fopen(path, "we");
        if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0)
                die(path, errno);
}

static uint8_t *slurp(const char *path, size_t *size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                die(path, errno);
        uint8_t *buf = malloc((size_t) st.st_size);
        if (!buf || img_pread(fd, buf, (size_t) st.st_size, 0) < 0)
                die(path, EIO);
        close(fd);
        *size = (size_t) st.st_size;
        return buf;
}

/* Inputs carry images without their trailing zeros (the harness restores them, see memdev_load). */
static uint8_t *slurp_image(const char *path, size_t *size) {
        uint8_t *img = slurp(path, size);
        while (*size > 512 && img[*size - 1] == 0)
                (*size)--;
        return img;
}

/* fuzz-image input: a flags byte, then the image. */
static void save_image(const char *path, const char *name, uint8_t flags) {
        size_t size;
        uint8_t *img = slurp_image(path, &size);
        save("image", name, &flags, 1, img, size);
        free(img);
}

/* fuzz-rw input: flags, script length, script, image. */
static void save_rw(const char *path, const char *name, uint8_t flags, const uint8_t *script, size_t len) {
        size_t size;
        uint8_t *img = slurp_image(path, &size);
        uint8_t *buf = malloc(2 + len + size);
        if (!buf || len > 255)
                die("rw seed", ENOMEM);
        buf[0] = flags;
        buf[1] = (uint8_t) len;
        memcpy(buf + 2, script, len);
        memcpy(buf + 2 + len, img, size);
        save("rw", name, buf, 2 + len + size, NULL, 0);
        free(buf);
        free(img);
}

static void mkfs(const char *path, uint64_t size, const char *const *extra) {
        int r = img_mkfs(path, size, extra);
        if (r < 0)
                die(path, r);
}

/* False when the volume is full (big clusters fill a small volume fast). */
static bool put_file(struct exfat_volume *vol, uint64_t dir, const char *name, size_t size, uint8_t seed) {
        struct exfat_stat st;
        int r = exfat_create(vol, dir, name, 0, &st);
        if (r == -ENOSPC)
                return false;
        if (r < 0)
                die(name, r);
        uint8_t *buf = malloc(size + 1);
        for (size_t i = 0; i < size; i++)
                buf[i] = (uint8_t) (seed + i * 7 + (i >> 10));
        ssize_t w = size ? exfat_write(vol, st.ino, buf, size, 0) : 0;
        if (w < 0 && w != -ENOSPC)
                die(name, (int) w);
        free(buf);
        exfat_forget(vol, st.ino, 1);
        return w >= 0;
}

/* Files and directories of every shape the library knows, as far as the volume has room. Level 0
 * keeps the data to a few clusters (big clusters would make a big input), 2 is the most. */
static void populate(const char *path, int level) {
        static const unsigned deep[] = { 1000, 9000, 30000 }, entries[] = { 3, 24, 60 }, rounds[] = { 1, 6, 12 };
        static const unsigned sparse[] = { 20000, 80000, 80000 };
        int fd = open(path, O_RDWR | O_CLOEXEC);
        struct exfat_device dev;
        struct exfat_options opts = {};
        struct exfat_volume *vol;
        struct exfat_stat d1, d2, d3, a, b;
        char name[300];
        int r;

        if (fd < 0 || exfat_device_init_fd(&dev, fd) < 0)
                die(path, errno);
        r = exfat_mount(&dev, &opts, &vol);
        if (r < 0)
                die(path, r);
        put_file(vol, EXFAT_ROOT_INO, "empty", 0, 0);
        put_file(vol, EXFAT_ROOT_INO, "hello.txt", 6, 'h');
        put_file(vol, EXFAT_ROOT_INO, "\xc3\x9cnic\xc3\xb6" "de-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80", 3000, 1);
        memset(name, 'L', 255);
        name[255] = '\0';
        put_file(vol, EXFAT_ROOT_INO, name, 100, 2);
        if (exfat_mkdir(vol, EXFAT_ROOT_INO, "dir1", &d1) < 0 || exfat_mkdir(vol, d1.ino, "dir2", &d2) < 0 ||
            exfat_mkdir(vol, d2.ino, "dir3", &d3) < 0)
                die("mkdir", EIO);
        put_file(vol, d3.ino, "deep.bin", deep[level], 3);
        /* A directory over several clusters (and, with small clusters, a FAT-chained one). */
        for (unsigned i = 0; i < entries[level]; i++) {
                snprintf(name, sizeof(name), "entry-%02d-with-a-longer-name", i);
                if (!put_file(vol, d1.ino, name, (size_t) (i % 3) * 700, (uint8_t) i))
                        break;
        }
        /* Two files written in turns: fragmented (FAT chains). */
        r = exfat_create(vol, d2.ino, "frag-a", 0, &a);
        if (r >= 0)
                r = exfat_create(vol, d2.ino, "frag-b", 0, &b);
        if (r < 0)
                die("create", r);
        uint8_t chunk[4096];
        for (unsigned i = 0; i < rounds[level]; i++) {
                memset(chunk, 'a' + i, sizeof(chunk));
                (void) exfat_write(vol, a.ino, chunk, sizeof(chunk), (uint64_t) i * sizeof(chunk));
                memset(chunk, 'A' + i, sizeof(chunk));
                (void) exfat_write(vol, b.ino, chunk, sizeof(chunk), (uint64_t) i * sizeof(chunk));
        }
        /* Sparse: grown by truncate and by a write past the end (ValidDataLength < DataLength). */
        struct exfat_setattr sa = { .valid = EXFAT_SET_SIZE, .size = 50000 };
        (void) exfat_setattr(vol, a.ino, &sa, &a);
        (void) exfat_write(vol, b.ino, "end", 3, sparse[level]);
        exfat_forget(vol, a.ino, 1);
        exfat_forget(vol, b.ino, 1);
        /* A deleted file leaves entries marked unused behind. */
        put_file(vol, EXFAT_ROOT_INO, "deleted", 5000, 9);
        (void) exfat_unlink(vol, EXFAT_ROOT_INO, "deleted");
        exfat_forget(vol, d1.ino, 1);
        exfat_forget(vol, d2.ino, 1);
        exfat_forget(vol, d3.ino, 1);
        r = exfat_unmount(vol);
        if (r < 0)
                die("unmount", r);
        close(fd);
}

/* Root slot 0 becomes an unused volume-label entry (type 0x03), as Windows formats leave it: the
 * root's first entries move down one slot. */
static void unused_label_slot0(const char *path) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        struct img_geom g;
        uint8_t e[32 * 4];
        if (fd < 0 || img_geom_read(fd, false, &g) < 0)
                die(path, EIO);
        uint64_t root = img_cluster_offset(&g, g.root_cluster);
        if (img_pread(fd, e, sizeof(e), root) < 0)
                die(path, EIO);
        if (e[0] == 0x83 || e[0] == 0x03) {
                e[0] = 0x03; /* a label entry already: make it unused */
                memset(e + 1, 0, 31);
        } else {
                /* Bitmap and up-case entries (no label) move to slots 1 and 2; slot 3 must be free. */
                if (e[96] != 0)
                        die("root slot 3 in use", EINVAL);
                memmove(e + 32, e, 64);
                memset(e, 0, 32);
                e[0] = 0x03;
        }
        if (img_pwrite(fd, e, sizeof(e), root) < 0)
                die(path, EIO);
        close(fd);
}

static void copy_file(const char *from, const char *to) {
        size_t size;
        uint8_t *buf = slurp(from, &size);
        int fd = open(to, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || img_pwrite(fd, buf, size, 0) < 0)
                die(to, errno);
        close(fd);
        free(buf);
}

/* Damaged shapes on a copy of a populated volume. */
static void damaged(const char *base) {
        char path[4096];
        struct img_geom g;
        struct img_entry e;
        int fd;

#define FRESH(name) do {                                                                 \
                snprintf(path, sizeof(path), "%s/tmp/%s.img", outdir, name);            \
                copy_file(base, path);                                                  \
                fd = open(path, O_RDWR | O_CLOEXEC);                                    \
                if (fd < 0 || img_geom_read(fd, false, &g) < 0)                         \
                        die(path, EIO);                                                 \
        } while (0)
#define FIND(p) do { if (img_find(fd, &g, p, &e) < 0) die(p, ENOENT); } while (0)

        /* A wrong entry-set checksum (kept: repair off). */
        FRESH("bad-set-sum");
        FIND("hello.txt");
        e.set[2] ^= 0x55;
        img_entry_write(fd, &e, false);
        close(fd);
        save_image(path, "damaged-set-checksum", 0x01);

        /* A wrong up-case checksum. */
        FRESH("bad-upcase");
        {
                uint64_t off;
                uint8_t sum[4];
                if (img_root_entry(fd, &g, 0x82, &off) == 0 && img_pread(fd, sum, 4, off + 4) == 0) {
                        sum[0] ^= 1;
                        img_pwrite(fd, sum, 4, off + 4);
                }
        }
        close(fd);
        save_image(path, "damaged-upcase-checksum", 0x01);

        /* ValidDataLength past DataLength. */
        FRESH("vdl");
        FIND("dir1/dir2/dir3/deep.bin");
        {
                uint64_t big = e.size + 4096;
                memcpy(e.set + 32 + 8, &big, 8);
        }
        img_entry_write(fd, &e, true);
        close(fd);
        save_image(path, "damaged-vdl-past-size", 0);

        /* A FAT chain that loops, and one that leaves the heap. */
        FRESH("cycle");
        FIND("dir1/dir2/frag-a");
        if (!(e.stream_flags & 2))
                img_fat_set(fd, &g, e.first_cluster, e.first_cluster);
        close(fd);
        save_image(path, "damaged-fat-cycle", 0);
        FRESH("range");
        FIND("dir1/dir2/frag-b");
        if (!(e.stream_flags & 2))
                img_fat_set(fd, &g, e.first_cluster, g.cluster_count + 5);
        close(fd);
        save_image(path, "damaged-fat-out-of-range", 0);

        /* A secondary count past the set, a directory with an odd length. */
        FRESH("count");
        FIND("hello.txt");
        e.set[1] = 7;
        img_entry_write(fd, &e, true);
        close(fd);
        save_image(path, "damaged-secondary-count", 0);
        FRESH("dirlen");
        FIND("dir1");
        {
                uint64_t len = e.size + 100;
                memcpy(e.set + 32 + 24, &len, 8);
                memcpy(e.set + 32 + 8, &len, 8);
        }
        img_entry_write(fd, &e, true);
        close(fd);
        save_image(path, "damaged-dir-length", 0);

        /* The main boot sector gone (the backup region takes over), and VolumeDirty set. */
        FRESH("noboot");
        {
                uint8_t zero[512] = {};
                img_pwrite(fd, zero, sizeof(zero), 0);
        }
        close(fd);
        save_image(path, "damaged-main-boot", 0x01);
        FRESH("dirty");
        img_set_volume_flags(fd, 0x02);
        close(fd);
        save_image(path, "dirty", 0);

        /* A GUID entry and an unknown critical primary (read-only only) in the root. */
        FRESH("guid");
        {
                uint8_t guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
                img_add_guid(fd, guid);
        }
        close(fd);
        save_image(path, "guid-entry", 0);
        FRESH("critical");
        {
                uint8_t ent[32] = { 0x8F };
                img_add_root_entry(fd, ent);
        }
        close(fd);
        save_image(path, "unknown-critical-entry", 0);
#undef FRESH
#undef FIND
}

/* Op scripts for fuzz-rw (see step() in fuzz-rw.c for the encoding). */
static const uint8_t script_all[] = {
        6, 0, 7,                       /* mkdir /dir.d */
        1, 1, 1,                       /* create dir.d/B.txt */
        2, 0, 0, 0, 0x13, 0x88, 3,     /* write 5000 bytes at 0 */
        1, 0, 0,                       /* create /a */
        11, 1, 0x10, 0, 5, 0x40, 0,    /* write past the end of a file, after a gap */
        3, 0, 0x20, 0,                 /* truncate up */
        8,                             /* sync */
        4, 0, 0, 0, 2,                 /* rename a file to /hello world.dat */
        10,                            /* remount */
        3, 1, 0, 10,                   /* truncate down */
        7, 0,                          /* rmdir of a non-empty directory */
        0, 1,                          /* label FUZZ */
        9, 0, 1,                       /* fdatasync */
        5, 0,                          /* unlink */
        6, 1, 3,                       /* mkdir in dir.d */
        1, 0, 6,                       /* create the 255-unit name in the root */
        2, 1, 0, 1, 0x40, 0, 0x77,     /* write 16 KiB at 7 */
};
/* The relabel crash of issue 9: set a label (a short free run), then create in the root. */
static const uint8_t script_label_create[] = { 0, 1, 1, 0, 0, 1, 0, 4 };
/* Old data in freed clusters must never show through a grown file. */
static const uint8_t script_stale[] = {
        1, 0, 0, 2, 0, 0, 0, 0xEA, 0x60, 7, 5, 0, /* /a: 60000 bytes, unlinked */
        1, 0, 1, 2, 0, 0, 0, 0x11, 0x70, 9,       /* /B.txt: 4464 bytes */
        3, 0, 0x6A, 0x88,                         /* truncated up to 300 KB */
        8, 10,                                    /* sync, remount */
        11, 0, 0x01, 0, 1, 0x02, 0,               /* write past the end */
};

static void link_seeds(void) {
        uint8_t buf[1024];
        size_t n = 0;
#define RECORD(ctl, payload, size) do {                 \
                buf[n++] = (ctl);                       \
                buf[n++] = (uint8_t) (size);            \
                memcpy(buf + n, (payload), (size));     \
                n += (size);                            \
        } while (0)
        struct link_hello hello = { LINK_PROTOCOL_VERSION, 1234 };
        struct link_probed probed = { .serial = 0x1234ABCD, .volume_size = 1 << 20, .cluster_size = 4096 };
        struct link_status ok = {}, eio = { .status = -EIO };
        strcpy(probed.label, "MY DISK \xc3\xa9");

        buf[n++] = 21 << 2; /* mode 0, device of 2^21 bytes */
        RECORD(4 | LINK_HELLO << 4, &hello, sizeof(hello));
        RECORD(4 | LINK_PROBED << 4, &probed, sizeof(probed));
        RECORD(4 | LINK_READY << 4, &ok, sizeof(ok));
        RECORD(4 | LINK_LABEL_SET << 4, &eio, sizeof(eio));
        RECORD(4 | LINK_CLEAN << 4, &ok, sizeof(ok));
        save("link", "mount-conversation", buf, n, NULL, 0);

        n = 0;
        buf[n++] = 21 << 2;
        RECORD(4 | 1 | LINK_HELLO << 4, &hello, sizeof(hello)); /* with an fd */
        save("link", "hello-with-fd", buf, n, NULL, 0);

        n = 0;
        buf[n++] = 1; /* link_recv directly */
        buf[n++] = LINK_DEVICE;
        buf[n++] = 0xFF;
        struct link_device dev = { .flags = LINK_OPT_READ_ONLY, .uid = 1000, .gid = 1000, .dmask = 022, .fmask = 0133 };
        RECORD(4 | 1 | LINK_DEVICE << 4, &dev, sizeof(dev));
        buf[n++] = 0;
        buf[n++] = 0x40;
        RECORD(4 | LINK_PROBED << 4, &probed, sizeof(probed));
        save("link", "recv-device", buf, n, NULL, 0);
#undef RECORD
}

static void option_seeds(void) {
        /* a{sv} of every known key with its type: [flags][shape = count << 4 | 2] then per entry
         * [key index][value type][value]. */
        static const uint8_t dbus_mount[] = {
                0x00, 0x92,
                0, 0, 1,          /* read-only b true */
                1, 0, 0,          /* noexec b false */
                5, 1, 0, 0, 3, 0xE8, /* uid u 1000 */
                6, 1, 0, 0, 3, 0xE8, /* gid */
                7, 1, 0, 0, 0, 0x12, /* dmask */
                8, 1, 0, 0, 0, 0x5B, /* fmask */
                9, 3, 12,         /* mount-point, a known path */
                3, 0, 1,          /* force */
                4, 0, 1,          /* auth.no_user_interaction */
        };
        static const uint8_t dbus_unmount[] = { 0x04, 0x22, 3, 0, 1, 4, 0, 0 };
        static const uint8_t dbus_label[] = { 0x08, 0x12, 4, 0, 1 };
        static const char worker[] = "\x01ro,uid=1000,gid=100,umask=022,noatime,nodev\0rw,sync,dmask=077";
        static const char mp[] = "\x02/run/media/alice/MY-DISK_1";
        static const char label[] = "\x03\xc3\x89TIQUETTE";
        save("options", "dbus-mount", dbus_mount, sizeof(dbus_mount), NULL, 0);
        save("options", "dbus-unmount", dbus_unmount, sizeof(dbus_unmount), NULL, 0);
        save("options", "dbus-label", dbus_label, sizeof(dbus_label), NULL, 0);
        save("options", "worker", worker, sizeof(worker) - 1, NULL, 0);
        save("options", "mount-point", mp, sizeof(mp) - 1, NULL, 0);
        save("options", "label", label, sizeof(label) - 1, NULL, 0);
}

struct shape {
        const char *name;
        uint64_t size;
        const char *args[8];
        bool to_4k;
        int level;
        bool rw;
};

int main(int argc, char **argv) {
        static const struct shape shapes[] = {
                /* Small boundary alignments keep the heap near the start (inputs drop trailing zeros). */
                { "512-c512-1m", 1 << 20, { "-b", "512", "-c", "512", "-L", "TINY" }, false, 1, true },
                { "512-c4k-1m", 1 << 20, { "-b", "4K", "-c", "4K" }, false, 1, true },
                { "512-c4k-2m", 2 << 20, { "-b", "4K", "-c", "4K", "-L", "FULL" }, false, 2, true },
                { "512-c32k-2m", 2 << 20, { "-b", "32K", "-c", "32K", "-L", "\xc3\x89T\xc3\x89" }, false, 0, true },
                { "512-c256k-8m", 8 << 20, { "-b", "256K", "-c", "256K", "-L", "ELEVENCHARS" }, false, -1, false },
                { "4k-c4k-2m", 2 << 20, { "-b", "128K", "-c", "4K", "-L", "FOURK" }, true, 1, true },
                { "4k-c64k-4m", 4 << 20, { "-b", "128K", "-c", "64K" }, true, 0, false },
        };
        char path[4096];

        if (argc != 2) {
                fprintf(stderr, "usage: fuzz-make-seeds OUTDIR\n");
                return 2;
        }
        outdir = argv[1];
        snprintf(path, sizeof(path), "%s/tmp", outdir);
        (void) mkdir(outdir, 0755);
        (void) mkdir(path, 0755);

        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
                const struct shape *s = &shapes[i];
                char name[128];
                snprintf(path, sizeof(path), "%s/tmp/%s.img", outdir, s->name);
                mkfs(path, s->size, s->args);
                if (s->to_4k) {
                        int fd = open(path, O_RDWR | O_CLOEXEC);
                        int r = fd < 0 ? -errno : img_convert_to_4k(fd);
                        if (r < 0)
                                die("convert to 4K sectors", r);
                        close(fd);
                }
                snprintf(name, sizeof(name), "empty-%s", s->name);
                save_image(path, name, 0);
                if (s->rw)
                        save_rw(path, name, 0, script_label_create, sizeof(script_label_create));
                if (s->level < 0)
                        continue; /* big clusters: a populated volume makes a big input */
                populate(path, s->level);
                snprintf(name, sizeof(name), "full-%s", s->name);
                save_image(path, name, 0);
                if (s->rw) {
                        save_rw(path, name, 0, script_all, sizeof(script_all));
                        snprintf(name, sizeof(name), "stale-%s", s->name);
                        save_rw(path, name, 0x02, script_stale, sizeof(script_stale));
                }
                if (i == 1)
                        damaged(path);
        }

        /* An unused label entry in root slot 0 (the relabel crash of issue 9). */
        snprintf(path, sizeof(path), "%s/tmp/unused-label.img", outdir);
        mkfs(path, 1 << 20, (const char *const[]) { "-b", "4K", "-c", "4K", NULL });
        unused_label_slot0(path);
        save_image(path, "unused-label-slot0", 0);
        save_rw(path, "unused-label-slot0", 0, script_label_create, sizeof(script_label_create));

        link_seeds();
        option_seeds();
        return 0;
}
