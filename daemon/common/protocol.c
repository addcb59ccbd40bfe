/* SPDX-License-Identifier: MIT */
#include "protocol.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const ssize_t payload_sizes[_LINK_TYPE_MAX] = {
        [LINK_HELLO] = sizeof(struct link_hello),
        [LINK_DEVICE] = sizeof(struct link_device),
        [LINK_PROBED] = sizeof(struct link_probed),
        [LINK_FUSE] = 0,
        [LINK_READY] = sizeof(struct link_status),
        [LINK_SET_LABEL] = sizeof(struct link_set_label),
        [LINK_LABEL_SET] = sizeof(struct link_status),
        [LINK_SHUTDOWN] = 0,
        [LINK_CLEAN] = sizeof(struct link_status),
        [LINK_DIRECT_DEVICE] = 0,
};

_Static_assert(sizeof(struct link_header) + sizeof(struct link_probed) <= LINK_MAX_PACKET, "packet too big");

ssize_t link_payload_size(enum link_type type) {
        if (type <= 0 || type >= _LINK_TYPE_MAX)
                return -1;
        return payload_sizes[type];
}

static bool type_carries_fd(enum link_type type) {
        return type == LINK_DEVICE || type == LINK_DIRECT_DEVICE || type == LINK_FUSE;
}

int link_send(int sock, enum link_type type, const void *payload, size_t size, int fd) {
        ssize_t expected = link_payload_size(type);
        if (expected < 0 || (size_t) expected != size)
                return -EINVAL;
        if ((fd >= 0) != type_carries_fd(type))
                return -EINVAL;

        unsigned char packet[LINK_MAX_PACKET];
        struct link_header h = { .magic = LINK_MAGIC, .type = type, .size = (uint32_t) size };
        memcpy(packet, &h, sizeof(h));
        if (size > 0)
                memcpy(packet + sizeof(h), payload, size);

        struct iovec iov = { .iov_base = packet, .iov_len = sizeof(h) + size };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }

        ssize_t n;
        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n != iov.iov_len)
                return -EIO;
        return 0;
}

/* Closes every fd in the control data; returns the single expected one through *ret_fd. */
static int collect_fds(struct msghdr *msg, int *ret_fd) {
        int fd = -1, extra = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int f;
                        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (fd < 0)
                                fd = f;
                        else {
                                close(f);
                                extra++;
                        }
                }
        }
        if (extra > 0 || (msg->msg_flags & MSG_CTRUNC)) {
                if (fd >= 0)
                        close(fd);
                return -EBADMSG;
        }
        *ret_fd = fd;
        return 0;
}

int link_recv(int sock, enum link_type expected_type, enum link_type *ret_type, void *payload,
              size_t payload_max, int *ret_fd) {
        unsigned char packet[LINK_MAX_PACKET + 1];
        struct iovec iov = { .iov_base = packet, .iov_len = sizeof(packet) };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof(control.buf) };
        int fd = -1, r;

        if (ret_fd)
                *ret_fd = -1;

        ssize_t n;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        r = collect_fds(&msg, &fd);
        if (r < 0)
                return r;
        if (n == 0) {
                if (fd >= 0)
                        close(fd);
                return -ECONNRESET;
        }

        struct link_header h;
        r = -EBADMSG;
        if ((size_t) n < sizeof(h) || (msg.msg_flags & MSG_TRUNC))
                goto fail;
        memcpy(&h, packet, sizeof(h));
        ssize_t expected = link_payload_size(h.type);
        if (h.magic != LINK_MAGIC || expected < 0 || (size_t) expected != h.size ||
            (size_t) n != sizeof(h) + h.size || h.size > payload_max)
                goto fail;
        if ((fd >= 0) != type_carries_fd(h.type))
                goto fail;
        r = -EPROTO;
        if (expected_type != 0 && h.type != expected_type)
                goto fail;

        if (h.size > 0)
                memcpy(payload, packet + sizeof(h), h.size);
        if (ret_type)
                *ret_type = h.type;
        if (ret_fd)
                *ret_fd = fd;
        else if (fd >= 0)
                close(fd);
        return 0;

fail:
        if (fd >= 0)
                close(fd);
        return r;
}

static size_t utf8_sequence_length(const unsigned char *s, size_t left) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if ((c & 0xE0) == 0xC0)
                len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
                len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
                len = 4, cp = c & 0x07;
        else
                return 0;
        if (len > left)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        /* C1 control characters are as unwelcome as C0 ones. */
        if (cp >= 0x80 && cp <= 0x9F)
                return 0;
        /* Noncharacters (U+FDD0..U+FDEF and the last two code points of every plane): sd-bus
         * refuses to send a string holding one, so a label or path with one could never reach
         * a caller (and a property read would fail for every caller). */
        if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
                return 0;
        return len;
}

bool link_string_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = strnlen(s, n);
        if (len == n)
                return false;
        for (size_t i = 0; i < len;) {
                if (p[i] < 0x20 || p[i] == 0x7F)
                        return false;
                size_t l = utf8_sequence_length(p + i, len - i);
                if (l == 0)
                        return false;
                i += l;
        }
        return true;
}
