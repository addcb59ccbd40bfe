/* SPDX-License-Identifier: MIT */
#include "image.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }
static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }

/* ---- tools ------------------------------------------------------------------------------ */

static int tool_path(const char *name, char *buf, size_t size) {
        static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

        /* exfatprogs converts labels with the C library's multibyte functions: without a UTF-8
         * locale (e.g. under env -i) a non-ASCII label is refused */
        setenv("LC_ALL", "C.UTF-8", 1);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(buf, size, "%s/%s", dirs[i], name);
                if (access(buf, X_OK) == 0)
                        return 0;
        }
        snprintf(buf, size, "%s", name); /* let posix_spawnp search PATH */
        return -ENOENT;
}

bool img_tool_available(const char *name) {
        char p[256];
        return tool_path(name, p, sizeof(p)) == 0;
}

static int run(const char *const *argv, bool verbose) {
        char path[256];
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r, status;

        tool_path(argv[0], path, sizeof(path));
        posix_spawn_file_actions_init(&fa);
        if (!verbose) {
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        }
        r = posix_spawnp(&pid, path, &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status))
                return -ECHILD;
        return WEXITSTATUS(status);
}

int img_run_capture(const char *const *argv, char *out, size_t size) {
        char path[256];
        posix_spawn_file_actions_t fa;
        int pipefd[2], r, status;
        size_t used = 0;
        pid_t pid;

        if (size == 0 || pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        tool_path(argv[0], path, sizeof(path));
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        r = posix_spawnp(&pid, path, &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                return -r;
        }
        for (;;) {
                ssize_t n = read(pipefd[0], out + used, size - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                used += (size_t) n;
                if (used == size - 1) {
                        char sink[512]; /* drain the rest so the tool can exit */
                        while (read(pipefd[0], sink, sizeof(sink)) > 0)
                                ;
                        break;
                }
        }
        out[used] = 0;
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

int img_run(const char *const *argv) {
        return run(argv, getenv("EXFAT_TEST_VERBOSE") != NULL);
}

int img_fsck(const char *path) {
        const char *argv[] = { "fsck.exfat", "-n", path, NULL };
        return img_run(argv);
}

int img_fsck_show(const char *path) {
        const char *argv[] = { "fsck.exfat", "-n", path, NULL };
        return run(argv, true);
}

int img_mkfs(const char *path, uint64_t size, const char *const *extra) {
        const char *argv[16] = { "mkfs.exfat" };
        size_t n = 1;
        int fd, r;

        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = ftruncate(fd, (off_t) size) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        for (; extra && *extra && n < 14; extra++)
                argv[n++] = *extra;
        argv[n++] = path;
        argv[n] = NULL;
        r = img_run(argv);
        return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* ---- raw I/O ---------------------------------------------------------------------------- */

int img_pread(int fd, void *buf, size_t len, uint64_t off) {
        ssize_t n = pread(fd, buf, len, (off_t) off);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int img_pwrite(int fd, const void *buf, size_t len, uint64_t off) {
        ssize_t n = pwrite(fd, buf, len, (off_t) off);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

/* ---- boot region ------------------------------------------------------------------------ */

static int boot_sector_size(int fd, bool backup, uint32_t *ss) {
        uint8_t b[512];
        int r;

        /* The backup's position depends on the sector size, which only the main sector tells; if
         * the main sector is damaged, assume it still tells the truth about its own size. */
        r = img_pread(fd, b, sizeof(b), 0);
        if (r < 0)
                return r;
        if (b[108] < 9 || b[108] > 12)
                return -EINVAL;
        *ss = 1u << b[108];
        (void) backup;
        return 0;
}

int img_geom_read(int fd, bool backup, struct img_geom *g) {
        uint8_t b[512];
        uint32_t ss;
        int r;

        r = boot_sector_size(fd, backup, &ss);
        if (r < 0)
                return r;
        r = img_pread(fd, b, sizeof(b), backup ? 12ull * ss : 0);
        if (r < 0)
                return r;
        if (memcmp(b + 3, "EXFAT   ", 8) != 0 || b[108] < 9 || b[108] > 12 || b[109] > 16)
                return -EINVAL;
        *g = (struct img_geom) {
                .sector_size = 1u << b[108],
                .cluster_size = 1u << (b[108] + b[109]),
                .volume_length = get64(b + 72),
                .fat_offset = get32(b + 80),
                .fat_length = get32(b + 84),
                .heap_offset = get32(b + 88),
                .cluster_count = get32(b + 92),
                .root_cluster = get32(b + 96),
                .serial = get32(b + 100),
                .revision = get16(b + 104),
                .flags = get16(b + 106),
                .percent_in_use = b[112],
        };
        return 0;
}

uint32_t img_boot_checksum(const uint8_t *region, uint32_t sector_size) {
        uint32_t sum = 0;
        for (size_t i = 0; i < (size_t) sector_size * 11; i++) {
                if (i == 106 || i == 107 || i == 112)
                        continue;
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + region[i];
        }
        return sum;
}

static int write_checksum_sector(int fd, const uint8_t *region, uint32_t ss, uint64_t base) {
        uint8_t *sec = malloc(ss);
        uint32_t sum = img_boot_checksum(region, ss);
        int r;

        if (!sec)
                return -ENOMEM;
        for (uint32_t i = 0; i < ss; i += 4)
                put32(sec + i, sum);
        r = img_pwrite(fd, sec, ss, base + 11ull * ss);
        free(sec);
        return r;
}

int img_boot_fix_checksum(int fd, bool backup, uint32_t ss) {
        uint64_t base = backup ? 12ull * ss : 0;
        uint8_t *region = malloc(11ull * ss);
        int r;

        if (!region)
                return -ENOMEM;
        r = img_pread(fd, region, 11ull * ss, base);
        if (r >= 0)
                r = write_checksum_sector(fd, region, ss, base);
        free(region);
        return r;
}

int img_volume_flags(int fd, uint8_t *flags) {
        return img_pread(fd, flags, 1, 106);
}

int img_set_volume_flags(int fd, uint8_t flags) {
        return img_pwrite(fd, &flags, 1, 106);
}

int img_convert_to_4k(int fd) {
        const uint32_t ss = 4096;
        uint8_t boot[512];
        uint8_t *region;
        struct img_geom g;
        uint32_t k;
        int r;

        r = img_geom_read(fd, false, &g);
        if (r < 0)
                return r;
        if (g.sector_size != 512 || g.cluster_size < ss || g.fat_offset % 8 || g.heap_offset % 8)
                return -EINVAL;
        /* The new boot regions (2 x 48 KiB) must not overlap the FAT. */
        if ((uint64_t) g.fat_offset * 512 < 24ull * ss)
                return -ENOSPC;
        r = img_pread(fd, boot, sizeof(boot), 0);
        if (r < 0)
                return r;
        k = (g.fat_length + 7) / 8;
        if (g.fat_offset / 8 + k > g.heap_offset / 8)
                return -ENOSPC;
        {
                uint64_t vl = htole64(g.volume_length / 8);
                memcpy(boot + 72, &vl, 8);
        }
        put32(boot + 80, g.fat_offset / 8);
        put32(boot + 84, k);
        put32(boot + 88, g.heap_offset / 8);
        boot[108] = 12;
        boot[109] = (uint8_t) (boot[109] - 3);

        region = calloc(12, ss);
        if (!region)
                return -ENOMEM;
        memcpy(region, boot, sizeof(boot));
        for (int s = 1; s <= 8; s++) {
                uint8_t *end = region + (size_t) s * ss + ss - 4;
                end[2] = 0x55;
                end[3] = 0xAA;
        }
        {
                uint32_t sum = img_boot_checksum(region, ss);
                for (uint32_t i = 0; i < ss; i += 4)
                        put32(region + 11 * ss + i, sum);
        }
        r = img_pwrite(fd, region, 12ull * ss, 0);
        if (r >= 0)
                r = img_pwrite(fd, region, 12ull * ss, 12ull * ss);
        free(region);
        return r;
}

/* ---- FAT, bitmap ------------------------------------------------------------------------ */

uint64_t img_cluster_offset(const struct img_geom *g, uint32_t cluster) {
        return (uint64_t) g->heap_offset * g->sector_size + (uint64_t) (cluster - 2) * g->cluster_size;
}

int img_fat_get(int fd, const struct img_geom *g, uint32_t cluster, uint32_t *value) {
        uint8_t b[4];
        int r = img_pread(fd, b, 4, (uint64_t) g->fat_offset * g->sector_size + 4ull * cluster);
        if (r < 0)
                return r;
        *value = get32(b);
        return 0;
}

int img_fat_set(int fd, const struct img_geom *g, uint32_t cluster, uint32_t value) {
        uint8_t b[4];
        put32(b, value);
        return img_pwrite(fd, b, 4, (uint64_t) g->fat_offset * g->sector_size + 4ull * cluster);
}

static bool cluster_valid(const struct img_geom *g, uint32_t c) {
        return c >= 2 && c - 2 < g->cluster_count;
}

int img_clusters(int fd, const struct img_geom *g, uint32_t first, uint64_t size, bool nofatchain,
                 uint32_t *out, size_t max, size_t *n) {
        uint64_t want = size ? (size + g->cluster_size - 1) / g->cluster_size : UINT64_MAX;
        uint32_t c = first;
        size_t i = 0;

        *n = 0;
        if (size == 0 && !nofatchain && first == 0)
                return 0;
        while (i < want) {
                if (!cluster_valid(g, c))
                        return -ERANGE;
                if (i >= g->cluster_count)
                        return -ELOOP;
                if (i < max)
                        out[i] = c;
                i++;
                if (nofatchain) {
                        c++;
                        continue;
                }
                int r = img_fat_get(fd, g, c, &c);
                if (r < 0)
                        return r;
                if (c == 0xFFFFFFFFu) {
                        if (size != 0 && i < want)
                                return -ERANGE;
                        break;
                }
                /* a cycle: the chain revisits one of its own clusters */
                for (size_t j = 0; j < i && j < max; j++)
                        if (out[j] == c)
                                return -ELOOP;
        }
        *n = i;
        return 0;
}

static int bitmap_entry(int fd, const struct img_geom *g, uint32_t *first, uint64_t *len) {
        uint8_t e[32];
        uint64_t off;
        int r = img_root_entry(fd, g, 0x81, &off);
        if (r < 0)
                return r;
        r = img_pread(fd, e, 32, off);
        if (r < 0)
                return r;
        *first = get32(e + 20);
        *len = get64(e + 24);
        return 0;
}

int img_bitmap_read(int fd, const struct img_geom *g, struct img_bitmap *bm) {
        uint32_t first;
        uint64_t len, bytes = (g->cluster_count + 7) / 8;
        int r = bitmap_entry(fd, g, &first, &len);
        if (r < 0)
                return r;
        if (len < bytes || !cluster_valid(g, first))
                return -EIO;
        *bm = (struct img_bitmap) { .g = g, .offset = img_cluster_offset(g, first), .bytes = bytes };
        bm->bits = malloc(bytes);
        if (!bm->bits)
                return -ENOMEM;
        r = img_pread(fd, bm->bits, bytes, bm->offset);
        if (r < 0)
                img_bitmap_free(bm);
        return r;
}

int img_bitmap_write(int fd, const struct img_bitmap *bm) {
        return img_pwrite(fd, bm->bits, bm->bytes, bm->offset);
}

void img_bitmap_free(struct img_bitmap *bm) {
        free(bm->bits);
        bm->bits = NULL;
}

int img_bitmap_test(const struct img_bitmap *bm, uint32_t cluster, bool *used) {
        if (!cluster_valid(bm->g, cluster))
                return -ERANGE;
        *used = (bm->bits[(cluster - 2) / 8] >> ((cluster - 2) % 8)) & 1;
        return 0;
}

int img_bitmap_mark(struct img_bitmap *bm, uint32_t cluster, bool used) {
        uint8_t bit = (uint8_t) (1u << ((cluster - 2) % 8));
        if (!cluster_valid(bm->g, cluster))
                return -ERANGE;
        if (used)
                bm->bits[(cluster - 2) / 8] |= bit;
        else
                bm->bits[(cluster - 2) / 8] &= (uint8_t) ~bit;
        return 0;
}

/* One cluster's bit on its own: the whole bitmap is small next to the root directory walk that
 * finds it, so these simply go through img_bitmap_read. */
int img_bitmap_get(int fd, const struct img_geom *g, uint32_t cluster, bool *used) {
        struct img_bitmap bm;
        int r = img_bitmap_read(fd, g, &bm);
        if (r < 0)
                return r;
        r = img_bitmap_test(&bm, cluster, used);
        img_bitmap_free(&bm);
        return r;
}

int img_bitmap_set(int fd, const struct img_geom *g, uint32_t cluster, bool used) {
        struct img_bitmap bm;
        int r = img_bitmap_read(fd, g, &bm);
        if (r < 0)
                return r;
        r = img_bitmap_mark(&bm, cluster, used);
        if (r >= 0)
                r = img_bitmap_write(fd, &bm);
        img_bitmap_free(&bm);
        return r;
}

int img_count_free(int fd, const struct img_geom *g, uint32_t *free_clusters) {
        struct img_bitmap bm;
        uint32_t n = 0;
        int r = img_bitmap_read(fd, g, &bm);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < g->cluster_count; i++)
                if (!((bm.bits[i / 8] >> (i % 8)) & 1))
                        n++;
        img_bitmap_free(&bm);
        *free_clusters = n;
        return 0;
}

/* ---- directories ------------------------------------------------------------------------ */

struct dir {
        uint8_t *data;
        size_t len;
        uint32_t *clusters;
        size_t n;
        uint32_t cluster_size;
        const struct img_geom *g;
};

static void dir_free(struct dir *d) {
        free(d->data);
        free(d->clusters);
}

static int dir_load(int fd, const struct img_geom *g, uint32_t first, uint64_t size, bool nofatchain,
                    struct dir *d) {
        size_t max = g->cluster_count;
        int r;

        *d = (struct dir) { .g = g, .cluster_size = g->cluster_size };
        d->clusters = calloc(max, sizeof(uint32_t));
        if (!d->clusters)
                return -ENOMEM;
        r = img_clusters(fd, g, first, size, nofatchain, d->clusters, max, &d->n);
        if (r < 0)
                return r;
        d->len = d->n * (size_t) g->cluster_size;
        d->data = malloc(d->len ? d->len : 1);
        if (!d->data)
                return -ENOMEM;
        for (size_t i = 0; i < d->n; i++) {
                r = img_pread(fd, d->data + i * g->cluster_size, g->cluster_size,
                              img_cluster_offset(g, d->clusters[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

static uint64_t dir_offset(const struct dir *d, size_t pos) {
        return img_cluster_offset(d->g, d->clusters[pos / d->cluster_size]) + pos % d->cluster_size;
}

int img_root_entry(int fd, const struct img_geom *g, uint8_t type, uint64_t *off) {
        struct dir d;
        int r = dir_load(fd, g, g->root_cluster, 0, false, &d);
        if (r >= 0) {
                r = -ENOENT;
                for (size_t p = 0; p < d.len && d.data[p] != 0; p += 32)
                        if (d.data[p] == type) {
                                *off = dir_offset(&d, p);
                                r = 0;
                                break;
                        }
        }
        dir_free(&d);
        return r;
}

static size_t utf16_to_utf8(const uint16_t *in, size_t n, char *out) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                uint32_t c = in[i];
                if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && in[i + 1] >= 0xDC00 && in[i + 1] < 0xE000) {
                        c = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00);
                        i++;
                }
                if (c < 0x80)
                        out[o++] = (char) c;
                else if (c < 0x800) {
                        out[o++] = (char) (0xC0 | (c >> 6));
                        out[o++] = (char) (0x80 | (c & 0x3F));
                } else if (c < 0x10000) {
                        out[o++] = (char) (0xE0 | (c >> 12));
                        out[o++] = (char) (0x80 | ((c >> 6) & 0x3F));
                        out[o++] = (char) (0x80 | (c & 0x3F));
                } else {
                        out[o++] = (char) (0xF0 | (c >> 18));
                        out[o++] = (char) (0x80 | ((c >> 12) & 0x3F));
                        out[o++] = (char) (0x80 | ((c >> 6) & 0x3F));
                        out[o++] = (char) (0x80 | (c & 0x3F));
                }
        }
        out[o] = 0;
        return o;
}

static int parse_set(const struct dir *d, size_t pos, struct img_entry *e) {
        const uint8_t *p = d->data + pos;
        uint16_t units[256];
        unsigned nu = 0;

        memset(e, 0, sizeof(*e));
        e->count = 1 + p[1];
        if (e->count < 3 || e->count > IMG_MAX_SET || pos + (size_t) e->count * 32 > d->len)
                return -EIO;
        for (int i = 0; i < e->count; i++)
                e->offs[i] = dir_offset(d, pos + (size_t) i * 32);
        memcpy(e->set, p, (size_t) e->count * 32);
        if (e->set[32] != 0xC0)
                return -EIO;
        e->attributes = get16(e->set + 4);
        e->stream_flags = e->set[33];
        e->name_units = e->set[32 + 3];
        e->valid_size = get64(e->set + 32 + 8);
        e->first_cluster = get32(e->set + 32 + 20);
        e->size = get64(e->set + 32 + 24);
        for (int i = 2; i < e->count && nu < e->name_units; i++) {
                if (e->set[i * 32] != 0xC1)
                        break;
                for (int k = 0; k < 15 && nu < e->name_units; k++)
                        units[nu++] = get16(e->set + i * 32 + 2 + 2 * k);
        }
        utf16_to_utf8(units, nu, e->name);
        return 0;
}

static int find_in_dir(int fd, const struct img_geom *g, const struct dir *d, const char *name, size_t nlen,
                       struct img_entry *e) {
        char want[1024];

        if (nlen >= sizeof(want))
                return -ENAMETOOLONG;
        memcpy(want, name, nlen);
        want[nlen] = 0;
        for (size_t p = 0; p < d->len && d->data[p] != 0; p += 32) {
                if (d->data[p] != 0x85)
                        continue;
                int r = parse_set(d, p, e);
                if (r < 0)
                        return r;
                if (strcmp(e->name, want) == 0)
                        return 0;
                p += (size_t) (e->count - 1) * 32;
        }
        (void) fd;
        (void) g;
        return -ENOENT;
}

int img_find(int fd, const struct img_geom *g, const char *path, struct img_entry *e) {
        uint32_t first = g->root_cluster;
        uint64_t size = 0;
        bool nofat = false;

        for (;;) {
                const char *slash = strchr(path, '/');
                size_t nlen = slash ? (size_t) (slash - path) : strlen(path);
                struct dir d;
                int r = dir_load(fd, g, first, size, nofat, &d);
                if (r >= 0)
                        r = find_in_dir(fd, g, &d, path, nlen, e);
                dir_free(&d);
                if (r < 0 || !slash)
                        return r;
                if (!(e->attributes & 0x10))
                        return -ENOTDIR;
                first = e->first_cluster;
                size = e->size;
                nofat = e->stream_flags & 2;
                path = slash + 1;
        }
}

uint16_t img_set_checksum(const uint8_t *set, int count) {
        uint16_t sum = 0;
        for (size_t i = 0; i < (size_t) count * 32; i++) {
                if (i == 2 || i == 3)
                        continue;
                sum = (uint16_t) (((sum & 1) ? 0x8000 : 0) + (sum >> 1) + set[i]);
        }
        return sum;
}

int img_entry_write(int fd, struct img_entry *e, bool fix_checksum) {
        if (fix_checksum)
                put16(e->set + 2, img_set_checksum(e->set, e->count));
        for (int i = 0; i < e->count; i++) {
                int r = img_pwrite(fd, e->set + i * 32, 32, e->offs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int img_read_file(int fd, const struct img_geom *g, const struct img_entry *e, void *buf) {
        size_t n, max = (e->size + g->cluster_size - 1) / g->cluster_size;
        uint32_t *cl;
        uint64_t done = 0;
        int r;

        if (e->size == 0)
                return 0;
        cl = calloc(max, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        r = img_clusters(fd, g, e->first_cluster, e->size, e->stream_flags & 2, cl, max, &n);
        for (size_t i = 0; r >= 0 && i < n && done < e->size; i++) {
                uint64_t chunk = e->size - done < g->cluster_size ? e->size - done : g->cluster_size;
                r = img_pread(fd, (uint8_t *) buf + done, chunk, img_cluster_offset(g, cl[i]));
                done += chunk;
        }
        free(cl);
        if (r >= 0 && done != e->size)
                r = -EIO;
        return r;
}

int img_label(int fd, const struct img_geom *g, char *buf, size_t size) {
        uint8_t e[32];
        uint16_t units[11];
        uint64_t off;
        char tmp[64];
        int r = img_root_entry(fd, g, 0x83, &off);

        if (r == -ENOENT) {
                if (size)
                        buf[0] = 0;
                return 0;
        }
        if (r < 0)
                return r;
        r = img_pread(fd, e, 32, off);
        if (r < 0)
                return r;
        if (e[1] > 11)
                return -EIO;
        for (int i = 0; i < e[1]; i++)
                units[i] = get16(e + 2 + 2 * i);
        utf16_to_utf8(units, e[1], tmp);
        if (strlen(tmp) >= size)
                return -ENOBUFS;
        strcpy(buf, tmp);
        return 0;
}

int img_add_root_entry(int fd, const uint8_t entry[32]) {
        struct img_geom g;
        struct dir d;
        uint8_t e[32];
        int r = img_geom_read(fd, false, &g);

        if (r < 0)
                return r;
        memcpy(e, entry, 32);
        e[1] = 0; /* a lone primary entry */
        put16(e + 2, img_set_checksum(e, 1));
        r = dir_load(fd, &g, g.root_cluster, 0, false, &d);
        if (r >= 0) {
                r = -ENOSPC;
                for (size_t p = 0; p < d.len; p += 32)
                        if (d.data[p] == 0x00) {
                                r = img_pwrite(fd, e, 32, dir_offset(&d, p));
                                break;
                        }
        }
        dir_free(&d);
        return r;
}

int img_add_guid(int fd, const uint8_t guid[16]) {
        uint8_t e[32] = { 0xA0 };
        memcpy(e + 6, guid, 16);
        return img_add_root_entry(fd, e);
}

/* ---- whole-volume accounting ------------------------------------------------------------ */

struct reach {
        int fd;
        const struct img_geom *g;
        uint8_t *mark;       /* one byte per cluster index (cluster - 2) */
        uint32_t *scratch;   /* cluster lists */
        uint32_t crosslinked;
        int error;
};

static void mark(struct reach *rc, uint32_t cluster) {
        if (rc->mark[cluster - 2])
                rc->crosslinked++;
        rc->mark[cluster - 2] = 1;
}

static void mark_chain(struct reach *rc, uint32_t first, uint64_t size, bool nofat) {
        size_t n;
        int r;

        if (first == 0)
                return;
        r = img_clusters(rc->fd, rc->g, first, size, nofat, rc->scratch, rc->g->cluster_count, &n);
        if (r < 0) {
                rc->error = r;
                return;
        }
        for (size_t i = 0; i < n; i++)
                mark(rc, rc->scratch[i]);
}

static void walk_dir(struct reach *rc, uint32_t first, uint64_t size, bool nofat, int depth) {
        struct dir d;
        int r;

        if (depth > 4096) {
                rc->error = -ELOOP;
                return;
        }
        r = dir_load(rc->fd, rc->g, first, size, nofat, &d);
        if (r < 0) {
                rc->error = r;
                dir_free(&d);
                return;
        }
        for (size_t i = 0; i < d.n; i++)
                mark(rc, d.clusters[i]);
        for (size_t p = 0; p < d.len && d.data[p] != 0 && rc->error == 0; p += 32) {
                const uint8_t *e = d.data + p;
                if (e[0] == 0x81 || e[0] == 0x82) {
                        mark_chain(rc, get32(e + 20), get64(e + 24), false);
                } else if (e[0] == 0x85) {
                        struct img_entry *set = malloc(sizeof(*set));
                        if (!set) {
                                rc->error = -ENOMEM;
                                break;
                        }
                        r = parse_set(&d, p, set);
                        if (r < 0) {
                                rc->error = r;
                                free(set);
                                break;
                        }
                        for (int k = 2; k < set->count; k++) {
                                const uint8_t *x = set->set + k * 32;
                                if (x[0] == 0xE1 && (x[1] & 1))
                                        mark_chain(rc, get32(x + 20), get64(x + 24), x[1] & 2);
                        }
                        if (set->attributes & 0x10) {
                                /* the directory's own clusters are marked by the recursion */
                                uint32_t f1 = set->first_cluster;
                                uint64_t sz = set->size;
                                bool nf = set->stream_flags & 2;
                                free(set);
                                walk_dir(rc, f1, sz, nf, depth + 1);
                        } else {
                                mark_chain(rc, set->first_cluster, set->size, set->stream_flags & 2);
                                free(set);
                        }
                        p += (size_t) (e[1]) * 32;
                }
        }
        dir_free(&d);
}

int img_account(int fd, const struct img_geom *g, struct img_accounting *a) {
        struct reach rc = { .fd = fd, .g = g };
        uint32_t first;
        uint64_t len, bytes = (g->cluster_count + 7) / 8;
        uint8_t *bm = NULL;
        int r;

        *a = (struct img_accounting) { 0 };
        rc.mark = calloc(g->cluster_count, 1);
        rc.scratch = calloc(g->cluster_count, sizeof(uint32_t));
        bm = malloc(bytes);
        if (!rc.mark || !rc.scratch || !bm) {
                r = -ENOMEM;
                goto out;
        }
        walk_dir(&rc, g->root_cluster, 0, false, 0);
        r = rc.error;
        if (r < 0)
                goto out;
        r = bitmap_entry(fd, g, &first, &len);
        if (r < 0)
                goto out;
        r = img_pread(fd, bm, bytes, img_cluster_offset(g, first));
        if (r < 0)
                goto out;
        for (uint32_t i = 0; i < g->cluster_count; i++) {
                bool used = (bm[i / 8] >> (i % 8)) & 1;
                if (used && !rc.mark[i])
                        a->leaked++;
                else if (!used && rc.mark[i])
                        a->unmarked++;
        }
        a->crosslinked = rc.crosslinked;
out:
        free(rc.mark);
        free(rc.scratch);
        free(bm);
        return r;
}

void img_decode_time(uint32_t dos, uint8_t ten_ms, uint8_t utc_off, int64_t *sec, long *nsec) {
        struct tm tm = {
                .tm_year = (int) ((dos >> 25) & 0x7F) + 80,
                .tm_mon = (int) ((dos >> 21) & 0x0F) - 1,
                .tm_mday = (int) ((dos >> 16) & 0x1F),
                .tm_hour = (int) ((dos >> 11) & 0x1F),
                .tm_min = (int) ((dos >> 5) & 0x3F),
                .tm_sec = (int) (dos & 0x1F) * 2,
        };
        int64_t s = (int64_t) timegm(&tm) + ten_ms / 100;

        if (utc_off & 0x80) {
                int off = utc_off & 0x7F;
                if (off & 0x40)
                        off -= 0x80;
                s -= (int64_t) off * 15 * 60;
        }
        *sec = s;
        *nsec = (long) (ten_ms % 100) * 10000000L;
}
