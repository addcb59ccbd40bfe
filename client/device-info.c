/* SPDX-License-Identifier: MIT */
#include "device-info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "bus-properties.h"

void device_entry_done(struct device_entry *d) {
        free(d->object);
        free(d->device);
        free(d->label);
        free(d->uuid);
        free(d->mount);
        free(d->dirty);
        *d = (struct device_entry) {};
}

bool device_entry_mounted(const struct device_entry *d) {
        return d->mount && strcmp(d->mount, "/") != 0;
}

static int read_property(sd_bus_message *m, const char *name, void *userdata) {
        struct device_entry *d = userdata;

        if (strcmp(name, "Device") == 0)
                return bus_property_read_string(m, "s", &d->device);
        if (strcmp(name, "Label") == 0)
                return bus_property_read_string(m, "s", &d->label);
        if (strcmp(name, "Uuid") == 0)
                return bus_property_read_string(m, "s", &d->uuid);
        if (strcmp(name, "Mount") == 0)
                return bus_property_read_string(m, "o", &d->mount);
        if (strcmp(name, "Dirty") == 0)
                return bus_property_read_string(m, "s", &d->dirty);
        if (strcmp(name, "Size") == 0) {
                int r = sd_bus_message_read(m, "v", "t", &d->size);
                if (r >= 0)
                        d->has_size = true;
                return r;
        }
        if (strcmp(name, "Removable") == 0) {
                int b, r = sd_bus_message_read(m, "v", "b", &b);
                if (r >= 0) {
                        d->removable = b;
                        d->has_removable = true;
                }
                return r;
        }
        return bus_property_skip(m);
}

int device_entry_read_properties(sd_bus_message *m, struct device_entry *d) {
        return bus_properties_read(m, read_property, d);
}

int device_entry_read_interfaces(sd_bus_message *m, struct device_entry *d) {
        return bus_properties_read_interface(m, MOUNTD_DEVICE, read_property, d);
}

void device_list_done(struct device_list *l) {
        for (size_t k = 0; k < l->n; k++)
                device_entry_done(&l->items[k]);
        free(l->items);
        *l = (struct device_list) {};
}

static int compare_by_device(const void *a, const void *b) {
        const struct device_entry *x = a, *y = b;
        int c = strcmp(x->device ?: "", y->device ?: "");

        return c != 0 ? c : strcmp(x->object, y->object);
}

static int append(struct device_list *l, struct device_entry *d, const char *path) {
        if (GREEDY_REALLOC(l->items, l->cap, l->n + 1) < 0)
                return -ENOMEM;
        d->object = strdup(path);
        if (!d->object)
                return -ENOMEM;
        l->items[l->n++] = *d;
        *d = (struct device_entry) {};
        return 0;
}

int device_list_read(sd_bus_message *reply, struct device_list *l) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                struct device_entry d = {};
                const char *path;

                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = device_entry_read_interfaces(reply, &d);
                if (r > 0)
                        r = append(l, &d, path);
                device_entry_done(&d);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(l->items[0]), compare_by_device);
        return 0;
}

struct device_entry *device_list_find(const struct device_list *l, const char *device) {
        for (size_t k = 0; k < l->n; k++)
                if (l->items[k].device && strcmp(l->items[k].device, device) == 0)
                        return &l->items[k];
        return NULL;
}

void format_size(uint64_t bytes, char *buf, size_t n) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        size_t u = 0;

        if (bytes < 1024) {
                snprintf(buf, n, "%llu B", (unsigned long long) bytes);
                return;
        }
        v /= 1024;
        while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024;
                u++;
        }
        snprintf(buf, n, "%.1f %s", v, units[u]);
}
