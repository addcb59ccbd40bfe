/* SPDX-License-Identifier: MIT */
#include "link.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fuse-ops.h"
#include "log.h"
#include "protocol.h"
#include "session.h"
#include "volume.h"

/* After the kernel ended the session by itself (someone ran umount), the daemon gets CLEAN
 * unasked; give it this long to answer with SHUTDOWN or by closing the socket. */
#define LINGER_MS 5000

enum stop_reason {
        STOP_NONE,
        STOP_SHUTDOWN,     /* SHUTDOWN received: answer CLEAN */
        STOP_HANGUP,       /* the daemon closed the socket */
        STOP_SIGNAL,       /* SIGTERM/SIGINT (e.g. systemctl stop) */
        STOP_BROKEN,       /* garbage from the daemon or a socket error */
        STOP_WOKEN,        /* internal: the poller was told to return */
};

struct link {
        int sock;
        int sigfd;                 /* SIGTERM, SIGINT, SIGHUP */
        int wakefd;                /* eventfd: tells the poller to return */
        struct link_device dev;
        struct worker_volume vol;
        int probe_status;          /* volume_probe() result: nothing to mount unless 0 */
        bool mounted;              /* libexfat mounted (vol.vol handed to fs) */
        struct worker_fs fs;
        struct worker_session *session;
        atomic_int stop;           /* enum stop_reason */
};

static int send_status(struct link *l, enum link_type type, int status) {
        struct link_status st = { .status = status };
        int r = link_send(l->sock, type, &st, sizeof(st), -1);
        if (r < 0)
                log_error_errno(r, "sending message %d to the daemon failed", (int) type);
        return r;
}

static int mount_volume(struct link *l) {
        int r;
        if (l->mounted)
                return 0;
        if (l->probe_status < 0)
                return l->probe_status;
        r = volume_mount(&l->vol);
        if (r < 0)
                return r;
        worker_fs_init(&l->fs, l->vol.vol, &(struct worker_view) {
                .uid = l->dev.uid, .gid = l->dev.gid, .dmask = l->dev.dmask & 0777, .fmask = l->dev.fmask & 0777,
                .noexec = l->dev.flags & LINK_OPT_NOEXEC, .read_only = l->vol.read_only,
        }, l->vol.name);
        worker_fs_read_from(&l->fs, volume_direct_read_fd(&l->vol), volume_splice_fd(&l->vol));
        l->mounted = true;
        return 0;
}

/* Flushes, clears the dirty flag and frees the volume, if it was mounted. */
static int unmount_volume(struct link *l) {
        if (!l->mounted)
                return 0;
        return worker_fs_finish(&l->fs);
}

struct label_arg {
        const char *label;
};

static int do_set_label(struct exfat_volume *vol, void *arg) {
        struct label_arg *a = arg;
        int r = exfat_set_label(vol, a->label);
        if (r < 0)
                return r;
        /* The daemon reports success to the user at once: make the label durable now. */
        return exfat_sync(vol);
}

static int handle_set_label(struct link *l, const struct link_set_label *m) {
        struct label_arg a = { .label = m->label };
        int r;

        if (!link_string_valid(m->label, sizeof(m->label)))
                r = -EINVAL;
        else {
                r = mount_volume(l);
                if (r >= 0)
                        r = worker_fs_with_volume(&l->fs, do_set_label, &a);
        }
        if (r < 0)
                log_error_errno(r, "%s: setting the label failed", l->vol.name);
        return send_status(l, LINK_LABEL_SET, r);
}

static enum stop_reason stop_reason_for(int r) {
        if (r == -ECONNRESET)
                return STOP_HANGUP;
        log_error_errno(r, "bad message from the daemon");
        return STOP_BROKEN;
}

static enum stop_reason read_signal(struct link *l) {
        struct signalfd_siginfo si;
        if (read(l->sigfd, &si, sizeof(si)) == sizeof(si))
                log_info("%s: signal %u, flushing and exiting", l->vol.name ? l->vol.name : "worker",
                         si.ssi_signo);
        return STOP_SIGNAL;
}

/* Waits for the next message from the daemon, handling SET_LABEL on the way. Returns STOP_NONE
 * with *ret_type set, or why to stop. */
static enum stop_reason next_message(struct link *l, int wait_fd, int timeout_ms, enum link_type *ret_type,
                                     int *ret_fd) {
        for (;;) {
                union {
                        struct link_set_label label;
                        unsigned char raw[LINK_MAX_PACKET];
                } m;
                struct pollfd p[3] = {
                        { .fd = l->sock, .events = POLLIN },
                        { .fd = l->sigfd, .events = POLLIN },
                        { .fd = wait_fd, .events = POLLIN },
                };
                enum link_type type;
                int r;

                r = poll(p, wait_fd >= 0 ? 3 : 2, timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return stop_reason_for(-errno);
                if (r == 0)
                        return STOP_HANGUP; /* timeout: nobody is listening any more */
                if (p[2].revents)
                        return STOP_WOKEN;
                if (p[1].revents)
                        return read_signal(l);

                r = link_recv(l->sock, 0, &type, &m, sizeof(m), ret_fd);
                if (r < 0)
                        return stop_reason_for(r);
                if (type == LINK_SET_LABEL) {
                        if (handle_set_label(l, &m.label) < 0)
                                return STOP_BROKEN;
                        continue;
                }
                *ret_type = type;
                return STOP_NONE;
        }
}

/* The poller runs while FUSE is served: it answers SET_LABEL and stops the loop on SHUTDOWN, a
 * closed socket, a signal or garbage. */
static void *poller(void *arg) {
        struct link *l = arg;
        enum link_type type;
        int fd = -1;

        enum stop_reason why = next_message(l, l->wakefd, -1, &type, &fd);
        if (why == STOP_WOKEN)
                return NULL; /* the loop ended by itself */
        if (why == STOP_NONE) {
                if (fd >= 0)
                        close(fd);
                if (type == LINK_SHUTDOWN)
                        why = STOP_SHUTDOWN;
                else {
                        log_error("unexpected message %d from the daemon while serving", (int) type);
                        why = STOP_BROKEN;
                }
        }
        atomic_store(&l->stop, why);
        session_stop(l->session);
        return NULL;
}

static void finish_after_loop(struct link *l, enum stop_reason why, int *ret_status) {
        int r = unmount_volume(l);
        enum link_type type;
        int fd = -1;

        switch (why) {
        case STOP_SHUTDOWN:
                send_status(l, LINK_CLEAN, r);
                break;
        case STOP_NONE:
                /* Unmounted under us (DESTROY has flushed): tell the daemon, then wait a little
                 * for its SHUTDOWN so that it never writes to a closed socket. */
                send_status(l, LINK_CLEAN, r);
                if (next_message(l, -1, LINGER_MS, &type, &fd) == STOP_NONE && fd >= 0)
                        close(fd);
                break;
        default:
                break;
        }
        *ret_status = r < 0 || why == STOP_BROKEN ? 1 : 0;
}

static int serve(struct link *l, int fuse_fd, int *ret_status) {
        char target[64];
        pthread_t t;
        int r;

        r = mount_volume(l);
        if (r < 0) {
                /* Nobody will serve this mount: close the fd so the kernel fails its requests and
                 * the daemon's umount does not wait for us. */
                close(fuse_fd);
                return send_status(l, LINK_READY, r) < 0 ? -EPIPE : r;
        }
        snprintf(target, sizeof(target), "/dev/fd/%d", fuse_fd);
        r = session_new(&l->fs, NULL, target, &l->session);
        if (r < 0) {
                close(fuse_fd);
                send_status(l, LINK_READY, r);
                return r;
        }
        r = send_status(l, LINK_READY, 0);
        if (r < 0) {
                /* No daemon: flush and go. */
                session_free(l->session, true);
                unmount_volume(l);
                *ret_status = 1;
                return 0;
        }

        l->wakefd = eventfd(0, EFD_CLOEXEC);
        if (l->wakefd < 0 || (r = -pthread_create(&t, NULL, poller, l)) < 0) {
                r = log_error_errno(l->wakefd < 0 ? -errno : r, "starting the control thread failed");
                session_free(l->session, true);
                unmount_volume(l);
                return r;
        }

        r = session_run(l->session);
        if (r < 0)
                log_error_errno(r, "%s: serving FUSE failed", l->vol.name);

        /* If the loop ended by itself (unmounted), the poller is still waiting: wake it. A
         * message it read meanwhile is in l->stop; one still queued is read after CLEAN. */
        eventfd_write(l->wakefd, 1);
        pthread_join(t, NULL);
        close(l->wakefd);

        /* The session goes before the volume: destroying it closes /dev/fuse. */
        session_free(l->session, true);
        l->session = NULL;
        finish_after_loop(l, atomic_load(&l->stop), ret_status);
        if (r < 0)
                *ret_status = 1;
        return 0;
}

/* The label comes from an untrusted image and the daemon drops a worker sending a string it
 * would not accept: control characters become '_', anything else invalid an empty label. */
static void label_for_daemon(char *buf, size_t size, const char *label) {
        snprintf(buf, size, "%s", label);
        for (char *p = buf; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '_';
        if (!link_string_valid(buf, size)) {
                log_warning("the volume label is not valid UTF-8; reporting none");
                buf[0] = '\0';
        }
}

static int signals_open(void) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        /* Blocked before any thread starts: only the signalfd sees them. */
        int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
        if (r != 0)
                return -r;
        int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

int link_run(int sock) {
        struct link l = { .sock = sock, .wakefd = -1 };
        struct link_hello hello = { .version = LINK_PROTOCOL_VERSION, .pid = (uint32_t) getpid() };
        struct link_probed probed = {};
        enum link_type type;
        enum stop_reason why;
        int device_fd = -1, direct_fd = -1, fd = -1, status = 1, r;
        char name[64];

        l.sigfd = signals_open();
        if (l.sigfd < 0)
                return log_error_errno(l.sigfd, "setting up signal handling failed"), 1;

        r = link_send(sock, LINK_HELLO, &hello, sizeof(hello), -1);
        if (r < 0)
                return log_error_errno(r, "sending HELLO to the daemon failed"), 1;
        r = link_recv(sock, LINK_DEVICE, NULL, &l.dev, sizeof(l.dev), &device_fd);
        /* The daemon starts a worker before polkit answers and hangs up on it when the request
         * is refused or its caller leaves: nothing was touched, so that is no failure. */
        if (r == -ECONNRESET) {
                log_info("the daemon hung up before handing over a device (request refused or withdrawn); nothing to do");
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "receiving the device from the daemon failed"), 1;
        if (device_fd < 0)
                return log_error("the daemon sent no device"), 1;
        if (l.dev.flags & LINK_OPT_DIRECT_FOLLOWS) {
                r = link_recv(sock, LINK_DIRECT_DEVICE, NULL, NULL, 0, &direct_fd);
                if (r < 0 || direct_fd < 0) {
                        close(device_fd);
                        return log_error_errno(r < 0 ? r : -EBADMSG, "receiving the O_DIRECT device from the daemon failed"), 1;
                }
        }

        /* The sandbox has no /dev: the daemon names the device in $EXFAT_WORKER_DEVICE, for log lines
         * only (it is never opened); without it, the fd names it. */
        const char *device_name = getenv("EXFAT_WORKER_DEVICE");
        if (device_name && *device_name)
                snprintf(name, sizeof(name), "%s", device_name);
        else
                snprintf(name, sizeof(name), "device fd %d", device_fd);
        r = volume_probe(&l.vol, device_fd, direct_fd, name, l.dev.flags & LINK_OPT_READ_ONLY, l.dev.flags & LINK_OPT_FORCE,
                         l.dev.flags & LINK_OPT_SYNC);
        l.probe_status = r;
        probed.status = r;
        if (r >= 0) {
                probed.serial = l.vol.info.serial;
                probed.dirty = l.vol.info.dirty;
                probed.read_only = l.vol.read_only;
                probed.has_guid = l.vol.info.has_guid;
                memcpy(probed.guid, l.vol.info.guid, sizeof(probed.guid));
                probed.volume_size = l.vol.info.volume_size;
                probed.cluster_size = l.vol.info.cluster_size;
                label_for_daemon(probed.label, sizeof(probed.label), l.vol.info.label);
        }
        if (link_send(sock, LINK_PROBED, &probed, sizeof(probed), -1) < 0) {
                log_error("sending PROBED to the daemon failed");
                goto out;
        }

        /* Now FUSE (serve), SET_LABEL (handled inside), or SHUTDOWN. */
        why = next_message(&l, -1, -1, &type, &fd);
        if (why == STOP_NONE && type == LINK_FUSE && r >= 0 && !(l.dev.flags & LINK_OPT_PROBE_ONLY)) {
                int err = serve(&l, fd, &status);
                if (err < 0)
                        status = 1;
                goto out;
        }
        if (fd >= 0)
                close(fd);
        if (why == STOP_NONE && type == LINK_SHUTDOWN) {
                int u = unmount_volume(&l);
                send_status(&l, LINK_CLEAN, u);
                status = u < 0 ? 1 : 0;
        } else {
                if (why == STOP_NONE)
                        log_error("unexpected message %d from the daemon", (int) type);
                /* Flush whatever a label change wrote; a broken daemon link is still a failure. */
                int u = unmount_volume(&l);
                status = (why == STOP_HANGUP || why == STOP_SIGNAL) && u == 0 ? 0 : 1;
        }

out:
        if (l.mounted)
                worker_fs_done(&l.fs);
        /* Only once the volume is gone: its write-back thread uses the device. */
        if (!l.mounted || !l.fs.vol)
                volume_done(&l.vol);
        close(device_fd);
        close(l.sigfd);
        return status;
}
