/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <systemd/sd-daemon.h>

#include "fusectl.h"
#include "link.h"
#include "units.h"
#include "util.h"

#define STATE_FILE MOUNTD_STATE_DIR "/mounts"
#define STATE_VERSION "exfat-mountd-state-3"
/* Version 2 had no pending label field; its lines are read as version 3 without one. */
#define STATE_VERSION_2 "exfat-mountd-state-2"
#define N_FIELDS 13

static int fd_name(Mount *m) {
        if (m->fdname)
                return 0;
        return asprintf(&m->fdname, "worker-%u-%u", major(m->devnum), minor(m->devnum)) < 0 ? -ENOMEM : 0;
}

int state_store_fd(Mount *m) {
        char msg[128];
        int r;

        if (!m->manager->under_systemd)
                return 0;
        r = fd_name(m);
        if (r < 0)
                return r;
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", m->fdname);
        r = sd_pid_notify_with_fds(0, 0, msg, &m->sock, 1);
        if (r <= 0) {
                log_warning("%s: cannot keep the worker link in the fd store (%s): a restart will lose it",
                            m->device, r < 0 ? strerr(r) : "no notify socket");
                return r;
        }
        m->fd_stored = true;
        return 0;
}

void state_forget_fd(Mount *m) {
        char msg[128];
        if (!m->fd_stored || !m->fdname)
                return;
        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", m->fdname);
        (void) sd_pid_notify(0, 0, msg);
        m->fd_stored = false;
}

/* Fields are separated by spaces; bytes that could break that are %XX-escaped. */
static void put_field(FILE *f, const char *s) {
        if (!s || !*s) {
                fputs(" -", f);
                return;
        }
        fputc(' ', f);
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c <= 0x20 || *c == '%' || *c == 0x7f || (c == (const unsigned char *) s && *c == '-'))
                        fprintf(f, "%%%02X", *c);
                else
                        fputc(*c, f);
}

static char *get_field(char *s) {
        if (strcmp(s, "-") == 0)
                return strdup("");
        char *out = malloc(strlen(s) + 1), *o = out;
        if (!out)
                return NULL;
        for (char *c = s; *c; c++) {
                unsigned v;
                if (*c == '%' && sscanf(c + 1, "%2X", &v) == 1 && v > 0) {
                        *o++ = (char) v;
                        c += 2;
                } else
                        *o++ = *c;
        }
        *o = 0;
        return out;
}

int state_save(Manager *mgr) {
        char tmp[] = STATE_FILE ".XXXXXX";
        int r;

        if (mkdir(MOUNTD_STATE_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                log_error("cannot write %s: %s", STATE_FILE, strerr(r));
                return r;
        }
        FILE *f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                unlink(tmp);
                return -ENOMEM;
        }
        fprintf(f, "%s\n", STATE_VERSION);
        for (Mount *m = mgr->mounts; m; m = m->next) {
                /* Mounts still being set up are recorded too, so that a daemon that dies before
                 * the worker is ready leaves no unknown mount behind. */
                if (m->purpose != PURPOSE_MOUNT || !(m->exported || m->mounted))
                        continue;
                (void) fd_name(m);
                m->recorded = true;
                fprintf(f, "%u:%u %u %u %u %d %d %d %d", major(m->devnum), minor(m->devnum), (unsigned) m->owner,
                        (unsigned) m->gid, (unsigned) m->mounted_by, m->read_only, m->created_mount_point, m->dirty,
                        m->exported);
                put_field(f, m->device);
                put_field(f, m->mount_point);
                put_field(f, m->label);
                put_field(f, m->uuid);
                put_field(f, m->unit);
                put_field(f, m->fdname);
                /* A relabel in flight: its answer is due to whichever daemon runs then. */
                put_field(f, m->step == STEP_WAIT_LABEL_SET ? m->new_label : NULL);
                fputc('\n', f);
        }
        r = fflush(f) == 0 && fsync(fd) == 0 ? 0 : -errno;
        fclose(f);
        if (r == 0 && rename(tmp, STATE_FILE) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                log_error("cannot write %s: %s", STATE_FILE, strerr(r));
        }
        return r;
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
static void clean_up_record(Manager *mgr, dev_t devnum, const char *mp, bool created, const char *unit, int sock) {
        if (fuse_mount_present(mp, devnum)) {
                (void) fuse_abort_connection(devnum);
                (void) umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW);
        }
        if (created)
                (void) rmdir(mp);
        if (sock >= 0) {
                (void) link_send(sock, LINK_SHUTDOWN, NULL, 0, -1);
                close(sock);
        }
        if (unit && *unit)
                (void) units_stop(mgr->bus, unit);
}

static int restore_one(Manager *mgr, char *line, struct stored_fd *fds, int n_fds) {
        unsigned maj, min, owner, gid, by;
        int ro, created, dirty, established, pos = 0;
        char *fields[7] = {};
        int r = -EBADMSG;

        if (sscanf(line, "%u:%u %u %u %u %d %d %d %d%n", &maj, &min, &owner, &gid, &by, &ro, &created, &dirty,
                   &established, &pos) != 9)
                return -EBADMSG;
        char *save = NULL, *tok = strtok_r(line + pos, " \n", &save);
        for (int i = 0; i < 7; i++, tok = strtok_r(NULL, " \n", &save)) {
                if (!tok && i == 6)
                        break; /* version 2: no pending label */
                if (!tok || !(fields[i] = get_field(tok)))
                        goto out;
        }
        const char *device = fields[0], *mp = fields[1], *unit = fields[4], *fdname = fields[5];
        dev_t devnum = makedev(maj, min);
        int sock = take_fd(fds, n_fds, fdname);
        _cleanup_free_ char *active = NULL;
        bool unit_ok = units_active_state(mgr->bus, unit, &active) >= 0 && strcmp(active, "active") == 0;
        bool mount_ok = fuse_mount_present(mp, devnum);

        if (!established || sock < 0 || !unit_ok || !mount_ok || !*mp || !*device) {
                log_warning("%s: cannot re-adopt the mount on %s (%s, link %s, unit %s, mount %s); cleaning up", device, mp,
                            established ? "established" : "still being set up", sock >= 0 ? "kept" : "lost",
                            unit_ok ? "active" : "gone", mount_ok ? "present" : "gone");
                clean_up_record(mgr, devnum, mp, created, unit, sock);
                r = 0;
                goto out;
        }

        Mount *m;
        r = mount_new(mgr, device, devnum, &m);
        if (r < 0) {
                close(sock);
                goto out;
        }
        m->owner = owner;
        m->gid = gid;
        m->mounted_by = by;
        m->read_only = ro;
        m->created_mount_point = created;
        m->dirty = dirty;
        m->mount_point = TAKE_PTR(fields[1]);
        m->label = TAKE_PTR(fields[2]);
        m->uuid = TAKE_PTR(fields[3]);
        m->unit = TAKE_PTR(fields[4]);
        m->fdname = TAKE_PTR(fields[5]);
        if (fields[6] && *fields[6])
                m->new_label = TAKE_PTR(fields[6]);
        r = mount_adopt(m, sock);
        if (r < 0) {
                log_error("%s: cannot re-adopt: %s", m->device, strerr(r));
                mount_abandon(m, "re-adoption failed");
        } else
                log_info("%s: re-adopted the mount on %s (%s)", m->device, m->mount_point, m->unit);
        r = 0;
out:
        for (int i = 0; i < 7; i++)
                free(fields[i]);
        return r;
}

int state_restore(Manager *mgr) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        struct stored_fd *fds = NULL;
        char line[8192];

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

        _cleanup_fclose_ FILE *f = fopen(STATE_FILE, "re");
        if (f && fgets(line, sizeof(line), f) &&
            (strncmp(line, STATE_VERSION, strlen(STATE_VERSION)) == 0 ||
             strncmp(line, STATE_VERSION_2, strlen(STATE_VERSION_2)) == 0))
                while (fgets(line, sizeof(line), f))
                        if (restore_one(mgr, line, fds, n) == -EBADMSG)
                                log_warning("ignoring a malformed line in %s", STATE_FILE);

        /* Links nobody recorded: their workers are told to stop. */
        for (int i = 0; i < n; i++) {
                if (fds[i].fd >= 0) {
                        (void) link_send(fds[i].fd, LINK_SHUTDOWN, NULL, 0, -1);
                        close(fds[i].fd);
                        if (fds[i].name) {
                                char msg[300];
                                snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", fds[i].name);
                                (void) sd_pid_notify(0, 0, msg);
                        }
                }
                free(fds[i].name);
        }
        free(fds);
        free(names);
        /* Adopted links are still in the store (systemd keeps its own copies). */
        for (Mount *m = mgr->mounts; m; m = m->next)
                m->fd_stored = true;
        return state_save(mgr);
}
