#include "keystore/sid_log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "keystore/spent_log.h"

_Static_assert(TSS_SID_BYTES == TSS_SPENT_ID_LEN, "sids are spent-log ids");

struct tss_sid_log {
    tss_spent_log *log;
};

tss_result tss_sid_log_open(tss_sid_log **out, const tss_store_ctx *ctx, const char *key_id) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    char dir[PATH_MAX], name[NAME_MAX];
    TSS_GUARD(tss_store_ensure_dir(ctx, TSS_STORE_SIDS_DIR, NULL, dir, sizeof dir));
    int n = snprintf(name, sizeof name, "%s%s", key_id, TSS_STORE_SIDS_SUFFIX);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof name, TSS_E_USAGE, "key id too long");
    tss_sid_log *l = calloc(1, sizeof *l);
    TSS_ENSURE(l, TSS_E_NOMEM, "out of memory");
    tss_result r = tss_spent_log_open(&l->log, dir, name, TSS_SPENT_SIGN_SID, key_id,
                                      ctx->keys->storage_key, ctx->log_max_records);
    if (!tss_is_ok(r)) {
        free(l);
        return r;
    }
    *out = l;
    return TSS_OK_RESULT;
}

void tss_sid_log_close(tss_sid_log *l) {
    if (!l) return;
    tss_spent_log_close(l->log);
    free(l);
}

tss_result tss_sid_log_claim(tss_sid_log *l, const uint8_t sid[TSS_SID_BYTES]) {
    TSS_ENSURE(!tss_spent_log_contains(l->log, sid), TSS_E_PROTOCOL,
               "sign sid already used for this key (recorded in %s); refusing to reuse it",
               tss_spent_log_path(l->log));
    return tss_spent_log_append(l->log, sid);
}

bool tss_sid_log_contains(const tss_sid_log *l, const uint8_t sid[TSS_SID_BYTES]) {
    return tss_spent_log_contains(l->log, sid);
}

size_t tss_sid_log_count(const tss_sid_log *l) { return tss_spent_log_count(l->log); }
size_t tss_sid_log_repaired(const tss_sid_log *l) { return tss_spent_log_repaired(l->log); }
const char *tss_sid_log_path(const tss_sid_log *l) { return tss_spent_log_path(l->log); }

static tss_result claim_cb(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    return tss_sid_log_claim(ctx, sid);
}

tss_sid_registry tss_sid_log_registry(tss_sid_log *l) { return (tss_sid_registry){claim_cb, l}; }
