/* SPDX-License-Identifier: MIT */
#pragma once

#include "options.h"

/* "exfat-worker DEVICE MOUNTPOINT": mounts like mount.exfat-fuse and serves in the foreground
 * until the filesystem is unmounted. Returns the process exit status. */
int standalone_run(const char *device, const char *mountpoint, struct worker_options *o);
