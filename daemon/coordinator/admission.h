/* Admission control of the coordinator (issue 11, finding 5): sessions start
 * only as fast as the parties can take them, excess requests wait in one
 * bounded FIFO with a deadline instead of being refused.
 *
 *  - Capacity: every party announces its limits.max_sessions in HELLO
 *    (docs/PROTOCOL.md); a party that does not is assumed to take the
 *    coordinator's limits.max_sessions. The coordinator counts the sessions
 *    it has open on each party and never starts one more than announced.
 *  - A party that still answers SESSION_ABORT "busy" (it restarted with
 *    sessions of a previous coordinator, or its limit shrank) is skipped for
 *    BUSY_BACKOFF_MS; the session's request goes back to the head of the
 *    queue. Busy is capacity, never a fault: no culprit, no retry excluding it.
 *  - Queue: limits.max_queued entries ("coordinator queue full" beyond), each
 *    refused after timeouts.queue ("request waited N ms, deadline exceeded").
 *    The queue is served in order whenever capacity frees up (after the
 *    current event batch) and a waiting request is started as soon as its
 *    parties have room; later requests may pass one whose parties are full,
 *    until it has waited half of timeouts.queue: then nothing behind it
 *    starts until it has (aging, so a keygen that needs every party at once
 *    is not starved by a stream of signing requests). */
#ifndef TSS_DAEMON_COORDINATOR_ADMISSION_H
#define TSS_DAEMON_COORDINATOR_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/coordinator/coord.h"

#define COORD_BUSY_BACKOFF_MS 200

/* What session.c reports when admission asks it to start a request. */
typedef enum {
    COORD_ADMIT_STARTED, /* a session runs (or the request was answered) */
    COORD_ADMIT_WAIT,    /* no capacity now: keep it queued */
} coord_admit;

/* session.c: try to start the next session of a queued request. */
coord_admit coord_request_admit(request *rq);
/* session.c: answer a queued request with an error (LIMIT or SHUTDOWN). */
void coord_request_refuse(request *rq, uint16_t code, const char *text);

/* Room for one more session on party id (connected or not). */
bool coord_party_has_room(const coord *co, unsigned id);
/* Its load as a fraction of its capacity, in 1/1024ths (for balancing). */
unsigned coord_party_load(const coord *co, unsigned id);
void coord_party_take(coord *co, unsigned id);
void coord_party_release(coord *co, unsigned id);
/* The party answered "busy": no new session there for COORD_BUSY_BACKOFF_MS. */
void coord_party_busy(coord *co, unsigned id);

/* Append (at_head: prepend, for a request whose session a party refused as
 * busy) a request that cannot start now. Errors: queue full (TSS_E_TOO_LARGE). */
TSS_MUST_CHECK tss_result coord_queue_push(coord *co, request *rq, bool at_head);
/* Whether requests are waiting (a new one then queues behind them). */
bool coord_queue_busy(const coord *co);
/* Forget a request (answered elsewhere, e.g. its operator left); whether it
 * was queued. */
bool coord_queue_remove(coord *co, request *rq);
/* Capacity may have freed up: serve the queue after the current batch. */
void coord_admission_kick(coord *co);
/* Shutdown or exit: refuse every queued request, disarm the timer, free. */
void coord_queue_flush(coord *co, uint16_t code, const char *text);

#endif
