/* SPDX-License-Identifier: MIT */
#pragma once

/* The cleanup helpers are the project's shared ones (shared/); what is the client's own follows. */
#include "alloc-util.h"
#include "fd-util.h"
#include "macro.h"

static inline const char *strempty_dash(const char *s) {
        return s && *s ? s : "-";
}
