/* SPDX-License-Identifier: MIT */
#pragma once

/* Turns a relative path given by the user into an absolute one (the daemon has another working
 * directory) and drops trailing slashes; symlinks in absolute paths are left to the daemon.
 * Returns a malloc'd string or NULL on OOM. */
char *path_make_absolute_cwd(const char *p);
