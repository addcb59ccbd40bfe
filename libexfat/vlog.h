/* SPDX-License-Identifier: MIT */
/* Volume messages (log.c) through opts->log: vlog_() and the vol_err/vol_warn/vol_info macros. */
#pragma once

#include "exfat.h"

struct exfat_volume;

/* log.c */
void vlog_(struct exfat_volume *vol, enum exfat_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define vol_err(vol, ...) vlog_(vol, EXFAT_LOG_ERR, __VA_ARGS__)
#define vol_warn(vol, ...) vlog_(vol, EXFAT_LOG_WARNING, __VA_ARGS__)
#define vol_info(vol, ...) vlog_(vol, EXFAT_LOG_INFO, __VA_ARGS__)
