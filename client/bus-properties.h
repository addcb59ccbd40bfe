/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading the property dictionaries of the daemon's objects, as GetAll, GetManagedObjects,
 * InterfacesAdded and PropertiesChanged carry them: one walk of the containers, with a callback
 * per property. No I/O.
 *
 *   bus_properties_read(m, read_one, userdata)
 *        an a{sv}: read_one(m, name, userdata) is called positioned at each value's variant and
 *        must consume it (bus_property_skip() for a property it does not know).
 *   bus_properties_read_interface(m, interface, read_one, userdata)
 *        an a{sa{sv}}: the properties of interface only, the other interfaces skipped. 1 when
 *        interface was there, 0 when not.
 *   bus_property_read_string(m, type, field)
 *        the variant holds a string of type "s" or "o": *field becomes a copy (the old one freed).
 *
 * All return -errno on a malformed message or no memory. */

#include <systemd/sd-bus.h>

typedef int (*bus_property_reader_t)(sd_bus_message *m, const char *name, void *userdata);

int bus_properties_read(sd_bus_message *m, bus_property_reader_t read_one, void *userdata);
int bus_properties_read_interface(sd_bus_message *m, const char *interface, bus_property_reader_t read_one,
                                  void *userdata);
int bus_property_read_string(sd_bus_message *m, const char *type, char **field);

/* A property of a later daemon: its value is skipped. */
static inline int bus_property_skip(sd_bus_message *m) {
        return sd_bus_message_skip(m, "v");
}
