/* Schnorr proof of knowledge of a discrete log. */
#include "mpc/schnorr.h"

#include "util/ctime.h"
#include "util/secmem.h"

static tss_result challenge(tss_scalar *e, const uint8_t sid[TSS_SID_BYTES], uint32_t prover,
                            const tss_point *X, const tss_point *R, const void *aux,
                            size_t aux_len) {
    TSS_ENSURE(aux_len <= TSS_SCHNORR_AUX_MAX, TSS_E_TOO_LARGE,
               "schnorr: aux of %zu bytes exceeds %d", aux_len, TSS_SCHNORR_AUX_MAX);
    TSS_ENSURE(aux != NULL || aux_len == 0, TSS_E_USAGE, "schnorr: aux is NULL");
    tss_transcript t;
    tss_tr_init(&t, "schnorr-pok");
    tss_tr_append(&t, sid, TSS_SID_BYTES);
    tss_tr_append_u32(&t, prover);
    tss_tr_append_point(&t, X);
    tss_tr_append_point(&t, R);
    tss_tr_append(&t, aux, aux_len);
    tss_tr_final_scalar(&t, e);
    return TSS_OK_RESULT;
}

tss_result tss_schnorr_prove(tss_schnorr_proof *out, const uint8_t sid[TSS_SID_BYTES],
                             uint32_t prover, const tss_scalar *x, const tss_point *X,
                             const void *aux, size_t aux_len) {
    int zero = tss_sc_is_zero(x);
    tss_declassify(&zero, sizeof zero); /* x = 0 is a usage error, as for tss_pt_mul_base */
    TSS_ENSURE(!zero, TSS_E_CRYPTO, "schnorr: x = 0 (point at infinity)");
    tss_point G;
    tss_pt_generator(&G);
    /* Compared in constant time; the outcome is a usage check. */
    int match = tss_pt_mul_matches(&G, x, X);
    tss_declassify(&match, sizeof match);
    TSS_ENSURE(match, TSS_E_USAGE, "schnorr: X is not x*G");
    tss_schnorr_proof p;
    tss_scalar k, e;
    TSS_GUARD(tss_sc_random_nonzero(&k));
    tss_result res = tss_pt_mul_base(&p.R, &k);
    tss_declassify(&p.R, sizeof p.R); /* R is part of the published proof */
    if (tss_is_ok(res)) res = challenge(&e, sid, prover, X, &p.R, aux, aux_len);
    if (tss_is_ok(res)) {
        tss_sc_mul(&p.z, &e, x);
        tss_sc_add(&p.z, &p.z, &k);
        tss_declassify(&p.z, sizeof p.z); /* z = k + e*x is published; k is fresh */
        *out = p;
    }
    tss_sc_wipe(&k, 1);
    tss_sc_wipe(&p.z, 1);
    return res;
}

tss_result tss_schnorr_verify(const tss_schnorr_proof *p, const uint8_t sid[TSS_SID_BYTES],
                              uint32_t prover, const tss_point *X, const void *aux,
                              size_t aux_len) {
    tss_scalar e;
    tss_point zG, eX, rhs;
    TSS_GUARD(challenge(&e, sid, prover, X, &p->R, aux, aux_len));
    /* z = 0, e = 0 or R = -e*X would need infinity: never an honest proof. */
    int ok = tss_is_ok(tss_pt_mul_base(&zG, &p->z)) && tss_is_ok(tss_pt_mul_var(&eX, X, &e)) &&
             tss_is_ok(tss_pt_add(&rhs, &p->R, &eX)) && tss_pt_eq(&zG, &rhs);
    TSS_ENSURE(ok, TSS_E_PROTOCOL, "schnorr: proof of knowledge from party %u does not verify",
               prover);
    return TSS_OK_RESULT;
}

void tss_schnorr_encode(uint8_t out[TSS_SCHNORR_BYTES], const tss_schnorr_proof *p) {
    tss_pt_encode(out, &p->R);
    tss_sc_to_bytes(out + TSS_PT_BYTES, &p->z);
}

void tss_schnorr_write(tss_writer *w, const tss_schnorr_proof *p) {
    uint8_t b[TSS_SCHNORR_BYTES];
    tss_schnorr_encode(b, p);
    tss_write_bytes(w, b, sizeof b);
}

tss_result tss_schnorr_read(tss_reader *rd, tss_schnorr_proof *p) {
    tss_schnorr_proof q;
    TSS_GUARD(tss_pt_read(rd, &q.R, "schnorr proof R"));
    const uint8_t *z = tss_read_view(rd, TSS_SC_BYTES);
    if (!z) return tss_reader_status(rd, "schnorr proof z");
    tss_result res = tss_sc_from_bytes(&q.z, z, "schnorr proof z");
    if (!tss_is_ok(res)) {
        tss_reader_set_error(rd, res.err);
        return res;
    }
    *p = q;
    return TSS_OK_RESULT;
}

tss_result tss_schnorr_decode(tss_schnorr_proof *p, const uint8_t *in, size_t len) {
    tss_reader rd;
    tss_schnorr_proof q;
    tss_reader_init(&rd, in, len);
    TSS_GUARD(tss_schnorr_read(&rd, &q));
    TSS_GUARD(tss_reader_finish(&rd, "schnorr proof"));
    *p = q;
    return TSS_OK_RESULT;
}
