/* SPDX-License-Identifier: MIT */
#pragma once

/* Heap memory: freeing helpers and a growable array.
 *
 *   mfree(p)            frees p and returns NULL, for "p = mfree(p);".
 *   freep(&p)           the cleanup function behind _cleanup_free_.
 *   _cleanup_free_      frees the variable's pointer when it goes out of scope.
 *   GREEDY_REALLOC(array, cap, need)
 *                       makes room for at least need elements in array, whose allocated size in
 *                       elements is kept in cap (any unsigned integer lvalue). Grows by doubling
 *                       so that n appends cost O(n), from GREEDY_MIN elements on the first
 *                       allocation; on success array and cap are updated and it returns 0; on
 *                       overflow or when out of memory it returns -ENOMEM and leaves both
 *                       untouched.
 *   GREEDY_REALLOC_MIN(array, cap, need, min)
 *                       the same with min elements on the first allocation, where the memory a
 *                       small array takes is accounted for (libexfat's cache budget). */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

#define _cleanup_free_ _cleanup_(freep)

#define GREEDY_MIN 8u

/* The new capacity for need elements of size bytes, doubling from cap (or min); 0 on overflow. */
static inline size_t greedy_capacity(size_t cap, size_t need, size_t size, size_t min) {
        size_t n = cap > 0 ? cap : min > 0 ? min : 1;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return 0;
                n *= 2;
        }
        if (n > SIZE_MAX / size)
                return 0;
        return n;
}

/* The function behind GREEDY_REALLOC; cap_max is the largest value the caller's cap can hold. */
static inline int greedy_realloc(void **array, size_t *cap, size_t need, size_t size, size_t min,
                                 size_t cap_max) {
        size_t n;
        void *p;

        if (need <= *cap)
                return 0;
        n = greedy_capacity(*cap, need, size, min);
        if (n == 0 || n > cap_max)
                n = need <= cap_max && need <= SIZE_MAX / size ? need : 0;
        if (n == 0)
                return -ENOMEM;
        p = realloc(*array, n * size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = n;
        return 0;
}

#define GREEDY_REALLOC_MIN(array, cap, need, min)                                               \
        ({                                                                                      \
                void *_array_ = (array);                                                        \
                size_t _cap_ = (cap);                                                           \
                int _r_ = greedy_realloc(&_array_, &_cap_, (need), sizeof((array)[0]), (min),   \
                                         (size_t) (__typeof__(cap)) -1);                        \
                if (_r_ >= 0) {                                                                 \
                        (array) = _array_;                                              \
                        (cap) = (__typeof__(cap)) _cap_;                                        \
                }                                                                               \
                _r_;                                                                            \
        })

#define GREEDY_REALLOC(array, cap, need) GREEDY_REALLOC_MIN(array, cap, need, GREEDY_MIN)
