/* The coordinator's self-refilling presignature pool (issue 14; policy in
 * daemon/pool_policy.h, operations in docs/OPERATIONS.md "Presignature pool").
 *
 * A timer in the coordinator's loop (pool.interval, and sooner when kicked:
 * a session ended, a presignature was taken, a party said HELLO) does, per
 * registered key with a pool:
 *   - retire: presignatures older than max_age are claimed in the store
 *     (store.h: the files record or the database, durable before anything
 *     else), so they are never handed out; then every connected holder of
 *     the key is asked to list its presignatures again (PRESIG_RELIST), and the usual reconciliation
 *     (reconcile.c) answers PRESIG_DELETE with them: the party consumes
 *     them (spent log, unlink). A party that is down gets the same answer
 *     to the inventory it sends when it reconnects.
 *   - refill: as many presign sessions (internal requests, audited with the
 *     operator "(pool)") as tss_pool_wanted allows, within the token bucket
 *     pool.rate and pool.max_refill; a refill never queues: without room
 *     now it is simply not started. A failed refill backs the key off
 *     (1 s doubling to 1 min). */
#ifndef TSS_DAEMON_COORDINATOR_POOL_H
#define TSS_DAEMON_COORDINATOR_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/coordinator/coord.h"

TSS_MUST_CHECK tss_result coord_pool_start(coord *co);
void coord_pool_stop(coord *co);
/* Something changed (capacity, stock, a party): evaluate soon. */
void coord_pool_kick(coord *co);
/* session.c: a refill request of key_id ended (made: a presignature
 * recorded; failed: it failed, and the key backs off; neither: a party was
 * busy, nobody's fault). */
void coord_pool_refill_done(coord *co, const char *key_id, bool made, bool failed);

/* session.c: start one refill presign session of key k (signers: a fixed
 * set, count 0: the coordinator chooses). false: no room now (nothing was
 * started and nothing is pending). */
bool coord_pool_presign(coord *co, key_entry *k, const uint16_t *signers, uint16_t count);

#endif
