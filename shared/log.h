/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging at the edge of a program: one line per message on stderr, written with a single call so
 * that threads never interleave within a line. Under systemd stderr is the journal: with the
 * syslog prefix on, each line starts with "<N>" (N: LOG_ERR, ...), which the journal takes as the
 * line's priority.
 *
 *   log_setup(syslog_prefix, context)   context (may be NULL: none) starts every line: "ctx: ...".
 *   log_set_max_level(level)            messages less important than level are dropped
 *                                       (default LOG_INFO).
 *   log_error(...), log_warning(...), log_notice(...), log_info(...), log_debug(...)
 *   log_error_errno(r, ...), log_warning_errno(r, ...), ...
 *                                       append ": <strerror(r)>" and return -abs(r), so that a
 *                                       caller can "return log_error_errno(r, "...");". r may be
 *                                       an errno or a negative errno.
 *   log_full(level, ...), log_full_errno(level, r, ...)   the same, with the level as argument.
 *
 * Formats never see %m: pass the error as r. A message longer than LOG_LINE_MAX is cut. */

#include <stdbool.h>
#include <syslog.h>

#define LOG_LINE_MAX 1024

void log_setup(bool syslog_prefix, const char *context);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Returns -abs(error) (0 when error is 0), whether or not the message was printed. */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_full(level, ...) ((void) log_internal((level), 0, __VA_ARGS__))

#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)

#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
