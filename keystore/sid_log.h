/* Sign sids used, per key: <state>/sids/<key-id>.sids, a spent-id log
 * (keystore/spent_log.h). A sid is claimed (appended and fdatasynced) before
 * round 1 of a signing session is sent; a sid already in the log is refused,
 * across restarts, so OT-extension pads are never reused. A crash during a
 * claim leaves the sid either absent (the claim had not returned, nothing was
 * sent) or present (refused from then on): never usable twice.
 *
 * The log is MACed with the party's storage key (keystore/spent_log.h): a
 * damaged log fails open with TSS_E_CORRUPT naming the file and record, and
 * the party refuses the key until an operator acts.
 *
 * One handle per key per process (the file is flock()ed); not thread-safe. */
#ifndef TSS_KEYSTORE_SID_LOG_H
#define TSS_KEYSTORE_SID_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keystore/party_store.h"
#include "mpc/sign.h"
#include "util/result.h"

typedef struct tss_sid_log tss_sid_log;

/* Open (creating <state>/sids/ and the log if needed). */
TSS_MUST_CHECK tss_result tss_sid_log_open(tss_sid_log **out, const tss_store_ctx *ctx,
                                           const char *key_id);
void tss_sid_log_close(tss_sid_log *l);
/* TSS_E_PROTOCOL if sid was used before, else records it durably. */
TSS_MUST_CHECK tss_result tss_sid_log_claim(tss_sid_log *l, const uint8_t sid[TSS_SID_BYTES]);
bool tss_sid_log_contains(const tss_sid_log *l, const uint8_t sid[TSS_SID_BYTES]);
size_t tss_sid_log_count(const tss_sid_log *l);
size_t tss_sid_log_repaired(const tss_sid_log *l);
const char *tss_sid_log_path(const tss_sid_log *l);
/* {claim, l} for tss_sign_config.registry. */
tss_sid_registry tss_sid_log_registry(tss_sid_log *l);

#endif
