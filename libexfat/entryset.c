/* SPDX-License-Identifier: MIT */
/* File entry sets: file entry, stream extension, name entries, then any benign secondaries
 * (vendor extension/allocation), which are kept verbatim. */
#include "vol.h"
#include "device.h"
#include "name.h"
#include "entryset.h"

/* A 16-bit rotate right, then add, in unsigned arithmetic: in int (what a uint16_t is promoted
 * to) the rotate of 0xFFFF gives INT_MAX, and adding a non-zero byte to it is undefined. */
static inline uint16_t checksum_add(uint16_t sum, const uint8_t *p, size_t n) {
        unsigned s = sum;
        for (size_t i = 0; i < n; i++)
                s = (((s >> 1) | (s << 15)) + p[i]) & 0xFFFFu;
        return (uint16_t) s;
}

/* SetChecksum: bytes 2-3 of the first entry (the checksum itself) are left out. Two loops rather
 * than a test per byte: lookups check a set each time they read one. */
uint16_t entry_set_checksum(const struct exfat_entry_generic *e, unsigned count) {
        const uint8_t *p = (const uint8_t *) e;
        uint16_t sum = checksum_add(0, p, 2);
        return checksum_add(sum, p + 4, (size_t) count * ENTRY_SIZE - 4);
}

static inline struct exfat_entry_file *fe(struct entry_set *es) { return (struct exfat_entry_file *) &es->e[0]; }
static inline struct exfat_entry_stream *se(struct entry_set *es) { return (struct exfat_entry_stream *) &es->e[1]; }

/* es->e[0..count) holds the raw entries; validates them and extracts the name. */
int entry_set_parse(struct exfat_volume *vol, struct entry_set *es, bool verify_sums) {
        struct exfat_entry_file *f = fe(es);
        struct exfat_entry_stream *s = se(es);
        unsigned nl, need;
        uint64_t vdl, dl;

        if (f->type != ENTRY_FILE || f->secondary_count < 2 || f->secondary_count > 18 ||
            es->count != 1u + f->secondary_count)
                return -EIO;
        if (s->type != ENTRY_STREAM)
                return -EIO;
        if (verify_sums && le16toh(f->set_checksum) != entry_set_checksum(es->e, es->count))
                return -EIO;
        nl = s->name_length;
        need = (nl + ENTRY_NAME_UNITS - 1) / ENTRY_NAME_UNITS;
        if (nl == 0 || 2 + need > es->count)
                return -EIO;
        for (unsigned i = 0; i < need; i++) {
                const struct exfat_entry_name *ne = (const struct exfat_entry_name *) &es->e[2 + i];
                if (ne->type != ENTRY_NAME)
                        return -EIO;
                for (unsigned k = 0; k < ENTRY_NAME_UNITS && i * ENTRY_NAME_UNITS + k < nl; k++)
                        es->name[i * ENTRY_NAME_UNITS + k] = le16toh(ne->name[k]);
        }
        for (unsigned i = 2 + need; i < es->count; i++) {
                uint8_t t = es->e[i].type;
                /* Only benign secondaries may follow the name; anything else we cannot keep intact. */
                if ((t & 0xE0) != 0xE0)
                        return -EIO;
        }
        es->name_len = nl;
        /* Checked with the sums, once per set and mount: a name no path can reach (U+0000 inside
         * NameLength, '/', "..") would be listed by readdir, truncated or refused by the kernel,
         * and never found by lookup. */
        if (verify_sums && (name_validate_stored(es->name, nl) < 0 || name_hash(vol, es->name, nl) != le16toh(s->name_hash)))
                return -EIO;
        vdl = le64toh(s->valid_data_length);
        dl = le64toh(s->data_length);
        if (vdl > dl)
                return -EIO;
        if (dl > 0 && !cluster_valid(vol, le32toh(s->first_cluster)))
                return -EIO;
        /* Compared in bytes: rounding a DataLength near 2^64 up to clusters would wrap to a
         * small count and let it through. */
        if (dl > (uint64_t) vol->cluster_count * vol->cluster_size)
                return -EIO;
        if (le16toh(f->attributes) & EXFAT_ATTR_DIRECTORY) {
                /* A directory always owns at least one cluster. */
                if (dl == 0 || dl % vol->cluster_size || dl > EXFAT_DIR_MAX_SIZE || vdl != dl)
                        return -EIO;
        }
        return 0;
}

void entry_set_seal(struct entry_set *es) {
        fe(es)->secondary_count = (uint8_t) (es->count - 1);
        fe(es)->set_checksum = htole16(entry_set_checksum(es->e, es->count));
}

/* Builds a set named `name`. With `from`, the file and stream entries and the benign secondaries
 * are copied from it (rename); otherwise they start zeroed. */
int entry_set_build(struct exfat_volume *vol, struct entry_set *es, const uint16_t *name, size_t len,
                    const struct entry_set *from) {
        unsigned need = (unsigned) ((len + ENTRY_NAME_UNITS - 1) / ENTRY_NAME_UNITS), extra = 0, extra_at = 0;
        struct entry_set tmp;

        if (from) {
                tmp = *from;
                extra_at = 2 + (tmp.name_len + ENTRY_NAME_UNITS - 1) / ENTRY_NAME_UNITS;
                extra = tmp.count - extra_at;
        } else {
                memset(&tmp, 0, sizeof(tmp));
                tmp.e[0].type = ENTRY_FILE;
                tmp.e[1].type = ENTRY_STREAM;
        }
        if (2 + need + extra > ENTRY_SET_MAX)
                return -ENAMETOOLONG;
        memset(es, 0, sizeof(*es));
        es->e[0] = tmp.e[0];
        es->e[1] = tmp.e[1];
        for (unsigned i = 0; i < need; i++) {
                struct exfat_entry_name *ne = (struct exfat_entry_name *) &es->e[2 + i];
                ne->type = ENTRY_NAME;
                for (unsigned k = 0; k < ENTRY_NAME_UNITS && i * ENTRY_NAME_UNITS + k < len; k++)
                        ne->name[k] = htole16(name[i * ENTRY_NAME_UNITS + k]);
        }
        for (unsigned i = 0; i < extra; i++)
                es->e[2 + need + i] = tmp.e[extra_at + i];
        es->count = 2 + need + extra;
        memcpy(es->name, name, len * sizeof(uint16_t));
        es->name_len = (unsigned) len;
        se(es)->name_length = (uint8_t) len;
        se(es)->name_hash = htole16(name_hash(vol, name, len));
        entry_set_seal(es);
        return 0;
}
