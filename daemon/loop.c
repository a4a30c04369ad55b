#include "daemon/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define MAX_TIMERS 65536
#define MAX_DEFERRED 65536

typedef struct {
    tss_defer_fn fn;
    void *arg;
} deferred;

struct tss_loop {
    int epfd;
    int sigfd;
    tss_watch sigwatch;
    tss_signal_fn on_signal;
    void *signal_arg;
    tss_timer **timers;
    size_t n_timers, cap_timers;
    deferred *defers;
    size_t n_defers, cap_defers;
    tss_deferred *node_head, *node_tail;
    bool stop;
};

static int64_t clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tss_now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t tss_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

static void on_sigfd(void *arg, uint32_t events) {
    tss_loop *l = arg;
    (void)events;
    struct signalfd_siginfo si;
    while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (l->on_signal) l->on_signal(l->signal_arg, (int)si.ssi_signo);
}

tss_result tss_loop_new(tss_signal_fn on_signal, void *arg, tss_loop **out) {
    tss_loop *l = calloc(1, sizeof *l);
    TSS_ENSURE(l != NULL, TSS_E_NOMEM, "no memory for the event loop");
    l->sigfd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return tss_fail(TSS_E_IO, "epoll_create1: %s", strerror(errno));
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* A vanished peer must never kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        tss_result r = tss_fail(TSS_E_IO, "signalfd: %s", strerror(errno));
        tss_loop_free(l);
        return r;
    }
    l->on_signal = on_signal;
    l->signal_arg = arg;
    tss_result r = tss_loop_watch(l, &l->sigwatch, l->sigfd, EPOLLIN, on_sigfd, l);
    if (!tss_is_ok(r)) {
        tss_loop_free(l);
        return r;
    }
    *out = l;
    return TSS_OK_RESULT;
}

static void run_deferred(tss_loop *l);

void tss_loop_free(tss_loop *l) {
    if (!l) return;
    run_deferred(l);
    if (l->sigfd >= 0) close(l->sigfd);
    if (l->epfd >= 0) close(l->epfd);
    free(l->timers);
    free(l->defers);
    free(l);
}

tss_result tss_loop_watch(tss_loop *l, tss_watch *w, int fd, uint32_t events, tss_io_fn fn,
                          void *arg) {
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    w->events = events;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    TSS_ENSURE(epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0, TSS_E_IO,
               "epoll_ctl(ADD, fd %d): %s", fd, strerror(errno));
    w->added = true;
    return TSS_OK_RESULT;
}

tss_result tss_loop_modify(tss_loop *l, tss_watch *w, uint32_t events) {
    if (!w->added || w->events == events) return TSS_OK_RESULT;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    TSS_ENSURE(epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0, TSS_E_IO,
               "epoll_ctl(MOD, fd %d): %s", w->fd, strerror(errno));
    w->events = events;
    return TSS_OK_RESULT;
}

void tss_loop_unwatch(tss_loop *l, tss_watch *w) {
    if (!w->added) return;
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->added = false;
    w->fn = NULL;
}

void tss_timer_init(tss_timer *t, tss_timer_fn fn, void *arg) {
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
}

tss_result tss_timer_arm(tss_loop *l, tss_timer *t, int64_t due) {
    if (t->dead) return TSS_OK_RESULT;
    t->due = due;
    if (t->armed) return TSS_OK_RESULT;
    if (l->n_timers == l->cap_timers) {
        size_t cap = l->cap_timers ? l->cap_timers * 2 : 16;
        TSS_ENSURE(cap <= MAX_TIMERS, TSS_E_TOO_LARGE, "more than %d timers", MAX_TIMERS);
        tss_timer **n = realloc(l->timers, cap * sizeof *n);
        TSS_ENSURE(n != NULL, TSS_E_NOMEM, "no memory for timers");
        l->timers = n;
        l->cap_timers = cap;
    }
    t->slot = l->n_timers;
    l->timers[l->n_timers++] = t;
    t->armed = true;
    return TSS_OK_RESULT;
}

void tss_timer_disarm(tss_loop *l, tss_timer *t) {
    if (!t->armed) return;
    size_t last = --l->n_timers;
    if (t->slot != last) {
        l->timers[t->slot] = l->timers[last];
        l->timers[t->slot]->slot = t->slot;
    }
    t->armed = false;
}

void tss_timer_kill(tss_loop *l, tss_timer *t) {
    tss_timer_disarm(l, t);
    t->dead = true;
}

void tss_loop_defer_node(tss_loop *l, tss_deferred *d, tss_defer_fn fn, void *arg) {
    if (d->queued) return;
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    d->queued = true;
    if (l->node_tail) l->node_tail->next = d;
    else l->node_head = d;
    l->node_tail = d;
}

tss_result tss_loop_defer(tss_loop *l, tss_defer_fn fn, void *arg) {
    if (l->n_defers == l->cap_defers) {
        size_t cap = l->cap_defers ? l->cap_defers * 2 : 16;
        TSS_ENSURE(cap <= MAX_DEFERRED, TSS_E_TOO_LARGE, "more than %d deferred calls",
                   MAX_DEFERRED);
        deferred *n = realloc(l->defers, cap * sizeof *n);
        TSS_ENSURE(n != NULL, TSS_E_NOMEM, "no memory for deferred calls");
        l->defers = n;
        l->cap_defers = cap;
    }
    l->defers[l->n_defers++] = (deferred){fn, arg};
    return TSS_OK_RESULT;
}

static void run_deferred(tss_loop *l) {
    /* A deferred call may defer more (of either kind); run until both are
     * empty. Nodes first: they are teardowns whose owner callbacks may end
     * more objects (whose frees are then queued behind). */
    for (;;) {
        if (l->node_head) {
            tss_deferred *d = l->node_head;
            l->node_head = d->next;
            if (!l->node_head) l->node_tail = NULL;
            d->queued = false;
            d->fn(d->arg); /* may free d */
            continue;
        }
        if (l->n_defers == 0) break;
        for (size_t i = 0; i < l->n_defers; i++) {
            deferred d = l->defers[i];
            d.fn(d.arg);
        }
        l->n_defers = 0;
    }
}

static void run_timers(tss_loop *l) {
    int64_t now = tss_now_ms();
    /* Fire one due timer at a time: callbacks may arm and disarm others. */
    for (size_t guard = 0; guard < MAX_TIMERS; guard++) {
        tss_timer *due = NULL;
        for (size_t i = 0; i < l->n_timers; i++)
            if (l->timers[i]->due <= now && (!due || l->timers[i]->due < due->due))
                due = l->timers[i];
        if (!due) break;
        tss_timer_disarm(l, due);
        due->fn(due->arg);
    }
}

static int next_timeout(const tss_loop *l) {
    if (l->n_timers == 0) return -1;
    int64_t best = l->timers[0]->due;
    for (size_t i = 1; i < l->n_timers; i++)
        if (l->timers[i]->due < best) best = l->timers[i]->due;
    int64_t left = best - tss_now_ms();
    if (left < 0) return 0;
    return left > 60000 ? 60000 : (int)left;
}

tss_result tss_loop_run(tss_loop *l) {
    struct epoll_event evs[MAX_EVENTS];
    l->stop = false; /* each run lasts until the next tss_loop_stop */
    while (!l->stop) {
        int n = epoll_wait(l->epfd, evs, MAX_EVENTS, next_timeout(l));
        if (n < 0) {
            if (errno == EINTR) continue;
            return tss_fail(TSS_E_IO, "epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            tss_watch *w = evs[i].data.ptr;
            /* Unwatched earlier in this batch: its fn is NULL; the memory is
             * still valid because frees are deferred. */
            if (w->added && w->fn) w->fn(w->arg, evs[i].events);
        }
        run_deferred(l);
        run_timers(l);
        run_deferred(l);
    }
    return TSS_OK_RESULT;
}

void tss_loop_stop(tss_loop *l) { l->stop = true; }
bool tss_loop_stopping(const tss_loop *l) { return l->stop; }
