/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "errors.h"
#include "exfatctl.h"
#include "json.h"
#include "util.h"

int cmd_label(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *device = NULL, *quoted = NULL;
        const char *label;
        int r;

        if (argc != 2) {
                fprintf(stderr, "label: expected DEVICE and LABEL (see exfatctl label --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }
        label = argv[1];
        device = path_make_absolute_cwd(argv[0]);
        if (!device)
                return log_call_failed("label", argv[0], NULL, -ENOMEM);

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        r = manager_call_new(bus, "Label", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", device, label);
        /* D-Bus refuses invalid UTF-8 outright; say so instead of "Invalid argument". */
        if (r == -EINVAL) {
                fprintf(stderr, "label: LABEL must be valid UTF-8\n");
                return EXFATCTL_EXIT_USAGE;
        }
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = auth_option_append(c, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_call_failed("set the label of", device, NULL, r);

        r = call_authorized(c, bus, m, &error, &reply);
        if (r < 0)
                return log_call_failed("set the label of", device, &error, r);

        if (*label == '\0')
                printf("Cleared the label of %s.\n", device);
        else {
                /* JSON quoting shows a label with odd characters unambiguously. */
                quoted = json_escape(label);
                printf("Set the label of %s to %s.\n", device, quoted ?: label);
        }
        return EXFATCTL_EXIT_OK;
}
