/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The link between exfat-mountd (root, trusted) and one exfat-worker (sandboxed, untrusted: it
 * parses attacker-made images). One SOCK_SEQPACKET socketpair per worker; the worker's end is its
 * stdin. Every message is one packet: a struct link_header followed by a fixed-size payload for
 * its type, with at most one fd attached (SCM_RIGHTS). The daemon validates every packet it
 * receives (type, exact size, NUL-terminated strings, status range) and drops the worker on any
 * violation.
 *
 * Mount:   W→D HELLO; D→W DEVICE(+device fd) [D→W DIRECT_DEVICE(+O_DIRECT device fd, same access
 *          mode), when DEVICE has LINK_OPT_DIRECT_FOLLOWS: the sandbox cannot open the device
 *          itself, and file data read and written around the device's page cache costs a copy
 *          less]; W→D PROBED; D mounts; D→W FUSE(+/dev/fuse fd); W→D READY. Then the worker
 *          serves FUSE requests.
 * Label:   D→W SET_LABEL; W→D LABEL_SET. Works while serving, or right after PROBED when the
 *          daemon only wants to relabel an unmounted device (then SHUTDOWN without FUSE).
 * Unmount: D syncfs + umount2; D→W SHUTDOWN; the worker stops serving, flushes, clears the
 *          dirty flag, flushes the device; W→D CLEAN; worker exits 0.
 * Any W→D message carries status 0 or -errno; the daemon maps it to a D-Bus error.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LINK_PROTOCOL_VERSION 1
#define LINK_MAGIC 0x45584654u /* "EXFT" */
#define LINK_LABEL_MAX 64      /* bytes incl. NUL; >= 11 UTF-16 units as UTF-8 (33) */
#define LINK_MAX_PACKET 256

enum link_type {
        LINK_HELLO = 1,     /* W→D */
        LINK_DEVICE,        /* D→W, fd = device */
        LINK_PROBED,        /* W→D */
        LINK_FUSE,          /* D→W, fd = /dev/fuse, already mounted */
        LINK_READY,         /* W→D */
        LINK_SET_LABEL,     /* D→W */
        LINK_LABEL_SET,     /* W→D */
        LINK_SHUTDOWN,      /* D→W */
        LINK_CLEAN,         /* W→D */
        LINK_DIRECT_DEVICE, /* D→W, fd = the device opened again with O_DIRECT (file data) */
        _LINK_TYPE_MAX,
};

struct link_header {
        uint32_t magic;
        uint32_t type;      /* enum link_type */
        uint32_t size;      /* payload bytes following the header */
        uint32_t reserved;
};

struct link_hello {
        uint32_t version;   /* LINK_PROTOCOL_VERSION */
        uint32_t pid;
};

/* Mount options the daemon decided on (already authorized and validated). */
#define LINK_OPT_READ_ONLY (1u << 0)
#define LINK_OPT_FORCE     (1u << 1) /* read-write even if the volume is dirty */
#define LINK_OPT_SYNC      (1u << 2)
#define LINK_OPT_NOEXEC    (1u << 3)
#define LINK_OPT_PROBE_ONLY (1u << 4) /* label an unmounted device: no FUSE will follow */
#define LINK_OPT_DIRECT_FOLLOWS (1u << 5) /* DIRECT_DEVICE comes right after DEVICE */

struct link_device {
        uint32_t flags;     /* LINK_OPT_* */
        uint32_t uid;       /* owner of all files */
        uint32_t gid;
        uint32_t dmask;     /* permission bits removed from directories */
        uint32_t fmask;     /* ... from files */
};

struct link_probed {
        int32_t status;     /* 0 or -errno (-EINVAL not exFAT, -EIO damaged) */
        uint32_t serial;
        uint8_t dirty;      /* VolumeDirty was set on the device */
        uint8_t read_only;  /* the worker will serve read-only (asked, or dirty without force) */
        uint8_t has_guid;
        uint8_t reserved;
        uint8_t guid[16];
        uint64_t volume_size;
        uint32_t cluster_size;
        uint32_t reserved2;
        char label[LINK_LABEL_MAX]; /* UTF-8, NUL-terminated */
};

struct link_status {        /* READY, LABEL_SET, CLEAN */
        int32_t status;
        uint32_t reserved;
};

struct link_set_label {
        char label[LINK_LABEL_MAX];
};

/* Sends one message with an optional fd (-1 for none). 0 or -errno. */
int link_send(int sock, enum link_type type, const void *payload, size_t size, int fd);

/* Receives one message. Checks magic, that type is known and size equals the expected payload
 * size for that type (-EBADMSG otherwise), and that an fd is attached only to DEVICE and FUSE.
 * *ret_fd gets the attached fd or -1 (any unexpected fd is closed). 0 on a message, -ECONNRESET
 * when the peer closed, -errno otherwise. payload must hold link_payload_size(type) bytes;
 * expected_type 0 accepts any type, else a different type gives -EPROTO. */
int link_recv(int sock, enum link_type expected_type, enum link_type *ret_type, void *payload,
              size_t payload_max, int *ret_fd);

/* Expected payload size for a type, or -1 for an unknown type. */
ssize_t link_payload_size(enum link_type type);

/* True when s is NUL-terminated within n bytes and valid UTF-8 without control characters. */
bool link_string_valid(const char *s, size_t n);
