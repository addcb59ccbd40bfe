/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define DEVICE_PATH_MAX 1024

/* Syntax only: absolute, not too long. */
bool device_path_valid(const char *path);

/* A caller's device path: under /dev only, resolved inside /dev's own filesystem (symlinks such as
 * /dev/disk/by-label/X included; nothing that leads out of it or crosses a mount), so that no
 * lookup can reach a FUSE server. -ENOENT (not there, or outside /dev), -ENOTBLK, or 0 with the
 * canonical path (malloc'd) and its device number. */
int device_resolve(const char *path, char **ret_path, dev_t *ret_devnum);

/* True when some mount (in our mount namespace) uses the device. <0 when mountinfo is unreadable. */
int device_is_mounted(dev_t devnum);
/* The same for a mountinfo file (whole lines, however long). */
int mountinfo_has_device(const char *mountinfo, dev_t devnum);

/* Claims the device exclusively (an O_EXCL fd, *ret_claim_fd: -EBUSY when it is mounted or claimed
 * already), then opens it again without O_EXCL (*ret_fd, the one handed to the worker) and checks
 * both are still the device devnum. The claim lasts until *ret_claim_fd is closed: before mount(2),
 * which makes its own claim, or once a relabelling worker has exited. */
int device_open(const char *path, dev_t devnum, bool read_only, int *ret_claim_fd, int *ret_fd);

/* The same device opened again (a new open file) with O_DIRECT and fd's access mode (read-only
 * or read-write); -1 when that fails. */
int device_reopen_direct(int fd);

/* Removable when the kernel says so (the disk's "removable" attribute), when udev reports the disk on
 * USB (ID_BUS in /run/udev/data/bMAJ:MIN), when a parent device in sysfs is a USB device or an SD
 * card (not eMMC), or when the config file lists it (one path or glob per line). */
bool device_is_removable(const char *path, dev_t devnum);

/* The same, with the sysfs root, the udev data directory and the config file given (tests). */
struct removable_roots {
        const char *sysfs;      /* "/sys" */
        const char *udev_data;  /* "/run/udev/data" */
        const char *config;     /* SYSCONFDIR "/exfat-mountd/removable-devices" */
};
bool device_is_removable_at(const struct removable_roots *roots, const char *path, dev_t devnum);
