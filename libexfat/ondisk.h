/* SPDX-License-Identifier: MIT */
#pragma once

/* exFAT on-disk structures (Microsoft exFAT specification). All multi-byte fields are
 * little-endian; convert with le16toh/le32toh/le64toh where they are read. */

#include <stdint.h>

#define EXFAT_PACKED __attribute__((packed))

typedef uint16_t le16_t;
typedef uint32_t le32_t;
typedef uint64_t le64_t;

struct exfat_boot_sector {
        uint8_t jump_boot[3];
        char fs_name[8];
        uint8_t must_be_zero[53];
        le64_t partition_offset;
        le64_t volume_length;
        le32_t fat_offset;
        le32_t fat_length;
        le32_t cluster_heap_offset;
        le32_t cluster_count;
        le32_t first_cluster_of_root;
        le32_t volume_serial;
        le16_t fs_revision;
        le16_t volume_flags;
        uint8_t bytes_per_sector_shift;
        uint8_t sectors_per_cluster_shift;
        uint8_t number_of_fats;
        uint8_t drive_select;
        uint8_t percent_in_use;
        uint8_t reserved[7];
        uint8_t boot_code[390];
        le16_t boot_signature;
} EXFAT_PACKED;
_Static_assert(sizeof(struct exfat_boot_sector) == 512, "boot sector size");

#define BOOT_OFF_VOLUME_FLAGS 106
#define BOOT_OFF_PERCENT_IN_USE 112

#define VOLUME_FLAG_ACTIVE_FAT 0x0001
#define VOLUME_FLAG_DIRTY 0x0002
#define VOLUME_FLAG_MEDIA_FAILURE 0x0004

#define BOOT_SIGNATURE 0xAA55
#define BOOT_REGION_SECTORS 12

/* FAT entry values. */
#define FAT_FIRST_CLUSTER 2
#define FAT_BAD 0xFFFFFFF7u
#define FAT_EOC 0xFFFFFFFFu
#define EXFAT_MAX_CLUSTER_COUNT 0xFFFFFFF5u

/* Directory entry types. Bit 7 = in use, bit 6 = secondary, bit 5 = benign. */
#define ENTRY_END 0x00
#define ENTRY_IN_USE 0x80
#define ENTRY_SECONDARY 0x40
#define ENTRY_BENIGN 0x20
#define ENTRY_BITMAP 0x81
#define ENTRY_UPCASE 0x82
#define ENTRY_LABEL 0x83
#define ENTRY_FILE 0x85
#define ENTRY_GUID 0xA0
#define ENTRY_STREAM 0xC0
#define ENTRY_NAME 0xC1
#define ENTRY_VENDOR_EXT 0xE0
#define ENTRY_VENDOR_ALLOC 0xE1

#define ENTRY_SIZE 32
#define ENTRY_NAME_UNITS 15
#define ENTRY_SET_MAX 19 /* file entry + 18 secondaries */

/* GeneralSecondaryFlags */
#define SECONDARY_ALLOCATION_POSSIBLE 0x01
#define SECONDARY_NO_FAT_CHAIN 0x02

struct exfat_entry_generic {
        uint8_t type;
        uint8_t data[31];
} EXFAT_PACKED;

struct exfat_entry_file {
        uint8_t type;
        uint8_t secondary_count;
        le16_t set_checksum;
        le16_t attributes;
        le16_t reserved1;
        le32_t create_time;
        le32_t modify_time;
        le32_t access_time;
        uint8_t create_10ms;
        uint8_t modify_10ms;
        uint8_t create_utc_offset;
        uint8_t modify_utc_offset;
        uint8_t access_utc_offset;
        uint8_t reserved2[7];
} EXFAT_PACKED;

struct exfat_entry_stream {
        uint8_t type;
        uint8_t flags;
        uint8_t reserved1;
        uint8_t name_length;
        le16_t name_hash;
        le16_t reserved2;
        le64_t valid_data_length;
        le32_t reserved3;
        le32_t first_cluster;
        le64_t data_length;
} EXFAT_PACKED;

struct exfat_entry_name {
        uint8_t type;
        uint8_t flags;
        le16_t name[ENTRY_NAME_UNITS];
} EXFAT_PACKED;

/* Shape shared by the bitmap and up-case entries and by benign secondaries that own clusters. */
struct exfat_entry_alloc {
        uint8_t type;
        uint8_t flags;
        uint8_t custom[18];
        le32_t first_cluster;
        le64_t data_length;
} EXFAT_PACKED;

struct exfat_entry_upcase {
        uint8_t type;
        uint8_t reserved1[3];
        le32_t table_checksum;
        uint8_t reserved2[12];
        le32_t first_cluster;
        le64_t data_length;
} EXFAT_PACKED;

struct exfat_entry_label {
        uint8_t type;
        uint8_t char_count;
        le16_t label[11];
        uint8_t reserved[8];
} EXFAT_PACKED;

struct exfat_entry_guid {
        uint8_t type;
        uint8_t secondary_count;
        le16_t set_checksum;
        le16_t flags;
        uint8_t guid[16];
        uint8_t reserved[10];
} EXFAT_PACKED;

_Static_assert(sizeof(struct exfat_entry_generic) == ENTRY_SIZE, "entry size");
_Static_assert(sizeof(struct exfat_entry_file) == ENTRY_SIZE, "file entry size");
_Static_assert(sizeof(struct exfat_entry_stream) == ENTRY_SIZE, "stream entry size");
_Static_assert(sizeof(struct exfat_entry_name) == ENTRY_SIZE, "name entry size");
_Static_assert(sizeof(struct exfat_entry_alloc) == ENTRY_SIZE, "alloc entry size");
_Static_assert(sizeof(struct exfat_entry_upcase) == ENTRY_SIZE, "upcase entry size");
_Static_assert(sizeof(struct exfat_entry_label) == ENTRY_SIZE, "label entry size");
_Static_assert(sizeof(struct exfat_entry_guid) == ENTRY_SIZE, "guid entry size");

#define EXFAT_DIR_MAX_SIZE (256u * 1024 * 1024)
/* An uncompressed table is 128 KiB; anything much larger is damage. */
#define EXFAT_UPCASE_MAX_SIZE (256u * 1024)
