/* The daemons' event loop: single-threaded, epoll, level-triggered.
 *
 * Why one thread: every daemon's work is I/O-bound relaying and bookkeeping
 * (the CPU-heavy MPC steps of a party take milliseconds); one thread means no
 * locks around connection tables, deterministic ordering of events, and a
 * watchdog that proves the whole daemon is alive when the loop is. Blocking
 * work (unsealing the keystore with Argon2id, reading certificates on reload)
 * happens before the loop starts or is short and bounded.
 *
 * Three sources feed the loop:
 *   - file descriptors (sockets) registered with a callback;
 *   - timers: a small array scanned linearly at each wakeup. The number of
 *     armed timers is bounded by the connection cap (one per connection plus a
 *     few), so O(n) per wakeup is cheaper than heap bookkeeping and simpler to
 *     get right; the nearest deadline becomes epoll_wait's timeout;
 *   - signals: SIGTERM, SIGINT and SIGHUP are blocked and read from a
 *     signalfd, so handlers run as ordinary callbacks inside the loop.
 * Objects that may be referenced by events later in the same epoll batch are
 * not freed in place: tss_loop_defer() runs the free after the batch. */
#ifndef TSS_DAEMON_LOOP_H
#define TSS_DAEMON_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

typedef struct tss_loop tss_loop;

/* Monotonic milliseconds (for deadlines) and wall-clock Unix milliseconds (for display). */
int64_t tss_now_ms(void);
int64_t tss_wall_ms(void);

typedef void (*tss_io_fn)(void *arg, uint32_t events);
typedef void (*tss_timer_fn)(void *arg);
typedef void (*tss_signal_fn)(void *arg, int signo);
typedef void (*tss_defer_fn)(void *arg);

/* A registration for one fd; lives inside the owner's struct. */
typedef struct {
    int fd;
    tss_io_fn fn;
    void *arg;
    uint32_t events;
    bool added;
} tss_watch;

/* A one-shot timer; lives inside the owner's struct. */
typedef struct {
    int64_t due; /* tss_now_ms() clock */
    tss_timer_fn fn;
    void *arg;
    size_t slot; /* index in the loop's table while armed */
    bool armed;
} tss_timer;

/* The loop blocks SIGTERM, SIGINT and SIGHUP for the process and reports
 * them through on_signal. */
TSS_MUST_CHECK tss_result tss_loop_new(tss_signal_fn on_signal, void *arg, tss_loop **out);
void tss_loop_free(tss_loop *l);

/* Watch fd for events (EPOLLIN/EPOLLOUT); events 0 keeps it registered but quiet. */
TSS_MUST_CHECK tss_result tss_loop_watch(tss_loop *l, tss_watch *w, int fd, uint32_t events,
                                         tss_io_fn fn, void *arg);
TSS_MUST_CHECK tss_result tss_loop_modify(tss_loop *l, tss_watch *w, uint32_t events);
void tss_loop_unwatch(tss_loop *l, tss_watch *w);

void tss_timer_init(tss_timer *t, tss_timer_fn fn, void *arg);
/* (Re)arm at an absolute tss_now_ms() deadline. */
TSS_MUST_CHECK tss_result tss_timer_arm(tss_loop *l, tss_timer *t, int64_t due);
void tss_timer_disarm(tss_loop *l, tss_timer *t);

/* Run fn(arg) once the current batch of events has been dispatched. */
TSS_MUST_CHECK tss_result tss_loop_defer(tss_loop *l, tss_defer_fn fn, void *arg);

/* Dispatch until tss_loop_stop (called from a callback during this run); an
 * error only for a broken epoll/signalfd. The loop can be run again. */
TSS_MUST_CHECK tss_result tss_loop_run(tss_loop *l);
void tss_loop_stop(tss_loop *l);
bool tss_loop_stopping(const tss_loop *l);

#endif
