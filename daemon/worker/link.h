/* SPDX-License-Identifier: MIT */
#pragma once

/* "exfat-worker --service": the worker's side of the daemon protocol (daemon/common/protocol.h)
 * over the SOCK_SEQPACKET socket on stdin. Returns the process exit status: 0 after a clean
 * shutdown, non-zero after a failure or a protocol violation (the volume is flushed first
 * whenever it was mounted). */
int link_run(int sock);
