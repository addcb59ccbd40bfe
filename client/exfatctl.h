/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "options.h"
#include "path.h"

/* The parsed command line, shared by all commands. */
struct context {
        bool ask_password;      /* false with --no-ask-password */
        bool json;              /* list --json, info --json */
        bool all;               /* list --all */
        bool force;             /* unmount --force */
        bool read_only;         /* mount --read-only */
        const char *mount_point; /* mount --mount-point */
        struct mount_options mount_options;
};

/* Each command takes its positional arguments (without the command name) and returns exfatctl's
 * exit code (errors.h), having printed one line for any failure. */
int cmd_mount(const struct context *c, int argc, char **argv);
int cmd_unmount(const struct context *c, int argc, char **argv);
int cmd_label(const struct context *c, int argc, char **argv);
int cmd_list(const struct context *c, int argc, char **argv);
int cmd_monitor(const struct context *c, int argc, char **argv);
int cmd_info(const struct context *c, int argc, char **argv);

/* Connects to the system bus. Returns 0, or prints why not and returns the exit code. */
int bus_connect(sd_bus **ret);

/* Creates a method call to the Manager object. */
int manager_call_new(sd_bus *bus, const char *member, sd_bus_message **ret);

/* Appends the auth.no_user_interaction option when asked not to prompt; for an open a{sv}. */
int auth_option_append(const struct context *c, sd_bus_message *m);

/* Sends a call that may need polkit authorization: allows interactive authorization unless
 * --no-ask-password, with a text agent running meanwhile when stdin is a terminal, and a timeout
 * long enough to type a password. Returns sd_bus_call()'s result. */
int call_authorized(const struct context *c, sd_bus *bus, sd_bus_message *m,
                    sd_bus_error *error, sd_bus_message **reply);
