/* SPDX-License-Identifier: MIT */
#pragma once

/* Scope-bound cleanup and ownership transfer, shared by libexfat, the worker, the daemon and the
 * client.
 *
 *   _cleanup_(f)    calls f(&var) when var goes out of scope; f takes a pointer to the variable.
 *   TAKE_PTR(p)     evaluates to p and leaves NULL behind: the cleanup no longer frees it, the
 *                   caller that receives the value owns it.
 *   TAKE_FD(fd)     the same for a file descriptor, leaving -EBADF behind.
 *   ELEMENTSOF(a)   the number of elements of an array (not of a pointer).
 *   container_of(ptr, type, member)  the structure a member pointer is embedded in.
 *   MIN(a, b), MAX(a, b)  each argument evaluated once. */

#include <errno.h>
#include <stddef.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

#define TAKE_GENERIC(var, type, nullvalue)                      \
        ({                                                      \
                type *_pvar_ = &(var);                          \
                type _var_ = *_pvar_;                           \
                *_pvar_ = (nullvalue);                          \
                _var_;                                          \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* A pointer has no array size: __builtin_types_compatible_p makes ELEMENTSOF(ptr) a compile error
 * instead of a silent sizeof(pointer) / sizeof(element). */
#define ELEMENTSOF(a)                                                                           \
        (sizeof(a) / sizeof((a)[0]) +                                                           \
         0 * sizeof(struct { _Static_assert(!__builtin_types_compatible_p(__typeof__(a),         \
                                                                          __typeof__(&(a)[0])), \
                                            "ELEMENTSOF of a pointer"); int _dummy_; }))

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

#define MIN(a, b)                                       \
        ({                                              \
                __typeof__(a) _a_ = (a);                \
                __typeof__(b) _b_ = (b);                \
                _a_ < _b_ ? _a_ : _b_;                  \
        })
#define MAX(a, b)                                       \
        ({                                              \
                __typeof__(a) _a_ = (a);                \
                __typeof__(b) _b_ = (b);                \
                _a_ > _b_ ? _a_ : _b_;                  \
        })
