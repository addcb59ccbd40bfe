/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "bus-properties.h"
#include "mount-info.h"

void mount_info_done(struct mount_info *i) {
        free(i->object);
        free(i->device);
        free(i->mount_point);
        free(i->label);
        free(i->uuid);
        free(i->unit);
        free(i->state);
        *i = (struct mount_info) {};
}

static int read_property(sd_bus_message *m, const char *name, void *userdata) {
        static const struct {
                const char *name;
                size_t offset;
        } strings[] = {
                { "Device",     offsetof(struct mount_info, device) },
                { "MountPoint", offsetof(struct mount_info, mount_point) },
                { "Label",      offsetof(struct mount_info, label) },
                { "Uuid",       offsetof(struct mount_info, uuid) },
                { "Unit",       offsetof(struct mount_info, unit) },
                { "State",      offsetof(struct mount_info, state) },
        };
        struct mount_info *i = userdata;
        int b, r;

        for (size_t k = 0; k < sizeof(strings) / sizeof(strings[0]); k++)
                if (strcmp(name, strings[k].name) == 0)
                        return bus_property_read_string(m, "s", (char **) ((char *) i + strings[k].offset));
        if (strcmp(name, "Owner") == 0) {
                r = sd_bus_message_read(m, "v", "u", &i->owner);
                if (r >= 0)
                        i->has_owner = true;
                return r;
        }
        if (strcmp(name, "ReadOnly") == 0) {
                r = sd_bus_message_read(m, "v", "b", &b);
                if (r >= 0)
                        i->read_only = b;
                return r;
        }
        return bus_property_skip(m);
}

int mount_info_read_properties(sd_bus_message *m, struct mount_info *i) {
        return bus_properties_read(m, read_property, i);
}

int mount_info_read_interfaces(sd_bus_message *m, struct mount_info *i) {
        return bus_properties_read_interface(m, MOUNTD_MOUNT, read_property, i);
}

const char *mount_info_owner_name(const struct mount_info *i) {
        static char buf[16];
        struct passwd *pw;

        if (!i->has_owner)
                return "";
        pw = getpwuid(i->owner);
        if (pw)
                return pw->pw_name;
        snprintf(buf, sizeof(buf), "%u", i->owner);
        return buf;
}

void mount_list_done(struct mount_list *l) {
        for (size_t k = 0; k < l->n; k++)
                mount_info_done(&l->items[k]);
        free(l->items);
        *l = (struct mount_list) {};
}

static int compare_by_device(const void *a, const void *b) {
        const struct mount_info *x = a, *y = b;
        int c = strcmp(x->device ?: "", y->device ?: "");

        return c != 0 ? c : strcmp(x->object, y->object);
}

int mount_list_read(sd_bus_message *reply, struct mount_list *l) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                struct mount_info info = {};
                const char *path;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return r;
                r = mount_info_read_interfaces(reply, &info);
                if (r < 0) {
                        mount_info_done(&info);
                        return r;
                }
                if (r > 0) {
                        info.object = strdup(path);
                        if (!info.object || GREEDY_REALLOC(l->items, l->cap, l->n + 1) < 0) {
                                mount_info_done(&info);
                                return -ENOMEM;
                        }
                        l->items[l->n++] = info;
                } else
                        mount_info_done(&info);

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
