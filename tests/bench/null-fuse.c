/* SPDX-License-Identifier: MIT */
/*
 * null-fuse: a FUSE server that stores nothing, to measure the FUSE round-trip floor of this machine.
 *
 *   null-fuse MOUNTPOINT [-o OPTIONS]
 *
 * OPTIONS are libfuse's mount and session options plus its connection options (no_writeback_cache,
 * readdirplus=no, max_write=N, ...), which override the defaults below.
 *
 * Names are remembered (so create/lookup/stat/readdir/unlink/rename/mkdir behave), data is not: writes
 * are acknowledged and dropped, reads return zeros up to the remembered size. It negotiates what a good
 * server would (1 MiB max_write, writeback cache, readdirplus, parallel dirops, async reads, long
 * timeouts) and runs the multi-threaded loop, so any gap between it and a real server is the real
 * server's own work. Runs in the foreground; exits when the filesystem is unmounted.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NULL_MAX_IO (1u << 20)
#define NULL_TIMEOUT 3600.0

struct node {
        fuse_ino_t parent;
        char *name;             /* NULL once unlinked: the slot stays so stale inode numbers stay valid */
        mode_t mode;
        uint64_t size;
        uint32_t hash;
        fuse_ino_t next;        /* hash chain */
};

/* One lock for everything: the point is the kernel round trip, not scalability of this toy. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *nodes;      /* indexed by inode number; 0 unused, 1 is the root */
static fuse_ino_t n_nodes, cap_nodes;
static fuse_ino_t *buckets;
static size_t n_buckets;
static size_t n_live;
static struct timespec start_time;
static const char zeros[NULL_MAX_IO];
static struct fuse_conn_info_opts *conn_opts;  /* -o writeback_cache, no_writeback_cache, ... */

static uint32_t name_hash(fuse_ino_t parent, const char *name) {
        uint32_t h = 2166136261u ^ (uint32_t) parent;

        for (; *name; name++)
                h = (h ^ (unsigned char) *name) * 16777619u;
        return h;
}

static int rehash(size_t want) {
        fuse_ino_t *b = calloc(want, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (fuse_ino_t i = 2; i < n_nodes; i++) {
                if (!nodes[i].name)
                        continue;
                nodes[i].next = b[nodes[i].hash % want];
                b[nodes[i].hash % want] = i;
        }
        free(buckets);
        buckets = b;
        n_buckets = want;
        return 0;
}

static fuse_ino_t find(fuse_ino_t parent, const char *name) {
        uint32_t h = name_hash(parent, name);

        for (fuse_ino_t i = buckets[h % n_buckets]; i; i = nodes[i].next)
                if (nodes[i].hash == h && nodes[i].parent == parent && strcmp(nodes[i].name, name) == 0)
                        return i;
        return 0;
}

static void unhash(fuse_ino_t ino) {
        fuse_ino_t *p = &buckets[nodes[ino].hash % n_buckets];

        while (*p != ino)
                p = &nodes[*p].next;
        *p = nodes[ino].next;
}

static void hash_in(fuse_ino_t ino) {
        size_t b = nodes[ino].hash % n_buckets;

        nodes[ino].next = buckets[b];
        buckets[b] = ino;
}

static int add(fuse_ino_t parent, const char *name, mode_t mode, fuse_ino_t *ret) {
        char *copy;

        if (n_nodes >= cap_nodes) {
                fuse_ino_t cap = cap_nodes ? cap_nodes * 2 : 1024;
                struct node *n = realloc(nodes, cap * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                nodes = n;
                cap_nodes = cap;
        }
        if (n_live * 2 >= n_buckets) {
                int r = rehash(n_buckets * 4);
                if (r < 0)
                        return r;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        nodes[n_nodes] = (struct node) {
                .parent = parent, .name = copy, .mode = mode, .hash = name_hash(parent, name),
        };
        hash_in(n_nodes);
        n_live++;
        *ret = n_nodes++;
        return 0;
}

static void fill_stat(fuse_ino_t ino, struct stat *st) {
        *st = (struct stat) {
                .st_ino = ino,
                .st_mode = nodes[ino].mode,
                .st_nlink = S_ISDIR(nodes[ino].mode) ? 2 : (nodes[ino].name || ino == 1),
                .st_size = (off_t) nodes[ino].size,
                .st_blksize = 4096,
                .st_blocks = (blkcnt_t) ((nodes[ino].size + 511) / 512),
                .st_atim = start_time, .st_mtim = start_time, .st_ctim = start_time,
        };
}

static bool valid(fuse_ino_t ino) {
        return ino >= 1 && ino < n_nodes;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino) {
        struct fuse_entry_param e = {
                .ino = ino, .generation = 1, .attr_timeout = NULL_TIMEOUT, .entry_timeout = NULL_TIMEOUT,
        };

        fill_stat(ino, &e.attr);
        pthread_mutex_unlock(&lock);
        fuse_reply_entry(req, &e);
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
        conn->max_write = NULL_MAX_IO;
        conn->max_readahead = NULL_MAX_IO;
        conn->max_background = 64;
        conn->congestion_threshold = 48;
        conn->want |= conn->capable & (FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_READDIRPLUS |
                                       FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ | FUSE_CAP_ASYNC_DIO);
        /* The command line has the last word, to compare with a server that negotiates less. */
        fuse_apply_conn_info_opts(conn_opts, conn);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
        fuse_ino_t ino;

        pthread_mutex_lock(&lock);
        ino = find(parent, name);
        if (!ino) {
                pthread_mutex_unlock(&lock);
                /* A zero inode with a timeout is a cacheable negative entry, as real servers reply. */
                struct fuse_entry_param e = { .entry_timeout = NULL_TIMEOUT };
                fuse_reply_entry(req, &e);
                return;
        }
        reply_entry(req, ino);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
        fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
        fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        struct stat st;

        pthread_mutex_lock(&lock);
        if (!valid(ino)) {
                pthread_mutex_unlock(&lock);
                fuse_reply_err(req, ENOENT);
                return;
        }
        fill_stat(ino, &st);
        pthread_mutex_unlock(&lock);
        fuse_reply_attr(req, &st, NULL_TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
        struct stat st;

        pthread_mutex_lock(&lock);
        if (!valid(ino)) {
                pthread_mutex_unlock(&lock);
                fuse_reply_err(req, ENOENT);
                return;
        }
        if (to_set & FUSE_SET_ATTR_SIZE)
                nodes[ino].size = (uint64_t) attr->st_size;
        if (to_set & FUSE_SET_ATTR_MODE)
                nodes[ino].mode = (nodes[ino].mode & S_IFMT) | (attr->st_mode & 07777);
        fill_stat(ino, &st);
        pthread_mutex_unlock(&lock);
        fuse_reply_attr(req, &st, NULL_TIMEOUT);
}

static int make(fuse_ino_t parent, const char *name, mode_t mode, fuse_ino_t *ret) {
        if (!valid(parent) || !S_ISDIR(nodes[parent].mode))
                return -ENOENT;
        if (find(parent, name))
                return -EEXIST;
        return add(parent, name, mode, ret);
}

static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
        fuse_ino_t ino;
        int r;

        pthread_mutex_lock(&lock);
        r = make(parent, name, mode, &ino);
        if (r < 0) {
                pthread_mutex_unlock(&lock);
                fuse_reply_err(req, -r);
                return;
        }
        reply_entry(req, ino);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
        if (!S_ISREG(mode)) {
                fuse_reply_err(req, EPERM);
                return;
        }
        make_entry(req, parent, name, mode);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
        make_entry(req, parent, name, S_IFDIR | (mode & 07777));
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
        struct fuse_entry_param e = {
                .generation = 1, .attr_timeout = NULL_TIMEOUT, .entry_timeout = NULL_TIMEOUT,
        };
        int r;

        pthread_mutex_lock(&lock);
        r = make(parent, name, S_IFREG | (mode & 07777), &e.ino);
        if (r < 0) {
                pthread_mutex_unlock(&lock);
                fuse_reply_err(req, -r);
                return;
        }
        fill_stat(e.ino, &e.attr);
        pthread_mutex_unlock(&lock);
        fuse_reply_create(req, &e, fi);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir) {
        fuse_ino_t ino;
        int r = 0;

        pthread_mutex_lock(&lock);
        ino = find(parent, name);
        if (!ino)
                r = ENOENT;
        else if (dir != !!S_ISDIR(nodes[ino].mode))
                r = dir ? ENOTDIR : EISDIR;
        else if (dir)
                for (fuse_ino_t i = 2; i < n_nodes; i++)
                        if (nodes[i].name && nodes[i].parent == ino) {
                                r = ENOTEMPTY;
                                break;
                        }
        if (r == 0) {
                unhash(ino);
                free(nodes[ino].name);
                nodes[ino].name = NULL;
                n_live--;
        }
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
        remove_entry(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
        remove_entry(req, parent, name, true);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned flags) {
        fuse_ino_t ino, victim;
        char *copy;

        if (flags & ~RENAME_NOREPLACE) {
                fuse_reply_err(req, EINVAL);
                return;
        }
        pthread_mutex_lock(&lock);
        ino = find(parent, name);
        victim = find(newparent, newname);
        if (!ino || (victim && (flags & RENAME_NOREPLACE)) || !(copy = strdup(newname))) {
                pthread_mutex_unlock(&lock);
                fuse_reply_err(req, !ino ? ENOENT : victim ? EEXIST : ENOMEM);
                return;
        }
        if (victim && victim != ino) {
                unhash(victim);
                free(nodes[victim].name);
                nodes[victim].name = NULL;
                n_live--;
        }
        unhash(ino);
        free(nodes[ino].name);
        nodes[ino].name = copy;
        nodes[ino].parent = newparent;
        nodes[ino].hash = name_hash(newparent, newname);
        hash_in(ino);
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        fi->keep_cache = 1;
        fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        uint64_t file_size;

        pthread_mutex_lock(&lock);
        file_size = valid(ino) ? nodes[ino].size : 0;
        pthread_mutex_unlock(&lock);
        if ((uint64_t) off >= file_size)
                size = 0;
        else if (size > file_size - (uint64_t) off)
                size = (size_t) (file_size - (uint64_t) off);
        fuse_reply_buf(req, zeros, size < sizeof(zeros) ? size : sizeof(zeros));
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
        pthread_mutex_lock(&lock);
        if (valid(ino) && nodes[ino].size < (uint64_t) off + size)
                nodes[ino].size = (uint64_t) off + size;
        pthread_mutex_unlock(&lock);
        fuse_reply_write(req, size);
}

static void op_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
        fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        fuse_reply_open(req, fi);
}

/* The offset of an entry is the inode number after it, so a listing is one pass over the node table. */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
        char *buf = malloc(size);
        size_t used = 0;
        fuse_ino_t i;

        if (!buf) {
                fuse_reply_err(req, ENOMEM);
                return;
        }
        pthread_mutex_lock(&lock);
        for (i = off < 2 ? 2 : (fuse_ino_t) off; i < n_nodes; i++) {
                struct fuse_entry_param e = {
                        .ino = i, .generation = 1, .attr_timeout = NULL_TIMEOUT, .entry_timeout = NULL_TIMEOUT,
                };
                size_t n;

                if (!nodes[i].name || nodes[i].parent != ino)
                        continue;
                fill_stat(i, &e.attr);
                n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, nodes[i].name, &e, (off_t) i + 1)
                         : fuse_add_direntry(req, buf + used, size - used, nodes[i].name, &e.attr, (off_t) i + 1);
                if (n > size - used)
                        break;
                used += n;
        }
        pthread_mutex_unlock(&lock);
        fuse_reply_buf(req, buf, used);
        free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        do_readdir(req, ino, size, off, true);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
        struct statvfs st = {
                .f_bsize = 4096, .f_frsize = 4096, .f_blocks = 1u << 24, .f_bfree = 1u << 24,
                .f_bavail = 1u << 24, .f_files = 1u << 24, .f_ffree = 1u << 24, .f_namemax = 255,
        };

        fuse_reply_statfs(req, &st);
}

static const struct fuse_lowlevel_ops ops = {
        .init = op_init,
        .lookup = op_lookup,
        .forget = op_forget,
        .forget_multi = op_forget_multi,
        .getattr = op_getattr,
        .setattr = op_setattr,
        .mknod = op_mknod,
        .mkdir = op_mkdir,
        .unlink = op_unlink,
        .rmdir = op_rmdir,
        .rename = op_rename,
        .create = op_create,
        .open = op_open,
        .read = op_read,
        .write = op_write,
        /* no flush: the kernel stops sending FLUSH after the first ENOSYS, one round trip less per close */
        .release = op_ok,
        .fsync = op_fsync,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .readdirplus = op_readdirplus,
        .releasedir = op_ok,
        .fsyncdir = op_fsync,
        .statfs = op_statfs,
};

int main(int argc, char *argv[]) {
        struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
        struct fuse_cmdline_opts opts = {};
        struct fuse_loop_config *config;
        struct fuse_session *se;
        fuse_ino_t root;
        int r = 1;

        conn_opts = fuse_parse_conn_info_opts(&args);
        if (!conn_opts || fuse_parse_cmdline(&args, &opts) != 0)
                return 1;
        if (opts.show_help || opts.show_version || !opts.mountpoint) {
                printf("usage: %s MOUNTPOINT [-o OPTIONS]\n", argv[0]);
                fuse_lowlevel_help();
                return opts.mountpoint ? 0 : 1;
        }
        clock_gettime(CLOCK_REALTIME, &start_time);
        n_nodes = 1;    /* inode 0 is never handed out */
        if (rehash(1024) < 0 || add(0, "", S_IFDIR | 0755, &root) < 0 || root != FUSE_ROOT_ID) {
                fprintf(stderr, "null-fuse: out of memory\n");
                return 1;
        }
        unhash(root);   /* the root is found by number, never by name */

        se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
        if (!se)
                return 1;
        if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, opts.mountpoint) != 0) {
                fprintf(stderr, "null-fuse: cannot mount %s\n", opts.mountpoint);
                goto out;
        }
        config = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(config, 16);
        fuse_loop_cfg_set_idle_threads(config, 4);
        r = fuse_session_loop_mt(se, config) != 0;
        fuse_loop_cfg_destroy(config);
        fuse_session_unmount(se);
out:
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
        free(opts.mountpoint);
        free(conn_opts);
        fuse_opt_free_args(&args);
        return r;
}
