/* SPDX-License-Identifier: MIT */
#include "vol.h"
#include "vlog.h"
#include "device.h"
#include "chain.h"
#include "upcase.h"
#include "node.h"

static uint32_t table_checksum(const uint8_t *p, size_t len) {
        uint32_t sum = 0;
        for (size_t i = 0; i < len; i++)
                sum = ((sum & 1) ? 0x80000000u : 0) + (sum >> 1) + p[i];
        return sum;
}

/* Loads the volume's up-case table: checks its checksum and expands the compressed form
 * (0xFFFF followed by the length of a run of identity mappings). */
int upcase_load(struct exfat_volume *vol, uint32_t first, uint64_t length, uint32_t checksum) {
        _cleanup_free_ uint8_t *raw = NULL;
        struct exfat_node tmp = { .first_cluster = first, .size = length, .contiguous = false };
        uint32_t idx = 0;
        uint64_t done = 0;
        int r;

        if (length < 2 || length > EXFAT_UPCASE_MAX_SIZE || (length & 1) || !cluster_valid(vol, first)) {
                vol_err(vol, "up-case table entry invalid (cluster %u, %llu bytes)", first, (unsigned long long) length);
                return -EIO;
        }
        raw = calloc(1, length);
        vol->upcase = malloc(65536 * sizeof(uint16_t));
        if (!raw || !vol->upcase)
                return -ENOMEM;
        r = chain_load(vol, &tmp);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < tmp.n_ext && done < length; i++) {
                uint64_t n = (uint64_t) tmp.ext[i].len << vol->cluster_shift;
                if (n > length - done)
                        n = length - done;
                r = dev_read(vol, raw + done, (size_t) n, cluster_offset(vol, tmp.ext[i].pcl));
                if (r < 0)
                        break;
                done += n;
        }
        mem_account(vol, -(ssize_t) (tmp.cap_ext * sizeof(struct extent)));
        free(tmp.ext);
        if (r < 0)
                return r;
        if (table_checksum(raw, length) != checksum) {
                vol_err(vol, "up-case table checksum mismatch");
                return -EIO;
        }
        for (uint64_t i = 0; i + 1 < length && idx < 65536; i += 2) {
                uint16_t v = (uint16_t) (raw[i] | raw[i + 1] << 8);
                if (v == 0xFFFF && i + 3 < length) {
                        uint16_t run = (uint16_t) (raw[i + 2] | raw[i + 3] << 8);
                        for (uint32_t k = 0; k < run && idx < 65536; k++, idx++)
                                vol->upcase[idx] = (uint16_t) idx;
                        i += 2;
                        continue;
                }
                vol->upcase[idx++] = v;
        }
        for (; idx < 65536; idx++)
                vol->upcase[idx] = (uint16_t) idx;
        return 0;
}
