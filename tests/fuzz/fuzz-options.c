/* SPDX-License-Identifier: MIT */
/*
 * fuzz-options: what a D-Bus caller and a mount(8) command line hand to our option parsers.
 *
 * Byte 0 picks the target (low two bits) and, for the D-Bus parser, the method's option set:
 *   0  daemon/mountd/options.c options_parse on an sd_bus_message built from the input: an a{sv}
 *      (or, now and then, something else) whose keys come from the known ones or the input, with
 *      values of any of ten D-Bus types;
 *   1  the worker's "-o" parser (daemon/worker/options.c), on up to four NUL-separated lists;
 *   2  mount_point_option_valid, compared with an independent reading of its rules;
 *   3  label_valid, likewise.
 * sd-bus only builds messages on a bus that is not unset: a bus over one end of a socketpair is
 * started (never authenticated) once and used for every message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "fuzz.h"
#include "options.h"

static sd_bus *fake_bus(void) {
        static sd_bus *bus;
        int sv[2];
        if (bus)
                return bus;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        return bus;
}

struct reader {
        const uint8_t *data;
        size_t size, pos;
};

static uint8_t take(struct reader *r) {
        return r->pos < r->size ? r->data[r->pos++] : 0;
}

static uint32_t take32(struct reader *r) {
        uint32_t v = 0;
        for (int i = 0; i < 4; i++)
                v = v << 8 | take(r);
        return v;
}

/* A string of the input (length byte first), NUL-terminated in buf. */
static const char *take_string(struct reader *r, char *buf, size_t size) {
        size_t n = take(r);
        if (n >= size)
                n = size - 1;
        for (size_t i = 0; i < n; i++)
                buf[i] = (char) take(r);
        buf[n] = '\0';
        return buf;
}

static const char *const keys[] = {
        "read-only", "noexec", "sync", "force", "auth.no_user_interaction", "uid", "gid", "dmask", "fmask",
        "mount-point", "", "unknown", "Force", "mount-point\xc3\xa9",
};

static const char *const paths[] = {
        "/media/usb", "/", "//x", "/a/../b", "/a/./b", "/a/", "relative", "/a b", "/a,b", "/.", "/..",
        "/\xc3\xa9", "/run/media/alice/DISK-1+@_.x",
};

/* Appends one value of a type picked by the input as a variant; < 0 when sd-bus refuses it. */
static int append_value(sd_bus_message *m, struct reader *r) {
        char buf[1100];
        uint8_t t = take(r) % 11;
        switch (t) {
        case 0:
                return sd_bus_message_append(m, "v", "b", (int) (take(r) & 1));
        case 1:
                return sd_bus_message_append(m, "v", "u", take32(r));
        case 2:
                return sd_bus_message_append(m, "v", "s", take_string(r, buf, sizeof(buf)));
        case 3: {
                /* A known interesting path, or one long enough to hit the length limit. */
                uint8_t k = take(r);
                if (k == 0xFF) {
                        memset(buf, 'a', 1030);
                        buf[0] = '/';
                        buf[1024 + (take(r) & 3)] = '\0';
                        return sd_bus_message_append(m, "v", "s", buf);
                }
                return sd_bus_message_append(m, "v", "s", paths[k % (sizeof(paths) / sizeof(paths[0]))]);
        }
        case 4:
                return sd_bus_message_append(m, "v", "i", (int32_t) take32(r));
        case 5:
                return sd_bus_message_append(m, "v", "t", (uint64_t) take32(r) << 32 | take32(r));
        case 6:
                return sd_bus_message_append(m, "v", "y", take(r));
        case 7:
                return sd_bus_message_append(m, "v", "as", 2, "a", take_string(r, buf, sizeof(buf)));
        case 8:
                return sd_bus_message_append(m, "v", "a{sv}", 1, "force", "b", 1);
        case 9:
                return sd_bus_message_append(m, "v", "v", "u", take32(r));
        default:
                return sd_bus_message_append(m, "v", "o", "/org/x");
        }
}

static int build(sd_bus_message *m, struct reader *r) {
        char buf[300];
        int x;
        uint8_t shape = take(r);

        if (shape % 16 == 0)
                return sd_bus_message_append(m, "s", "not options");
        if (shape % 16 == 1)
                return sd_bus_message_append(m, "a{ss}", 1, "force", "true");
        x = sd_bus_message_open_container(m, 'a', "{sv}");
        if (x < 0)
                return x;
        for (unsigned n = shape >> 4; n > 0; n--) {
                uint8_t k = take(r);
                const char *key = k < 0xC0 ? keys[k % (sizeof(keys) / sizeof(keys[0]))] : take_string(r, buf, sizeof(buf));
                x = sd_bus_message_open_container(m, 'e', "sv");
                if (x >= 0)
                        x = sd_bus_message_append(m, "s", key);
                if (x >= 0)
                        x = append_value(m, r);
                if (x >= 0)
                        x = sd_bus_message_close_container(m);
                if (x < 0)
                        return x;
        }
        return sd_bus_message_close_container(m);
}

static void fuzz_dbus(struct reader *r, enum option_set set) {
        sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct mount_options o;

        if (sd_bus_message_new_method_call(fake_bus(), &m, "org.exfat.Mountd1", "/org/exfat/Mountd1",
                                           "org.exfat.Mountd1.Manager", "Mount") < 0)
                abort();
        /* What sd-bus refuses to build (invalid UTF-8 keys...) never reaches the daemon either. */
        if (build(m, r) < 0 || sd_bus_message_seal(m, 1, 0) < 0 || sd_bus_message_rewind(m, true) < 0)
                goto out;

        int x = options_parse(m, set, &o, &error);
        if (x < 0) {
                if (!sd_bus_error_is_set(&error) && x != -ENOMEM)
                        fuzz_fail("options_parse failed (%d) without an error", x);
                if (o.mount_point)
                        fuzz_fail("options_parse failed and kept a mount point");
                goto out;
        }
        if (sd_bus_error_is_set(&error))
                fuzz_fail("options_parse succeeded with an error set: %s", error.message);
        if (o.dmask > 0777 || o.fmask > 0777 || (o.has_uid && o.uid == (uid_t) -1) || (o.has_gid && o.gid == (gid_t) -1))
                fuzz_fail("options_parse accepted masks %o/%o uid %u gid %u", o.dmask, o.fmask, o.uid, o.gid);
        if (o.mount_point && !mount_point_option_valid(o.mount_point))
                fuzz_fail("options_parse accepted mount point \"%s\"", o.mount_point);
        if (set != OPTIONS_MOUNT && (o.read_only || o.noexec || o.sync || o.has_uid || o.has_gid || o.mount_point ||
                                     o.dmask != DEFAULT_DMASK || o.fmask != DEFAULT_FMASK))
                fuzz_fail("options_parse accepted a mount option for another method");
        if (set == OPTIONS_LABEL && o.force)
                fuzz_fail("options_parse accepted force for Label");
        options_done(&o);
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);
}

/* The rules of mount_point_option_valid as its comment states them, read independently. */
/* Valid UTF-8 (shortest forms, no surrogates, at most U+10FFFF) without C0, DEL or C1 controls and
 * without the bytes of forbidden; *units counts UTF-16 units. */
static bool text_reference(const char *s, const char *forbidden, size_t *units) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);
        *units = 0;
        for (size_t i = 0; i < n;) {
                unsigned c = p[i], len, cp;
                if (c < 0x20 || c == 0x7F || strchr(forbidden, (int) c))
                        return false;
                if (c < 0x80)
                        len = 1, cp = c;
                else if (c >= 0xC2 && c <= 0xDF)
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
                        if ((p[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i + k] & 0x3F);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F) ||
                    (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
                        return false;
                *units += cp >= 0x10000 ? 2 : 1;
                i += len;
        }
        return true;
}

/* Absolute, 2..1024 bytes, text (as above), components neither empty nor "." nor "..". */
static bool mount_point_reference(const char *p) {
        size_t n = strlen(p), units;
        if (n < 2 || n > 1024 || p[0] != '/' || !text_reference(p, "", &units))
                return false;
        const char *c = p + 1;
        for (;;) {
                const char *end = strchr(c, '/');
                size_t len = end ? (size_t) (end - c) : strlen(c);
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!end)
                        return true;
                c = end + 1;
        }
}

/* Text (as above) of < 64 bytes, none of " * / : < > ? \ |, at most 11 UTF-16 units. */
static bool label_reference(const char *s) {
        size_t units;
        return strlen(s) < 64 && text_reference(s, "\"*/:<>?\\|", &units) && units <= 11;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        struct reader r = { data, size, 1 };
        char *s = malloc(size);
        if (!s)
                abort();
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        switch (data[0] & 3) {
        case 0:
                fuzz_dbus(&r, (enum option_set) ((data[0] >> 2) % 3));
                break;
        case 1: {
                /* Up to four -o lists, separated by NULs in the input. */
                const char *lists[4];
                size_t n = 0;
                for (char *p = s; n < 4 && p < s + size - 1; p += strlen(p) + 1)
                        lists[n++] = p;
                if (n == 0)
                        lists[n++] = s;
                fuzz_worker_options(lists, n);
                break;
        }
        case 2:
                if (mount_point_option_valid(s) != mount_point_reference(s))
                        fuzz_fail("mount_point_option_valid(\"%s\") says %d", s, !mount_point_reference(s));
                break;
        case 3:
                if (label_valid(s) != label_reference(s))
                        fuzz_fail("label_valid(\"%s\") says %d", s, !label_reference(s));
                break;
        }
        free(s);
        return 0;
}
