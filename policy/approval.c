/* Approval statements: encoding, signing, and the party's M-of-K check
 * (see policy/approval.h). */
#include "policy/approval.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NONCE_ID_KEY "tssd/v1/approval-nonce"

bool tss_approval_name_valid(const char *s, size_t len) {
    if (len < 1 || len > TSS_APPROVER_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

tss_result tss_approval_statement(const tss_approval *a, tss_writer *w) {
    size_t kl = strnlen(a->key_id, sizeof a->key_id), al = strnlen(a->approver, sizeof a->approver);
    TSS_ENSURE(tss_approval_name_valid(a->key_id, kl), TSS_E_INVALID,
               "approval: key id must be 1..64 characters of [A-Za-z0-9._-]");
    TSS_ENSURE(tss_approval_name_valid(a->approver, al), TSS_E_INVALID,
               "approval: approver name must be 1..64 characters of [A-Za-z0-9._-]");
    tss_write_bytes(w, TSS_APPROVAL_TAG, TSS_APPROVAL_TAG_LEN);
    tss_write_u8(w, TSS_APPROVAL_VERSION);
    tss_write_u8(w, (uint8_t)kl);
    tss_write_bytes(w, a->key_id, kl);
    tss_write_bytes(w, a->request_hash, TSS_APPROVAL_HASH_LEN);
    tss_write_u64(w, a->expires);
    tss_write_bytes(w, a->nonce, TSS_APPROVAL_NONCE_LEN);
    tss_write_u8(w, (uint8_t)al);
    tss_write_bytes(w, a->approver, al);
    return tss_writer_status(w, "approval statement");
}

tss_result tss_approval_sign(tss_approval *a, const uint8_t sk[64]) {
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_STATEMENT_MAX);
    tss_result r = tss_approval_statement(a, &w);
    if (tss_is_ok(r) && crypto_sign_detached(a->sig, NULL, w.data, w.len, sk) != 0)
        r = tss_fail(TSS_E_CRYPTO, "approval: Ed25519 signing failed");
    tss_writer_free(&w);
    return r;
}

tss_result tss_approval_encode(const tss_approval *a, tss_writer *w) {
    TSS_GUARD(tss_approval_statement(a, w));
    tss_write_bytes(w, a->sig, TSS_APPROVAL_SIG_LEN);
    return tss_writer_status(w, "approval");
}

/* A length-prefixed name field: 1..64 valid characters. */
static void read_name(tss_reader *r, char *out) {
    uint8_t n = tss_read_u8(r);
    const uint8_t *p = tss_read_view(r, n);
    if (!p) return;
    if (!tss_approval_name_valid((const char *)p, n)) {
        tss_reader_set_error(r, TSS_E_INVALID);
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

tss_result tss_approval_decode(const uint8_t *p, size_t len, tss_approval *out) {
    memset(out, 0, sizeof *out);
    TSS_ENSURE(len <= TSS_APPROVAL_BLOB_MAX, TSS_E_TOO_LARGE,
               "approval: %zu bytes, more than %d", len, TSS_APPROVAL_BLOB_MAX);
    tss_reader r;
    tss_reader_init(&r, p, len);
    const uint8_t *tag = tss_read_view(&r, TSS_APPROVAL_TAG_LEN);
    if (tag && memcmp(tag, TSS_APPROVAL_TAG, TSS_APPROVAL_TAG_LEN) != 0)
        return tss_fail(TSS_E_INVALID, "approval: not an approval (domain tag differs)");
    uint8_t version = tss_read_u8(&r);
    if (tss_is_ok(tss_reader_status(&r, "approval")) && version != TSS_APPROVAL_VERSION)
        return tss_fail(TSS_E_UNSUPPORTED, "approval: version %u not supported", version);
    read_name(&r, out->key_id);
    tss_read_bytes(&r, out->request_hash, TSS_APPROVAL_HASH_LEN);
    out->expires = tss_read_u64(&r);
    tss_read_bytes(&r, out->nonce, TSS_APPROVAL_NONCE_LEN);
    read_name(&r, out->approver);
    tss_read_bytes(&r, out->sig, TSS_APPROVAL_SIG_LEN);
    if (r.err == TSS_E_INVALID)
        return tss_fail(TSS_E_INVALID,
                        "approval: key id or approver name is not 1..64 characters of "
                        "[A-Za-z0-9._-]");
    return tss_reader_finish(&r, "approval");
}

tss_result tss_approval_list_encode(const tss_approval_set *s, tss_writer *w) {
    TSS_ENSURE(s->n <= TSS_APPROVAL_MAX, TSS_E_TOO_LARGE, "more than %d approvals",
               TSS_APPROVAL_MAX);
    tss_write_u8(w, (uint8_t)s->n);
    for (size_t i = 0; i < s->n; i++) {
        tss_writer one;
        tss_writer_init(&one, TSS_APPROVAL_BLOB_MAX);
        tss_result r = tss_approval_encode(&s->v[i], &one);
        if (tss_is_ok(r)) {
            tss_write_u16(w, (uint16_t)one.len);
            tss_write_bytes(w, one.data, one.len);
        }
        tss_writer_free(&one);
        TSS_GUARD(r);
    }
    return tss_writer_status(w, "approval list");
}

tss_result tss_approval_list_decode(const uint8_t *p, size_t len, tss_approval_set *out) {
    out->n = 0;
    tss_reader r;
    tss_reader_init(&r, p, len);
    uint8_t n = tss_read_u8(&r);
    TSS_GUARD(tss_reader_status(&r, "approval list"));
    TSS_ENSURE(n <= TSS_APPROVAL_MAX, TSS_E_TOO_LARGE, "approval list: %u approvals, at most %d",
               n, TSS_APPROVAL_MAX);
    for (uint8_t i = 0; i < n; i++) {
        uint16_t l = tss_read_u16(&r);
        const uint8_t *b = tss_read_view(&r, l);
        TSS_GUARD(tss_reader_status(&r, "approval list"));
        tss_result res = tss_approval_decode(b, l, &out->v[i]);
        if (!tss_is_ok(res)) {
            out->n = 0;
            char why[256];
            snprintf(why, sizeof why, "%s", tss_error_detail());
            return tss_fail(res.err, "approval %u: %s", i, why);
        }
    }
    out->n = n;
    return tss_reader_finish(&r, "approval list");
}

void tss_approval_nonce_id(uint8_t out[TSS_APPROVAL_NONCE_ID_LEN], const uint8_t pk[32],
                           const uint8_t nonce[TSS_APPROVAL_NONCE_LEN]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, (const uint8_t *)NONCE_ID_KEY, sizeof NONCE_ID_KEY - 1,
                            TSS_APPROVAL_NONCE_ID_LEN);
    crypto_generichash_update(&st, pk, 32);
    crypto_generichash_update(&st, nonce, TSS_APPROVAL_NONCE_LEN);
    crypto_generichash_final(&st, out, TSS_APPROVAL_NONCE_ID_LEN);
}

/* Append to a bounded one-line report. */
static void note(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(char *buf, size_t cap, size_t *pos, const char *fmt, ...) {
    if (!buf || cap == 0 || *pos >= cap - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (k > 0) *pos = (*pos + (size_t)k < cap) ? *pos + (size_t)k : cap - 1;
}

static const tss_approver_pin *find_pin(const tss_approver_pins *pins, const char *name) {
    for (size_t i = 0; i < pins->n; i++)
        if (strcmp(pins->v[i].name, name) == 0) return &pins->v[i];
    return NULL;
}

static bool allowed(const tss_approval_policy *pol, const char *name) {
    if (!pol->allowed) return true;
    for (size_t i = 0; i < pol->n_allowed; i++)
        if (strcmp(pol->allowed[i], name) == 0) return true;
    return false;
}

/* Why a (decoded) approval does not count, or NULL if it counts. */
static const char *judge(const tss_approval *a, const char *key_id, const uint8_t hash[32],
                         const tss_approver_pins *pins, const tss_approval_policy *pol,
                         uint64_t t, const tss_approval_nonce_store *store,
                         const tss_approver_pin **pin_out, uint8_t id[32]) {
    if (strcmp(a->key_id, key_id) != 0) return "for another key";
    if (memcmp(a->request_hash, hash, TSS_APPROVAL_HASH_LEN) != 0) return "for another request";
    const tss_approver_pin *pin = find_pin(pins, a->approver);
    if (!pin) return "unknown approver";
    if (!allowed(pol, a->approver)) return "not an approver for this rule";
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_STATEMENT_MAX);
    tss_result r = tss_approval_statement(a, &w);
    bool good = tss_is_ok(r) &&
                crypto_sign_verify_detached(a->sig, w.data, w.len, pin->public_key) == 0;
    tss_writer_free(&w);
    if (!good) return "bad signature";
    if (a->expires <= UINT64_MAX - pol->skew && a->expires + pol->skew < t) return "expired";
    if (a->expires > t + (uint64_t)pol->max_lifetime + pol->skew)
        return "expiry further ahead than approvals.max_lifetime";
    tss_approval_nonce_id(id, pin->public_key, a->nonce);
    if (tss_approval_nonce_contains(store, id)) return "nonce already used (replay)";
    *pin_out = pin;
    return NULL;
}

tss_result tss_approval_verify_set(const tss_approval_set *set, const char *key_id,
                                   const uint8_t request_hash[TSS_APPROVAL_HASH_LEN],
                                   const tss_approver_pins *pins, const tss_approval_policy *pol,
                                   const tss_approval_nonce_store *store,
                                   tss_approval_tally *tally, char *report, size_t report_cap) {
    size_t pos = 0;
    memset(tally, 0, sizeof *tally);
    if (report && report_cap) report[0] = '\0';
    TSS_ENSURE(pol->m >= 1, TSS_E_INTERNAL, "approvals: a rule requiring 0 approvals");
    TSS_ENSURE(set->n <= TSS_APPROVAL_MAX, TSS_E_TOO_LARGE, "approvals: more than %d",
               TSS_APPROVAL_MAX);
    uint64_t t = tss_approval_nonce_time(store, pol->now);
    char reasons[768];
    size_t rpos = 0;
    reasons[0] = '\0';
    for (size_t i = 0; i < set->n; i++) {
        const tss_approval *a = &set->v[i];
        const tss_approver_pin *pin = NULL;
        uint8_t id[32];
        const char *why = judge(a, key_id, request_hash, pins, pol, t, store, &pin, id);
        if (!why) {
            for (size_t j = 0; j < tally->n; j++)
                if (tally->who[j] == pin) why = "approver already counted";
        }
        if (why) {
            note(reasons, sizeof reasons, &rpos, "%s%s: %s", rpos ? "; " : "", a->approver, why);
            continue;
        }
        memcpy(tally->e[tally->n].id, id, 32);
        tally->e[tally->n].expires = a->expires;
        tally->who[tally->n++] = pin;
    }
    tally->now = pol->now;
    tally->skew = pol->skew;
    note(report, report_cap, &pos, "%zu of %u approvals", tally->n, pol->m);
    for (size_t j = 0; j < tally->n; j++)
        note(report, report_cap, &pos, "%s%s", j ? "," : " from ", tally->who[j]->name);
    if (reasons[0]) note(report, report_cap, &pos, " (%s)", reasons);
    if (tally->n < pol->m) {
        size_t n = tally->n;
        tally->n = 0;
        return tss_fail(TSS_E_PROTOCOL, "approvals: %zu of %u required%s%s%s", n, pol->m,
                        reasons[0] ? " (" : "", reasons, reasons[0] ? ")" : "");
    }
    return TSS_OK_RESULT;
}

tss_result tss_approval_verify(const uint8_t *list, size_t len, const char *key_id,
                               const uint8_t request_hash[TSS_APPROVAL_HASH_LEN],
                               const tss_approver_pins *pins, const tss_approval_policy *pol,
                               const tss_approval_nonce_store *store, tss_approval_tally *tally,
                               char *report, size_t report_cap) {
    memset(tally, 0, sizeof *tally);
    tss_approval_set set;
    tss_result r = tss_approval_list_decode(list, len, &set);
    if (!tss_is_ok(r)) {
        if (report && report_cap) snprintf(report, report_cap, "malformed approvals");
        char why[300];
        snprintf(why, sizeof why, "%s", tss_error_detail());
        return tss_fail(TSS_E_PROTOCOL, "approvals: malformed list: %s", why);
    }
    return tss_approval_verify_set(&set, key_id, request_hash, pins, pol, store, tally, report,
                                   report_cap);
}

tss_result tss_approval_commit(tss_approval_nonce_store *store, const tss_approval_tally *tally) {
    TSS_ENSURE(tally->n >= 1, TSS_E_INTERNAL, "approvals: nothing verified to commit");
    return tss_approval_nonce_record(store, tally->e, tally->n, tally->now, tally->skew);
}

tss_result tss_approval_check(const tss_approval_set *set, const char *key_id,
                              const uint8_t request_hash[TSS_APPROVAL_HASH_LEN],
                              const tss_approver_pins *pins, const tss_approval_policy *pol,
                              tss_approval_nonce_store *store, char *report, size_t report_cap) {
    tss_approval_tally tally;
    TSS_GUARD(tss_approval_verify_set(set, key_id, request_hash, pins, pol, store, &tally, report,
                                      report_cap));
    return tss_approval_commit(store, &tally);
}
