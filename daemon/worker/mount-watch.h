/* SPDX-License-Identifier: MIT */
#pragma once

/* Standalone mode's supervisor: ends the session when the mount is gone, even when another mount
 * namespace keeps the superblock alive (the kernel then never sends DESTROY), and turns
 * SIGINT/SIGTERM/SIGHUP into an unmount. */

#include "fuse-ops.h"
#include "session.h"

struct mount_watch;

/* Blocks SIGINT/SIGTERM/SIGHUP in the calling thread (call before other threads exist), so that
 * only the watch thread sees them. */
int mount_watch_block_signals(void);

/* Starts watching; mountpoint must be canonical (as /proc/self/mountinfo shows it). */
int mount_watch_start(struct worker_session *s, struct worker_fs *fs, const char *mountpoint,
                      struct mount_watch **ret);

/* Stops and frees the watch; call before freeing the session. Returns true when the mount had
 * left this namespace. */
bool mount_watch_stop(struct mount_watch *w);
