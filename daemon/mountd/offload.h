/* SPDX-License-Identifier: MIT */
#pragma once

#include <systemd/sd-event.h>

/* Runs a blocking call (syncfs, umount2 on a FUSE mount: both wait for the untrusted worker; the
 * open of a device or mount(2), which may wait for a stalled disk) in a thread so that the event
 * loop never waits for a worker or a device. done runs in the event loop, with arg, which may carry
 * what fn found out. The job cannot be cancelled; the caller must keep userdata alive until done
 * has run. arg belongs to the job from the call on: free_arg frees it after done has run, or
 * before an error return. */
typedef int (*offload_fn_t)(void *arg);
typedef void (*offload_done_t)(void *userdata, void *arg, int result);

int offload_run(sd_event *e, offload_fn_t fn, void *arg, void (*free_arg)(void *), offload_done_t done,
                void *userdata, sd_event_source **ret);
