/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

/* sd-bus only creates messages on a started bus; one end of a socketpair is enough, nothing is
 * ever sent. */
static inline sd_bus *test_bus_new(int *ret_peer) {
        sd_bus *bus = NULL;
        int fds[2];

        *ret_peer = -1;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return NULL;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0) {
                sd_bus_unref(bus);
                close(fds[0]);
                close(fds[1]);
                return NULL;
        }
        *ret_peer = fds[1];
        return bus;
}

static inline void test_bus_free(sd_bus *bus, int peer) {
        sd_bus_close_unref(bus);
        if (peer >= 0)
                close(peer);
}

/* Seals `m` so it can be read back from the start, like a received message. */
static inline bool test_message_rewind(sd_bus_message *m) {
        return sd_bus_message_seal(m, 1, 0) >= 0 && sd_bus_message_rewind(m, true) >= 0;
}
