/* SPDX-License-Identifier: MIT */
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <systemd/sd-login.h>

#include "config.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

#define WORKER_MEMORY_MAX (512ULL << 20)

int units_worker_name(const char *device, char **ret) {
        static const char prefix[] = "exfat-worker@", suffix[] = ".service";
        const char *p = device;
        size_t n;

        while (*p == '/')
                p++;
        n = strlen(p);
        while (n > 0 && p[n - 1] == '/')
                n--;
        if (n == 0)
                return -EINVAL;

        char *s = malloc(sizeof(prefix) + n * 4 + sizeof(suffix)), *o = s;
        if (!s)
                return -ENOMEM;
        o = stpcpy(o, prefix);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = p[i];
                if (c == '/')
                        *o++ = '-';
                else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == ':' || c == '_' || (c == '.' && i > 0))
                        *o++ = c;
                else
                        o += sprintf(o, "\\x%02x", c);
        }
        strcpy(o, suffix);
        *ret = s;
        return 0;
}

static int append_bool(sd_bus_message *m, const char *name, int b) {
        return sd_bus_message_append(m, "(sv)", name, "b", b);
}

static int append_string(sd_bus_message *m, const char *name, const char *s) {
        return sd_bus_message_append(m, "(sv)", name, "s", s);
}

/* The sandbox of a worker: it parses attacker-made images, so it gets nothing it does not need. It
 * receives the device and /dev/fuse as fds, so it needs no device nodes, no capabilities, no network
 * and no mount rights. */
static int append_sandbox(sd_bus_message *m) {
        static const char *const bools[] = {
                "DynamicUser", "NoNewPrivileges", "PrivateDevices", "PrivateNetwork", "PrivateTmp",
                "PrivateIPC", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictRealtime",
                "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC",
                "PrivateUsers",
        };
        int r;

        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
                r = append_bool(m, bools[i], 1);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "CapabilityBoundingSet", "t", (uint64_t) 0,
                                  "AmbientCapabilities", "t", (uint64_t) 0,
                                  "RestrictNamespaces", "t", (uint64_t) 0,
                                  "UMask", "u", (uint32_t) 0077,
                                  "MemoryMax", "t", (uint64_t) WORKER_MEMORY_MAX,
                                  "TasksMax", "t", (uint64_t) 64,
                                  "TimeoutStopUSec", "t", (uint64_t) 10 * 1000 * 1000,
                                  "SystemCallArchitectures", "as", 1, "native",
                                  /* An empty allow list: no socket() at all (RestrictAddressFamilies=none).
                                   * The link to the daemon and the journal stream are fds it is started
                                   * with; a new AF_UNIX socket would reach the system bus. */
                                  "RestrictAddressFamilies", "(bas)", 1, 0);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)(sv)",
                                  "SystemCallFilter", "(bas)", 1, 1, "@system-service",
                                  /* io_uring: a second way to every I/O syscall the filter sees, and a
                                   * large kernel attack surface; socketpair: no new sockets at all. */
                                  "SystemCallFilter", "(bas)", 0, 7, "@privileged", "@mount", "@resources",
                                  "io_uring_setup", "io_uring_enter", "io_uring_register", "socketpair");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)", "SystemCallErrorNumber", "i", (int32_t) EPERM);
        if (r < 0)
                return r;
        static const char *const strings[][2] = {
                { "ProtectSystem", "strict" }, { "ProtectHome", "yes" }, { "ProtectProc", "invisible" },
                { "ProcSubset", "pid" }, { "DevicePolicy", "closed" }, { "KeyringMode", "private" },
                { "CollectMode", "inactive-or-failed" }, { "StandardOutput", "journal" },
                { "StandardError", "journal" }, { "Type", "exec" },
        };
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
                r = append_string(m, strings[i][0], strings[i][1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The worker does not know its device's name (it gets an fd): systemd adds DEVICE= to each of its
 * journal lines, as the daemon's own entries carry it, so `journalctl DEVICE=...` shows both; and
 * $EXFAT_WORKER_DEVICE names it in the lines' text. */
static int append_log_fields(sd_bus_message *m, const char *device) {
        _cleanup_free_ char *field = NULL, *env = NULL;
        int r;

        if (asprintf(&field, "DEVICE=%s", device) < 0 || asprintf(&env, "EXFAT_WORKER_DEVICE=%s", device) < 0)
                return -ENOMEM;
        r = sd_bus_message_append(m, "(sv)", "Environment", "as", 1, env);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "LogExtraFields");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "aay");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', field, strlen(field));
        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

int units_start_worker(sd_bus *bus, const char *unit, const char *device, dev_t devnum, int worker_fd,
                       sd_bus_message_handler_t callback, void *userdata, sd_bus_slot **ret_slot) {
        sd_bus_message *m = NULL;
        char description[256], user[32];
        int r;

        snprintf(description, sizeof(description), "exFAT worker for %s", device);
        /* A dynamic user of its own per device: workers of different volumes (and users) must not
         * be able to signal each other, which a shared uid would allow. */
        snprintf(user, sizeof(user), "exfat-worker-%u-%u", major(devnum), minor(devnum));

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_string(m, "Description", description);
        if (r >= 0)
                r = append_string(m, "User", user);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1, EXFAT_WORKER_PATH, 2,
                                          EXFAT_WORKER_PATH, "--service", 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "StandardInputFileDescriptor", "h", worker_fd);
        if (r >= 0)
                r = append_sandbox(m);
        if (r >= 0)
                r = append_log_fields(m, device);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_call_async(bus, ret_slot, m, callback, userdata, 0);
        sd_bus_message_unref(m);
        return r;
}

int units_stop(sd_bus *bus, const char *unit) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "replace");
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, NULL, NULL, 0);
        sd_bus_message_unref(m);
        return r;
}

int units_active_state(sd_bus *bus, const char *unit, char **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &error, &reply, "s", unit);
        if (r < 0) {
                r = sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit") ? -ENOENT : r;
                goto out;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                goto out;
        r = sd_bus_get_property_string(bus, SD_DEST, path, "org.freedesktop.systemd1.Unit", "ActiveState", &error, ret);
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

int units_watch_jobs(sd_bus *bus, sd_bus_message_handler_t on_job_removed, void *userdata, sd_bus_slot **ret_slot) {
        int r = sd_bus_match_signal_async(bus, ret_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                          on_job_removed, NULL, userdata);
        if (r < 0)
                return r;
        /* Without a subscriber systemd may skip job signals nobody asked for. */
        return sd_bus_call_method_async(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, "");
}

int units_own_job_type(sd_bus *bus, char **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        _cleanup_free_ char *unit = NULL, *path = NULL;
        const char *unit_path, *job_path;
        uint32_t job_id;
        int r;

        r = sd_pid_get_unit(0, &unit);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &error, &reply, "s", unit);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &unit_path);
        if (r < 0)
                goto out;
        path = strdup(unit_path);
        reply = sd_bus_message_unref(reply);
        if (!path) {
                r = -ENOMEM;
                goto out;
        }
        r = sd_bus_get_property(bus, SD_DEST, path, "org.freedesktop.systemd1.Unit", "Job", &error, &reply, "(uo)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(uo)", &job_id, &job_path);
        if (r < 0)
                goto out;
        if (job_id == 0) {
                *ret = strdup("");
                r = *ret ? 0 : -ENOMEM;
                goto out;
        }
        r = sd_bus_get_property_string(bus, SD_DEST, job_path, "org.freedesktop.systemd1.Job", "JobType", &error, ret);
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}
