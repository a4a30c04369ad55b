#include "daemon/watchdog.h"

#include <string.h>

#include <systemd/sd-daemon.h>

#include "util/log.h"

int64_t tss_watchdog_interval_ms(uint64_t timeout_usec) {
    if (timeout_usec == 0) return 0;
    uint64_t ms = timeout_usec / 2 / 1000;
    if (ms < TSS_WATCHDOG_MIN_INTERVAL_MS) ms = TSS_WATCHDOG_MIN_INTERVAL_MS;
    if (ms > (uint64_t)INT64_MAX / 4) ms = (uint64_t)INT64_MAX / 4; /* now + interval never overflows */
    return (int64_t)ms;
}

bool tss_watchdog_configure(tss_watchdog *w) {
    uint64_t usec = 0;
    /* > 0: enabled for this process (WATCHDOG_PID unset or ours);
     * 0: not enabled; < 0: malformed variables. */
    int r = sd_watchdog_enabled(0, &usec);
    w->enabled = r > 0 && usec > 0;
    w->timeout_usec = w->enabled ? usec : 0;
    w->interval_ms = tss_watchdog_interval_ms(w->timeout_usec);
    if (r < 0) tss_log(LOG_WARNING, "watchdog: ignoring malformed WATCHDOG_USEC/WATCHDOG_PID");
    return w->enabled;
}

void tss_watchdog_ping(tss_watchdog *w) {
    if (!w->enabled) return;
    if (sd_notify(0, "WATCHDOG=1") > 0) w->pings++;
}

static void on_watchdog_timer(void *arg) {
    tss_watchdog *w = arg;
    tss_watchdog_ping(w);
    if (!tss_is_ok(tss_timer_arm(w->loop, &w->timer, tss_now_ms() + w->interval_ms)))
        tss_log(LOG_ERR, "watchdog: cannot re-arm the ping timer; systemd will restart us");
}

tss_result tss_watchdog_start(tss_watchdog *w, tss_loop *loop) {
    memset(w, 0, sizeof *w);
    w->loop = loop;
    tss_timer_init(&w->timer, on_watchdog_timer, w);
    if (!tss_watchdog_configure(w)) return TSS_OK_RESULT;
    tss_log(LOG_INFO, "watchdog: WATCHDOG_USEC=%llu, pinging every %lld ms",
            (unsigned long long)w->timeout_usec, (long long)w->interval_ms);
    tss_watchdog_ping(w);
    TSS_ENSURE(tss_is_ok(tss_timer_arm(loop, &w->timer, tss_now_ms() + w->interval_ms)),
               TSS_E_INTERNAL, "watchdog: cannot arm the ping timer");
    return TSS_OK_RESULT;
}

void tss_watchdog_stop(tss_watchdog *w) {
    if (w->loop) tss_timer_disarm(w->loop, &w->timer);
}
