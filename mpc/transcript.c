/* Domain-separated SHA-256 transcript, hash-to-scalar, hash-to-curve, commitments. */
#include "mpc/transcript.h"

#include <stdlib.h>
#include <string.h>

#include "util/secmem.h"

/* Enough misses in a row to be impossible (each try succeeds with ~1/2). */
#define H2C_MAX_TRIES 256

void tss_tr_append(tss_transcript *t, const void *data, size_t len) {
    /* A field of 4 GiB cannot occur (messages are capped far below); refusing to
     * hash an ambiguous prefix beats silently truncating it. */
    if (len > UINT32_MAX) abort();
    uint8_t pre[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    crypto_hash_sha256_update(&t->st, pre, sizeof pre);
    if (len) crypto_hash_sha256_update(&t->st, data, len);
}

void tss_tr_init(tss_transcript *t, const char *purpose) {
    crypto_hash_sha256_init(&t->st);
    tss_tr_append_str(t, TSS_TR_VERSION);
    tss_tr_append_str(t, purpose);
}

void tss_tr_append_u32(tss_transcript *t, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    tss_tr_append(t, b, sizeof b);
}

void tss_tr_append_str(tss_transcript *t, const char *s) { tss_tr_append(t, s, strlen(s)); }

void tss_tr_append_point(tss_transcript *t, const tss_point *p) {
    uint8_t b[TSS_PT_BYTES];
    tss_pt_encode(b, p);
    tss_tr_append(t, b, sizeof b);
}

void tss_tr_append_scalar(tss_transcript *t, const tss_scalar *s) {
    uint8_t b[TSS_SC_BYTES];
    tss_sc_to_bytes(b, s);
    tss_tr_append(t, b, sizeof b);
    tss_wipe(b, sizeof b);
}

void tss_tr_bind(tss_transcript *t, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                 uint32_t receiver) {
    tss_tr_append(t, sid, TSS_SID_BYTES);
    tss_tr_append_u32(t, sender);
    tss_tr_append_u32(t, receiver);
}

void tss_tr_final(tss_transcript *t, uint8_t out[TSS_HASH_BYTES]) {
    crypto_hash_sha256_final(&t->st, out);
    tss_wipe(t, sizeof *t);
}

void tss_tr_final_scalar(tss_transcript *t, tss_scalar *out) {
    uint8_t wide[TSS_SC_WIDE_BYTES];
    tss_transcript t1 = *t;
    const uint8_t zero = 0, one = 1;
    tss_tr_append(t, &zero, 1);
    tss_tr_append(&t1, &one, 1);
    tss_tr_final(t, wide);
    tss_tr_final(&t1, wide + 32);
    tss_sc_from_wide(out, wide);
    tss_wipe(wide, sizeof wide);
}

tss_result tss_tr_final_point_var(tss_transcript *t, tss_point *out) {
    uint8_t enc[TSS_PT_BYTES];
    enc[0] = 0x02;
    for (uint32_t ctr = 0; ctr < H2C_MAX_TRIES; ctr++) {
        tss_transcript tc = *t;
        tss_tr_append_u32(&tc, ctr);
        tss_tr_final(&tc, enc + 1);
        /* Parsing is the test that x is the abscissa of a curve point; any other
         * failure (no context) repeats and ends in the error below. */
        if (tss_is_ok(tss_pt_decode(out, enc, "hash-to-curve candidate"))) {
            tss_wipe(t, sizeof *t);
            return TSS_OK_RESULT;
        }
    }
    tss_wipe(t, sizeof *t);
    return tss_fail(TSS_E_CRYPTO, "hash-to-curve: no point after %d tries", H2C_MAX_TRIES);
}

void tss_tr_commit(uint8_t commit[TSS_COMMIT_BYTES], const char *tag,
                   const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                   const uint8_t salt[TSS_SALT_BYTES], const void *msg, size_t len) {
    tss_transcript t;
    tss_tr_init(&t, "commitment");
    tss_tr_append_str(&t, tag);
    tss_tr_append(&t, sid, TSS_SID_BYTES);
    tss_tr_append_u32(&t, sender);
    tss_tr_append(&t, salt, TSS_SALT_BYTES);
    tss_tr_append(&t, msg, len);
    tss_tr_final(&t, commit);
}

void tss_tr_commit_new(uint8_t commit[TSS_COMMIT_BYTES], uint8_t salt[TSS_SALT_BYTES],
                       const char *tag, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                       const void *msg, size_t len) {
    randombytes_buf(salt, TSS_SALT_BYTES);
    tss_tr_commit(commit, tag, sid, sender, salt, msg, len);
}

tss_result tss_tr_commit_open(const uint8_t commit[TSS_COMMIT_BYTES], const char *tag,
                              const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                              const uint8_t salt[TSS_SALT_BYTES], const void *msg, size_t len) {
    uint8_t expect[TSS_COMMIT_BYTES];
    tss_tr_commit(expect, tag, sid, sender, salt, msg, len);
    int ok = tss_ct_equal(expect, commit, TSS_COMMIT_BYTES);
    tss_wipe(expect, sizeof expect);
    TSS_ENSURE(ok, TSS_E_PROTOCOL, "%s: opening from party %u does not match its commitment",
               tag, sender);
    return TSS_OK_RESULT;
}
