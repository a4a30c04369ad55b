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
 *
 * Ownership rule (what makes "close from inside a callback" safe):
 *   1. Nothing is freed in place while a callback may still hold a pointer
 *      to it. An object ended from inside a callback (a connection closed, a
 *      session failed) is only marked ended; its teardown (owner callbacks
 *      such as tss_dconn_ops.on_close, then the free) runs from a deferred
 *      call after the current batch, when no caller's stack refers to it.
 *   2. An ended object's timer is killed (tss_timer_kill): every later
 *      tss_timer_arm on it is a no-op, so a caller that re-arms after a
 *      callee ended the object cannot leave a dangling timer in the table.
 *   3. Deferred calls run in order after each batch of events and after the
 *      timers; a deferred call may defer more (run in the same pass), and
 *      tss_loop_free runs what is left.
 * Callers therefore may use an object they hold for the rest of their
 * callback even if something they called ended it; they must check
 * "is it still open/active" before acting on it, never "is it freed". */
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
    bool dead; /* killed: arming is a no-op (the owner has ended) */
} tss_timer;

/* A deferred call that lives inside the owner's struct: queuing it cannot
 * fail (no allocation), so an owner's teardown is never lost. */
typedef struct tss_deferred {
    tss_defer_fn fn;
    void *arg;
    struct tss_deferred *next;
    bool queued;
} tss_deferred;

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
/* (Re)arm at an absolute tss_now_ms() deadline; a no-op on a killed timer. */
TSS_MUST_CHECK tss_result tss_timer_arm(tss_loop *l, tss_timer *t, int64_t due);
void tss_timer_disarm(tss_loop *l, tss_timer *t);
/* Disarm for good: the owner has ended (rule 2 above). */
void tss_timer_kill(tss_loop *l, tss_timer *t);

/* Run fn(arg) once the current batch of events has been dispatched. */
TSS_MUST_CHECK tss_result tss_loop_defer(tss_loop *l, tss_defer_fn fn, void *arg);
/* The same with an embedded node: cannot fail; queuing a queued node is a no-op. */
void tss_loop_defer_node(tss_loop *l, tss_deferred *d, tss_defer_fn fn, void *arg);

/* Dispatch until tss_loop_stop (called from a callback during this run); an
 * error only for a broken epoll/signalfd. The loop can be run again. */
TSS_MUST_CHECK tss_result tss_loop_run(tss_loop *l);
void tss_loop_stop(tss_loop *l);
bool tss_loop_stopping(const tss_loop *l);

#endif
