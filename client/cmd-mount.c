/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "exfatctl.h"
#include "mount-info.h"
#include "util.h"

static int build_call(const struct context *c, sd_bus *bus, const char *device, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_call_new(bus, "Mount", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", device);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (c->read_only) {
                r = sd_bus_message_append(m, "{sv}", "read-only", "b", 1);
                if (r < 0)
                        return r;
        }
        if (c->mount_point) {
                r = sd_bus_message_append(m, "{sv}", "mount-point", "s", c->mount_point);
                if (r < 0)
                        return r;
        }
        r = mount_options_append(&c->mount_options, m);
        if (r < 0)
                return r;
        r = auth_option_append(c, m);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        *ret = m;
        m = NULL;
        return 0;
}

/* Without force, the daemon mounts a dirty volume read-only instead of failing: say so, since the
 * user asked for read-write. */
static void warn_if_demoted(const struct context *c, sd_bus *bus, const char *object) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int read_only = 0;

        if (c->read_only)
                return;
        if (sd_bus_get_property_trivial(bus, MOUNTD_SERVICE, object, MOUNTD_MOUNT, "ReadOnly",
                                        &error, 'b', &read_only) < 0)
                return;
        if (read_only)
                fprintf(stderr, "Note: the volume is marked dirty (not cleanly unmounted) and was mounted "
                                "read-only; check it with fsck.exfat, or mount with -o force.\n");
}

int cmd_mount(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *device = NULL;
        const char *object, *mount_point;
        int r;

        if (argc != 1) {
                fprintf(stderr, "mount: expected exactly one DEVICE (see exfatctl mount --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }
        device = path_make_absolute_cwd(argv[0]);
        if (!device)
                return log_call_failed("mount", argv[0], NULL, -ENOMEM);

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        r = build_call(c, bus, device, &m);
        if (r < 0)
                return log_call_failed("mount", device, NULL, r);

        r = call_authorized(c, bus, m, &error, &reply);
        if (r < 0)
                return log_call_failed("mount", device, &error, r);

        r = sd_bus_message_read(reply, "os", &object, &mount_point);
        if (r < 0)
                return log_call_failed("mount", device, NULL, r);

        printf("Mounted %s at %s\n", device, mount_point);
        fflush(stdout);
        warn_if_demoted(c, bus, object);
        return EXFATCTL_EXIT_OK;
}
