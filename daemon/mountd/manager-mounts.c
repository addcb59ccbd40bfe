/* SPDX-License-Identifier: MIT */
/* The Manager's registry of Mounts (find by id, device number, device or mount point), the hooks
 * the state machine calls when a Mount's record changes or its life ends, and the record kept
 * across restarts (state.c's text, systemd's fd store). */
#include "mountd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"
#include "fusectl.h"
#include "mountpoints.h"
#include "link.h"
#include "state.h"
#include "units.h"
#include "util.h"

Mount *manager_find_mount(Manager *mgr, const char *s) {
        Mount *m;
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                if (strcmp(m->device, s) == 0 || (m->mount_point && strcmp(m->mount_point, s) == 0))
                        return m;
        return NULL;
}

Mount *manager_find_id(Manager *mgr, uint64_t id) {
        Mount *m;
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                if (m->id == id)
                        return m;
        return NULL;
}

Mount *manager_find_devnum(Manager *mgr, dev_t devnum) {
        Mount *m;
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                if (m->devnum == devnum)
                        return m;
        return NULL;
}

int manager_start_mount(Manager *mgr, const char *device, dev_t devnum, Mount **ret) {
        Mount *m;
        int r = mount_new(mgr, mgr->mount_ops, device, devnum, &m);
        if (r < 0)
                return r;
        list_push_front(&mgr->mounts, &m->in_manager);
        r = mount_start(m); /* on failure m is gone already */
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

void manager_job_removed(Manager *mgr, const char *job, const char *result) {
        Mount *m;
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                if (m->job_path && strcmp(m->job_path, job) == 0) {
                        mount_on_job_done(m, result);
                        return;
                }
}

/* ---- Persistence ---- */

/* Mounts still being set up are recorded too (from mount(2) on), so that a daemon that dies before
 * the worker is ready leaves no unknown mount behind. */
static bool recordable(const Mount *m) {
        /* From just before mount(2) on: its thread may still get through after this daemon is
         * gone (restarted), and the next one must know to take that mount down. */
        return m->purpose == PURPOSE_MOUNT && (m->served || m->mounted || m->state == MOUNT_MOUNTING);
}

int manager_save(Manager *mgr) {
        struct mount_record *records = NULL;
        size_t n = 0;
        Mount *m;
        int r;

        if (mgr->restoring)
                return 0; /* the records not read yet would be lost */
        LIST_FOREACH(m, &mgr->mounts, in_manager)
                n += recordable(m);
        if (n > 0 && !(records = calloc(n, sizeof(*records))))
                return log_error_errno(-ENOMEM, "cannot write %s", STATE_FILE);
        n = 0;
        LIST_FOREACH(m, &mgr->mounts, in_manager) {
                if (!recordable(m))
                        continue;
                if (!m->fdname)
                        (void) fdstore_name(m->devnum, &m->fdname);
                m->recorded = true;
                /* Borrowed strings: the records live only for this call. */
                records[n++] = (struct mount_record) {
                        .devnum = m->devnum,
                        .owner = m->owner,
                        .gid = m->gid,
                        .mounted_by = m->mounted_by,
                        .read_only = m->read_only,
                        .created_mount_point = m->created_mount_point,
                        .dirty = m->dirty,
                        .established = m->served,
                        .device = m->device,
                        .mount_point = m->mount_point,
                        .label = m->label,
                        .uuid = m->uuid,
                        .unit = m->unit,
                        .fdname = m->fdname,
                        /* A relabel in flight: its answer is due to whichever daemon runs then. */
                        .new_label = m->state == MOUNT_LABELLING || m->state == MOUNT_LABELLING_ADOPTED ? m->new_label
                                                                                                         : NULL,
                };
        }
        r = state_write_file(mgr->state_file ?: STATE_FILE, records, n);
        free(records);
        if (r < 0)
                log_error_errno(r, "cannot write %s", mgr->state_file ?: STATE_FILE);
        return r;
}

static void mount_save(Mount *m) {
        (void) manager_save(m->manager);
}

static void mount_gone(Mount *m) {
        Manager *mgr = m->manager;
        bool was_recorded = m->recorded;
        dev_t devnum = m->devnum;

        list_remove(&m->in_manager);
        mount_free(m);
        if (was_recorded)
                (void) manager_save(mgr);
        manager_device_released(mgr, devnum);
        if (mgr->stopping && list_is_empty(&mgr->mounts))
                (void) sd_event_exit(mgr->event, 0);
}

static void object_changed(Mount *m, const char *property) {
        mount_object_changed(m, property);
}

const MountOps *manager_mount_ops(void) {
        static MountOps ops;

        if (!ops.start_unit) {
                ops = mount_ops_world;
                ops.export = mount_object_export;
                ops.unexport = mount_object_unexport;
                ops.changed = object_changed;
                ops.store_fd = fdstore_keep;
                ops.forget_fd = fdstore_forget;
                ops.save = mount_save;
                ops.gone = mount_gone;
        }
        return &ops;
}

struct stored_fd {
        int fd;
        char *name;
};

static int take_fd(struct stored_fd *fds, int n, const char *name) {
        for (int i = 0; i < n; i++)
                if (fds[i].fd >= 0 && fds[i].name && strcmp(fds[i].name, name) == 0)
                        return TAKE_FD(fds[i].fd);
        return -1;
}

/* A recorded mount that cannot be re-adopted: take down whatever is left of it. */
static void clean_up_record(Manager *mgr, const struct mount_record *rec, int sock) {
        if (fuse_mount_present(NULL, rec->devnum)) {
                (void) fuse_abort_connection(rec->devnum);
                (void) fuse_unmount(rec->mount_point, rec->devnum, MNT_DETACH, false);
        }
        if (rec->created_mount_point)
                (void) mountpoint_remove(rec->mount_point);
        if (sock >= 0) {
                (void) link_send(sock, LINK_SHUTDOWN, NULL, 0, -1);
                close(sock);
        }
        if (rec->unit && *rec->unit)
                (void) units_stop(mgr->bus, rec->unit);
}

static void restore_one(Manager *mgr, struct mount_record *rec, struct stored_fd *fds, int n_fds) {
        int sock = take_fd(fds, n_fds, rec->fdname);
        _cleanup_free_ char *active = NULL;
        bool unit_ok = units_active_state(mgr->bus, rec->unit, &active) >= 0 && strcmp(active, "active") == 0;
        bool mount_ok = fuse_mount_present(rec->mount_point, rec->devnum);

        if (!rec->established || sock < 0 || !unit_ok || !mount_ok || !*rec->mount_point || !*rec->device) {
                log_warning("%s: cannot re-adopt the mount on %s (%s, link %s, unit %s, mount %s); cleaning up",
                            rec->device, rec->mount_point, rec->established ? "established" : "still being set up",
                            sock >= 0 ? "kept" : "lost", unit_ok ? "active" : "gone", mount_ok ? "present" : "gone");
                clean_up_record(mgr, rec, sock);
                return;
        }

        Mount *m;
        if (mount_new(mgr, mgr->mount_ops, rec->device, rec->devnum, &m) < 0) {
                close(sock);
                return;
        }
        list_push_front(&mgr->mounts, &m->in_manager);
        m->sock = sock;
        m->owner = rec->owner;
        m->gid = rec->gid;
        m->mounted_by = rec->mounted_by;
        m->read_only = rec->read_only;
        m->created_mount_point = rec->created_mount_point;
        m->dirty = rec->dirty;
        m->mount_point = TAKE_PTR(rec->mount_point);
        m->label = TAKE_PTR(rec->label);
        m->uuid = TAKE_PTR(rec->uuid);
        m->unit = TAKE_PTR(rec->unit);
        m->fdname = TAKE_PTR(rec->fdname);
        m->new_label = TAKE_PTR(rec->new_label);
        int r = mount_watch_link(m);
        if (r >= 0)
                r = mount_adopt(m);
        if (r < 0) {
                log_error_errno(r, "%s: cannot re-adopt", m->device);
                mount_abandon(m, "re-adoption failed");
        } else
                log_info("%s: re-adopted the mount on %s (%s)", m->device, m->mount_point, m->unit);
}

int manager_restore(Manager *mgr) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        struct stored_fd *fds = NULL;
        struct mount_record *records = NULL;
        size_t n_records = 0;

        if (n < 0)
                n = 0;
        if (n > 0) {
                fds = calloc(n, sizeof(*fds));
                if (!fds)
                        return -ENOMEM;
                for (int i = 0; i < n; i++) {
                        fds[i].fd = SD_LISTEN_FDS_START + i;
                        fds[i].name = names ? names[i] : NULL;
                        (void) fcntl(fds[i].fd, F_SETFD, FD_CLOEXEC);
                }
        }

        _cleanup_fclose_ FILE *f = fopen(mgr->state_file ?: STATE_FILE, "re");
        if (f)
                (void) state_read(f, &records, &n_records);
        mgr->restoring = true;
        for (size_t i = 0; i < n_records; i++) {
                restore_one(mgr, &records[i], fds, n);
                mount_record_done(&records[i]);
        }
        mgr->restoring = false;
        free(records);

        /* Links nobody recorded: their workers are told to stop. */
        for (int i = 0; i < n; i++) {
                if (fds[i].fd >= 0) {
                        (void) link_send(fds[i].fd, LINK_SHUTDOWN, NULL, 0, -1);
                        close(fds[i].fd);
                        if (fds[i].name)
                                fdstore_remove(fds[i].name);
                }
                free(fds[i].name);
        }
        free(fds);
        free(names);
        return manager_save(mgr);
}

void manager_stop(Manager *mgr) {
        Mount *m, *next;

        mgr->stopping = true;
        /* Not worth waiting for a password: the answer would come too late. Unclaimed Mounts
         * are stopped with their requests. */
        manager_drop_pending(mgr);
        LIST_FOREACH_SAFE(m, next, &mgr->mounts, in_manager) {
                if (mount_is_serving(m) && !m->request) {
                        log_info("%s: unmounting %s: the daemon is stopping", m->device, m->mount_point);
                        (void) mount_unmount(m, NULL, true);
                }
                /* Anything else is in the middle of an operation that ends (or times out) by itself. */
        }
        if (list_is_empty(&mgr->mounts))
                (void) sd_event_exit(mgr->event, 0);
}

void manager_forget_mounts(Manager *mgr) {
        Mount *m;
        while ((m = list_first(&mgr->mounts, Mount, in_manager))) {
                /* Not abandoned: only our bookkeeping goes; the fd store keeps the link. */
                list_remove(&m->in_manager);
                mount_free(m);
        }
}
