/* Wire session ids this party has ever accepted: <state>/sids/wire-sessions.log,
 * a spent-id log (keystore/spent_log.h, kind 3, key id "wire-sessions").
 *
 * Why: the coordinator picks the 16-byte session id of every SESSION_START.
 * A relay that reuses one (after the first session ended, or after a restart)
 * could replay that session's messages into the new one, whose context may be
 * identical (a keygen rerun after a failure: same key id, parties and id). So
 * every id is claimed (appended and fdatasynced) before the session's first
 * message leaves, and an id already in the log is refused, across restarts.
 * Records are BLAKE2b-256(key = "tssd/v1/wire-session-id", session id), so
 * no record is all zero (the log's torn-tail rule).
 *
 * Growth: every id is kept (no age window: the coordinator's clock is not
 * trusted); the log is capped like every spent-id log (keystore.log_max_records,
 * default 2^22 ids = 128 MiB). A full log refuses new sessions with a clear
 * message (TSS_E_TOO_LARGE); see docs/OPERATIONS.md.
 *
 * One handle per process (the file is flock()ed); not thread-safe. */
#ifndef TSS_KEYSTORE_SESSION_LOG_H
#define TSS_KEYSTORE_SESSION_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/party_store.h"
#include "util/result.h"
#include "wire/msg.h"

#define TSS_SESSION_LOG_NAME "wire-sessions.log"
#define TSS_SESSION_LOG_KEY_ID "wire-sessions" /* the key id in the log's binding and MAC key */

typedef struct tss_session_log tss_session_log;

TSS_MUST_CHECK tss_result tss_session_log_open(tss_session_log **out, const tss_store_ctx *ctx);
void tss_session_log_close(tss_session_log *l);
/* TSS_E_PROTOCOL if the id was accepted before (by this party, ever), else
 * records it durably. A failed append still refuses the id. */
TSS_MUST_CHECK tss_result tss_session_log_claim(tss_session_log *l,
                                                const uint8_t sid[TSS_WIRE_SESSION_ID_LEN]);
size_t tss_session_log_count(const tss_session_log *l);

#endif
