/* The systemd watchdog (WatchdogSec=): ping WATCHDOG=1 from the event loop at
 * half of WATCHDOG_USEC, so a hung loop stops pinging and systemd kills and
 * restarts the service (Restart=on-failure, result "watchdog").
 *
 * The ping is a loop timer on purpose: it proves the loop itself still turns,
 * which a separate thread could not. Nothing here blocks; without
 * WATCHDOG_USEC (not under systemd, or WatchdogSec= unset) every call is a
 * no-op.
 *
 * Wiring, in each daemon after tss_loop_new() and before tss_loop_run():
 *
 *     static tss_watchdog wd;              // lives as long as the loop
 *     r = tss_watchdog_start(&wd, loop);   // logs the interval when enabled
 *
 * and tss_watchdog_stop(&wd, loop) before tss_loop_free(). */
#ifndef TSS_DAEMON_WATCHDOG_H
#define TSS_DAEMON_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "util/result.h"

/* Shortest ping interval we accept: WatchdogSec= below 2 ms is treated as
 * 1 ms pings rather than a busy loop. */
#define TSS_WATCHDOG_MIN_INTERVAL_MS 1

typedef struct {
    bool enabled;
    uint64_t timeout_usec; /* WATCHDOG_USEC as systemd gave it, 0 when disabled */
    int64_t interval_ms;   /* ping period: half the timeout, at least 1 ms */
    uint64_t pings;        /* WATCHDOG=1 messages sent */
    tss_timer timer;
    tss_loop *loop;
} tss_watchdog;

/* Half of the timeout, in whole milliseconds (rounded down, at least
 * TSS_WATCHDOG_MIN_INTERVAL_MS); 0 for a zero timeout (disabled). */
int64_t tss_watchdog_interval_ms(uint64_t timeout_usec);

/* Read WATCHDOG_USEC/WATCHDOG_PID through sd_watchdog_enabled(3) and fill
 * w->enabled, w->timeout_usec and w->interval_ms. The environment is left as
 * it is. Returns w->enabled. A malformed WATCHDOG_USEC counts as disabled. */
bool tss_watchdog_configure(tss_watchdog *w);

/* Send WATCHDOG=1 now (sd_notify). No-op when disabled. */
void tss_watchdog_ping(tss_watchdog *w);

/* Configure, then, when enabled, ping once and arm a loop timer that pings
 * every interval_ms for as long as the loop runs. TSS_E_INTERNAL only if the
 * timer cannot be armed. */
TSS_MUST_CHECK tss_result tss_watchdog_start(tss_watchdog *w, tss_loop *loop);

/* Disarm the timer (safe when never started or disabled). */
void tss_watchdog_stop(tss_watchdog *w);

#endif
