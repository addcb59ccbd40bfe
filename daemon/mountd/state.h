/* SPDX-License-Identifier: MIT */
#pragma once

/* The record of established mounts under /run/exfat-mountd, so that a restarted daemon can
 * re-adopt them. This file only turns records into text and back; the Manager (manager-mounts.c)
 * decides what is recorded and what a record found at start-up becomes. */

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define STATE_FILE "/run/exfat-mountd/mounts"

struct mount_record {
        dev_t devnum;
        uid_t owner;
        gid_t gid;
        uid_t mounted_by;
        bool read_only;
        bool created_mount_point;
        bool dirty;
        bool established;         /* READY came; else it was still being set up */
        char *device;
        char *mount_point;
        char *label;
        char *uuid;
        char *unit;
        char *fdname;
        char *new_label;          /* a relabel in flight, or NULL */
};

void mount_record_done(struct mount_record *r);

/* Writes the records to f in the current format. */
int state_write(FILE *f, const struct mount_record *records, size_t n);
/* Writes path atomically (a temporary file, fsync, rename), creating its directory. */
int state_write_file(const char *path, const struct mount_record *records, size_t n);

/* Parses one record line; -EBADMSG when malformed. */
int state_parse_line(const char *line, struct mount_record *ret);
/* Reads every record of f (a malformed line is skipped with a warning; an unknown version gives
 * no records). The caller frees each with mount_record_done() and the array with free(). */
int state_read(FILE *f, struct mount_record **ret, size_t *ret_n);
