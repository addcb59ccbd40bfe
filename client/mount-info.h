/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define MOUNTD_SERVICE   "org.exfat.Mountd1"
#define MOUNTD_PATH      "/org/exfat/Mountd1"
#define MOUNTD_MANAGER   "org.exfat.Mountd1.Manager"
#define MOUNTD_MOUNT     "org.exfat.Mountd1.Mount"
#define OBJECT_MANAGER   "org.freedesktop.DBus.ObjectManager"

/* What the daemon tells about one mount object (org.exfat.Mountd1.Mount properties). Strings are
 * owned; a property the daemon did not send stays NULL / 0. */
struct mount_info {
        char *object;
        char *device;
        char *mount_point;
        char *label;
        char *uuid;
        char *unit;
        char *state;
        uint32_t owner;
        bool has_owner;
        bool read_only;
};

void mount_info_done(struct mount_info *i);

/* Reads the a{sv} of the Mount interface into `i` (unknown properties are skipped). */
int mount_info_read_properties(sd_bus_message *m, struct mount_info *i);

/* Reads an a{sa{sv}} (interfaces and their properties, as ObjectManager sends them). Returns 1 if
 * the Mount interface was among them, 0 if not. */
int mount_info_read_interfaces(sd_bus_message *m, struct mount_info *i);

/* The owner's user name, or the uid as a number if the user is unknown here; "" if unset.
 * Returns a pointer into a static buffer or the passwd database: use before the next call. */
const char *mount_info_owner_name(const struct mount_info *i);

/* List of mounts from GetManagedObjects, sorted by device. */
struct mount_list {
        struct mount_info *items;
        size_t n, cap;  /* cap: room allocated (GREEDY_REALLOC) */
};

void mount_list_done(struct mount_list *l);

/* Reads a GetManagedObjects reply (a{oa{sa{sv}}}) into `l`, keeping only Mount objects. */
int mount_list_read(sd_bus_message *reply, struct mount_list *l);
