/* SPDX-License-Identifier: MIT */
/*
 * fuzz-image: the input is a volume. Byte 0 holds flags (FLAG_NO_REPAIR: leave the checksums as
 * the mutation made them), the rest is the image without its trailing zeros (see memdev_load).
 * Probe, mount read-only, walk everything (see fuzz_walk), statfs, label, unmount; the memory
 * device aborts on any write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FLAG_NO_REPAIR 0x01

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 + 512)
                return 0;
        uint8_t flags = data[0];
        struct memdev m;
        struct exfat_device dev;
        struct exfat_options opts = { .read_only = true, .cache_budget = 1u << 20 };
        struct exfat_volume *vol;
        struct exfat_info info;

        memdev_load(&m, data + 1, size - 1);
        m.read_only = true;
        if (!(flags & FLAG_NO_REPAIR))
                fuzz_repair_image(m.data, m.size);
        memdev_init(&dev, &m);

        if (exfat_probe(&dev, &opts, &info) >= 0) {
                if (strnlen(info.label, sizeof(info.label)) == sizeof(info.label))
                        fuzz_fail("probe: label not terminated");
                if (info.percent_in_use > 100 && info.percent_in_use != 0xFF)
                        fuzz_fail("probe: percent in use %u", info.percent_in_use);
        }

        if (exfat_mount(&dev, &opts, &vol) >= 0) {
                struct exfat_statfs sf;
                struct walk_stats ws;
                char label[EXFAT_LABEL_MAX_UTF8 + 1];

                if (exfat_statfs(vol, &sf) >= 0 && sf.free_clusters > sf.total_clusters)
                        fuzz_fail("statfs: %llu free of %llu clusters", (unsigned long long) sf.free_clusters,
                                  (unsigned long long) sf.total_clusters);
                if (exfat_get_label(vol, label, sizeof(label)) >= 0 && strlen(label) > EXFAT_LABEL_MAX_UTF8)
                        fuzz_fail("label longer than 11 units");
                exfat_get_info(vol, &info);
                fuzz_walk(vol, m.data, m.size, &ws);
                /* A second pass over the cached state (nodes, indexes) must not crash either. */
                fuzz_walk(vol, m.data, m.size, &ws);
                if (exfat_set_label(vol, "X") != -EROFS)
                        fuzz_fail("set_label on a read-only mount did not give -EROFS");
                (void) exfat_unmount(vol);
        }
        return 0;
}
