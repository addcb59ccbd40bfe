/* SPDX-License-Identifier: MIT */
#pragma once

/* Putting one of our objects on the bus and taking it off again, announced through the
 * ObjectManager signals (InterfacesAdded/InterfacesRemoved) so that clients never poll. Shared by
 * the Mount objects (mount-object.c) and the Device objects (device-object.c). */

#include <systemd/sd-bus.h>

/* Adds vtable at path under *slot and announces the object. A failed announcement is logged
 * (naming what, a device path) but is no failure: the object is there for whoever asks.
 * Returns 0, or -errno when the object could not be added (*slot stays NULL). */
int bus_object_export(sd_bus *bus, sd_bus_slot **slot, const char *path, const char *interface,
                      const sd_bus_vtable *vtable, void *userdata, const char *what);

/* Announces the object's removal and drops *slot (NULL afterwards). Nothing when *slot is NULL. */
void bus_object_unexport(sd_bus *bus, sd_bus_slot **slot, const char *path, const char *what);
