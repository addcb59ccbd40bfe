/* SPDX-License-Identifier: MIT */
#pragma once

/* Creating, mounting and running the FUSE session; the same for both modes. */

#include <stdbool.h>

#include "fuse-ops.h"

struct worker_session;

/* Creates a session serving fs. mount_options: libfuse "-o" options ("fsname=...,blkdev"), or
 * NULL when the kernel mount already exists (service mode). mount_target: the mount point, or
 * "/dev/fd/N" for a /dev/fuse fd mounted by someone else (libfuse then adopts the fd and never
 * unmounts anything). */
int session_new(struct worker_fs *fs, const char *mount_options, const char *mount_target,
                struct worker_session **ret);

/* Serves requests with several threads until the kernel ends the connection (unmount) or
 * session_stop(). Must be called from the thread that created the session. 0 or -errno. */
int session_run(struct worker_session *s);

/* Ends session_run() from any thread, also when the kernel mount still exists. */
void session_stop(struct worker_session *s);

/* Closes the /dev/fuse fd (aborting the connection if still mounted) and frees the session. A
 * mount this session made itself is detached too if still there, unless mount_gone says it left
 * this namespace already (something else may be mounted on that path by now). */
void session_free(struct worker_session *s, bool mount_gone);
