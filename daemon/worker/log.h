/* SPDX-License-Identifier: MIT */
#pragma once

/* The worker's edge logging: one line per failure on stderr. In service mode stderr is the
 * journal, so lines carry a "<N>" syslog level prefix the journal understands. */

#include <stdbool.h>
#include <syslog.h>

#include "exfat.h"

void log_setup(bool syslog_prefix, const char *context);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs "<message>: <strerror(-r)>" and returns r, so callers can "return log_errno(r, ...)". */
int log_errno(int level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_error_errno(r, ...) log_errno(LOG_ERR, r, __VA_ARGS__)

/* exfat_log_fn for struct exfat_options: forwards the library's messages. */
void log_exfat(void *ctx, enum exfat_log_level level, const char *message);
