/* Admission control: per-party capacity accounting and the bounded request
 * queue (admission.h). */
#include "daemon/coordinator/admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* ---- capacity ---------------------------------------------------------------------- */

static unsigned capacity(const coord *co, unsigned id) {
    unsigned cap = co->parties[id].capacity;
    return cap ? cap : (unsigned)co->cfg.limits.max_sessions;
}

bool coord_party_has_room(const coord *co, unsigned id) {
    if (id < 1 || id > TSS_WIRE_MAX_PARTIES) return false;
    const party_slot *s = &co->parties[id];
    if (s->busy_until && tss_now_ms() < s->busy_until) return false;
    return s->active < capacity(co, id);
}

unsigned coord_party_load(const coord *co, unsigned id) {
    if (id < 1 || id > TSS_WIRE_MAX_PARTIES) return ~0u;
    return (unsigned)(((uint64_t)co->parties[id].active << 10) / capacity(co, id));
}

void coord_party_take(coord *co, unsigned id) {
    if (id >= 1 && id <= TSS_WIRE_MAX_PARTIES) co->parties[id].active++;
}

void coord_party_release(coord *co, unsigned id) {
    if (id >= 1 && id <= TSS_WIRE_MAX_PARTIES && co->parties[id].active) co->parties[id].active--;
}

/* ---- the queue ------------------------------------------------------------------------ */

static void rearm(coord *co);

static void queue_del(coord_queue *q, size_t i) {
    memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof q->items[0]);
    q->n--;
}

/* Serve the queue in order; refuse what has waited past timeouts.queue. */
static void pump(coord *co) {
    coord_queue *q = &co->queue;
    if (q->pumping) return; /* a refusal below may re-enter through the operator's close */
    q->pumping = true;
    int64_t now = tss_now_ms();
    int64_t limit = (int64_t)co->cfg.timeouts.queue;
    /* Later requests may pass one whose parties are full, but not forever:
     * once a waiting request is half-way to its deadline nothing behind it
     * starts, so the sessions drain and it gets its room (a keygen needs
     * every party at once and would otherwise starve under signing load). */
    bool held = false;
    for (size_t i = 0; i < q->n;) {
        request *rq = q->items[i].rq;
        if (!rq) { /* removed while we were serving (coord_queue_remove) */
            queue_del(q, i);
            continue;
        }
        int64_t waited = now - q->items[i].since;
        if (co->stopping) {
            queue_del(q, i);
            coord_request_refuse(rq, TSS_WIRE_ERR_SHUTDOWN, "coordinator shutting down");
            continue;
        }
        if (waited >= limit) {
            char text[128];
            snprintf(text, sizeof text,
                     "request waited %lld ms, deadline exceeded (timeouts.queue %lld ms)",
                     (long long)waited, (long long)limit);
            queue_del(q, i);
            coord_request_refuse(rq, TSS_WIRE_ERR_LIMIT, text);
            continue;
        }
        if (held || co->n_sessions >= (size_t)co->cfg.limits.max_sessions) {
            i++;
            continue; /* only expiries can still happen */
        }
        /* Take it out first: admitting may finish (and free) the request. */
        coord_queued item = q->items[i];
        queue_del(q, i);
        if (coord_request_admit(rq) == COORD_ADMIT_WAIT) {
            if (q->n == q->cap) { /* a retry elsewhere took its slot meanwhile */
                coord_request_refuse(rq, TSS_WIRE_ERR_LIMIT, "coordinator queue full");
                continue;
            }
            /* Back into its place. */
            memmove(&q->items[i + 1], &q->items[i], (q->n - i) * sizeof q->items[0]);
            q->items[i] = item;
            q->n++;
            i++;
            if (2 * waited >= limit) held = true;
        }
    }
    q->pumping = false;
    rearm(co);
}

static void on_timer(void *arg) { pump(arg); }

static void on_kick(void *arg) {
    coord *co = arg;
    co->queue.kicked = false;
    pump(co);
}

/* The timer fires at the oldest deadline, or sooner when a busy backoff ends. */
static void rearm(coord *co) {
    coord_queue *q = &co->queue;
    tss_timer_disarm(co->loop, &q->timer);
    if (q->n == 0) return;
    int64_t due = q->items[0].since + (int64_t)co->cfg.timeouts.queue;
    for (size_t i = 1; i < q->n; i++) /* a pushed-back head may be younger */
        if (q->items[i].since + (int64_t)co->cfg.timeouts.queue < due)
            due = q->items[i].since + (int64_t)co->cfg.timeouts.queue;
    int64_t now = tss_now_ms();
    for (unsigned id = 1; id <= TSS_WIRE_MAX_PARTIES; id++) {
        int64_t b = co->parties[id].busy_until;
        if (b > now && b < due) due = b;
    }
    if (!tss_is_ok(tss_timer_arm(co->loop, &q->timer, due)))
        tss_log(LOG_ERR, "cannot arm the request queue timer: %s", tss_error_detail());
}

tss_result coord_queue_push(coord *co, request *rq, bool at_head) {
    coord_queue *q = &co->queue;
    if (!q->cap) {
        size_t cap = (size_t)co->cfg.limits.max_queued;
        TSS_ENSURE(cap > 0, TSS_E_TOO_LARGE,
                   "coordinator queue full (limits.max_queued 0: no queueing)");
        q->items = calloc(cap, sizeof q->items[0]);
        TSS_ENSURE(q->items != NULL, TSS_E_NOMEM, "no memory for the request queue");
        q->cap = cap;
        tss_timer_init(&q->timer, on_timer, co);
    }
    TSS_ENSURE(q->n < q->cap, TSS_E_TOO_LARGE,
               "coordinator queue full (%zu requests waiting, limits.max_queued)", q->n);
    coord_queued item = {rq, tss_now_ms()};
    if (at_head && !q->pumping) { /* while serving, indices must not shift */
        memmove(&q->items[1], &q->items[0], q->n * sizeof q->items[0]);
        q->items[0] = item;
    } else {
        q->items[q->n] = item;
    }
    q->n++;
    if (!q->pumping) rearm(co);
    return TSS_OK_RESULT;
}

bool coord_queue_busy(const coord *co) { return co->queue.n > 0; }

bool coord_queue_remove(coord *co, request *rq) {
    coord_queue *q = &co->queue;
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].rq == rq) {
            if (q->pumping) q->items[i].rq = NULL; /* pump() drops it in order */
            else queue_del(q, i);
            return true;
        }
    return false;
}

void coord_party_busy(coord *co, unsigned id) {
    if (id < 1 || id > TSS_WIRE_MAX_PARTIES) return;
    co->parties[id].busy_until = tss_now_ms() + COORD_BUSY_BACKOFF_MS;
    if (!co->queue.pumping && co->queue.cap) rearm(co);
}

void coord_admission_kick(coord *co) {
    if (co->queue.kicked || co->queue.n == 0) return;
    if (tss_is_ok(tss_loop_defer(co->loop, on_kick, co))) co->queue.kicked = true;
    else pump(co); /* no deferral possible: serve now */
}

void coord_queue_flush(coord *co, uint16_t code, const char *text) {
    coord_queue *q = &co->queue;
    while (q->n) {
        request *rq = q->items[0].rq;
        queue_del(q, 0);
        if (text) coord_request_refuse(rq, code, text);
    }
    if (q->cap) tss_timer_disarm(co->loop, &q->timer);
    free(q->items);
    q->items = NULL;
    q->cap = 0;
}
