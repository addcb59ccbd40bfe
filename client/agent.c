/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

#define PKTTYAGENT "pkttyagent"
/* Registration is one bus round trip to polkitd; beyond this something is wrong and we would
 * rather go on and let the daemon answer "not authorized" than hang. */
#define AGENT_READY_TIMEOUT_MS 10000

static void exec_agent(int notify_fd, pid_t parent, bool fallback) {
        char fd_arg[32], pid_arg[32];

        /* The agent must not outlive us, even if we are killed before agent_close(). */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        /* The notify fd is the one descriptor that must cross exec. */
        if (fcntl(notify_fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);

        snprintf(fd_arg, sizeof(fd_arg), "%d", notify_fd);
        snprintf(pid_arg, sizeof(pid_arg), "%d", (int) parent);
        /* --process: polkitd finds an agent registered for the caller's process when the daemon asks
         * about our bus name, with or without a login session. */
        if (fallback)
                execlp(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd_arg, "--process", pid_arg, "--fallback",
                       (char *) NULL);
        else
                execlp(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd_arg, "--process", pid_arg, (char *) NULL);
        _exit(127);
}

/* The agent closes the notify fd once registered; if it dies instead, we see EOF all the same. */
static int wait_ready(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;
        int r;

        do
                r = poll(&p, 1, AGENT_READY_TIMEOUT_MS);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;

        while (read(fd, &c, 1) > 0)
                ;
        return 0;
}

int agent_open(bool fallback, pid_t *ret_pid) {
        _cleanup_(closep) int read_end = -EBADF, write_end = -EBADF;
        int fds[2];
        pid_t parent = getpid(), pid;
        int r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        read_end = fds[0];
        write_end = fds[1];

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                exec_agent(write_end, parent, fallback);

        close(write_end);
        write_end = -EBADF;

        r = wait_ready(read_end);
        if (r < 0) {
                agent_close(pid);
                return r;
        }
        *ret_pid = pid;
        return 0;
}

void agent_close(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
