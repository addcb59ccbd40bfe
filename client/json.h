/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

/* Writes `s` as a JSON string literal (with the quotes) to `f`: quotes, backslashes and control
 * characters are escaped; other bytes (UTF-8, which D-Bus strings always are) pass through.
 * NULL is written as null. Returns 0 or -EIO. */
int json_write_string(FILE *f, const char *s);

/* Returns a malloc'd JSON string literal for `s` (NULL if out of memory). */
char *json_escape(const char *s);
