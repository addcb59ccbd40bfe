/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/* "exfat-worker@<escaped>.service" for a device path, escaped as systemd-escape --path does. */
int units_worker_name(const char *device, char **ret);

/* Starts the sandboxed worker as a transient unit with worker_fd as its stdin, under a dynamic user
 * of its own (exfat-worker-MAJ-MIN). callback gets
 * systemd's reply (the job path, or an error); the slot is returned so the call can be cancelled. */
int units_start_worker(sd_bus *bus, const char *unit, const char *device, dev_t devnum, int worker_fd,
                       sd_bus_message_handler_t callback, void *userdata, sd_bus_slot **ret_slot);

/* Asks systemd to stop (and so kill) the unit; fire and forget. */
int units_stop(sd_bus *bus, const char *unit);

/* The unit's ActiveState ("active", ...) or -ENOENT when it is not loaded. Synchronous: only for
 * start-up, before the daemon serves anybody. */
int units_active_state(sd_bus *bus, const char *unit, char **ret);

/* Subscribes to systemd's job signals and installs the JobRemoved match. */
int units_watch_jobs(sd_bus *bus, sd_bus_message_handler_t on_job_removed, void *userdata, sd_bus_slot **ret_slot);

/* The type of the job now running on the daemon's own unit ("stop", "restart", ...; "" for none).
 * Synchronous: only for the way out. */
int units_own_job_type(sd_bus *bus, char **ret);
