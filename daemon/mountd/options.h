/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/* The typed a{sv} options of the API. Every key is known and every value has its declared type;
 * anything else is refused with InvalidArgument before any work is done. */
struct mount_options {
        bool read_only;
        bool noexec;
        bool sync;
        bool force;
        bool no_user_interaction;
        bool has_uid, has_gid;
        uid_t uid;
        gid_t gid;
        uint32_t dmask;
        uint32_t fmask;
        char *mount_point;  /* owned; NULL for the default */
};

#define DEFAULT_DMASK 0022u
#define DEFAULT_FMASK 0133u

enum option_set {
        OPTIONS_MOUNT,
        OPTIONS_UNMOUNT,  /* force, auth.no_user_interaction */
        OPTIONS_LABEL,    /* auth.no_user_interaction */
};

/* Reads the a{sv} at the message's current position. 0, or -errno with error set. */
int options_parse(sd_bus_message *msg, enum option_set set, struct mount_options *ret, sd_bus_error *error);
void options_done(struct mount_options *o);

/* A mount point named by the caller: absolute, canonical (no "." / ".." / "//"), only characters
 * that are harmless in mountinfo and mount data, short. */
bool mount_point_option_valid(const char *p);

#define LABEL_MAX_UNITS 11

/* A volume label: valid UTF-8 without control characters, none of the characters exFAT forbids in
 * names (" * / : < > ? \ |), at most 11 UTF-16 units. */
bool label_valid(const char *label);
