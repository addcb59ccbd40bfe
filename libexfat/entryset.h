/* SPDX-License-Identifier: MIT */
/* Entry sets (entryset.c): struct entry_set, SetChecksum, parse/verify, seal, build. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "exfat.h"
#include "ondisk.h"

struct exfat_volume;

/* entryset.c */
struct entry_set {
        struct exfat_entry_generic e[ENTRY_SET_MAX];
        unsigned count;
        uint16_t name[EXFAT_NAME_MAX];
        unsigned name_len;
};
uint16_t entry_set_checksum(const struct exfat_entry_generic *e, unsigned count);
/* Checks a set's shape and fields and extracts its name; -EIO when damaged. verify_sums: also
 * SetChecksum and NameHash; false only for a set this mount has verified already (one that has a
 * directory record: scanned or written here), where the two cost most of a listing's CPU. */
int entry_set_parse(struct exfat_volume *vol, struct entry_set *es, bool verify_sums);
void entry_set_seal(struct entry_set *es);
int entry_set_build(struct exfat_volume *vol, struct entry_set *es, const uint16_t *name, size_t len,
                    const struct entry_set *from);
