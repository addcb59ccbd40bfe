/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Starts pkttyagent as a fallback polkit agent for this process (an agent the session already has
 * wins), and waits until it has registered so the next call can prompt. Returns 0 and the agent's
 * pid, or -errno (then calls simply go on without a text agent). */
int agent_open(pid_t *ret_pid);

/* Stops and reaps an agent started by agent_open(); a pid <= 0 is ignored. */
void agent_close(pid_t pid);
