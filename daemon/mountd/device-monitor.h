/* SPDX-License-Identifier: MIT */
#pragma once

#include "mountd.h"

/* Follows exFAT block devices through udev: exports the ones udev knows now, then adds, updates
 * and withdraws Device objects on uevents. Without udevd (no /run/udev/control) it logs once and
 * exports nothing; the daemon works as before. Only udev's database and sysfs are read, never the
 * device, so nothing here can block on a slow or hostile stick. */
int device_monitor_start(Manager *mgr);
void device_monitor_stop(Manager *mgr);
