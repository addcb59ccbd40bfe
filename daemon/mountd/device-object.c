/* SPDX-License-Identifier: MIT */
/* /org/exfat/Mountd1/devices/<escaped kernel name>: an exFAT block device, mounted or not. Its Mount
 * property points to the Mount object while there is one, so a client sees both from one
 * GetManagedObjects. */
#include "device-object.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-object.h"
#include "util.h"

DeviceObject *device_object_find(Manager *mgr, const char *sysname) {
        DeviceObject *d;
        LIST_FOREACH(d, &mgr->devices, in_manager)
                if (strcmp(d->sysname, sysname) == 0)
                        return d;
        return NULL;
}

/* Only an exported Mount counts: one still being set up or torn down has no object to point to. */
Mount *device_object_mount(Manager *mgr, dev_t devnum) {
        Mount *m;
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                if (m->devnum == devnum && m->object_slot && m->object_path)
                        return m;
        return NULL;
}

static const char *dirty_string(Mount *m) {
        if (!m)
                return "unknown";
        return m->dirty ? "dirty" : "clean";
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        DeviceObject *d = userdata;

        if (strcmp(property, "Device") == 0)
                return sd_bus_message_append(reply, "s", d->info.node);
        if (strcmp(property, "Label") == 0)
                return sd_bus_message_append(reply, "s", d->info.label);
        if (strcmp(property, "Uuid") == 0)
                return sd_bus_message_append(reply, "s", d->info.uuid);
        if (strcmp(property, "Size") == 0)
                return sd_bus_message_append(reply, "t", d->info.size);
        if (strcmp(property, "Removable") == 0)
                return sd_bus_message_append(reply, "b", d->removable);
        if (strcmp(property, "Mount") == 0) {
                Mount *m = device_object_mount(d->manager, d->devnum);
                return sd_bus_message_append(reply, "o", m ? m->object_path : "/");
        }
        if (strcmp(property, "Dirty") == 0)
                return sd_bus_message_append(reply, "s", dirty_string(device_object_mount(d->manager, d->devnum)));
        return -ENOENT;
}

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Device", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Label", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Uuid", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Size", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Removable", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mount", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Dirty", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static DeviceObject *device_object_free(DeviceObject *d) {
        if (!d)
                return NULL;
        list_remove(&d->in_manager);
        sd_bus_slot_unref(d->slot);
        device_info_done(&d->info);
        free(d->sysname);
        free(d->object_path);
        free(d);
        return NULL;
}

static int device_object_add(Manager *mgr, const char *sysname, dev_t devnum, struct device_info *info,
                             bool removable) {
        DeviceObject *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        d->manager = mgr;
        d->devnum = devnum;
        d->removable = removable;
        d->sysname = strdup(sysname);
        if (!d->sysname) {
                device_object_free(d);
                return -ENOMEM;
        }
        r = device_object_path(sysname, &d->object_path);
        if (r < 0) {
                device_object_free(d);
                return r;
        }
        /* Complete before it is exported: the announcement reads every property. */
        d->info = *info;
        *info = (struct device_info) {};
        list_push_front(&mgr->devices, &d->in_manager);
        r = bus_object_export(mgr->bus, &d->slot, d->object_path, MOUNTD_DEVICE_IFACE, device_vtable, d, d->info.node);
        if (r < 0) {
                device_object_free(d);
                return r;
        }
        log_debug("%s: exFAT device exported as %s", d->info.node, d->object_path);
        return 0;
}

int device_object_update(Manager *mgr, const char *sysname, dev_t devnum, struct device_info *info, bool removable) {
        DeviceObject *d = device_object_find(mgr, sysname);
        const char *changed[5];
        size_t n = 0;

        /* The same kernel name with another number is another device (a loop device re-created):
         * the old object goes, so that a client never mixes the two. */
        if (d && (d->devnum != devnum || strcmp(d->info.node, info->node) != 0)) {
                device_object_remove(mgr, sysname);
                d = NULL;
        }
        if (!d)
                return device_object_add(mgr, sysname, devnum, info, removable);

        unsigned diff = device_info_diff(&d->info, info);
        if (diff & DEVICE_PROP_LABEL)
                changed[n++] = "Label";
        if (diff & DEVICE_PROP_UUID)
                changed[n++] = "Uuid";
        if (diff & DEVICE_PROP_SIZE)
                changed[n++] = "Size";
        if (d->removable != removable)
                changed[n++] = "Removable";
        changed[n] = NULL;

        device_info_done(&d->info);
        d->info = *info;
        *info = (struct device_info) {};
        d->removable = removable;
        if (n > 0) {
                int r = sd_bus_emit_properties_changed_strv(mgr->bus, d->object_path, MOUNTD_DEVICE_IFACE,
                                                            (char **) changed);
                if (r < 0)
                        log_warning("%s: cannot announce changed properties: %s", d->info.node, strerr(r));
        }
        return 0;
}

void device_object_remove(Manager *mgr, const char *sysname) {
        DeviceObject *d = device_object_find(mgr, sysname);

        if (!d)
                return;
        bus_object_unexport(mgr->bus, &d->slot, d->object_path, d->info.node);
        log_debug("%s: exFAT device %s withdrawn", d->info.node, d->object_path);
        device_object_free(d);
}

void device_objects_free(Manager *mgr) {
        DeviceObject *d;
        while ((d = list_first(&mgr->devices, DeviceObject, in_manager)))
                device_object_free(d);
}

void device_objects_mount_changed(Manager *mgr, dev_t devnum) {
        DeviceObject *d;
        LIST_FOREACH(d, &mgr->devices, in_manager)
                if (d->devnum == devnum)
                        (void) sd_bus_emit_properties_changed(mgr->bus, d->object_path, MOUNTD_DEVICE_IFACE,
                                                              "Mount", "Dirty", NULL);
}
