/* daemon/watchdog: the ping interval derived from WATCHDOG_USEC (half, via
 * sd_watchdog_enabled(3), honouring WATCHDOG_PID), WATCHDOG=1 datagrams on a
 * real NOTIFY_SOCKET, and pings that come from the event loop: they arrive at
 * the interval while the loop runs and stop while it does not. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "daemon/watchdog.h"
#include "tests/unit/harness.h"
#include "util/log.h"

static char root[512];
static int notify_fd = -1;

static void set_env(const char *usec, const char *pid) {
    if (usec) setenv("WATCHDOG_USEC", usec, 1);
    else unsetenv("WATCHDOG_USEC");
    if (pid) setenv("WATCHDOG_PID", pid, 1);
    else unsetenv("WATCHDOG_PID");
}

static void own_pid(char *buf, size_t cap) { snprintf(buf, cap, "%ld", (long)getpid()); }

/* Bind a datagram socket and point NOTIFY_SOCKET at it. */
static bool notify_listen(void) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify", root);
    if (n <= 0 || (size_t)n >= sizeof sa.sun_path) return false;
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof sa) != 0) return false;
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    return true;
}

/* Count the WATCHDOG=1 datagrams queued now (other messages fail the count). */
static int drain(void) {
    int count = 0;
    char buf[256];
    for (;;) {
        ssize_t n = recv(notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0) break;
        buf[n] = '\0';
        if (strcmp(buf, "WATCHDOG=1") != 0) return -1000;
        count++;
    }
    return count;
}

/* ---- interval ------------------------------------------------------------------------ */

static void interval_is_half_the_timeout(void) {
    CHECK(tss_watchdog_interval_ms(0) == 0);
    CHECK(tss_watchdog_interval_ms(30000000) == 15000); /* WatchdogSec=30s */
    CHECK(tss_watchdog_interval_ms(2000000) == 1000);
    CHECK(tss_watchdog_interval_ms(2999) == 1); /* rounded down */
    CHECK(tss_watchdog_interval_ms(1) == TSS_WATCHDOG_MIN_INTERVAL_MS);
    CHECK(tss_watchdog_interval_ms(UINT64_MAX) > 0);
}

static void configure_reads_the_environment(void) {
    tss_watchdog w = {0};
    char pid[32];
    own_pid(pid, sizeof pid);

    set_env(NULL, NULL);
    CHECK(!tss_watchdog_configure(&w) && !w.enabled && w.interval_ms == 0);

    set_env("4000000", NULL);
    CHECK(tss_watchdog_configure(&w) && w.timeout_usec == 4000000 && w.interval_ms == 2000);

    set_env("500000", pid);
    CHECK(tss_watchdog_configure(&w) && w.interval_ms == 250);

    /* WATCHDOG_PID names another process (a child inherited the variables). */
    set_env("500000", "1");
    CHECK(!tss_watchdog_configure(&w) && w.interval_ms == 0);

    set_env("soon", NULL);
    CHECK(!tss_watchdog_configure(&w));
    set_env("0", NULL);
    CHECK(!tss_watchdog_configure(&w));

    /* The environment is left in place for children that check WATCHDOG_PID. */
    set_env("500000", pid);
    CHECK(tss_watchdog_configure(&w) && getenv("WATCHDOG_USEC") && getenv("WATCHDOG_PID"));
    set_env(NULL, NULL);
}

/* ---- pings --------------------------------------------------------------------------- */

static void ping_sends_watchdog_1(void) {
    tss_watchdog w = {0};
    set_env("1000000", NULL);
    CHECK(tss_watchdog_configure(&w));
    (void)drain();
    tss_watchdog_ping(&w);
    tss_watchdog_ping(&w);
    CHECK(w.pings == 2);
    CHECK(drain() == 2);

    set_env(NULL, NULL);
    CHECK(!tss_watchdog_configure(&w));
    tss_watchdog_ping(&w); /* disabled: silent */
    CHECK(drain() == 0);
}

static tss_loop *g_loop;
static void stop_loop(void *arg) {
    (void)arg;
    tss_loop_stop(g_loop);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void loop_pings_at_the_interval(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    if (!l) return;
    g_loop = l;
    (void)drain();

    /* WatchdogSec=200ms: a ping every 100 ms, the first one at start. */
    set_env("200000", NULL);
    static tss_watchdog w;
    CHECK_OK(tss_watchdog_start(&w, l));
    CHECK(w.enabled && w.interval_ms == 100);
    CHECK(drain() == 1);

    /* A loop that does not turn does not ping. */
    sleep_ms(350);
    CHECK(drain() == 0);

    /* Running for 550 ms: the overdue ping at once, then one per 100 ms. */
    tss_timer stop;
    tss_timer_init(&stop, stop_loop, NULL);
    int64_t t0 = tss_now_ms();
    CHECK_OK(tss_timer_arm(l, &stop, t0 + 550));
    CHECK_OK(tss_loop_run(l));
    int got = drain();
    CHECK(got >= 4 && got <= 7);
    CHECK(w.pings == (uint64_t)(1 + got));

    /* Stopped: no more pings even while the loop runs. */
    tss_watchdog_stop(&w);
    CHECK(!w.timer.armed);
    CHECK_OK(tss_timer_arm(l, &stop, tss_now_ms() + 250));
    CHECK_OK(tss_loop_run(l));
    CHECK(drain() == 0);
    tss_watchdog_stop(&w); /* twice is fine */
    tss_loop_free(l);
    set_env(NULL, NULL);
}

static void start_without_watchdog_is_a_no_op(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    if (!l) return;
    set_env(NULL, NULL);
    static tss_watchdog w;
    CHECK_OK(tss_watchdog_start(&w, l));
    CHECK(!w.enabled && !w.timer.armed && w.pings == 0);
    CHECK(drain() == 0);
    tss_watchdog_stop(&w);
    tss_loop_free(l);
}

int main(void) {
    tss_log_set_level(LOG_WARNING);
    harness_tmpdir(root, sizeof root);
    RUN(interval_is_half_the_timeout);
    RUN(configure_reads_the_environment);
    if (notify_listen()) {
        RUN(ping_sends_watchdog_1);
        RUN(loop_pings_at_the_interval);
        RUN(start_without_watchdog_is_a_no_op);
    } else {
        harness_check(false, "notify socket", __FILE__, __LINE__);
    }
    unsetenv("NOTIFY_SOCKET");
    if (notify_fd >= 0) close(notify_fd);
    harness_rmtree(root);
    return harness_finish("test_watchdog");
}
