/* SPDX-License-Identifier: MIT */
#include "fdstore.h"

#include <errno.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <systemd/sd-daemon.h>

#include "util.h"

int fdstore_name(dev_t devnum, char **ret) {
        return asprintf(ret, "worker-%u-%u", major(devnum), minor(devnum)) < 0 ? -ENOMEM : 0;
}

void fdstore_keep(Mount *m) {
        char msg[128];
        int r;

        if (!m->manager->under_systemd)
                return;
        if (!m->fdname && fdstore_name(m->devnum, &m->fdname) < 0)
                return;
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", m->fdname);
        r = sd_pid_notify_with_fds(0, 0, msg, &m->sock, 1);
        if (r <= 0)
                log_warning("%s: cannot keep the worker link in the fd store (%s): a restart will lose it",
                            m->device, r < 0 ? strerr(r) : "no notify socket");
}

void fdstore_remove(const char *name) {
        char msg[300];

        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        (void) sd_pid_notify(0, 0, msg);
}

void fdstore_forget(Mount *m) {
        /* Removing a name that is not there is harmless: no need to remember whether it was kept. */
        if (m->manager->under_systemd && m->fdname)
                fdstore_remove(m->fdname);
}
