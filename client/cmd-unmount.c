/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "errors.h"
#include "exfatctl.h"
#include "util.h"

int cmd_unmount(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *target = NULL;
        int r;

        if (argc != 1) {
                fprintf(stderr, "unmount: expected exactly one DEVICE or DIR (see exfatctl unmount --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }
        target = path_make_absolute_cwd(argv[0]);
        if (!target)
                return log_call_failed("unmount", argv[0], NULL, -ENOMEM);

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        r = manager_call_new(bus, "Unmount", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", target);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && c->force)
                r = sd_bus_message_append(m, "{sv}", "force", "b", 1);
        if (r >= 0)
                r = auth_option_append(c, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_call_failed("unmount", target, NULL, r);

        r = call_authorized(c, bus, m, &error, &reply);
        if (r < 0)
                return log_call_failed("unmount", target, &error, r);

        printf("Unmounted %s.\n", target);
        return EXFATCTL_EXIT_OK;
}
