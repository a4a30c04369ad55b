/* The coordinator's durable state behind one interface (docs/STORAGE.md):
 * the key registry, the presignature ledger, the audit log and the session
 * ids used. Two back-ends, chosen by the config's storage.backend:
 *
 *   files       (default) <state>/keys, <state>/presig, <state>/audit as
 *               before (registry.c, audit.c; formats unchanged). One
 *               coordinator per state directory.
 *   postgresql  libpq (store_pg.c): tables keys, presigs, audit,
 *               session_ids; several coordinators may share one database.
 *
 * Semantics every back-end keeps:
 *   - key_add: a key id is registered once (TSS_E_EXISTS if any coordinator
 *     sharing the store registered it first); a registered key is visible to
 *     every coordinator of the store (key_find reads through).
 *   - presig_add/claim: an id is recorded once, and claimed (handed out) at
 *     most once across restarts and across coordinators: the claim is durable
 *     (fdatasync / COMMIT) before it returns OK, and a claim that lost a race
 *     or cannot be made durable returns an error and the id is not used.
 *   - release: the audit record of a request's outcome. durable records (a
 *     signature, a key, presignatures made) are committed before the reply
 *     leaves; on postgresql a failed commit withholds the signature (fail
 *     closed: the caller answers with the error instead).
 *   - session_id_claim: a session id is used once per store (unique across
 *     coordinators); TSS_E_EXISTS if it was used before.
 *   - unavailable: NULL while the store accepts writes, else why not; new
 *     requests are refused with that text.
 * All calls run on the loop thread. The postgresql back-end blocks the loop
 * for at most storage.timeout per call (docs/STORAGE.md "Event loop"). */
#ifndef TSS_DAEMON_COORDINATOR_STORE_H
#define TSS_DAEMON_COORDINATOR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/coordinator/coord.h"

/* Open the configured back-end (postgresql: connect, apply migrations,
 * refuse a schema newer than this binary) and load the registry and the
 * available presignatures into co->keys. */
TSS_MUST_CHECK tss_result coord_store_open(coord *co);
void coord_store_close(coord *co);
/* --check: what a start would read besides the database itself (postgresql:
 * the password source, its mode). The database is not contacted: a
 * reload must not fail because it is down. */
TSS_MUST_CHECK tss_result coord_store_check(coord *co);

/* NULL: new requests may start; else the reason to refuse them (static
 * text of the back-end, valid until the next store call). */
const char *coord_store_unavailable(coord *co);

/* The key, from memory or (postgresql) from the store when another
 * coordinator registered it; NULL if unknown or unreachable. */
key_entry *coord_store_key_find(coord *co, const char *key_id);
/* postgresql: add the keys other coordinators registered since the last
 * look (for KEYS); files: nothing. Failures are logged only. */
void coord_store_refresh(coord *co);
/* As key_find, and (postgresql) re-read its ready presignatures now. */
key_entry *coord_store_key_sync(coord *co, const char *key_id);
TSS_MUST_CHECK tss_result coord_store_key_add(coord *co, const tss_wire_key_info *info,
                                              const uint8_t identities[][32],
                                              const uint8_t session_id[16]);

/* Rewrite k's registry record from k->info (issue 17: a retirement, an
 * epoch commit): files, the key file (atomic, durable); postgresql, the
 * keys row (committed). On failure nothing changed in the store. */
TSS_MUST_CHECK tss_result coord_store_key_update(coord *co, const key_entry *k);

TSS_MUST_CHECK tss_result coord_store_presig_add(coord *co, key_entry *k,
                                                 const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN],
                                                 const uint16_t *signers, uint16_t count,
                                                 const tss_bip32_path *path);
/* Claim k->presigs[idx] (removed from memory whatever the outcome). */
TSS_MUST_CHECK tss_result coord_store_presig_claim(coord *co, key_entry *k, size_t idx,
                                                   coord_presig *out);

/* The audit record of a request's outcome (audit.c): fmt continues the
 * JSON object after time and operator, as for coord_audit. durable: see
 * above; the files back-end returns once the record is queued for the
 * group commit that precedes the held reply (audit.c). */
TSS_MUST_CHECK tss_result coord_store_release(coord *co, const char *op, bool durable,
                                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

TSS_MUST_CHECK tss_result coord_store_session_id_claim(coord *co, const uint8_t sid[16]);

/* Round trips to the store and the time they took (postgresql; the files
 * back-end counts nothing): take adds what was spent since the last take
 * to *into (NULL: drop it) and restarts the count. For the per-request
 * figure in the log and the benchmark (bench/pg.sh). */
typedef struct {
    unsigned calls;
    uint64_t us;
} coord_store_cost;
void coord_store_cost_take(coord *co, coord_store_cost *into);

/* tss-coordinator --migrate-storage: copy the file store in state_dir
 * (keys, presignature records with used ids, audit history) into the
 * postgresql store of the config. Idempotent for identical rows; a
 * conflicting row stops it naming the key or id. */
TSS_MUST_CHECK tss_result coord_store_migrate(coord *co);

#endif
