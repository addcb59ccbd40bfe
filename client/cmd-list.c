/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "device-info.h"
#include "errors.h"
#include "exfatctl.h"
#include "json.h"
#include "mount-info.h"
#include "util.h"

enum { COL_DEVICE, COL_MOUNT_POINT, COL_LABEL, COL_UUID, COL_OWNER, COL_ACCESS, COL_STATE, N_COLUMNS };

static const char *const headers[N_COLUMNS] = {
        "DEVICE", "MOUNT POINT", "LABEL", "UUID", "OWNER", "ACCESS", "STATE",
};

static const char *cell(const struct mount_info *i, int col) {
        switch (col) {
        case COL_DEVICE:      return strempty_dash(i->device);
        case COL_MOUNT_POINT: return strempty_dash(i->mount_point);
        case COL_LABEL:       return strempty_dash(i->label);
        case COL_UUID:        return strempty_dash(i->uuid);
        case COL_OWNER:       return strempty_dash(mount_info_owner_name(i));
        case COL_ACCESS:      return !i->state || strcmp(i->state, "unmounted") != 0 ? (i->read_only ? "ro" : "rw") : "-";
        case COL_STATE:       return strempty_dash(i->state);
        }
        return "-";
}

/* Terminal columns, counting a UTF-8 sequence as one (labels are short; wide characters are rare
 * enough not to pull in wcwidth and the locale). */
static size_t text_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

/* A label may hold any character: control characters would break the table's lines. */
static void print_cell(const char *s, size_t pad_to) {
        size_t w = text_width(s);

        for (; *s; s++)
                putchar((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
        for (; w < pad_to; w++)
                putchar(' ');
}

static void print_table(const struct mount_list *l) {
        size_t width[N_COLUMNS];

        for (int col = 0; col < N_COLUMNS; col++) {
                width[col] = text_width(headers[col]);
                for (size_t k = 0; k < l->n; k++) {
                        size_t w = text_width(cell(&l->items[k], col));
                        if (w > width[col])
                                width[col] = w;
                }
        }

        for (int col = 0; col < N_COLUMNS; col++) {
                print_cell(headers[col], col + 1 < N_COLUMNS ? width[col] + 2 : 0);
        }
        putchar('\n');
        for (size_t k = 0; k < l->n; k++) {
                for (int col = 0; col < N_COLUMNS; col++)
                        print_cell(cell(&l->items[k], col), col + 1 < N_COLUMNS ? width[col] + 2 : 0);
                putchar('\n');
        }
}

static void print_json_field(const char *name, const char *value, bool last) {
        printf("\"%s\":", name);
        json_write_string(stdout, value);
        if (!last)
                putchar(',');
}

/* One object per mount; absent strings are "" so consumers need not test for null, the owner both
 * as a name and as the uid. An unmounted device (--all) has no owner, access or unit: "" and null. */
static void print_json(const struct mount_list *l) {
        putchar('[');
        for (size_t k = 0; k < l->n; k++) {
                const struct mount_info *i = &l->items[k];

                printf("%s{", k > 0 ? "," : "");
                print_json_field("device", i->device ?: "", false);
                print_json_field("mount_point", i->mount_point ?: "", false);
                print_json_field("label", i->label ?: "", false);
                print_json_field("uuid", i->uuid ?: "", false);
                print_json_field("owner", mount_info_owner_name(i), false);
                if (i->has_owner)
                        printf("\"owner_uid\":%u,", i->owner);
                else
                        printf("\"owner_uid\":null,");
                if (i->state && strcmp(i->state, "unmounted") == 0) {
                        print_json_field("access", "", false);
                        printf("\"read_only\":null,");
                } else {
                        print_json_field("access", i->read_only ? "ro" : "rw", false);
                        printf("\"read_only\":%s,", i->read_only ? "true" : "false");
                }
                print_json_field("state", i->state ?: "", false);
                print_json_field("unit", i->unit ?: "", false);
                print_json_field("object", i->object, true);
                putchar('}');
        }
        printf("]\n");
}

static bool mount_of(const struct mount_list *l, const char *device) {
        for (size_t k = 0; k < l->n; k++)
                if (l->items[k].device && strcmp(l->items[k].device, device) == 0)
                        return true;
        return false;
}

static int compare_rows(const void *a, const void *b) {
        const struct mount_info *x = a, *y = b;
        int c = strcmp(x->device ?: "", y->device ?: "");

        return c != 0 ? c : strcmp(x->object, y->object);
}

/* --all: a row for each exFAT device the daemon sees that it has not mounted (a device it has
 * mounted already has its mount's row). */
static int add_unmounted(sd_bus_message *reply, struct mount_list *l) {
        _cleanup_(device_list_done) struct device_list devices = {};
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = device_list_read(reply, &devices);
        if (r < 0)
                return r;
        for (size_t k = 0; k < devices.n; k++) {
                struct device_entry *d = &devices.items[k];

                if (!d->device || device_entry_mounted(d) || mount_of(l, d->device))
                        continue;
                if (GREEDY_REALLOC(l->items, l->cap, l->n + 1) < 0)
                        return -ENOMEM;
                l->items[l->n++] = (struct mount_info) {
                        .object = TAKE_PTR(d->object),
                        .device = TAKE_PTR(d->device),
                        .label = TAKE_PTR(d->label),
                        .uuid = TAKE_PTR(d->uuid),
                        .state = strdup("unmounted"),
                };
                if (!l->items[l->n - 1].state)
                        return -ENOMEM;
        }
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(l->items[0]), compare_rows);
        return 0;
}

int cmd_list(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(mount_list_done) struct mount_list list = {};
        int r;

        if (argc != 0) {
                fprintf(stderr, "list: takes no arguments (see exfatctl list --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, MOUNTD_SERVICE, MOUNTD_PATH, OBJECT_MANAGER, "GetManagedObjects",
                               &error, &reply, "");
        if (r < 0)
                return log_call_failed("list", "mounts", &error, r);

        r = mount_list_read(reply, &list);
        if (r >= 0 && c->all)
                r = add_unmounted(reply, &list);
        if (r < 0)
                return log_call_failed("list", "mounts", NULL, r);

        if (c->json)
                print_json(&list);
        else
                print_table(&list);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "list: cannot write the output\n");
                return EXFATCTL_EXIT_FAILURE;
        }
        return EXFATCTL_EXIT_OK;
}
