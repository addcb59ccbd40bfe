/* SPDX-License-Identifier: MIT */
/* exfatctl info DEVICE: the Device object of DEVICE and, when it is mounted, its Mount object, from
 * one GetManagedObjects. A device the daemon mounted but does not list (no udev) still shows from
 * its Mount object. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-info.h"
#include "errors.h"
#include "exfatctl.h"
#include "json.h"
#include "mount-info.h"
#include "util.h"

struct info {
        const struct device_entry *dev;   /* NULL: not listed (no udev) */
        const struct mount_info *mount;   /* NULL: not mounted by exfat-mountd */
};

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* Control characters in a label would break the lines. */
static void print_safe(const char *s) {
        for (; *s; s++)
                putchar((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_line(const char *key, const char *value) {
        printf("%-12s ", key);
        print_safe(value && *value ? value : "-");
        putchar('\n');
}

static const char *label_of(const struct info *i) {
        /* The worker's word while mounted (a relabel shows at once); udev's otherwise. */
        if (i->mount && i->mount->label)
                return i->mount->label;
        return i->dev ? i->dev->label : NULL;
}

static const char *uuid_of(const struct info *i) {
        if (i->dev && i->dev->uuid && *i->dev->uuid)
                return i->dev->uuid;
        return i->mount ? i->mount->uuid : NULL;
}

static const char *state_of(const struct info *i) {
        return i->mount ? (i->mount->state ?: "mounted") : "unmounted";
}

static void print_text(const char *device, const struct info *i) {
        char size[32];

        print_line("Device:", device);
        print_line("Label:", label_of(i));
        print_line("UUID:", uuid_of(i));
        if (i->dev && i->dev->has_size && i->dev->size > 0) {
                char line[80];
                format_size(i->dev->size, size, sizeof(size));
                snprintf(line, sizeof(line), "%s (%llu bytes)", size, (unsigned long long) i->dev->size);
                print_line("Size:", line);
        } else
                print_line("Size:", NULL);
        print_line("Removable:", i->dev && i->dev->has_removable ? yes_no(i->dev->removable) : NULL);
        print_line("Dirty:", i->dev && i->dev->dirty ? i->dev->dirty : "unknown");
        print_line("State:", state_of(i));
        if (i->mount) {
                print_line("Mount point:", i->mount->mount_point);
                print_line("Owner:", mount_info_owner_name(i->mount));
                print_line("Access:", i->mount->read_only ? "ro" : "rw");
                print_line("Unit:", i->mount->unit);
        }
}

static void json_field(const char *name, const char *value) {
        printf(",\"%s\":", name);
        json_write_string(stdout, value ?: "");
}

/* Absent strings are "", unknown numbers and booleans null. */
static void print_json(const char *device, const struct info *i) {
        const char *dirty = i->dev && i->dev->dirty ? i->dev->dirty : "unknown";

        printf("{\"device\":");
        json_write_string(stdout, device);
        json_field("label", label_of(i));
        json_field("uuid", uuid_of(i));
        if (i->dev && i->dev->has_size)
                printf(",\"size\":%llu", (unsigned long long) i->dev->size);
        else
                printf(",\"size\":null");
        printf(",\"removable\":%s", i->dev && i->dev->has_removable ? (i->dev->removable ? "true" : "false") : "null");
        printf(",\"dirty\":%s", strcmp(dirty, "dirty") == 0 ? "true" : strcmp(dirty, "clean") == 0 ? "false" : "null");
        json_field("state", state_of(i));
        json_field("mount_point", i->mount ? i->mount->mount_point : NULL);
        json_field("owner", i->mount ? mount_info_owner_name(i->mount) : NULL);
        if (i->mount && i->mount->has_owner)
                printf(",\"owner_uid\":%u", i->mount->owner);
        else
                printf(",\"owner_uid\":null");
        json_field("access", i->mount ? (i->mount->read_only ? "ro" : "rw") : NULL);
        if (i->mount)
                printf(",\"read_only\":%s", i->mount->read_only ? "true" : "false");
        else
                printf(",\"read_only\":null");
        json_field("unit", i->mount ? i->mount->unit : NULL);
        json_field("object", i->dev ? i->dev->object : NULL);
        json_field("mount_object", i->mount ? i->mount->object : NULL);
        printf("}\n");
}

static const struct mount_info *find_mount(const struct mount_list *l, const char *device) {
        for (size_t k = 0; k < l->n; k++)
                if (l->items[k].device && strcmp(l->items[k].device, device) == 0)
                        return &l->items[k];
        return NULL;
}

int cmd_info(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(mount_list_done) struct mount_list mounts = {};
        _cleanup_(device_list_done) struct device_list devices = {};
        _cleanup_(freep) char *absolute = NULL;
        char resolved[PATH_MAX];
        const char *device;
        struct info i;
        int r;

        if (argc != 1) {
                fprintf(stderr, "info: takes one DEVICE (see exfatctl info --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }
        absolute = path_make_absolute_cwd(argv[0]);
        if (!absolute)
                return log_call_failed("get information on", argv[0], NULL, -ENOMEM);
        /* The daemon names devices by their node: /dev/disk/by-label/X is /dev/sdb1 there. Reading
         * a symlink under /dev is harmless here (the daemon itself resolves more carefully). */
        device = realpath(absolute, resolved) ? resolved : absolute;

        r = bus_connect(&bus);
        if (r != 0)
                return r;
        r = sd_bus_call_method(bus, MOUNTD_SERVICE, MOUNTD_PATH, OBJECT_MANAGER, "GetManagedObjects",
                               &error, &reply, "");
        if (r < 0)
                return log_call_failed("get information on", device, &error, r);
        r = mount_list_read(reply, &mounts);
        if (r >= 0)
                r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = device_list_read(reply, &devices);
        if (r < 0)
                return log_call_failed("get information on", device, NULL, r);

        i = (struct info) { .dev = device_list_find(&devices, device), .mount = find_mount(&mounts, device) };
        if (!i.dev && !i.mount) {
                fprintf(stderr, "Cannot get information on %s: exfat-mountd knows no exFAT device of that name "
                        "(it lists devices only while udev runs)\n", device);
                return EXFATCTL_EXIT_NOT_FOUND;
        }
        if (c->json)
                print_json(device, &i);
        else
                print_text(device, &i);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "info: cannot write the output\n");
                return EXFATCTL_EXIT_FAILURE;
        }
        return EXFATCTL_EXIT_OK;
}
