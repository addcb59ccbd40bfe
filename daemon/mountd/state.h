/* SPDX-License-Identifier: MIT */
#pragma once

#include "mountd.h"

/* The record of established mounts under /run/exfat-mountd, rewritten (atomically) whenever a
 * mount is established or ends, so that a restarted daemon can re-adopt them. */
int state_save(Manager *mgr);

/* Re-adopts the recorded mounts: each must still be in mountinfo, its worker unit active and its
 * link socket back from systemd's fd store. Others are cleaned up. */
int state_restore(Manager *mgr);

/* Keeps our end of a worker's link in systemd's fd store so that it survives a daemon restart. */
int state_store_fd(Mount *m);
void state_forget_fd(Mount *m);
