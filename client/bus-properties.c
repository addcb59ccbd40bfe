/* SPDX-License-Identifier: MIT */
#include "bus-properties.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int bus_property_read_string(sd_bus_message *m, const char *type, char **field) {
        const char *s;
        char *copy;
        int r;

        r = sd_bus_message_read(m, "v", type, &s);
        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int bus_properties_read(sd_bus_message *m, bus_property_reader_t read_one, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = read_one(m, name, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_properties_read_interface(sd_bus_message *m, const char *interface, bus_property_reader_t read_one,
                                  void *userdata) {
        bool found = false;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (strcmp(name, interface) == 0) {
                        r = bus_properties_read(m, read_one, userdata);
                        found = true;
                } else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return found;
}
