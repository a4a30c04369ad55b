/* Durable refusal of reused wire session ids (keystore/session_log.h). */
#include "keystore/session_log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keystore/spent_log.h"

#define RECORD_LABEL "tssd/v1/wire-session-id"
#define LOG_KEY_ID TSS_SESSION_LOG_KEY_ID

struct tss_session_log {
    tss_spent_log *log;
};

tss_result tss_session_log_open(tss_session_log **out, const tss_store_ctx *ctx) {
    *out = NULL;
    char dir[PATH_MAX];
    TSS_GUARD(tss_store_ensure_dir(ctx, TSS_STORE_SIDS_DIR, NULL, dir, sizeof dir));
    tss_session_log *l = calloc(1, sizeof *l);
    TSS_ENSURE(l, TSS_E_NOMEM, "out of memory");
    tss_result r = tss_spent_log_open(&l->log, dir, TSS_SESSION_LOG_NAME, TSS_SPENT_WIRE_SESSION,
                                      LOG_KEY_ID, ctx->keys->storage_key, ctx->log_max_records);
    if (!tss_is_ok(r)) {
        free(l);
        return r;
    }
    *out = l;
    return TSS_OK_RESULT;
}

void tss_session_log_close(tss_session_log *l) {
    if (!l) return;
    tss_spent_log_close(l->log);
    free(l);
}

tss_result tss_session_log_claim(tss_session_log *l, const uint8_t sid[TSS_WIRE_SESSION_ID_LEN]) {
    uint8_t rec[TSS_SPENT_ID_LEN];
    crypto_generichash(rec, sizeof rec, sid, TSS_WIRE_SESSION_ID_LEN,
                       (const uint8_t *)RECORD_LABEL, sizeof RECORD_LABEL - 1);
    TSS_ENSURE(!tss_spent_log_contains(l->log, rec), TSS_E_PROTOCOL,
               "session id already used at this party (recorded in %s): the coordinator "
               "reused or replayed it; refusing",
               tss_spent_log_path(l->log));
    return tss_spent_log_append(l->log, rec);
}

size_t tss_session_log_count(const tss_session_log *l) { return tss_spent_log_count(l->log); }
