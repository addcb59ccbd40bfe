/* SPDX-License-Identifier: MIT */
/*
 * Plays exfat-mountd's part of the worker link (daemon/common/protocol.h) for tests, without
 * systemd: a socketpair, the worker started with its end on stdin, the fuseblk mount done here.
 *
 * Usage: link-driver WORKER DEVICE MOUNTPOINT
 * Reads one command per line on stdin and prints one result line per command on stdout:
 *   device [ro] [force] [sync] [noexec] [probe-only] [uid=N] [gid=N] [dmask=O] [fmask=O]
 *                         -> "PROBED <status> dirty=<0|1> ro=<0|1> label=<label>"
 *                            (HELLO is awaited first and checked)
 *   fuse                  -> mounts, sends the /dev/fuse fd: "READY <status>"
 *   label TEXT            -> "LABEL_SET <status>"
 *   umount                -> syncfs + umount2: "UMOUNT <0|-errno>"
 *   shutdown              -> "CLEAN <status>"
 *   recv                  -> next message: "<TYPE> <status>" or "EOF"
 *   garbage               -> sends a malformed packet: "SENT"
 *   raw HEX               -> sends HEX (bytes as hex digits) as one packet: "SENT"
 *   close                 -> closes the socket: "CLOSED"
 *   term                  -> sends SIGTERM to the worker: "TERM"
 *   wait                  -> waits for the worker: "EXIT <code>" (or "SIGNAL <n>")
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol.h"

static const char *device_path, *mountpoint;
static int sock = -1, device_fd = -1;
static pid_t worker = -1;
static bool probed_read_only;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static int start_worker(const char *path) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        worker = fork();
        if (worker < 0)
                return -errno;
        if (worker == 0) {
                if (dup2(sv[1], STDIN_FILENO) < 0)
                        _exit(127);
                execl(path, path, "--service", (char *) NULL);
                _exit(127);
        }
        close(sv[1]);
        sock = sv[0];
        return 0;
}

static const char *type_name(enum link_type t) {
        static const char *const names[] = {
                [LINK_HELLO] = "HELLO", [LINK_DEVICE] = "DEVICE", [LINK_PROBED] = "PROBED",
                [LINK_FUSE] = "FUSE", [LINK_READY] = "READY", [LINK_SET_LABEL] = "SET_LABEL",
                [LINK_LABEL_SET] = "LABEL_SET", [LINK_SHUTDOWN] = "SHUTDOWN", [LINK_CLEAN] = "CLEAN",
        };
        return t > 0 && t < _LINK_TYPE_MAX ? names[t] : "?";
}

/* Receives one message and prints it; returns the type, or 0 on EOF/error. */
static enum link_type recv_print(enum link_type expected) {
        union {
                struct link_status st;
                struct link_probed probed;
                struct link_hello hello;
                unsigned char raw[LINK_MAX_PACKET];
        } m;
        enum link_type type;
        int fd = -1;
        int r = link_recv(sock, 0, &type, &m, sizeof(m), &fd);
        if (fd >= 0)
                close(fd);
        if (r == -ECONNRESET) {
                say("EOF");
                return 0;
        }
        if (r < 0) {
                say("ERROR %d", r);
                return 0;
        }
        if (expected && type != expected) {
                say("UNEXPECTED %s", type_name(type));
                return 0;
        }
        switch (type) {
        case LINK_PROBED:
                if (!link_string_valid(m.probed.label, sizeof(m.probed.label))) {
                        say("ERROR bad label");
                        return 0;
                }
                probed_read_only = m.probed.read_only;
                say("PROBED %d dirty=%d ro=%d size=%llu cluster=%u label=%s", m.probed.status, m.probed.dirty,
                    m.probed.read_only, (unsigned long long) m.probed.volume_size, m.probed.cluster_size,
                    m.probed.label);
                break;
        case LINK_HELLO:
                if (m.hello.version != LINK_PROTOCOL_VERSION || (pid_t) m.hello.pid != worker) {
                        say("ERROR bad hello version=%u pid=%u", m.hello.version, m.hello.pid);
                        return 0;
                }
                break;
        default:
                say("%s %d", type_name(type), m.st.status);
        }
        return type;
}

static void cmd_device(char *args) {
        struct link_device d = { .uid = 0, .gid = 0, .dmask = 022, .fmask = 022 };
        bool ro = false;
        for (char *save = NULL, *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (strcmp(w, "ro") == 0)
                        d.flags |= LINK_OPT_READ_ONLY, ro = true;
                else if (strcmp(w, "force") == 0)
                        d.flags |= LINK_OPT_FORCE;
                else if (strcmp(w, "sync") == 0)
                        d.flags |= LINK_OPT_SYNC;
                else if (strcmp(w, "noexec") == 0)
                        d.flags |= LINK_OPT_NOEXEC;
                else if (strcmp(w, "probe-only") == 0)
                        d.flags |= LINK_OPT_PROBE_ONLY;
                else if (strncmp(w, "uid=", 4) == 0)
                        d.uid = strtoul(w + 4, NULL, 10);
                else if (strncmp(w, "gid=", 4) == 0)
                        d.gid = strtoul(w + 4, NULL, 10);
                else if (strncmp(w, "dmask=", 6) == 0)
                        d.dmask = strtoul(w + 6, NULL, 8);
                else if (strncmp(w, "fmask=", 6) == 0)
                        d.fmask = strtoul(w + 6, NULL, 8);
        }
        if (recv_print(LINK_HELLO) != LINK_HELLO)
                return;
        device_fd = open(device_path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (device_fd < 0) {
                say("ERROR open %s: %m", device_path);
                return;
        }
        int r = link_send(sock, LINK_DEVICE, &d, sizeof(d), device_fd);
        if (r < 0) {
                say("ERROR send %d", r);
                return;
        }
        recv_print(LINK_PROBED);
}

static void cmd_fuse(void) {
        char opts[256];
        int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                say("ERROR /dev/fuse: %m");
                return;
        }
        snprintf(opts, sizeof(opts),
                 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions,blksize=4096", fd);
        if (mount(device_path, mountpoint, "fuseblk.exfat",
                  MS_NOSUID | MS_NODEV | (probed_read_only ? MS_RDONLY : 0), opts) < 0) {
                say("ERROR mount: %m");
                close(fd);
                return;
        }
        int r = link_send(sock, LINK_FUSE, NULL, 0, fd);
        close(fd);
        if (r < 0) {
                say("ERROR send %d", r);
                return;
        }
        recv_print(LINK_READY);
}

static void cmd_umount(void) {
        int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                syncfs(fd);
                close(fd);
        }
        say("UMOUNT %d", umount2(mountpoint, 0) < 0 ? -errno : 0);
}

static void cmd_label(const char *label) {
        struct link_set_label m = {};
        snprintf(m.label, sizeof(m.label), "%s", label);
        int r = link_send(sock, LINK_SET_LABEL, &m, sizeof(m), -1);
        if (r < 0) {
                say("ERROR send %d", r);
                return;
        }
        recv_print(LINK_LABEL_SET);
}

static void cmd_garbage(void) {
        /* A valid magic with an unknown type and a wrong size. */
        uint32_t junk[8] = { LINK_MAGIC, 0x77, 12, 0, 0xdeadbeef, 1, 2, 3 };
        if (send(sock, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
                say("ERROR send: %m");
        else
                say("SENT");
}

static void cmd_raw(const char *hex) {
        unsigned char buf[LINK_MAX_PACKET * 2];
        size_t n = 0;
        for (; hex[0] && hex[1] && n < sizeof(buf); hex += 2) {
                unsigned v;
                if (sscanf(hex, "%2x", &v) != 1)
                        break;
                buf[n++] = (unsigned char) v;
        }
        if (send(sock, buf, n, MSG_NOSIGNAL) < 0)
                say("ERROR send: %m");
        else
                say("SENT");
}

static void cmd_wait(void) {
        int status;
        if (waitpid(worker, &status, 0) < 0) {
                say("ERROR wait: %m");
                return;
        }
        worker = -1;
        if (WIFEXITED(status))
                say("EXIT %d", WEXITSTATUS(status));
        else
                say("SIGNAL %d", WTERMSIG(status));
}

int main(int argc, char *argv[]) {
        char line[512];

        if (argc != 4) {
                fprintf(stderr, "usage: link-driver WORKER DEVICE MOUNTPOINT\n");
                return 2;
        }
        device_path = argv[2];
        mountpoint = argv[3];
        signal(SIGPIPE, SIG_IGN);
        if (start_worker(argv[1]) < 0) {
                perror("starting the worker");
                return 1;
        }

        while (fgets(line, sizeof(line), stdin)) {
                line[strcspn(line, "\n")] = '\0';
                char *arg = strchr(line, ' ');
                if (arg)
                        *arg++ = '\0';
                else
                        arg = line + strlen(line);
                if (strcmp(line, "device") == 0)
                        cmd_device(arg);
                else if (strcmp(line, "fuse") == 0)
                        cmd_fuse();
                else if (strcmp(line, "label") == 0)
                        cmd_label(arg);
                else if (strcmp(line, "umount") == 0)
                        cmd_umount();
                else if (strcmp(line, "shutdown") == 0) {
                        int r = link_send(sock, LINK_SHUTDOWN, NULL, 0, -1);
                        if (r < 0)
                                say("ERROR send %d", r);
                        else
                                recv_print(LINK_CLEAN);
                } else if (strcmp(line, "recv") == 0)
                        recv_print(0);
                else if (strcmp(line, "garbage") == 0)
                        cmd_garbage();
                else if (strcmp(line, "raw") == 0)
                        cmd_raw(arg);
                else if (strcmp(line, "close") == 0) {
                        close(sock);
                        sock = -1;
                        say("CLOSED");
                } else if (strcmp(line, "term") == 0) {
                        kill(worker, SIGTERM);
                        say("TERM");
                } else if (strcmp(line, "wait") == 0)
                        cmd_wait();
                else
                        say("ERROR unknown command %s", line);
        }
        /* Never leave a worker behind. */
        if (worker > 0) {
                if (sock >= 0)
                        close(sock);
                kill(worker, SIGTERM);
                waitpid(worker, NULL, 0);
        }
        return 0;
}
