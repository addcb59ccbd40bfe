/* SPDX-License-Identifier: MIT */
#pragma once

/* One D-Bus object per exFAT block device udev knows of (org.exfat.Mountd1.Device), mounted or
 * not, announced and withdrawn through the ObjectManager signals: what a tray applet offers to
 * mount. Fed by device-monitor.c. */

#include <sys/types.h>

#include "device-info.h"
#include "mountd.h"

#define MOUNTD_DEVICE_IFACE "org.exfat.Mountd1.Device"

struct DeviceObject {
        Manager *manager;
        struct list_node in_manager;
        char *sysname;           /* kernel name, the key ("sdb1") */
        dev_t devnum;
        struct device_info info;
        bool removable;
        char *object_path;
        sd_bus_slot *slot;
};

/* Exports the device, or updates it (PropertiesChanged for what changed). Takes info's strings. */
int device_object_update(Manager *mgr, const char *sysname, dev_t devnum, struct device_info *info, bool removable);
/* Withdraws the device's object, if there is one. */
void device_object_remove(Manager *mgr, const char *sysname);
/* Frees every object without signals (the daemon exits). */
void device_objects_free(Manager *mgr);
DeviceObject *device_object_find(Manager *mgr, const char *sysname);

/* The hook for mount-object.c: the Mount object of devnum appeared or went away. */
void device_objects_mount_changed(Manager *mgr, dev_t devnum);

/* The exported Mount of devnum, or NULL. */
Mount *device_object_mount(Manager *mgr, dev_t devnum);
