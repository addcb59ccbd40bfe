/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon tells about an exFAT block device (org.exfat.Mountd1.Device objects, one per
 * device udev knows of, mounted or not). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define MOUNTD_DEVICE "org.exfat.Mountd1.Device"

/* Strings are owned; a property the daemon did not send stays NULL / unset. */
struct device_entry {
        char *object;
        char *device;
        char *label;
        char *uuid;
        char *mount;          /* the Mount object's path, "/" when not mounted */
        char *dirty;          /* "clean", "dirty" or "unknown" */
        uint64_t size;        /* bytes */
        bool has_size;
        bool removable;
        bool has_removable;
};

void device_entry_done(struct device_entry *d);

/* True when the daemon names a Mount object for the device. */
bool device_entry_mounted(const struct device_entry *d);

/* Reads the a{sv} of the Device interface (unknown properties are skipped). */
int device_entry_read_properties(sd_bus_message *m, struct device_entry *d);

/* Reads an a{sa{sv}}; returns 1 if the Device interface was among them, 0 if not. */
int device_entry_read_interfaces(sd_bus_message *m, struct device_entry *d);

struct device_list {
        struct device_entry *items;
        size_t n, cap;  /* cap: room allocated (GREEDY_REALLOC) */
};

void device_list_done(struct device_list *l);

/* Reads a GetManagedObjects reply (a{oa{sa{sv}}}) into `l`, keeping only Device objects, sorted by
 * device. The message is read to its end: rewind it to read it again. */
int device_list_read(sd_bus_message *reply, struct device_list *l);

/* The entry whose Device is `device`, or NULL. */
struct device_entry *device_list_find(const struct device_list *l, const char *device);

/* "512 B", "32.0 MiB", "1.5 GiB", ... (binary units, one decimal) into buf. */
void format_size(uint64_t bytes, char *buf, size_t n);
