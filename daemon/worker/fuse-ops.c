/* SPDX-License-Identifier: MIT */
#include "fuse-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "alloc-util.h"
#include "log.h"
#include "readahead.h"

/* The worker is the only writer of the volume while it is mounted, so the kernel may keep
 * attributes for long. Entries are kept shorter: names are case-insensitive, so the kernel can
 * hold several dentries ("abc", "ABC") for one node, and an unlink or rename through one leaves
 * the others pointing at the old node until they expire. */
#define ATTR_TIMEOUT 3600.0
#define ENTRY_TIMEOUT 10.0

/* Readdir offsets 1 and 2 are "." and ".."; the library's cookies follow, shifted by 2. */
#define DIR_COOKIE_BASE 2

static void fs_unlockp(struct worker_fs **fs) {
        if (*fs)
                pthread_rwlock_unlock(&(*fs)->lock);
}

/* Takes the shared lock; NULL (lock released) when the volume is already gone. */
static struct worker_fs *fs_lock(struct worker_fs *fs) {
        pthread_rwlock_rdlock(&fs->lock);
        if (fs->vol)
                return fs;
        pthread_rwlock_unlock(&fs->lock);
        return NULL;
}

/* Declares fs (the session's worker_fs) and vol, holding the shared lock until scope end; a
 * request arriving after the volume was unmounted fails with EIO. */
#define LOCK_VOLUME(req)                                                                        \
        struct worker_fs *fs = fuse_req_userdata(req);                                          \
        _cleanup_(fs_unlockp) struct worker_fs *fs_locked = fs_lock(fs);                        \
        if (!fs_locked) {                                                                       \
                fuse_reply_err(req, EIO);                                                       \
                return;                                                                         \
        }                                                                                       \
        struct exfat_volume *vol = fs->vol

void worker_fs_init(struct worker_fs *fs, struct exfat_volume *vol, const struct worker_view *view,
                    const char *device) {
        pthread_rwlockattr_t attr;

        *fs = (struct worker_fs) { .vol = vol, .view = *view, .device = device, .data_fd = -1 };
        /* The finishing writer must not starve behind a stream of readers. */
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&fs->lock, &attr);
        pthread_rwlockattr_destroy(&attr);
}

void worker_fs_read_from(struct worker_fs *fs, int direct_fd, int splice_fd) {
        fs->data_fd = splice_fd;
        if (direct_fd < 0)
                return;
        int r = direct_reader_init(&fs->direct, direct_fd);
        if (r < 0)
                log_warning("%s: cannot read file data with O_DIRECT, reading through the page cache: %s",
                            fs->device, strerror(-r));
        else
                atomic_store(&fs->direct_reads, true);
}

int worker_fs_finish(struct worker_fs *fs) {
        int r;

        pthread_rwlock_wrlock(&fs->lock);
        if (!fs->finished) {
                fs->finished = true;
                if (fs->vol) {
                        fs->finish_status = exfat_unmount(fs->vol);
                        fs->vol = NULL;
                        if (fs->finish_status < 0)
                                log_error_errno(fs->finish_status,
                                                "%s: flushing the volume failed, it stays marked dirty",
                                                fs->device);
                }
        }
        r = fs->finish_status;
        pthread_rwlock_unlock(&fs->lock);
        return r;
}

int worker_fs_with_volume(struct worker_fs *fs, int (*fn)(struct exfat_volume *vol, void *arg), void *arg) {
        _cleanup_(fs_unlockp) struct worker_fs *locked = fs_lock(fs);
        if (!locked)
                return -ESHUTDOWN;
        return fn(fs->vol, arg);
}

void worker_fs_done(struct worker_fs *fs) {
        direct_reader_done(&fs->direct);
        pthread_rwlock_destroy(&fs->lock);
}

/* ---- conversions ------------------------------------------------------------------------ */

static void stat_from_exfat(const struct worker_view *v, const struct exfat_stat *st, struct stat *s) {
        mode_t mode;

        memset(s, 0, sizeof(*s));
        s->st_ino = st->ino;
        if (EXFAT_IS_DIR(st))
                mode = S_IFDIR | (0777 & ~v->dmask);
        else {
                mode = 0777 & ~v->fmask;
                /* Like the kernel's exfat: READ_ONLY on a directory is only a Windows hint
                 * (folder customisation) and must not lock users out of it. */
                if (st->attributes & EXFAT_ATTR_READ_ONLY)
                        mode &= ~0222;
                if (v->noexec)
                        mode &= ~0111;
                mode |= S_IFREG;
        }
        s->st_mode = mode;
        s->st_nlink = st->nlink > 0 ? st->nlink : 1;
        s->st_uid = v->uid;
        s->st_gid = v->gid;
        s->st_size = (off_t) st->size;
        s->st_blocks = (blkcnt_t) ((st->allocated + 511) / 512);
        s->st_atim = st->atime;
        s->st_mtim = st->mtime;
        /* exFAT has no change time; the modification time is the closest. */
        s->st_ctim = st->mtime;
}

static void entry_from_exfat(const struct worker_view *v, const struct exfat_stat *st, struct fuse_entry_param *e) {
        memset(e, 0, sizeof(*e));
        e->ino = st->ino;
        e->attr_timeout = ATTR_TIMEOUT;
        e->entry_timeout = ENTRY_TIMEOUT;
        stat_from_exfat(v, st, &e->attr);
}

static void reply_error(fuse_req_t req, const char *op, fuse_ino_t ino, int r) {
        struct worker_fs *fs = fuse_req_userdata(req);
        /* Expected errors (ENOENT, EEXIST, ...) are answers, not failures; only I/O trouble is
         * worth a line (the library already names the damaged structure). */
        if (r == -EIO || r == -ENOMEM)
                log_error_errno(r, "%s: %s on inode %llu", fs->device, op, (unsigned long long) ino);
        fuse_reply_err(req, -r);
}

/* Replies with a new entry; if the kernel never gets it, drops the lookup reference it stood for. */
static void reply_entry(fuse_req_t req, struct exfat_volume *vol, const struct worker_view *v,
                        const struct exfat_stat *st) {
        struct fuse_entry_param e;
        entry_from_exfat(v, st, &e);
        if (fuse_reply_entry(req, &e) < 0)
                exfat_forget(vol, st->ino, 1);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn) {
        struct worker_fs *fs = userdata;

        /* Reads of one file may run in parallel; the library is thread-safe. */
        if (conn->capable & FUSE_CAP_ASYNC_READ)
                conn->want |= FUSE_CAP_ASYNC_READ;
        if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
                conn->want |= FUSE_CAP_PARALLEL_DIROPS;
        if (conn->capable & FUSE_CAP_READDIRPLUS)
                conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
        /* No writeback cache: its writes reach us only after write() returned, so a full volume
         * shows up as EIO at close() (measured: Linux 6.1) while the kernel keeps pages and a
         * file size that never made it to the device. exFAT allocates at write time, so
         * ENOSPC must come from write() itself. The price, measured here: 4 KiB write()s run
         * at about half the speed (~130 vs ~240 MB/s); 1 MiB writes show no clear difference.
         * Written data still lands in the page cache, and keep_cache keeps it across opens. */
        conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
        /* O_TRUNC comes as a separate setattr instead; nothing else changes behind our back, so
         * the page cache needs no invalidation on attribute changes. Requests are not spliced in
         * (SPLICE_READ): libfuse would then read every non-WRITE request out of a pipe, one
         * system call more each. */
        conn->want &= ~(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_SPLICE_READ |
                        FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
        /* READ replies are spliced from the device's page cache to /dev/fuse (see op_read). */
        if (fs->data_fd >= 0 && (conn->capable & FUSE_CAP_SPLICE_WRITE))
                conn->want |= FUSE_CAP_SPLICE_WRITE | (conn->capable & FUSE_CAP_SPLICE_MOVE);
        /* libfuse asks the kernel for max_pages from max_write: 1 MiB WRITEs. READs are smaller:
         * max_read, a mount option (readahead.h says why), which libfuse wants repeated here. */
        conn->max_write = 1024 * 1024;
        conn->max_read = FUSE_MAX_READ;
        conn->max_readahead = 1024 * 1024;
        conn->max_background = 64;
        conn->congestion_threshold = 48;
        conn->time_gran = 10 * 1000 * 1000; /* exFAT keeps modification times to 10 ms */
}

static void op_destroy(void *userdata) {
        /* umount of a fuseblk mount waits for this reply: flush before answering, so a returned
         * umount means a clean volume. */
        worker_fs_finish(userdata);
}

/* ---- names ------------------------------------------------------------------------------ */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
        LOCK_VOLUME(req);
        struct exfat_stat st;
        int r = exfat_lookup(vol, parent, name, &st);
        if (r == -ENOENT) {
                /* No negative caching: another spelling of the name may be created later. */
                struct fuse_entry_param e = {};
                fuse_reply_entry(req, &e);
                return;
        }
        if (r < 0)
                return reply_error(req, "lookup", parent, r);
        reply_entry(req, vol, &fs->view, &st);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
        struct worker_fs *fs = fuse_req_userdata(req);
        _cleanup_(fs_unlockp) struct worker_fs *locked = fs_lock(fs);
        if (locked)
                exfat_forget(fs->vol, ino, nlookup);
        fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
        struct worker_fs *fs = fuse_req_userdata(req);
        _cleanup_(fs_unlockp) struct worker_fs *locked = fs_lock(fs);
        if (locked)
                for (size_t i = 0; i < count; i++)
                        exfat_forget(fs->vol, forgets[i].ino, forgets[i].nlookup);
        fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        struct exfat_stat st;
        struct stat s;
        int r = exfat_getattr(vol, ino, &st);
        if (r < 0)
                return reply_error(req, "getattr", ino, r);
        stat_from_exfat(&fs->view, &st, &s);
        fuse_reply_attr(req, &s, ATTR_TIMEOUT);
}

static struct timespec time_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        struct exfat_setattr sa = {};
        struct exfat_stat st;
        struct stat s;
        int r;

        /* Owners are a mount-wide view; there is nothing to store a different one in. */
        if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->view.uid)
                return (void) fuse_reply_err(req, EPERM);
        if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->view.gid)
                return (void) fuse_reply_err(req, EPERM);

        if (to_set & FUSE_SET_ATTR_MODE) {
                r = exfat_getattr(vol, ino, &st);
                if (r < 0)
                        return reply_error(req, "setattr", ino, r);
                /* Only the owner's write bit has a place on disk: the READ_ONLY attribute. */
                if (!EXFAT_IS_DIR(&st)) {
                        uint16_t a = st.attributes & ~EXFAT_ATTR_READ_ONLY;
                        if (!(attr->st_mode & S_IWUSR))
                                a |= EXFAT_ATTR_READ_ONLY;
                        if (a != st.attributes) {
                                sa.attributes = a & (EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN |
                                                     EXFAT_ATTR_SYSTEM | EXFAT_ATTR_ARCHIVE);
                                sa.valid |= EXFAT_SET_ATTRIBUTES;
                        }
                }
        }
        if (to_set & FUSE_SET_ATTR_SIZE) {
                if (attr->st_size < 0)
                        return (void) fuse_reply_err(req, EINVAL);
                sa.size = (uint64_t) attr->st_size;
                sa.valid |= EXFAT_SET_SIZE;
        }
        if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
                sa.atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? time_now() : attr->st_atim;
                sa.valid |= EXFAT_SET_ATIME;
        }
        if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
                sa.mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? time_now() : attr->st_mtim;
                sa.valid |= EXFAT_SET_MTIME;
        }

        if (sa.valid != 0)
                r = exfat_setattr(vol, ino, &sa, &st);
        else
                r = exfat_getattr(vol, ino, &st);
        if (r < 0)
                return reply_error(req, "setattr", ino, r);
        stat_from_exfat(&fs->view, &st, &s);
        fuse_reply_attr(req, &s, ATTR_TIMEOUT);
}

static uint16_t attributes_for_mode(mode_t mode) {
        /* New files get ARCHIVE, as Windows does; a mode without the owner's write bit asks for
         * a read-only file. */
        return EXFAT_ATTR_ARCHIVE | ((mode & S_IWUSR) ? 0 : EXFAT_ATTR_READ_ONLY);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
        LOCK_VOLUME(req);
        struct exfat_stat st;
        if (!S_ISREG(mode))
                return (void) fuse_reply_err(req, EPERM);
        int r = exfat_create(vol, parent, name, attributes_for_mode(mode), &st);
        if (r < 0)
                return reply_error(req, "mknod", parent, r);
        reply_entry(req, vol, &fs->view, &st);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
        LOCK_VOLUME(req);
        struct exfat_stat st;
        int r = exfat_mkdir(vol, parent, name, &st);
        if (r < 0)
                return reply_error(req, "mkdir", parent, r);
        reply_entry(req, vol, &fs->view, &st);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
        LOCK_VOLUME(req);
        int r = exfat_unlink(vol, parent, name);
        if (r < 0)
                return reply_error(req, "unlink", parent, r);
        fuse_reply_err(req, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
        LOCK_VOLUME(req);
        int r = exfat_rmdir(vol, parent, name);
        if (r < 0)
                return reply_error(req, "rmdir", parent, r);
        fuse_reply_err(req, 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
        LOCK_VOLUME(req);
        unsigned f = 0;
        /* RENAME_EXCHANGE cannot be made atomic on exFAT; RENAME_WHITEOUT is for overlayfs. */
        if (flags & ~RENAME_NOREPLACE)
                return (void) fuse_reply_err(req, EINVAL);
        if (flags & RENAME_NOREPLACE)
                f |= EXFAT_RENAME_NOREPLACE;
        int r = exfat_rename(vol, parent, name, newparent, newname, f);
        if (r < 0)
                return reply_error(req, "rename", parent, r);
        fuse_reply_err(req, 0);
}

static void op_no_links(fuse_req_t req) {
        /* exFAT has neither hard nor symbolic links; say so like vfat does. */
        fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
        op_no_links(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
        op_no_links(req);
}

/* ---- files ------------------------------------------------------------------------------ */

static void file_opened(struct worker_fs *fs) {
        atomic_fetch_add(&fs->open_handles, 1);
        atomic_fetch_add(&fs->open_files, 1);
}

/* The last file closed: nobody reads, the READ buffers go back to the system until the next. */
static void file_closed(struct worker_fs *fs) {
        if (atomic_fetch_sub(&fs->open_files, 1) == 1 && atomic_load(&fs->direct_reads))
                direct_reader_trim(&fs->direct);
        atomic_fetch_sub(&fs->open_handles, 1);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        struct fuse_entry_param e;
        struct exfat_stat st;
        int r;

        if (!S_ISREG(mode))
                return (void) fuse_reply_err(req, EPERM);
        r = exfat_create(vol, parent, name, attributes_for_mode(mode), &st);
        if (r < 0)
                return reply_error(req, "create", parent, r);
        r = exfat_open(vol, st.ino);
        if (r < 0) {
                exfat_forget(vol, st.ino, 1);
                return reply_error(req, "create", parent, r);
        }
        fi->keep_cache = 1;
        entry_from_exfat(&fs->view, &st, &e);
        /* Counted before the reply: the release may overtake the count otherwise. */
        file_opened(fs);
        if (fuse_reply_create(req, &e, fi) < 0) {
                file_closed(fs);
                exfat_release(vol, st.ino);
                exfat_forget(vol, st.ino, 1);
        }
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        if (fs->view.read_only && (fi->flags & O_ACCMODE) != O_RDONLY)
                return (void) fuse_reply_err(req, EROFS);
        int r = exfat_open(vol, ino);
        if (r < 0)
                return reply_error(req, "open", ino, r);
        /* Nobody else changes the volume while it is mounted: cached pages stay valid. */
        fi->keep_cache = 1;
        file_opened(fs);
        if (fuse_reply_open(req, fi) < 0) {
                file_closed(fs);
                exfat_release(vol, ino);
        }
}

/* Zeros for the part of a read past ValidDataLength (reads are at most FUSE_MAX_READ). */
static const uint8_t zeros[FUSE_MAX_READ];

struct read_reply {
        fuse_req_t req;
        int fd;
        int status;    /* what fuse_reply_data() returned */
};

/* Runs with the file's clusters pinned by the library: libfuse splices the device's page cache
 * into /dev/fuse (one copy fewer than pread + write), or reads the fd itself where it cannot. */
static int reply_extents(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct read_reply *rr = ctx;
        size_t nbufs = 0;

        struct fuse_bufvec *bv = calloc(1, sizeof(*bv) + (count + 1) * sizeof(struct fuse_buf));
        if (!bv)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                if (ext[i].dev_offset == EXFAT_EXTENT_ZERO) {
                        for (uint64_t left = ext[i].length; left > 0;) {
                                /* A larger request cannot come; stay correct anyway. */
                                if (nbufs > count) {
                                        free(bv);
                                        return -EINVAL;
                                }
                                size_t n = left < sizeof(zeros) ? (size_t) left : sizeof(zeros);
                                bv->buf[nbufs++] = (struct fuse_buf) { .size = n, .mem = (void *) zeros };
                                left -= n;
                        }
                } else
                        bv->buf[nbufs++] = (struct fuse_buf) {
                                .size = (size_t) ext[i].length,
                                .flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY,
                                .fd = rr->fd,
                                .pos = (off_t) ext[i].dev_offset,
                        };
        }
        bv->count = nbufs;
        bv->idx = 0;
        bv->off = 0;
        (void) total;
        rr->status = fuse_reply_data(rr->req, bv, FUSE_BUF_SPLICE_MOVE);
        free(bv);
        return 0;
}

struct direct_reply {
        fuse_req_t req;
        struct direct_reader *reader;
        bool refused;  /* the device refused O_DIRECT reads as such: nothing replied */
};

/* Runs with the file's clusters pinned by the library, like reply_extents. */
static int reply_direct(void *ctx, const struct exfat_extent *ext, size_t count, uint64_t total) {
        struct direct_reply *dr = ctx;
        struct direct_read rd;

        int r = direct_reader_read(dr->reader, ext, count, &rd);
        if (r == -EINVAL)
                dr->refused = true;
        if (r < 0)
                return r;
        if (rd.iov_count == 0)
                fuse_reply_buf(dr->req, NULL, 0);
        else
                fuse_reply_iov(dr->req, rd.iov, (int) rd.iov_count);
        direct_read_release(dr->reader, &rd);
        return 0;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        _cleanup_(freep) void *buf = NULL;
        if (off < 0)
                return (void) fuse_reply_err(req, EINVAL);
        if (atomic_load(&fs->direct_reads)) {
                struct direct_reply dr = { .req = req, .reader = &fs->direct };
                int r = exfat_read_extents(vol, ino, (uint64_t) off, size, reply_direct, &dr);
                if (!dr.refused) {
                        if (r < 0)
                                return reply_error(req, "read", ino, r);
                        return;
                }
                /* Once is enough to know; the page cache path below serves this READ and the rest. */
                if (atomic_exchange(&fs->direct_reads, false))
                        log_warning("%s: the device refuses O_DIRECT reads, reading file data through the page "
                                    "cache from now on", fs->device);
        }
        if (fs->data_fd >= 0) {
                struct read_reply rr = { .req = req, .fd = fs->data_fd };
                int r = exfat_read_extents(vol, ino, (uint64_t) off, size, reply_extents, &rr);
                if (r < 0)
                        return reply_error(req, "read", ino, r);
                /* A failed device read inside libfuse has already been answered with its error. */
                return;
        }
        buf = malloc(size > 0 ? size : 1);
        if (!buf)
                return (void) fuse_reply_err(req, ENOMEM);
        ssize_t n = exfat_read(vol, ino, buf, size, (uint64_t) off);
        if (n < 0)
                return reply_error(req, "read", ino, (int) n);
        fuse_reply_buf(req, buf, (size_t) n);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        if (off < 0)
                return (void) fuse_reply_err(req, EINVAL);
        ssize_t n = exfat_write(vol, ino, buf, size, (uint64_t) off);
        if (n < 0)
                return reply_error(req, "write", ino, (int) n);
        fuse_reply_write(req, (size_t) n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        struct worker_fs *fs = fuse_req_userdata(req);
        _cleanup_(fs_unlockp) struct worker_fs *locked = fs_lock(fs);
        if (locked)
                exfat_release(fs->vol, ino);
        file_closed(fs);
        fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        int r = exfat_fsync(vol, ino, datasync != 0);
        if (r < 0)
                return reply_error(req, "fsync", ino, r);
        fuse_reply_err(req, 0);
}

/* ---- directories ------------------------------------------------------------------------ */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        struct worker_fs *fs = fuse_req_userdata(req);
        /* Directory listings change only through this server, which the kernel sees. */
        fi->cache_readdir = 1;
        fi->keep_cache = 1;
        atomic_fetch_add(&fs->open_handles, 1);
        if (fuse_reply_open(req, fi) < 0)
                atomic_fetch_sub(&fs->open_handles, 1);
}

struct dirbuf {
        fuse_req_t req;
        const struct worker_view *view;
        char *buf;
        size_t size, used;
        bool plus;
};

static int dirbuf_add(struct dirbuf *d, const char *name, const struct exfat_stat *st, off_t off) {
        size_t left = d->size - d->used, n;

        if (d->plus) {
                struct fuse_entry_param e;
                entry_from_exfat(d->view, st, &e);
                n = fuse_add_direntry_plus(d->req, d->buf + d->used, left, name, &e, off);
        } else {
                /* A plain entry carries only the inode and the file type. */
                struct stat s = { .st_ino = st->ino, .st_mode = EXFAT_IS_DIR(st) ? S_IFDIR : S_IFREG };
                n = fuse_add_direntry(d->req, d->buf + d->used, left, name, &s, off);
        }
        if (n > left)
                return 1; /* full: the entry was not added */
        d->used += n;
        return 0;
}

static int dirbuf_cb(void *ctx, const char *name, const struct exfat_stat *st, uint64_t next_cookie) {
        return dirbuf_add(ctx, name, st, (off_t) (next_cookie + DIR_COOKIE_BASE));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
        LOCK_VOLUME(req);
        _cleanup_(freep) char *buf = malloc(size > 0 ? size : 1);
        struct dirbuf d = { .req = req, .view = &fs->view, .buf = buf, .size = size, .plus = plus };
        struct exfat_stat self;
        int r;

        if (!buf)
                return (void) fuse_reply_err(req, ENOMEM);
        if (off < 0)
                return (void) fuse_reply_err(req, EINVAL);

        if (off < DIR_COOKIE_BASE) {
                /* "." and ".." take no lookup reference, even in readdirplus. */
                r = exfat_getattr(vol, ino, &self);
                if (r < 0)
                        return reply_error(req, "readdir", ino, r);
                if (off < 1 && dirbuf_add(&d, ".", &self, 1) != 0)
                        goto done;
                if (dirbuf_add(&d, "..", &self, 2) != 0)
                        goto done;
                off = DIR_COOKIE_BASE;
        }

        r = exfat_readdir(vol, ino, (uint64_t) (off - DIR_COOKIE_BASE), plus ? EXFAT_READDIR_PLUS : 0, dirbuf_cb, &d);
        if (r < 0 && d.used == 0)
                return reply_error(req, "readdir", ino, r);
done:
        fuse_reply_buf(req, buf, d.used);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        do_readdir(req, ino, size, off, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        struct worker_fs *fs = fuse_req_userdata(req);
        atomic_fetch_sub(&fs->open_handles, 1);
        fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
        LOCK_VOLUME(req);
        int r = exfat_fsync(vol, ino, datasync != 0);
        if (r < 0)
                return reply_error(req, "fsyncdir", ino, r);
        fuse_reply_err(req, 0);
}

/* ---- volume ----------------------------------------------------------------------------- */

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
        LOCK_VOLUME(req);
        struct exfat_statfs st;
        struct statvfs sv = {};
        int r = exfat_statfs(vol, &st);
        if (r < 0)
                return reply_error(req, "statfs", ino, r);
        sv.f_bsize = st.cluster_size;
        sv.f_frsize = st.cluster_size;
        sv.f_blocks = st.total_clusters;
        sv.f_bfree = st.free_clusters;
        sv.f_bavail = st.free_clusters;
        /* No inode table: every free cluster could hold a file. */
        sv.f_files = st.total_clusters;
        sv.f_ffree = st.free_clusters;
        sv.f_favail = st.free_clusters;
        sv.f_namemax = st.name_max;
        fuse_reply_statfs(req, &sv);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
        /* exFAT has no extended attributes: an empty list. */
        if (size == 0)
                fuse_reply_xattr(req, 0);
        else
                fuse_reply_buf(req, NULL, 0);
}

/* Left unimplemented on purpose, so that ENOSYS makes the kernel stop asking: flush (close() is
 * no durability point here, and fuseblk would wait for each FLUSH round trip), and
 * getxattr/setxattr/removexattr (the kernel then answers EOPNOTSUPP itself). */
const struct fuse_lowlevel_ops worker_fuse_ops = {
        .init = op_init,
        .destroy = op_destroy,
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
        .link = op_link,
        .symlink = op_symlink,
        .create = op_create,
        .open = op_open,
        .read = op_read,
        .write = op_write,
        .release = op_release,
        .fsync = op_fsync,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .readdirplus = op_readdirplus,
        .releasedir = op_releasedir,
        .fsyncdir = op_fsyncdir,
        .statfs = op_statfs,
        .listxattr = op_listxattr,
};
