/* SPDX-License-Identifier: MIT */
/* Records of mounts as lines of text:
 *   MAJ:MIN owner gid mounted_by read_only created dirty established device mount_point label uuid unit fdname new_label
 * Fields are separated by spaces; bytes that could break that are %XX-escaped, "-" is empty. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

#define STATE_VERSION "exfat-mountd-state-3"
/* Version 2 had no pending label field; its lines are read as version 3 without one. */
#define STATE_VERSION_2 "exfat-mountd-state-2"

void mount_record_done(struct mount_record *r) {
        free(r->device);
        free(r->mount_point);
        free(r->label);
        free(r->uuid);
        free(r->unit);
        free(r->fdname);
        free(r->new_label);
        *r = (struct mount_record) {};
}

static void put_field(FILE *f, const char *s) {
        if (!s || !*s) {
                fputs(" -", f);
                return;
        }
        fputc(' ', f);
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c <= 0x20 || *c == '%' || *c == 0x7f || (c == (const unsigned char *) s && *c == '-'))
                        fprintf(f, "%%%02X", *c);
                else
                        fputc(*c, f);
}

static char *get_field(const char *s) {
        if (strcmp(s, "-") == 0)
                return strdup("");
        char *out = malloc(strlen(s) + 1), *o = out;
        if (!out)
                return NULL;
        for (const char *c = s; *c; c++) {
                unsigned v;
                if (*c == '%' && sscanf(c + 1, "%2X", &v) == 1 && v > 0) {
                        *o++ = (char) v;
                        c += 2;
                } else
                        *o++ = *c;
        }
        *o = 0;
        return out;
}

int state_write(FILE *f, const struct mount_record *records, size_t n) {
        fprintf(f, "%s\n", STATE_VERSION);
        for (size_t i = 0; i < n; i++) {
                const struct mount_record *r = &records[i];
                fprintf(f, "%u:%u %u %u %u %d %d %d %d", major(r->devnum), minor(r->devnum), (unsigned) r->owner,
                        (unsigned) r->gid, (unsigned) r->mounted_by, r->read_only, r->created_mount_point, r->dirty,
                        r->established);
                put_field(f, r->device);
                put_field(f, r->mount_point);
                put_field(f, r->label);
                put_field(f, r->uuid);
                put_field(f, r->unit);
                put_field(f, r->fdname);
                put_field(f, r->new_label);
                fputc('\n', f);
        }
        return ferror(f) ? -EIO : 0;
}

int state_write_file(const char *path, const struct mount_record *records, size_t n) {
        _cleanup_free_ char *dir = strdup(path), *tmp = NULL;
        int r;

        if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
        }
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                unlink(tmp);
                return -ENOMEM;
        }
        r = state_write(f, records, n);
        if (r >= 0)
                r = fflush(f) == 0 && fsync(fd) == 0 ? 0 : -errno;
        fclose(f);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int state_parse_line(const char *text, struct mount_record *ret) {
        unsigned maj, min, owner, gid, by;
        int ro, created, dirty, established, pos = 0;
        char *fields[7] = {};
        _cleanup_free_ char *line = strdup(text);

        if (!line)
                return -ENOMEM;
        if (sscanf(line, "%u:%u %u %u %u %d %d %d %d%n", &maj, &min, &owner, &gid, &by, &ro, &created, &dirty,
                   &established, &pos) != 9)
                return -EBADMSG;
        char *save = NULL, *tok = strtok_r(line + pos, " \n", &save);
        for (int i = 0; i < 7; i++, tok = strtok_r(NULL, " \n", &save)) {
                if (!tok && i == 6)
                        break; /* version 2: no pending label */
                if (!tok || !(fields[i] = get_field(tok))) {
                        for (int j = 0; j < 7; j++)
                                free(fields[j]);
                        return -EBADMSG;
                }
        }
        *ret = (struct mount_record) {
                .devnum = makedev(maj, min),
                .owner = owner,
                .gid = gid,
                .mounted_by = by,
                .read_only = ro,
                .created_mount_point = created,
                .dirty = dirty,
                .established = established,
                .device = fields[0],
                .mount_point = fields[1],
                .label = fields[2],
                .uuid = fields[3],
                .unit = fields[4],
                .fdname = fields[5],
                .new_label = fields[6] && *fields[6] ? fields[6] : mfree(fields[6]),
        };
        return 0;
}

int state_read(FILE *f, struct mount_record **ret, size_t *ret_n) {
        struct mount_record *records = NULL;
        size_t n = 0, cap = 0;
        char line[8192];

        *ret = NULL;
        *ret_n = 0;
        if (!fgets(line, sizeof(line), f) || (strncmp(line, STATE_VERSION, strlen(STATE_VERSION)) != 0 &&
                                              strncmp(line, STATE_VERSION_2, strlen(STATE_VERSION_2)) != 0))
                return 0;
        while (fgets(line, sizeof(line), f)) {
                struct mount_record rec;
                int r = state_parse_line(line, &rec);
                if (r == -EBADMSG) {
                        log_warning("ignoring a malformed line in %s", STATE_FILE);
                        continue;
                }
                if (r < 0)
                        goto fail;
                if (GREEDY_REALLOC(records, cap, n + 1) < 0) {
                        mount_record_done(&rec);
                        goto fail;
                }
                records[n++] = rec;
        }
        *ret = records;
        *ret_n = n;
        return 0;
fail:
        for (size_t i = 0; i < n; i++)
                mount_record_done(&records[i]);
        free(records);
        return -ENOMEM;
}
