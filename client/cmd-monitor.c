/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "device-info.h"
#include "errors.h"
#include "exfatctl.h"
#include "json.h"
#include "mount-info.h"
#include "util.h"

/* The mounts and devices we know of, so that a removal (which only names the object) can say which
 * device and mount point went away. */
struct monitor {
        struct mount_list known;
        struct device_list devices;
};

static struct mount_info *find(struct monitor *mon, const char *object) {
        for (size_t k = 0; k < mon->known.n; k++)
                if (strcmp(mon->known.items[k].object, object) == 0)
                        return &mon->known.items[k];
        return NULL;
}

static void forget(struct monitor *mon, struct mount_info *i) {
        size_t k = (size_t) (i - mon->known.items);

        mount_info_done(i);
        memmove(i, i + 1, (mon->known.n - k - 1) * sizeof(*i));
        mon->known.n--;
}

/* Takes ownership of *i's strings on success. */
static int remember(struct monitor *mon, struct mount_info *i) {
        struct mount_info *old = find(mon, i->object);

        if (old)
                forget(mon, old);
        if (GREEDY_REALLOC(mon->known.items, mon->known.cap, mon->known.n + 1) < 0)
                return -ENOMEM;
        mon->known.items[mon->known.n++] = *i;
        *i = (struct mount_info) {};
        return 0;
}

static bool streq_null(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

/* A restarted daemon may announce the mounts it re-adopted: not new mounts to the user. */
static bool same_mount(const struct mount_info *known, const struct mount_info *i) {
        return known && streq_null(known->device, i->device) && streq_null(known->mount_point, i->mount_point);
}

static struct device_entry *find_device(struct monitor *mon, const char *object) {
        for (size_t k = 0; k < mon->devices.n; k++)
                if (strcmp(mon->devices.items[k].object, object) == 0)
                        return &mon->devices.items[k];
        return NULL;
}

static void forget_device(struct monitor *mon, struct device_entry *d) {
        size_t k = (size_t) (d - mon->devices.items);

        device_entry_done(d);
        memmove(d, d + 1, (mon->devices.n - k - 1) * sizeof(*d));
        mon->devices.n--;
}

/* Takes ownership of *d's strings on success. */
static int remember_device(struct monitor *mon, struct device_entry *d) {
        struct device_entry *old = find_device(mon, d->object);

        if (old)
                forget_device(mon, old);
        if (GREEDY_REALLOC(mon->devices.items, mon->devices.cap, mon->devices.n + 1) < 0)
                return -ENOMEM;
        mon->devices.items[mon->devices.n++] = *d;
        *d = (struct device_entry) {};
        return 0;
}

static void print_device_added(const struct device_entry *d) {
        _cleanup_(freep) char *label = json_escape(d->label ?: "");
        char size[32] = "size unknown";

        if (d->has_size && d->size > 0)
                format_size(d->size, size, sizeof(size));
        printf("Added device %s (label %s, uuid %s, %s)\n", strempty_dash(d->device), label ?: "?",
               strempty_dash(d->uuid), size);
        fflush(stdout);
}

/* The same InterfacesAdded again, for a Device object: a device plugged in (or, from a restarted
 * daemon, one we knew already: not printed twice). */
static int device_added(struct monitor *mon, sd_bus_message *m) {
        struct device_entry d = {};
        const char *path;
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "o", &path);
        if (r >= 0)
                r = device_entry_read_interfaces(m, &d);
        if (r > 0) {
                struct device_entry *old = find_device(mon, path);

                d.object = strdup(path);
                r = d.object ? 0 : -ENOMEM;
                if (r >= 0) {
                        if (!old || !streq_null(old->device, d.device))
                                print_device_added(&d);
                        r = remember_device(mon, &d);
                }
        }
        device_entry_done(&d);
        return r;
}

static void print_added(const struct mount_info *i) {
        _cleanup_(freep) char *label = json_escape(i->label ?: "");

        printf("Mounted %s at %s (label %s, uuid %s, owner %s, %s)\n",
               strempty_dash(i->device), strempty_dash(i->mount_point), label ?: "?",
               strempty_dash(i->uuid), strempty_dash(mount_info_owner_name(i)), i->read_only ? "ro" : "rw");
        fflush(stdout);
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct monitor *mon = userdata;
        struct mount_info info = {};
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r >= 0)
                r = mount_info_read_interfaces(m, &info);
        if (r > 0) {        /* a Mount object, not some other interface appearing */
                info.object = strdup(path);
                r = info.object ? 0 : -ENOMEM;
                if (r >= 0) {
                        if (!same_mount(find(mon, path), &info))
                                print_added(&info);
                        r = remember(mon, &info);
                }
        }
        mount_info_done(&info);
        if (r >= 0)
                r = device_added(mon, m);
        if (r < 0)
                fprintf(stderr, "monitor: cannot read an InterfacesAdded signal: %s\n", strerror(-r));
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct monitor *mon = userdata;
        const char *path, *interface;
        struct mount_info *i;
        bool mount_gone = false, device_gone = false;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(m, "s", &interface)) > 0)
                if (strcmp(interface, MOUNTD_MOUNT) == 0)
                        mount_gone = true;
                else if (strcmp(interface, MOUNTD_DEVICE) == 0)
                        device_gone = true;
        if (r < 0) {
                fprintf(stderr, "monitor: cannot read an InterfacesRemoved signal: %s\n", strerror(-r));
                return 0;
        }
        if (device_gone) {
                struct device_entry *d = find_device(mon, path);

                printf("Removed device %s\n", d ? strempty_dash(d->device) : path);
                if (d)
                        forget_device(mon, d);
                fflush(stdout);
        }
        if (!mount_gone)
                return 0;

        i = find(mon, path);
        if (i) {
                printf("Unmounted %s from %s\n", strempty_dash(i->device), strempty_dash(i->mount_point));
                forget(mon, i);
        } else
                printf("Unmounted %s\n", path);
        fflush(stdout);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), EXFATCTL_EXIT_OK);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        fprintf(stderr, "monitor: lost the connection to the system bus\n");
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), EXFATCTL_EXIT_UNAVAILABLE);
}

static int seed(struct monitor *mon, sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Also starts the daemon by activation, and tells us now if it cannot be reached. */
        r = sd_bus_call_method(bus, MOUNTD_SERVICE, MOUNTD_PATH, OBJECT_MANAGER, "GetManagedObjects",
                               &error, &reply, "");
        if (r < 0)
                return log_call_failed("monitor", "mounts", &error, r);
        r = mount_list_read(reply, &mon->known);
        if (r >= 0)
                r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = device_list_read(reply, &mon->devices);
        if (r < 0)
                return log_call_failed("monitor", "mounts", NULL, r);
        return 0;
}

int cmd_monitor(const struct context *c, int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        struct monitor mon = {};
        sigset_t mask;
        int r;

        if (argc != 0) {
                fprintf(stderr, "monitor: takes no arguments (see exfatctl monitor --help)\n");
                return EXFATCTL_EXIT_USAGE;
        }

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_call_failed("monitor", "mounts", NULL, -errno);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        /* Subscribe before reading the current state, so nothing falls between the two. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MOUNTD_SERVICE, MOUNTD_PATH, OBJECT_MANAGER,
                                        "InterfacesAdded", on_interfaces_added, &mon);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MOUNTD_SERVICE, MOUNTD_PATH, OBJECT_MANAGER,
                                        "InterfacesRemoved", on_interfaces_removed, &mon);
        /* sd-bus reports its own disconnection as this local signal. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, NULL);
        if (r < 0) {
                mount_list_done(&mon.known);
                return log_call_failed("monitor", "mounts", NULL, r);
        }

        r = seed(&mon, bus);
        if (r != 0) {
                mount_list_done(&mon.known);
                device_list_done(&mon.devices);
                return r;
        }

        printf("Monitoring exfat-mountd. Press Ctrl+C to exit.\n");
        fflush(stdout);

        r = sd_event_loop(event);
        mount_list_done(&mon.known);
        device_list_done(&mon.devices);
        if (r < 0) {
                fprintf(stderr, "monitor: lost the connection to the system bus: %s\n", strerror(-r));
                return EXFATCTL_EXIT_UNAVAILABLE;
        }
        return r;
}
