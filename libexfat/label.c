/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "vol.h"
#include "name.h"
#include "dir.h"

int exfat_get_label(struct exfat_volume *vol, char *buf, size_t size) {
        int r;
        if (!vol || !buf)
                return -EINVAL;
        pthread_mutex_lock(&vol->lock);
        r = utf16_to_utf8(vol->label, vol->label_len, buf, size);
        pthread_mutex_unlock(&vol->lock);
        return r < 0 ? r : 0;
}

int exfat_set_label(struct exfat_volume *vol, const char *label) {
        uint16_t units[EXFAT_LABEL_MAX];
        struct exfat_entry_label e;
        size_t len;
        int r;

        if (!vol || !label)
                return -EINVAL;
        r = utf8_to_utf16(label, units, EXFAT_LABEL_MAX, &len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++)
                if (units[i] < 0x20 || units[i] == 0x7F)
                        return -EINVAL;
        if (vol->read_only)
                return -EROFS;
        pthread_mutex_lock(&vol->lock);
        if (vol->label_slot < 0) {
                uint32_t slot;
                if (len == 0)
                        goto done;
                r = dir_alloc_slots(vol, vol->root, 1, &slot);
                if (r < 0)
                        goto out;
                vol->label_slot = slot;
        }
        memset(&e, 0, sizeof(e));
        e.type = ENTRY_LABEL;
        e.char_count = (uint8_t) len;
        for (size_t i = 0; i < len; i++)
                e.label[i] = htole16(units[i]);
        r = dir_write_slots(vol, vol->root, (uint32_t) vol->label_slot, &e, 1);
        if (r < 0)
                goto out;
        memcpy(vol->label, units, len * sizeof(uint16_t));
        vol->label_len = (unsigned) len;
done:
        r = vol_after_change(vol);
out:
        pthread_mutex_unlock(&vol->lock);
        return r;
}
