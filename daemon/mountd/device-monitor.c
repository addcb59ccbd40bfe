/* SPDX-License-Identifier: MIT */
/* udev's view of block devices (sd-device), turned into Device objects: an enumeration at start,
 * then the processed uevents udevd broadcasts. A device counts while udev's database says
 * ID_FS_TYPE=exfat; a "change" that loses it (reformatted, loop device detached, medium gone) or a
 * "remove" withdraws the object. */
#include "device-monitor.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-device.h>

#include "device-object.h"
#include "devices.h"
#include "util.h"

#define UDEV_CONTROL "/run/udev/control"

static void props_from_device(sd_device *dev, struct device_props *p) {
        *p = (struct device_props) {};
        (void) sd_device_get_devname(dev, &p->devname);
        (void) sd_device_get_property_value(dev, "ID_FS_TYPE", &p->fs_type);
        (void) sd_device_get_property_value(dev, "ID_FS_LABEL_ENC", &p->label_enc);
        (void) sd_device_get_property_value(dev, "ID_FS_LABEL", &p->label);
        (void) sd_device_get_property_value(dev, "ID_FS_UUID", &p->uuid);
        /* sysfs, not the device: the kernel's own number, never I/O on the medium. */
        (void) sd_device_get_sysattr_value(dev, "size", &p->size);
}

static void device_seen(Manager *mgr, sd_device *dev) {
        struct device_props p;
        struct device_info info = {};
        const char *sysname;
        dev_t devnum;
        int r;

        if (sd_device_get_sysname(dev, &sysname) < 0)
                return;
        props_from_device(dev, &p);
        if (!device_props_is_exfat(&p) || sd_device_get_devnum(dev, &devnum) < 0) {
                device_object_remove(mgr, sysname);
                return;
        }
        r = device_info_from_props(&p, &info);
        if (r < 0) {
                log_warning("block device %s: cannot read what udev says about it: %s", sysname, strerr(r));
                return;
        }
        /* sysfs and udev's database only (and the removable-devices config file). */
        bool removable = device_is_removable(info.node, devnum);
        r = device_object_update(mgr, sysname, devnum, &info, removable);
        device_info_done(&info);
        if (r < 0)
                log_warning("%s: cannot export the device: %s", p.devname, strerr(r));
}

/* The uevent only says which device to look at again: its state is read from our udev database
 * and sysfs. Any udevd in the network namespace reaches the monitor, and a second one (a test
 * box's beside the host's) has its own view, which must not withdraw our devices. Our udevd writes
 * the database before it broadcasts, and deletes the entry on "remove", so the database is never
 * behind the event. */
static int on_uevent(sd_device_monitor *monitor, sd_device *dev, void *userdata) {
        _cleanup_(sd_device_unrefp) sd_device *fresh = NULL;
        Manager *mgr = userdata;
        const char *syspath, *sysname;

        if (sd_device_get_syspath(dev, &syspath) < 0 || sd_device_get_sysname(dev, &sysname) < 0)
                return 0;
        if (sd_device_new_from_syspath(&fresh, syspath) < 0) {
                device_object_remove(mgr, sysname);
                return 0;
        }
        device_seen(mgr, fresh);
        return 0;
}

static int enumerate(Manager *mgr) {
        _cleanup_(sd_device_enumerator_unrefp) sd_device_enumerator *e = NULL;
        int r;

        r = sd_device_enumerator_new(&e);
        if (r >= 0)
                r = sd_device_enumerator_add_match_subsystem(e, "block", true);
        if (r >= 0)
                r = sd_device_enumerator_add_match_property(e, "ID_FS_TYPE", "exfat");
        if (r < 0)
                return r;
        for (sd_device *d = sd_device_enumerator_get_device_first(e); d; d = sd_device_enumerator_get_device_next(e))
                device_seen(mgr, d);
        return 0;
}

int device_monitor_start(Manager *mgr) {
        _cleanup_(sd_device_monitor_unrefp) sd_device_monitor *monitor = NULL;
        int r;

        if (access(UDEV_CONTROL, F_OK) < 0) {
                log_info("udev is not running (no %s): no devices are exported, mounting works as before", UDEV_CONTROL);
                return 0;
        }
        /* Subscribed before enumerating, so that no device falls between the two. */
        r = sd_device_monitor_new(&monitor);
        if (r >= 0)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(monitor, "block", NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(monitor, mgr->event);
        if (r >= 0)
                r = sd_device_monitor_start(monitor, on_uevent, mgr);
        if (r < 0) {
                log_error("cannot follow udev's block devices: %s", strerr(r));
                return r;
        }
        mgr->device_monitor = TAKE_PTR(monitor);
        r = enumerate(mgr);
        if (r < 0)
                log_warning("cannot list udev's exFAT devices: %s", strerr(r));
        return 0;
}

void device_monitor_stop(Manager *mgr) {
        mgr->device_monitor = sd_device_monitor_unref(mgr->device_monitor);
        device_objects_free(mgr);
}
