/* SPDX-License-Identifier: MIT */
#include "util.h"

/* Set by main() from --debug or $EXFAT_MOUNTD_DEBUG. */
int log_debug_enabled;
