/* SPDX-License-Identifier: MIT */
/* Namespace helpers (namei.c, under vol->lock): name parsing, directory lookup, touch, entry removal,
 * empty-directory check. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "exfat.h"

struct exfat_volume;
struct exfat_node;
struct dir_rec;
struct entry_set;

/* namei.c (vol->lock) */
struct name_buf {
        uint16_t u[EXFAT_NAME_MAX];
        size_t len;
};
#define SETTABLE_ATTRS (EXFAT_ATTR_READ_ONLY | EXFAT_ATTR_HIDDEN | EXFAT_ATTR_SYSTEM | EXFAT_ATTR_ARCHIVE)
int parse_name(const char *name, struct name_buf *nb);
/* A name looked up, not made: it is checked with name_validate_stored (a name readdir lists must
 * be found); one that cannot be stored is -ENOENT. */
int parse_existing_name(const char *name, struct name_buf *nb);
int get_dir(struct exfat_volume *vol, uint64_t ino, struct exfat_node **ret);
void touch_dir(struct exfat_volume *vol, struct exfat_node *dir);
int remove_entry(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec, const struct entry_set *es);
int check_empty_dir(struct exfat_volume *vol, struct exfat_node *dir, struct dir_rec *rec, const struct entry_set *es);
