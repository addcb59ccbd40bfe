/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "json.h"

int json_write_string(FILE *f, const char *s) {
        if (!s)
                return fputs("null", f) < 0 ? -EIO : 0;

        if (fputc('"', f) == EOF)
                return -EIO;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                int r;

                switch (*p) {
                case '"':  r = fputs("\\\"", f); break;
                case '\\': r = fputs("\\\\", f); break;
                case '\b': r = fputs("\\b", f); break;
                case '\f': r = fputs("\\f", f); break;
                case '\n': r = fputs("\\n", f); break;
                case '\r': r = fputs("\\r", f); break;
                case '\t': r = fputs("\\t", f); break;
                default:
                        /* DEL is legal JSON but invisible on a terminal; escape it with the rest. */
                        if (*p < 0x20 || *p == 0x7f)
                                r = fprintf(f, "\\u%04x", *p);
                        else
                                r = fputc(*p, f);
                }
                if (r < 0)
                        return -EIO;
        }
        return fputc('"', f) == EOF ? -EIO : 0;
}

char *json_escape(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        r = json_write_string(f, s);
        if (fclose(f) != 0 || r < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
