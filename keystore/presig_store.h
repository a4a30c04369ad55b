/* Presignatures at rest, single use across crashes.
 *
 *   <state>/presig/<key-id>/<presign-id hex>.presig   sealed (format v2, content 3)
 *   <state>/presig/<key-id>/spent.log                  spent-id log (keystore/spent_log.h)
 *
 * Consumption (tss_presig_store_consume, also as a tss_consume_hook for
 * tss_presig_finish, which calls it after computing w_i and before releasing
 * it) is, in this order, and all before it returns success:
 *   1. append the presign id to spent.log and fdatasync it;
 *   2. unlink <id>.presig;
 *   3. fsync the directory.
 * Any failure returns an error, so tss_presig_finish withholds w_i.
 *
 * The spent log is authoritative; the file is only the secret material.
 * Crash semantics, for a crash at any instant:
 *   - before the spent-log record is durable: consume had not returned, so
 *     w_i was not released. On restart the id is either absent (a torn
 *     record is dropped) or present (the record made it to disk though it
 *     was never acknowledged). Absent: the presignature can be used once,
 *     which is safe because nothing derived from it ever left the party.
 *     Present: it is refused, as below.
 *   - after the record is durable, before step 3 completes: consume had not
 *     returned, w_i was not released, and the id is spent for good. If the
 *     file is still there it is refused by take and removed by the next
 *     open (an "orphan").
 *   - after consume returned: the id is spent and the file is gone.
 * So no crash ever lets a presignature be used twice. A presignature file
 * restored later (from a backup, by hand) under its own or any other name is
 * refused too: its authenticated presign id is checked against the spent
 * log and the file name. What this cannot stop is a rollback of spent.log
 * itself (restoring the whole directory from a backup): never restore
 * presig/ from a backup; delete it instead (docs/OPERATIONS.md).
 *
 * Concurrency: one handle per key per process (spent.log is flock()ed), not
 * thread-safe. take does not reserve: two takes of one id both succeed, and
 * the second consume fails with TSS_E_PROTOCOL, withholding its w_i. */
#ifndef TSS_KEYSTORE_PRESIG_STORE_H
#define TSS_KEYSTORE_PRESIG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keystore/party_store.h"
#include "mpc/sign.h"
#include "util/result.h"

typedef struct tss_presig_store tss_presig_store;

/* Open (creating presig/<key-id>/ and its spent.log if needed) and collect
 * garbage: remove files of spent ids (orphans of an interrupted consumption)
 * and leftover temporary files of interrupted puts, then fsync the
 * directory. ctx is copied; ctx->keys is borrowed and must outlive the store. */
TSS_MUST_CHECK tss_result tss_presig_store_open(tss_presig_store **out, const tss_store_ctx *ctx,
                                                const char *key_id);
void tss_presig_store_close(tss_presig_store *st);

/* Seal and store a presignature of this key and party (durable on success).
 * TSS_E_EXISTS if its file exists, TSS_E_PROTOCOL if its id was consumed. */
TSS_MUST_CHECK tss_result tss_presig_store_put(tss_presig_store *st, const tss_presig *p);

/* Presignatures available (files with a well-formed name and an unspent id). */
TSS_MUST_CHECK tss_result tss_presig_store_count(tss_presig_store *st, size_t *count);
/* Up to cap of their ids, in directory order; *count is the number written. */
TSS_MUST_CHECK tss_result tss_presig_store_list(tss_presig_store *st,
                                                uint8_t (*ids)[TSS_SID_BYTES], size_t cap,
                                                size_t *count);

/* Load a presignature for use: refuses a spent id (TSS_E_PROTOCOL, and
 * removes a reappeared file), a missing one (TSS_E_NOT_FOUND), and a file
 * that is not this party's presignature of this key with this id
 * (TSS_E_CORRUPT). The file stays until consumed. *out is secret memory
 * (tss_presig_free). */
TSS_MUST_CHECK tss_result tss_presig_store_take(tss_presig_store *st,
                                                const uint8_t presign_id[TSS_SID_BYTES],
                                                tss_presig **out);

/* Durable consumption, steps 1-3 above. TSS_E_PROTOCOL if already spent. */
TSS_MUST_CHECK tss_result tss_presig_store_consume(tss_presig_store *st,
                                                   const uint8_t presign_id[TSS_SID_BYTES]);
/* {consume, st} for tss_presig_finish. */
tss_consume_hook tss_presig_store_consume_hook(tss_presig_store *st);

bool tss_presig_store_is_spent(const tss_presig_store *st,
                               const uint8_t presign_id[TSS_SID_BYTES]);
/* Files removed by the garbage collection in open (orphans and temp files). */
size_t tss_presig_store_collected(const tss_presig_store *st);
/* Torn-tail bytes dropped from spent.log on open. */
size_t tss_presig_store_log_repaired(const tss_presig_store *st);

#endif
