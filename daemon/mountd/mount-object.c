/* SPDX-License-Identifier: MIT */
/* The D-Bus face of an established mount: /org/exfat/Mountd1/mount/<escaped device>, announced
 * and withdrawn through the ObjectManager signals so that file managers can follow mounts. */
#include "mountd.h"

#include <errno.h>

#include "bus-object.h"
#include "device-object.h"
#include "util.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mount *m = userdata;

        switch (property[0]) {
        case 'D':
                return sd_bus_message_append(reply, "s", m->device);
        case 'M':
                return sd_bus_message_append(reply, "s", m->mount_point ?: "");
        case 'L':
                return sd_bus_message_append(reply, "s", m->label ?: "");
        case 'U':
                if (property[1] == 'u')
                        return sd_bus_message_append(reply, "s", m->uuid ?: "");
                return sd_bus_message_append(reply, "s", m->unit ?: "");
        case 'O':
                return sd_bus_message_append(reply, "u", (uint32_t) m->owner);
        case 'R':
                return sd_bus_message_append(reply, "b", m->read_only);
        case 'S':
                return sd_bus_message_append(reply, "s", mount_public_state(m));
        }
        return -ENOENT;
}

static int method_unmount(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Mount *m = userdata;
        struct mount_options o;
        int r = options_parse(msg, OPTIONS_UNMOUNT, &o, error);
        if (r < 0)
                return r;
        options_done(&o);
        return manager_handle_unmount(m->manager, m, msg, &o, error);
}

static const sd_bus_vtable mount_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Device", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MountPoint", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Label", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Uuid", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ReadOnly", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Unit", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Unmount", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_unmount,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int mount_object_export(Mount *m) {
        int r;

        if (m->object_slot)
                return 0;
        if (!m->object_path) {
                /* Escaped so that any device path gives a valid, unique object path. */
                r = sd_bus_path_encode(MOUNTD_MOUNT_PREFIX, m->device + 1, &m->object_path);
                if (r < 0)
                        return r;
        }
        r = bus_object_export(m->manager->bus, &m->object_slot, m->object_path, MOUNTD_MOUNT_IFACE, mount_vtable, m,
                              m->device);
        if (r < 0)
                return r;
        device_objects_mount_changed(m->manager, m->devnum);
        return 0;
}

void mount_object_unexport(Mount *m) {
        if (!m->object_slot)
                return;
        bus_object_unexport(m->manager->bus, &m->object_slot, m->object_path, m->device);
        device_objects_mount_changed(m->manager, m->devnum);
}

void mount_object_changed(Mount *m, const char *property) {
        if (!m->object_slot)
                return;
        (void) sd_bus_emit_properties_changed(m->manager->bus, m->object_path, MOUNTD_MOUNT_IFACE, property, NULL);
}
