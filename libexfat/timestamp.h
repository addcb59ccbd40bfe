/* SPDX-License-Identifier: MIT */
/* Timestamps (time.c): DOS timestamps with 10 ms and UTC offset, current time, rounding. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* time.c */
void time_decode(uint32_t ts, uint8_t cs10, uint8_t utc, struct timespec *out);
void time_encode(const struct timespec *in, uint32_t *ts, uint8_t *cs10, uint8_t *utc);
void time_now(struct timespec *ts);
void time_round(struct timespec *ts, bool access);
void time_now_rounded(struct timespec *ts);
