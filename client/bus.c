/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "agent.h"
#include "errors.h"
#include "exfatctl.h"
#include "mount-info.h"
#include "util.h"

/* Mount and Unmount wait for polkit (maybe a typed password) and for a worker to flush a whole
 * volume; sd-bus's 25 s default is too short for both. */
#define CALL_TIMEOUT_USEC (10ULL * 60 * 1000 * 1000)

int bus_connect(sd_bus **ret) {
        int r = sd_bus_open_system(ret);

        if (r < 0) {
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
                return errno_to_exit(r) == EXFATCTL_EXIT_NOT_AUTHORIZED ? EXFATCTL_EXIT_NOT_AUTHORIZED
                                                                        : EXFATCTL_EXIT_UNAVAILABLE;
        }
        return 0;
}

int manager_call_new(sd_bus *bus, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, MOUNTD_SERVICE, MOUNTD_PATH, MOUNTD_MANAGER, member);
}

int auth_option_append(const struct context *c, sd_bus_message *m) {
        if (c->ask_password)
                return 0;
        return sd_bus_message_append(m, "{sv}", "auth.no_user_interaction", "b", 1);
}

/* polkitd uses a process agent registered as a fallback only after finding the caller's login
 * session, so without a session (su, containers, ssh without logind) a fallback agent would never
 * be asked. Only inside a session is there another agent to defer to. */
static bool in_login_session(void) {
        _cleanup_(freep) char *session = NULL;

        return sd_pid_get_session(0, &session) >= 0;
}

int call_authorized(const struct context *c, sd_bus *bus, sd_bus_message *m,
                    sd_bus_error *error, sd_bus_message **reply) {
        pid_t agent = 0;
        int r;

        r = sd_bus_set_allow_interactive_authorization(bus, c->ask_password);
        if (r < 0)
                return r;
        r = sd_bus_message_set_allow_interactive_authorization(m, c->ask_password);
        if (r < 0)
                return r;

        /* root is always allowed; without a terminal nobody could answer a prompt. */
        if (c->ask_password && geteuid() != 0 && isatty(STDIN_FILENO))
                (void) agent_open(in_login_session(), &agent);

        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, error, reply);

        agent_close(agent);
        return r;
}
