/* SPDX-License-Identifier: MIT */
/* exfat-mountd: mounts exFAT devices for desktop users on request over the system bus, each volume
 * served by its own sandboxed exfat-worker unit. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "device-monitor.h"
#include "errors.h"
#include "mount-log.h"
#include "mountd.h"
#include "units.h"
#include "util.h"


static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        manager_job_removed(mgr, job, result);
        return 0;
}

/* A restart keeps the mounts (the next daemon re-adopts them); a stop unmounts them first, so that
 * nothing is left that no daemon serves. */
static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *mgr = userdata;
        _cleanup_free_ char *job = NULL;

        if (mgr->stopping)
                return 0;
        int r = units_own_job_type(mgr->bus, &job);
        if (r < 0 || strcmp(job, "stop") != 0) {
                log_info("exiting (%s); mounts stay for the next start", r < 0 ? strerr(r) : *job ? job : "no job");
                return sd_event_exit(mgr->event, 0);
        }
        log_info("stopping: unmounting everything");
        /* Bounded: whatever has not finished by then is left to the workers' own SIGTERM handling. */
        (void) sd_event_add_time_relative(mgr->event, NULL, CLOCK_MONOTONIC, 30ULL * 1000 * 1000, 0, NULL, NULL);
        manager_stop(mgr);
        return 0;
}

static int run(void) {
        Manager mgr;
        sigset_t mask;
        int r;

        manager_init(&mgr);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        umask(0022);
        errors_register();
        mgr.under_systemd = getenv("NOTIFY_SOCKET") != NULL;
        mgr.mount_ops = manager_mount_ops();
        /* Structured entries (mount-log.h) only where stderr is the journal anyway. */
        mount_log_use_journal(getenv("JOURNAL_STREAM") != NULL);

        r = sd_event_default(&mgr.event);
        if (r < 0) {
                log_error("cannot create the event loop: %s", strerr(r));
                return r;
        }
        (void) sd_event_add_signal(mgr.event, NULL, SIGTERM, on_terminate, &mgr);
        (void) sd_event_add_signal(mgr.event, NULL, SIGINT, on_terminate, &mgr);

        r = sd_bus_open_system(&mgr.bus);
        if (r < 0) {
                log_error("cannot connect to the system bus: %s", strerr(r));
                goto out;
        }
        /* Without the bus there is nobody to serve; bus activation starts us again. */
        (void) sd_bus_set_exit_on_disconnect(mgr.bus, true);
        r = sd_bus_attach_event(mgr.bus, mgr.event, 0);
        if (r >= 0)
                r = manager_export(&mgr);
        if (r >= 0)
                r = units_watch_jobs(mgr.bus, on_job_removed, &mgr, &mgr.job_removed_slot);
        if (r < 0) {
                log_error("cannot set up the bus objects: %s", strerr(r));
                goto out;
        }

        /* The name first: a second instance must fail here, before it touches anybody's mounts.
         * Calls that arrive meanwhile wait in sd-bus's queue until the restore below is done. */
        r = sd_bus_request_name(mgr.bus, MOUNTD_BUS_NAME, 0);
        if (r < 0) {
                log_error("cannot own %s: %s", MOUNTD_BUS_NAME, strerr(r));
                goto out;
        }
        r = manager_restore(&mgr);
        if (r < 0)
                log_warning("cannot restore the previous state: %s", strerr(r));
        /* Devices after the mounts, so that a device's Mount property is right from the start. */
        (void) device_monitor_start(&mgr);
        (void) sd_notify(0, "READY=1");
        log_info("exfat-mountd %s ready", PACKAGE_VERSION);

        r = sd_event_loop(mgr.event);
        if (r < 0)
                log_error("event loop failed: %s", strerr(r));
        /* Mounts and workers stay: the next start re-adopts them from the state file. */
        (void) manager_save(&mgr);
        manager_forget_mounts(&mgr);
out:
        device_monitor_stop(&mgr);
        sd_bus_slot_unref(mgr.job_removed_slot);
        sd_bus_flush_close_unref(mgr.bus);
        sd_event_unref(mgr.event);
        return r;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "debug", no_argument, NULL, 'd' },
                {},
        };
        int c;

        /* Under systemd stderr is the journal: "<N>" gives each line its priority. */
        log_setup(true, NULL);
        while ((c = getopt_long(argc, argv, "hVd", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s [--debug]\n\nThe exFAT mount daemon (org.exfat.Mountd1 on the system bus).\n",
                               program_invocation_short_name);
                        return 0;
                case 'V':
                        printf("exfat-mountd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return 2;
                }
        if (getenv("EXFAT_MOUNTD_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        return run() < 0 ? 1 : 0;
}
