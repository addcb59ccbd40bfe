/* SPDX-License-Identifier: MIT */
#include "mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "util.h"

static void unescape_octal(char *s) {
        char *o = s;
        for (char *c = s; *c; c++) {
                if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[2] <= '7' && c[3] >= '0' && c[3] <= '7') {
                        *o++ = (char) (((c[1] - '0') << 6) | ((c[2] - '0') << 3) | (c[3] - '0'));
                        c += 3;
                } else
                        *o++ = *c;
        }
        *o = 0;
}

/* The next space-separated field of *s, NUL-terminated in place; NULL at the end of the line. */
static char *field(char **s) {
        char *f = *s;
        if (!f || !*f)
                return NULL;
        size_t n = strcspn(f, " \n");
        if (f[n]) {
                f[n] = 0;
                *s = f + n + 1;
        } else
                *s = f + n;
        return n > 0 ? f : NULL;
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *ret) {
        /* id parent major:minor root mount-point options [optional...] - fstype source superoptions */
        char *s = line, *id = field(&s), *parent = field(&s), *devno = field(&s), *root = field(&s);
        char *mp = field(&s), *f;
        unsigned maj, min;
        int n = 0;

        if (!id || !parent || !devno || !root || !mp)
                return -EBADMSG;
        if (sscanf(id, "%d%n", &ret->id, &n) != 1 || id[n] || sscanf(devno, "%u:%u%n", &maj, &min, &n) != 2 || devno[n])
                return -EBADMSG;
        while ((f = field(&s)) && strcmp(f, "-") != 0)
                ; /* options, then optional fields up to the separator */
        if (!f || !(ret->fstype = field(&s)))
                return -EBADMSG;
        unescape_octal(mp);
        ret->mount_point = mp;
        ret->devnum = makedev(maj, min);
        return 0;
}

int mountinfo_foreach(const char *file, int (*f)(const struct mountinfo_entry *e, void *userdata), void *userdata) {
        _cleanup_fclose_ FILE *in = fopen(file, "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!in)
                return -errno;
        errno = 0;
        while (getline(&line, &size, in) >= 0) {
                struct mountinfo_entry e;
                if (mountinfo_parse_line(line, &e) < 0)
                        continue;
                int r = f(&e, userdata);
                if (r != 0)
                        return r;
        }
        return errno == ENOMEM ? -ENOMEM : 0;
}
