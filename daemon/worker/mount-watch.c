/* SPDX-License-Identifier: MIT */
#include "mount-watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

/* After the mount left our namespace, DESTROY normally follows within milliseconds; only when it
 * does not (the superblock is pinned elsewhere) does the watch act, re-checking at this pace. */
#define GRACE_MS 1000

struct mount_watch {
        struct worker_session *session;
        struct worker_fs *fs;
        const char *mountpoint;
        pthread_t thread;
        int wakefd, sigfd, mountinfo_fd;
        atomic_bool gone;
};

static sigset_t stop_signals(void) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        return set;
}

int mount_watch_block_signals(void) {
        sigset_t set = stop_signals();
        return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
        char *out = s;
        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *out++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 3;
                } else
                        *out++ = *s;
        }
        *out = '\0';
}

static bool still_mounted(struct mount_watch *w) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL;
        size_t n = 0;
        bool found = false;

        if (!f)
                return true; /* cannot tell: assume the kernel will tell us */
        while (!found && getline(&line, &n, f) > 0) {
                /* id parent major:minor root mountpoint options ... - fstype source superoptions */
                char mp[4096], *sep;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                sep = strstr(line, " - ");
                if (!sep || strncmp(sep + 3, "fuse", 4) != 0)
                        continue;
                unescape(mp);
                found = strcmp(mp, w->mountpoint) == 0;
        }
        free(line);
        fclose(f);
        return found;
}

static int sync_volume(struct exfat_volume *vol, void *arg) {
        return exfat_sync(vol);
}

static void on_signal(struct mount_watch *w, bool *detach) {
        struct signalfd_siginfo si;
        if (read(w->sigfd, &si, sizeof(si)) != sizeof(si))
                return;
        if (umount2(w->mountpoint, *detach ? MNT_DETACH : 0) == 0)
                return; /* DESTROY (or the watch) ends the session */
        if (errno == EBUSY && !*detach) {
                log_warning("%s is busy; not unmounted (signal again to detach it lazily)", w->mountpoint);
                *detach = true;
        } else if (errno == EINVAL) {
                /* Not mounted here any more: stop serving the copies elsewhere, too. */
                log_info("%s: signal %u, no longer mounted here; finishing", w->mountpoint, si.ssi_signo);
                atomic_store(&w->gone, true);
                session_stop(w->session);
        } else
                log_error_errno(-errno, "unmounting %s failed", w->mountpoint);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void *watch_thread(void *arg) {
        struct mount_watch *w = arg;
        bool synced = false, detach = false;
        uint64_t check_at = 0; /* when gone: next time to act */

        for (;;) {
                struct pollfd p[3] = {
                        { .fd = w->wakefd, .events = POLLIN },
                        { .fd = w->sigfd, .events = POLLIN },
                        { .fd = w->mountinfo_fd, .events = POLLPRI },
                };
                int timeout = -1;
                if (check_at > 0) {
                        uint64_t now = now_ms();
                        timeout = check_at > now ? (int) (check_at - now) : 0;
                }
                int r = poll(p, 3, timeout);
                if (r < 0 && errno != EINTR) {
                        log_error_errno(-errno, "watching the mount table failed");
                        return NULL;
                }
                if (r < 0)
                        continue;
                if (p[0].revents)
                        return NULL;
                if (p[1].revents)
                        on_signal(w, &detach);
                if (check_at == 0) {
                        if ((p[2].revents & (POLLPRI | POLLERR)) && !still_mounted(w)) {
                                atomic_store(&w->gone, true);
                                check_at = now_ms() + GRACE_MS;
                        }
                        continue;
                }
                if (now_ms() < check_at)
                        continue;
                check_at = now_ms() + GRACE_MS;
                /* Gone here, yet no DESTROY: another mount namespace holds a copy. Make the data
                 * durable now, and finish once nobody has files open any more. */
                if (!synced) {
                        log_info("%s: unmounted, but the kernel keeps the filesystem alive (another mount "
                                 "namespace holds it); flushing now, finishing when no file is open",
                                 w->mountpoint);
                        worker_fs_with_volume(w->fs, sync_volume, NULL);
                        synced = true;
                }
                if (atomic_load(&w->fs->open_handles) <= 0) {
                        session_stop(w->session);
                        return NULL;
                }
        }
}

int mount_watch_start(struct worker_session *s, struct worker_fs *fs, const char *mountpoint,
                      struct mount_watch **ret) {
        struct mount_watch *w = calloc(1, sizeof(*w));
        sigset_t set = stop_signals();
        int r;

        if (!w)
                return -ENOMEM;
        *w = (struct mount_watch) { .session = s, .fs = fs, .mountpoint = mountpoint, .wakefd = -1, .sigfd = -1,
                                    .mountinfo_fd = -1 };
        w->wakefd = eventfd(0, EFD_CLOEXEC);
        w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        w->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (w->wakefd < 0 || w->sigfd < 0 || w->mountinfo_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = -pthread_create(&w->thread, NULL, watch_thread, w);
        if (r < 0)
                goto fail;
        *ret = w;
        return 0;
fail:
        if (w->wakefd >= 0)
                close(w->wakefd);
        if (w->sigfd >= 0)
                close(w->sigfd);
        if (w->mountinfo_fd >= 0)
                close(w->mountinfo_fd);
        free(w);
        return log_error_errno(r, "starting the mount watch failed");
}

bool mount_watch_stop(struct mount_watch *w) {
        bool gone;
        if (!w)
                return false;
        eventfd_write(w->wakefd, 1);
        pthread_join(w->thread, NULL);
        gone = atomic_load(&w->gone);
        close(w->wakefd);
        close(w->sigfd);
        close(w->mountinfo_fd);
        free(w);
        return gone;
}
