/* SPDX-License-Identifier: MIT */
/*
 * fuzz-link: the daemon's side of the worker link, fed by a hostile worker.
 *
 * Input: byte 0 selects the mode and the device size the daemon believes in; then records of
 * [ctl][len][len bytes], each one packet on a SOCK_SEQPACKET socketpair:
 *   ctl bit 0-1  fds attached (0-3; the daemon must close every one of them)
 *   ctl bit 2    a well-formed header (magic, type = ctl >> 4, size = len) is put in front of the
 *                bytes; else the bytes are the whole packet
 *   ctl bit 3    the worker closes its end after this packet
 * Mode 0 runs them through the daemon's own watch (daemon/mountd/link.c, a real sd-event loop) and
 * applies to each delivered message what daemon/mountd/mount.c does with it (link_check_probed,
 * link_check_status, the label put on the bus, the UUID text). Mode 1 calls link_recv directly
 * with the expected type and payload room taken from the input. Both check that no received fd is
 * left open. Every input also goes through link_string_valid, compared with an independent UTF-8
 * check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "fuzz.h"
#include "link.h"
#include "protocol.h"

#define MAX_PACKETS 32

/* A bus that is never connected: enough for sd-bus to build messages (see fuzz-options.c). */
static sd_bus *fake_bus(void) {
        static sd_bus *bus;
        int sv[2];
        if (bus)
                return bus;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        /* sv[1] stays open for the process's life: the bus's writes must not fail. */
        return bus;
}

/* Whether sd-bus agrees to put s into a message as a string. */
static bool bus_can_send(const char *s) {
        sd_bus_message *m = NULL;
        if (sd_bus_message_new_method_call(fake_bus(), &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                           "org.exfat.Mountd1", "X") < 0)
                abort();
        bool ok = sd_bus_message_append(m, "s", s) >= 0;
        sd_bus_message_unref(m);
        return ok;
}

/* Strict UTF-8 without C0, DEL or C1 controls and without Unicode noncharacters, written from
 * RFC 3629 and Unicode's definition of noncharacters independently of protocol.c. */
static bool utf8_ok(const unsigned char *s, size_t n) {
        size_t i = 0;
        while (i < n) {
                unsigned c = s[i], len, cp;
                if (c < 0x20 || c == 0x7F)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF)
                        len = 2, cp = c & 0x1F;
                else if (c >= 0xE0 && c <= 0xEF)
                        len = 3, cp = c & 0x0F;
                else if (c >= 0xF0 && c <= 0xF4)
                        len = 4, cp = c & 0x07;
                else
                        return false;
                if (n - i < len)
                        return false;
                for (unsigned k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3F);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F) ||
                    (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
                        return false;
                i += len;
        }
        return true;
}

static void check_string(const uint8_t *data, size_t size) {
        size_t n = size > 80 ? 80 : size;
        char *copy = malloc(n + 1);
        if (!copy)
                abort();
        memcpy(copy, data, n);
        size_t len = strnlen(copy, n);
        bool want = len < n && utf8_ok((const unsigned char *) copy, len);
        if (link_string_valid(copy, n) != want)
                fuzz_fail("link_string_valid says %d for a string the reference calls %s", !want,
                          want ? "valid" : "invalid");
        /* The rule exists for D-Bus: whatever it accepts, sd-bus must be able to send. */
        if (want && !bus_can_send(copy))
                fuzz_fail("link_string_valid accepted a string sd-bus cannot send");
        free(copy);
}

struct daemon_side {
        uint64_t device_size;
        bool gone;
        int gone_reason;
        unsigned messages;
};

/* What mount.c does with a PROBED that passed link_check_probed: the label becomes a D-Bus
 * property and a log line, the serial a UUID string. */
static void consume_probed(struct daemon_side *d, const struct link_probed *p) {
        if (link_check_probed(p, d->device_size) < 0)
                return;
        if (p->status < 0) {
                (void) strerror(-p->status);
                return;
        }
        /* A device size of 0 means unknown: only then may the volume be any size. */
        if (p->cluster_size < 512 || (p->cluster_size & (p->cluster_size - 1)) || p->volume_size == 0 ||
            (d->device_size > 0 && p->volume_size > d->device_size) || memchr(p->label, 0, sizeof(p->label)) == NULL)
                fuzz_fail("link_check_probed accepted a PROBED it should have refused");
        char uuid[16];
        if (snprintf(uuid, sizeof(uuid), "%04X-%04X", p->serial >> 16, p->serial & 0xFFFF) != 9)
                fuzz_fail("uuid text");
        /* sd-bus refuses strings that are not UTF-8 or hold noncharacters: a label the daemon
         * accepted must fit, and so must the UUID made from the serial. */
        if (!bus_can_send(p->label))
                fuzz_fail("the daemon accepted a label sd-bus cannot send: \"%s\"", p->label);
        if (!bus_can_send(uuid))
                fuzz_fail("a UUID sd-bus cannot send: \"%s\"", uuid);
}

static void on_message(void *userdata, enum link_type type, const union link_payload *p) {
        struct daemon_side *d = userdata;
        if (d->gone)
                fuzz_fail("a message was delivered after the link was declared gone");
        d->messages++;
        switch (type) {
        case LINK_HELLO:
                (void) p->hello.version;
                break;
        case LINK_PROBED:
                consume_probed(d, &p->probed);
                break;
        case LINK_READY:
        case LINK_LABEL_SET:
        case LINK_CLEAN:
                if (link_check_status(p->status.status) == 0 && (p->status.status > 0 || p->status.status < -4095))
                        fuzz_fail("link_check_status accepted %d", (int) p->status.status);
                if (link_check_status(p->status.status) == 0)
                        (void) strerror(-p->status.status);
                break;
        default:
                fuzz_fail("the daemon was handed a message of type %d a worker may not send", (int) type);
        }
}

static void on_gone(void *userdata, int reason) {
        struct daemon_side *d = userdata;
        if (d->gone)
                fuzz_fail("link gone twice");
        if (reason >= 0)
                fuzz_fail("link gone with reason %d", reason);
        d->gone = true;
        d->gone_reason = reason;
}

static const struct link_handlers handlers = { on_message, on_gone };

struct reader {
        const uint8_t *data;
        size_t size, pos;
};

static bool take(struct reader *r, uint8_t *b) {
        if (r->pos >= r->size)
                return false;
        *b = r->data[r->pos++];
        return true;
}

/* Sends one record's packet from the worker's end; false when the input is used up or the
 * worker closed. */
static bool send_record(struct reader *r, int sock, bool *closed) {
        uint8_t ctl, len;
        unsigned char packet[LINK_MAX_PACKET + 64];
        size_t n = 0;

        if (!take(r, &ctl) || !take(r, &len))
                return false;
        if (ctl & 4) {
                struct link_header h = { .magic = LINK_MAGIC, .type = ctl >> 4, .size = len };
                memcpy(packet, &h, sizeof(h));
                n = sizeof(h);
        }
        for (unsigned i = 0; i < len && n < sizeof(packet); i++) {
                uint8_t b = 0;
                (void) take(r, &b);
                packet[n++] = b;
        }

        int fds[3], nfds = ctl & 3;
        for (int i = 0; i < nfds; i++)
                if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                        abort();
        struct iovec iov = { .iov_base = packet, .iov_len = n };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 3)];
        } control = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (nfds > 0) {
                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        (void) sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (int i = 0; i < nfds; i++)
                close(fds[i]);
        if (ctl & 8) {
                *closed = true;
                return false;
        }
        return true;
}

static void run_daemon_watch(struct reader *r, int daemon_sock, int worker_sock, uint64_t device_size) {
        struct daemon_side d = { .device_size = device_size };
        sd_event *e = NULL;
        sd_event_source *s = NULL;
        bool closed = false;

        if (sd_event_new(&e) < 0 || link_watch(e, daemon_sock, &handlers, &d, &s) < 0)
                abort();
        for (unsigned i = 0; i < MAX_PACKETS && !d.gone; i++) {
                bool more = send_record(r, worker_sock, &closed);
                if (closed)
                        shutdown(worker_sock, SHUT_RDWR);
                /* Let the daemon read what came (one packet per dispatch, or none when refused). */
                while (!d.gone && sd_event_run(e, 0) > 0)
                        ;
                if (!more)
                        break;
        }
        /* The worker goes away (if the input did not make it go already). */
        shutdown(worker_sock, SHUT_RDWR);
        for (unsigned i = 0; i < MAX_PACKETS + 2 && !d.gone; i++)
                if (sd_event_run(e, 0) <= 0)
                        break;
        /* A hang-up is always noticed: the daemon must not keep a dead worker. */
        if (!d.gone)
                fuzz_fail("the worker closed its end and the daemon did not notice");
        sd_event_source_disable_unref(s);
        sd_event_unref(e);
}

static void run_recv(struct reader *r, int daemon_sock, int worker_sock) {
        bool closed = false;
        for (unsigned i = 0; i < MAX_PACKETS; i++) {
                uint8_t want, room;
                if (!take(r, &want) || !take(r, &room))
                        break;
                bool more = send_record(r, worker_sock, &closed);
                if (closed)
                        shutdown(worker_sock, SHUT_RDWR);
                union link_payload p;
                enum link_type type = 0;
                int fd = -1;
                size_t max = room % (sizeof(p) + 1);
                int x = link_recv(daemon_sock, want % (_LINK_TYPE_MAX + 1), &type, &p, max,
                                  (room & 0x80) ? NULL : &fd);
                if (x >= 0) {
                        ssize_t expect = link_payload_size(type);
                        if (expect < 0 || (size_t) expect > max)
                                fuzz_fail("link_recv accepted type %d (payload %zd) into %zu bytes", (int) type, expect, max);
                        if (want % (_LINK_TYPE_MAX + 1) != 0 && type != want % (_LINK_TYPE_MAX + 1))
                                fuzz_fail("link_recv accepted type %d, %d expected", (int) type, want % (_LINK_TYPE_MAX + 1));
                        bool carries = type == LINK_DEVICE || type == LINK_DIRECT_DEVICE || type == LINK_FUSE;
                        if (!(room & 0x80) && (fd >= 0) != carries)
                                fuzz_fail("link_recv gave fd %d with type %d", fd, (int) type);
                } else if (fd >= 0)
                        fuzz_fail("link_recv failed (%d) and still handed out fd %d", x, fd);
                if (fd >= 0)
                        close(fd);
                if (!more)
                        break;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int sv[2];

        if (size < 1)
                return 0;
        check_string(data, size);

        /* The lowest free fd now; a leaked received fd would take it. */
        int probe = dup(2);
        if (probe < 0)
                abort();
        close(probe);

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        struct reader r = { data, size, 1 };
        uint64_t device_size = (data[0] >> 1) ? (uint64_t) 1 << (data[0] >> 2) : 0;
        if (data[0] & 1)
                run_recv(&r, sv[0], sv[1]);
        else
                run_daemon_watch(&r, sv[0], sv[1], device_size);
        close(sv[0]);
        close(sv[1]);

        int after = dup(2);
        if (after < 0)
                abort();
        close(after);
        if (after != probe)
                fuzz_fail("an fd the worker sent was left open (lowest free fd %d, was %d)", after, probe);
        return 0;
}
