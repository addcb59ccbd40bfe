/* SPDX-License-Identifier: MIT */
#pragma once

/* FUSE low-level operations on top of libexfat, shared by the standalone and service modes.
 * The userdata of the FUSE session is a struct worker_fs. */

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "direct-read.h"
#include "exfat.h"

/* How files look to users; the volume itself has no owners nor Unix modes. */
struct worker_view {
        uid_t uid;
        gid_t gid;
        mode_t dmask;           /* bits removed from directories' 0777 */
        mode_t fmask;           /* bits removed from files' 0777 */
        bool noexec;            /* files never show x bits */
        bool read_only;
};

struct worker_fs {
        /* Held shared by every operation and exclusively by worker_fs_finish(), so that the
         * volume is never freed under a request still running. */
        pthread_rwlock_t lock;
        struct exfat_volume *vol;  /* NULL once finished */
        bool finished;
        int finish_status;
        struct worker_view view;
        const char *device;        /* for log lines */
        atomic_long open_handles;  /* open files and directories, all mount namespaces */
        atomic_long open_files;    /* of the above, regular files */
        int data_fd;               /* the device behind the volume's fd backend, for reads that
                                    * splice from it; -1: reads copy through exfat_read */
        struct direct_reader direct;
        atomic_bool direct_reads;  /* READ replies come from direct (else data_fd, else copies) */
};

extern const struct fuse_lowlevel_ops worker_fuse_ops;

void worker_fs_init(struct worker_fs *fs, struct exfat_volume *vol, const struct worker_view *view,
                    const char *device);

/* Where READ replies get file data: direct_fd, the device opened with O_DIRECT (preferred), else
 * splice_fd (see fuse_ops.c), else copies through exfat_read; -1 for none. Call before serving. */
void worker_fs_read_from(struct worker_fs *fs, int direct_fd, int splice_fd);

/* Flushes and unmounts the volume once (later calls return the first result): writes all data
 * back, clears VolumeDirty and flushes the device. Requests arriving afterwards get EIO. */
int worker_fs_finish(struct worker_fs *fs);

/* Runs fn on the live volume under the shared lock; -ESHUTDOWN once finished. */
int worker_fs_with_volume(struct worker_fs *fs, int (*fn)(struct exfat_volume *vol, void *arg), void *arg);

/* Frees what init set up (call after finish, when no thread uses fs any more). */
void worker_fs_done(struct worker_fs *fs);
