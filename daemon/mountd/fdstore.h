/* SPDX-License-Identifier: MIT */
#pragma once

#include "mountd.h"

/* systemd's file descriptor store, where our ends of the worker links outlive a daemon restart.
 * Each is named "worker-MAJ-MIN" (m->fdname). Without $NOTIFY_SOCKET these do nothing. */
void fdstore_keep(Mount *m);
void fdstore_forget(Mount *m);
/* Removes a name nobody re-adopted. */
void fdstore_remove(const char *name);
int fdstore_name(dev_t devnum, char **ret);
