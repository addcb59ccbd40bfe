/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

/* "/run/media/alice/X/" names the same mount point as "/run/media/alice/X"; the daemon compares
 * strings. */
static char *strip_trailing_slashes(char *p) {
        size_t n = strlen(p);

        while (n > 1 && p[n - 1] == '/')
                p[--n] = '\0';
        return p;
}

char *path_make_absolute_cwd(const char *p) {
        char *cwd, *joined;

        if (p[0] == '/') {
                joined = strdup(p);
                return joined ? strip_trailing_slashes(joined) : NULL;
        }
        /* realpath() also drops the "." and ".." the daemon refuses in mount points. */
        joined = realpath(p, NULL);
        if (joined)
                return joined;

        cwd = getcwd(NULL, 0);
        if (!cwd)
                return NULL;
        if (asprintf(&joined, "%s/%s", cwd, p) < 0)
                joined = NULL;
        free(cwd);
        return joined ? strip_trailing_slashes(joined) : NULL;
}
