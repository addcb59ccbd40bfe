/* SPDX-License-Identifier: MIT */
/* Names (name.c): UTF-8 <-> UTF-16, validation, NameHash, index key, case-insensitive compare. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct exfat_volume;

/* name.c */
int utf8_to_utf16(const char *in, uint16_t *out, size_t max, size_t *len);
int utf16_to_utf8(const uint16_t *in, size_t len, char *out, size_t size);
int name_validate(const uint16_t *name, size_t len);
/* What any stored name must be, whoever wrote it: one that a POSIX path can name (no U+0000, no
 * '/', not "." or ".."), 1..255 units. Weaker than name_validate: other systems write names with
 * characters exFAT forbids for new names (':', '?', controls), and those must still be found. */
int name_validate_stored(const uint16_t *name, size_t len);
uint16_t name_hash(const struct exfat_volume *vol, const uint16_t *name, size_t len);
uint32_t name_key(const struct exfat_volume *vol, const uint16_t *name, size_t len);
bool name_equal(const struct exfat_volume *vol, const uint16_t *a, size_t alen, const uint16_t *b, size_t blen);
