/* SPDX-License-Identifier: MIT */
/* Names: UTF-8 on the API, UTF-16 on disk. Unpaired surrogates found on disk are passed through
 * as 3-byte sequences (and accepted back), so every on-disk name can be named again. */
#include "vol.h"
#include "upcase.h"
#include "name.h"

int utf8_to_utf16(const char *in, uint16_t *out, size_t max, size_t *len) {
        const uint8_t *p = (const uint8_t *) in;
        size_t n = 0;

        while (*p) {
                uint32_t cp;
                unsigned extra;
                if (p[0] < 0x80) {
                        cp = p[0];
                        extra = 0;
                } else if ((p[0] & 0xE0) == 0xC0) {
                        cp = p[0] & 0x1F;
                        extra = 1;
                } else if ((p[0] & 0xF0) == 0xE0) {
                        cp = p[0] & 0x0F;
                        extra = 2;
                } else if ((p[0] & 0xF8) == 0xF0) {
                        cp = p[0] & 0x07;
                        extra = 3;
                } else
                        return -EINVAL;
                for (unsigned i = 1; i <= extra; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return -EINVAL;
                        cp = (cp << 6) | (p[i] & 0x3F);
                }
                if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
                        return -EINVAL;
                p += extra + 1;
                if (cp >= 0x10000) {
                        if (n + 2 > max)
                                return -ENAMETOOLONG;
                        cp -= 0x10000;
                        out[n++] = (uint16_t) (0xD800 + (cp >> 10));
                        out[n++] = (uint16_t) (0xDC00 + (cp & 0x3FF));
                } else {
                        if (n + 1 > max)
                                return -ENAMETOOLONG;
                        out[n++] = (uint16_t) cp;
                }
        }
        *len = n;
        return 0;
}

int utf16_to_utf8(const uint16_t *in, size_t len, char *out, size_t size) {
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                uint32_t cp = in[i];
                uint8_t b[4];
                size_t nb;
                if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < len && in[i + 1] >= 0xDC00 && in[i + 1] < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (in[i + 1] - 0xDC00);
                        i++;
                }
                if (cp < 0x80) {
                        b[0] = (uint8_t) cp;
                        nb = 1;
                } else if (cp < 0x800) {
                        b[0] = (uint8_t) (0xC0 | cp >> 6);
                        b[1] = (uint8_t) (0x80 | (cp & 0x3F));
                        nb = 2;
                } else if (cp < 0x10000) {
                        b[0] = (uint8_t) (0xE0 | cp >> 12);
                        b[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
                        b[2] = (uint8_t) (0x80 | (cp & 0x3F));
                        nb = 3;
                } else {
                        b[0] = (uint8_t) (0xF0 | cp >> 18);
                        b[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3F));
                        b[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
                        b[3] = (uint8_t) (0x80 | (cp & 0x3F));
                        nb = 4;
                }
                if (o + nb + 1 > size)
                        return -ENAMETOOLONG;
                memcpy(out + o, b, nb);
                o += nb;
        }
        if (o + 1 > size)
                return -ENAMETOOLONG;
        out[o] = 0;
        return (int) o;
}

int name_validate_stored(const uint16_t *name, size_t len) {
        if (len == 0)
                return -EINVAL;
        if (len > EXFAT_NAME_MAX)
                return -ENAMETOOLONG;
        if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (name[i] == 0 || name[i] == '/')
                        return -EINVAL;
        return 0;
}

int name_validate(const uint16_t *name, size_t len) {
        int r = name_validate_stored(name, len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++) {
                uint16_t c = name[i];
                if (c < 0x20 || c == '"' || c == '*' || c == ':' || c == '<' || c == '>' || c == '?' || c == '\\' ||
                    c == '|')
                        return -EINVAL;
        }
        return 0;
}

uint16_t name_hash(const struct exfat_volume *vol, const uint16_t *name, size_t len) {
        uint16_t h = 0;
        for (size_t i = 0; i < len; i++) {
                uint16_t c = upcase(vol, name[i]);
                h = (uint16_t) (((h & 1) ? 0x8000 : 0) + (h >> 1) + (c & 0xFF));
                h = (uint16_t) (((h & 1) ? 0x8000 : 0) + (h >> 1) + (c >> 8));
        }
        return h;
}

/* Index key: FNV-1a over the up-cased name, started from a per-mount random seed and finished with
 * a final mix (the on-disk 16-bit NameHash collides too often for large directories, and names
 * crafted to collide under a fixed hash would make every lookup on such a volume walk them all). */
uint32_t name_key(const struct exfat_volume *vol, const uint16_t *name, size_t len) {
        uint32_t h = 2166136261u ^ vol->hash_seed;
        for (size_t i = 0; i < len; i++) {
                uint16_t c = upcase(vol, name[i]);
                h = (h ^ (c & 0xFF)) * 16777619u;
                h = (h ^ (c >> 8)) * 16777619u;
        }
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;
}

bool name_equal(const struct exfat_volume *vol, const uint16_t *a, size_t alen, const uint16_t *b, size_t blen) {
        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++)
                if (upcase(vol, a[i]) != upcase(vol, b[i]))
                        return false;
        return true;
}
