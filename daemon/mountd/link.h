/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "protocol.h"

/* The daemon's side of the worker link. The worker is untrusted: every message is checked against
 * the protocol (protocol.c) and against what this daemon expects, and anything odd ends the worker. */

union link_payload {
        struct link_hello hello;
        struct link_probed probed;
        struct link_status status;
        struct link_set_label set_label;
};

/* Called for each message; the handler owns nothing (no W→D message carries an fd). */
typedef void (*link_message_t)(void *userdata, enum link_type type, const union link_payload *p);
/* Called once when the link ends: -ECONNRESET when the worker closed it, else the violation. */
typedef void (*link_gone_t)(void *userdata, int reason);

struct link_handlers {
        link_message_t message;
        link_gone_t gone;
};

int link_watch(sd_event *e, int sock, const struct link_handlers *h, void *userdata, sd_event_source **ret);

/* Checks a PROBED payload. volume_size must fit in device_size. 0 or -EBADMSG. */
int link_check_probed(const struct link_probed *p, uint64_t device_size);

/* A status field must be 0 or a plausible -errno. */
int link_check_status(int32_t status);
