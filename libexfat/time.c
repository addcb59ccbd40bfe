/* SPDX-License-Identifier: MIT */
/* exFAT timestamps: DOS date/time in local time of the writer, a 10 ms increment, and a UTC offset
 * in 15-minute steps. We write UTC (offset 0, valid bit set) and read any offset. */
#include "timestamp.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (no libc time zone state involved). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned) (z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

void time_decode(uint32_t ts, uint8_t cs10, uint8_t utc, struct timespec *out) {
        unsigned sec2 = ts & 0x1F, min = (ts >> 5) & 0x3F, hour = (ts >> 11) & 0x1F;
        unsigned day = (ts >> 16) & 0x1F, mon = (ts >> 21) & 0x0F, year = 1980 + (ts >> 25);
        int64_t t;

        if (mon < 1 || mon > 12)
                mon = 1;
        if (day < 1)
                day = 1;
        if (cs10 > 199)
                cs10 = 0;
        t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec2 * 2 + cs10 / 100;
        if (utc & 0x80) {
                int off = utc & 0x7F;
                if (off & 0x40)
                        off -= 0x80;
                t -= (int64_t) off * 15 * 60;
        }
        out->tv_sec = (time_t) t;
        out->tv_nsec = (long) (cs10 % 100) * 10000000L;
}

void time_encode(const struct timespec *in, uint32_t *ts, uint8_t *cs10, uint8_t *utc) {
        int64_t t = in->tv_sec, y;
        const int64_t lo = days_from_civil(1980, 1, 1) * 86400, hi = days_from_civil(2107, 12, 31) * 86400 + 86399;
        long ns = in->tv_nsec;
        unsigned m, d, secs;

        if (t < lo) {
                t = lo;
                ns = 0;
        } else if (t > hi) {
                t = hi;
                ns = 990000000L;
        }
        civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400, &y, &m, &d);
        secs = (unsigned) (t - (t >= 0 ? t / 86400 : (t - 86399) / 86400) * 86400);
        *ts = (uint32_t) (y - 1980) << 25 | m << 21 | d << 16 | (secs / 3600) << 11 | ((secs / 60) % 60) << 5 |
              (secs % 60) / 2;
        *cs10 = (uint8_t) ((secs % 2) * 100 + (ns > 0 ? ns / 10000000L : 0));
        *utc = 0x80;
}

void time_now(struct timespec *ts) {
        clock_gettime(CLOCK_REALTIME, ts);
}

/* What the disk will hold: clamped to 1980..2107, 10 ms (or 2 s for the access time) steps. */
void time_round(struct timespec *ts, bool access) {
        uint32_t t;
        uint8_t cs, utc;
        time_encode(ts, &t, &cs, &utc);
        time_decode(t, access ? 0 : cs, utc, ts);
}

void time_now_rounded(struct timespec *ts) {
        time_now(ts);
        time_round(ts, false);
}
