/* SPDX-License-Identifier: MIT */
#include "bus-object.h"

#include "util.h"

int bus_object_export(sd_bus *bus, sd_bus_slot **slot, const char *path, const char *interface,
                      const sd_bus_vtable *vtable, void *userdata, const char *what) {
        int r = sd_bus_add_object_vtable(bus, slot, path, interface, vtable, userdata);
        if (r < 0)
                return r;
        r = sd_bus_emit_object_added(bus, path);
        if (r < 0)
                log_warning("%s: cannot announce %s: %s", what, path, strerr(r));
        return 0;
}

void bus_object_unexport(sd_bus *bus, sd_bus_slot **slot, const char *path, const char *what) {
        if (!*slot)
                return;
        int r = sd_bus_emit_object_removed(bus, path);
        if (r < 0)
                log_warning("%s: cannot announce removal of %s: %s", what, path, strerr(r));
        *slot = sd_bus_slot_unref(*slot);
}
