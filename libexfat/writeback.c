/* SPDX-License-Identifier: MIT */
/* Background write-back. Metadata changed by a call is also written back by later calls every few
 * seconds (vol_after_change); this thread covers the quiet time after the last change, so a drive
 * pulled a few seconds after a copy finished without unmounting still has its directory entries. */
#include <signal.h>

#include "vol.h"
#include "device.h"
#include "writeback.h"

#define IDLE_WRITEBACK_NS (2ull * 1000000000)

static void *writeback_main(void *arg) {
        struct exfat_volume *vol = arg;

        pthread_mutex_lock(&vol->wb_lock);
        while (!vol->wb_stop) {
                struct timespec deadline;
                bool due;
                uint64_t changed;

                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += 1;
                pthread_cond_timedwait(&vol->wb_cond, &vol->wb_lock, &deadline);
                if (vol->wb_stop)
                        break;
                changed = __atomic_load_n(&vol->last_change, __ATOMIC_RELAXED);
                due = changed != 0 && monotonic_now_ns() - changed >= IDLE_WRITEBACK_NS;
                if (!due)
                        continue;
                pthread_mutex_unlock(&vol->wb_lock);

                pthread_mutex_lock(&vol->lock);
                /* Only if nothing changed since the check: a busy volume is written back by its calls. */
                if (__atomic_load_n(&vol->last_change, __ATOMIC_RELAXED) == changed) {
                        /* A failure was logged by the device layer; the next change retries. */
                        (void) vol_writeback_locked(vol);
                        __atomic_store_n(&vol->last_change, 0, __ATOMIC_RELAXED);
                        vol->last_writeback = monotonic_now_ns();
                }
                pthread_mutex_unlock(&vol->lock);
                (void) dev_flush(vol);
                dev_idle(vol);

                pthread_mutex_lock(&vol->wb_lock);
        }
        pthread_mutex_unlock(&vol->wb_lock);
        return NULL;
}

int writeback_start(struct exfat_volume *vol) {
        pthread_condattr_t ca;
        sigset_t all, old;
        int r;

        pthread_mutex_init(&vol->wb_lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&vol->wb_cond, &ca);
        pthread_condattr_destroy(&ca);
        /* The caller's signals are none of this thread's business (think signalfd users). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&vol->wb_thread, NULL, writeback_main, vol);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                pthread_cond_destroy(&vol->wb_cond);
                pthread_mutex_destroy(&vol->wb_lock);
                return r;
        }
        vol->wb_running = true;
        return 0;
}

void writeback_stop(struct exfat_volume *vol) {
        if (!vol->wb_running)
                return;
        pthread_mutex_lock(&vol->wb_lock);
        vol->wb_stop = true;
        pthread_cond_signal(&vol->wb_cond);
        pthread_mutex_unlock(&vol->wb_lock);
        pthread_join(vol->wb_thread, NULL);
        pthread_cond_destroy(&vol->wb_cond);
        pthread_mutex_destroy(&vol->wb_lock);
        vol->wb_running = false;
}
