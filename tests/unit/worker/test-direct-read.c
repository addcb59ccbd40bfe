/* SPDX-License-Identifier: MIT */
/* READ data through O_DIRECT (daemon/worker/direct-read.c): extents that start or end inside a
 * block, zeros, the device's end, and the buffers it keeps and gives back. Runs on a regular file
 * on a disk filesystem (block size 4096 there), opened with O_DIRECT like the device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "direct-read.h"

#define FILE_SIZE (4u << 20)

struct fixture {
        char path[64];
        int fd;
        uint8_t *data;  /* what the file holds */
        struct direct_reader reader;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        /* Not /tmp: tmpfs may refuse O_DIRECT, and the point is a disk's rules. */
        snprintf(f->path, sizeof(f->path), "/var/tmp/test-direct-read.XXXXXX");
        int w = mkstemp(f->path);
        assert_true(w >= 0);
        f->data = malloc(FILE_SIZE);
        assert_non_null(f->data);
        srand(7);
        for (size_t i = 0; i < FILE_SIZE; i++)
                f->data[i] = (uint8_t) rand();
        assert_int_equal(write(w, f->data, FILE_SIZE), FILE_SIZE);
        close(w);
        f->fd = open(f->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
        if (f->fd < 0) {
                unlink(f->path);
                free(f->data);
                free(f);
                return -1;
        }
        assert_int_equal(direct_reader_init(&f->reader, f->fd), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        direct_reader_done(&f->reader);
        close(f->fd);
        unlink(f->path);
        free(f->data);
        free(f);
        return 0;
}

/* Reads ext and checks the reply's bytes against the file (zeros for EXFAT_EXTENT_ZERO). */
static void expect_bytes(struct fixture *f, const struct exfat_extent *ext, size_t count) {
        struct direct_read rd;
        assert_int_equal(direct_reader_read(&f->reader, ext, count, &rd), 0);
        assert_int_equal(rd.iov_count, count);
        for (size_t i = 0; i < count; i++) {
                assert_int_equal(rd.iov[i].iov_len, ext[i].length);
                if (ext[i].dev_offset == EXFAT_EXTENT_ZERO) {
                        for (size_t k = 0; k < ext[i].length; k++)
                                assert_int_equal(((uint8_t *) rd.iov[i].iov_base)[k], 0);
                } else
                        assert_memory_equal(rd.iov[i].iov_base, f->data + ext[i].dev_offset, ext[i].length);
        }
        direct_read_release(&f->reader, &rd);
}

static void test_block_size(void **state) {
        struct fixture *f = *state;
        assert_int_equal(f->reader.align, 4096);
}

static void test_aligned(void **state) {
        struct fixture *f = *state;
        const struct exfat_extent one[] = { { 1 << 20, 960 << 10 } };
        const struct exfat_extent scattered[] = { { 8192, 4096 }, { 3 << 20, 65536 }, { 0, 4096 } };
        expect_bytes(*state, one, 1);
        expect_bytes(*state, scattered, 3);
        (void) f;
}

/* Where clusters are not block-aligned (a 512-byte-sector volume whose cluster heap starts
 * between blocks) or a READ starts and ends inside a block (O_DIRECT users of the mount). */
static void test_unaligned(void **state) {
        const struct exfat_extent inside[] = { { 4097, 100 } };
        const struct exfat_extent across[] = { { 4000, 200 } };
        const struct exfat_extent clusters[] = { { 512 * 3, 512 }, { 512 * 11, 1024 }, { 512 * 9, 512 },
                                                 { 12345, 54321 } };
        const struct exfat_extent adjacent[] = { { 100, 5000 }, { 5100, 7000 } };
        expect_bytes(*state, inside, 1);
        expect_bytes(*state, across, 1);
        expect_bytes(*state, clusters, 4);
        expect_bytes(*state, adjacent, 2);
}

/* Past ValidDataLength the library hands out zeros, also between and after device bytes. */
static void test_zeros(void **state) {
        const struct exfat_extent mixed[] = { { 4096, 1000 }, { EXFAT_EXTENT_ZERO, 3000 }, { 777, 10 },
                                              { EXFAT_EXTENT_ZERO, 960 << 10 } };
        expect_bytes(*state, mixed, 4);
}

/* The last bytes of the device, not a whole block: the rest of the block is past the end. */
static void test_device_end(void **state) {
        struct fixture *f = *state;
        const struct exfat_extent tail[] = { { FILE_SIZE - 100, 100 } };
        const struct exfat_extent whole_tail[] = { { FILE_SIZE - 8192, 8192 } };
        expect_bytes(f, tail, 1);
        expect_bytes(f, whole_tail, 1);
}

/* Bytes the device does not have are an I/O error, not zeros or a short reply. */
static void test_past_device_end(void **state) {
        struct fixture *f = *state;
        struct direct_read rd;
        const struct exfat_extent over[] = { { FILE_SIZE - 4096, 8192 } };
        const struct exfat_extent beyond[] = { { 0, 4096 }, { FILE_SIZE + 4096, 4096 } };
        const struct exfat_extent partial[] = { { FILE_SIZE - 100, 101 } };
        assert_int_equal(direct_reader_read(&f->reader, over, 1, &rd), -EIO);
        assert_int_equal(direct_reader_read(&f->reader, beyond, 2, &rd), -EIO);
        assert_int_equal(direct_reader_read(&f->reader, partial, 1, &rd), -EIO);
        assert_null(rd.iov);
        /* A failed read gives its buffer back too. */
        assert_true(f->reader.n_idle >= 1);
}

/* An image file need not end on a block: its last bytes read fine, bytes past them are an I/O
 * error (not a refusal, which would turn O_DIRECT off for good). */
static void test_odd_size_end(void **state) {
        struct fixture *f = *state;
        struct direct_read rd;
        const struct exfat_extent last[] = { { FILE_SIZE - 300, 200 } };
        const struct exfat_extent over[] = { { FILE_SIZE - 300, 250 } };
        assert_int_equal(truncate(f->path, FILE_SIZE - 100), 0);
        expect_bytes(f, last, 1);
        assert_int_equal(direct_reader_read(&f->reader, over, 1, &rd), -EIO);
}

static void test_empty(void **state) {
        struct fixture *f = *state;
        struct direct_read rd;
        assert_int_equal(direct_reader_read(&f->reader, NULL, 0, &rd), 0);
        assert_int_equal(rd.iov_count, 0);
        direct_read_release(&f->reader, &rd);
}

/* Buffers are reused (no new mapping per READ), at most DIRECT_READER_KEEP wait, trim gives the
 * waiting ones back, and one too small for a READ is replaced rather than kept forever. */
static void test_buffers(void **state) {
        struct fixture *f = *state;
        struct direct_read rd[DIRECT_READER_KEEP + 3];
        const struct exfat_extent big[] = { { 0, 960 << 10 } };
        const struct exfat_extent small[] = { { 0, 4096 } };

        direct_reader_trim(&f->reader);
        assert_int_equal(f->reader.n_idle, 0);
        assert_int_equal(direct_reader_read(&f->reader, big, 1, &rd[0]), 0);
        void *first = rd[0].buffer.data;
        direct_read_release(&f->reader, &rd[0]);
        assert_int_equal(f->reader.n_idle, 1);
        assert_int_equal(direct_reader_read(&f->reader, small, 1, &rd[0]), 0);
        assert_ptr_equal(rd[0].buffer.data, first);
        direct_read_release(&f->reader, &rd[0]);

        for (size_t i = 0; i < DIRECT_READER_KEEP + 3; i++)
                assert_int_equal(direct_reader_read(&f->reader, small, 1, &rd[i]), 0);
        assert_int_equal(f->reader.n_idle, 0);
        for (size_t i = 0; i < DIRECT_READER_KEEP + 3; i++)
                direct_read_release(&f->reader, &rd[i]);
        assert_int_equal(f->reader.n_idle, DIRECT_READER_KEEP);

        /* All kept buffers small now but one: a big READ takes the big one, or replaces a small. */
        direct_reader_trim(&f->reader);
        assert_int_equal(direct_reader_read(&f->reader, small, 1, &rd[0]), 0);
        direct_read_release(&f->reader, &rd[0]);
        size_t small_size = f->reader.idle[0].size;
        assert_true(small_size < (960u << 10));
        assert_int_equal(direct_reader_read(&f->reader, big, 1, &rd[0]), 0);
        assert_true(rd[0].buffer.size >= (960u << 10));
        assert_int_equal(f->reader.n_idle, 0);
        direct_read_release(&f->reader, &rd[0]);
        assert_int_equal(f->reader.n_idle, 1);
        assert_true(f->reader.idle[0].size >= (960u << 10));

        direct_reader_trim(&f->reader);
        assert_int_equal(f->reader.n_idle, 0);
}

/* A device that refuses an O_DIRECT read as such (EINVAL) gets -EINVAL, so that the worker reads
 * through the page cache instead; any other failure is -EIO. The refusal is forced here by
 * pretending the block size were 1, so that the read is not aligned. */
static void test_refused(void **state) {
        struct fixture *f = *state;
        struct direct_read rd;
        const struct exfat_extent odd[] = { { 1, 100 } };
        f->reader.align = 1;
        assert_int_equal(direct_reader_read(&f->reader, odd, 1, &rd), -EINVAL);
        f->reader.align = 4096;
        expect_bytes(f, odd, 1);
}

static void test_not_readable(void **state) {
        int p[2];
        struct direct_reader r;
        struct direct_read rd;
        const struct exfat_extent one[] = { { 0, 4096 } };
        (void) state;
        assert_int_equal(pipe(p), 0);
        assert_int_equal(direct_reader_init(&r, p[0]), 0);
        assert_int_equal(direct_reader_read(&r, one, 1, &rd), -EIO); /* ESPIPE */
        direct_reader_done(&r);
        close(p[0]);
        close(p[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_block_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_aligned, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unaligned, setup, teardown),
                cmocka_unit_test_setup_teardown(test_zeros, setup, teardown),
                cmocka_unit_test_setup_teardown(test_device_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_past_device_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_odd_size_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_buffers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
                cmocka_unit_test(test_not_readable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
