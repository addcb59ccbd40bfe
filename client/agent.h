/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Starts pkttyagent as the polkit agent of this process, and waits until it has registered so that
 * the next call can prompt. With `fallback`, an agent the login session already has wins. Returns 0
 * and the agent's pid, or -errno (calls then simply go on without a text agent). */
int agent_open(bool fallback, pid_t *ret_pid);

/* Stops and reaps an agent started by agent_open(); a pid <= 0 is ignored. */
void agent_close(pid_t pid);
